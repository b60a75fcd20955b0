"""Read canonical contact files and write reconcile results, for the CLI and stewards' dry runs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmhub.errors import SourceDataError
from crmhub.model import CONTACT_COLUMNS, PROFILE_COLUMNS, conform
from crmhub.reconcile.pipeline import ReconcileResult

#: The columns a contact file must have; every other canonical column is optional (empty when absent).
REQUIRED_COLUMNS: tuple[str, ...] = ("source", "source_id", "source_updated_at")

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _parse_bool(frame: pd.DataFrame, column: str, file: Path) -> pd.Series:
    """CSV booleans come as text; anything but a clear yes/no is an error naming file and column."""
    values = frame[column].map(lambda v: "" if v is None or pd.isna(v) else str(v).strip().lower())
    bad = ~values.isin(_TRUE | _FALSE)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise SourceDataError(f"{file}: column {column!r}, data row {row + 1}: not a true/false value")
    return values.isin(_TRUE)


def read_contacts_file(path: str | Path) -> pd.DataFrame:
    """One canonical contact file (``.csv`` or ``.parquet``) as a ``CONTACT_COLUMNS`` frame.

    Every column is read as text (source ids like ``00123`` must not become numbers); empty cells are
    nulls. Only ``source``, ``source_id`` and ``source_updated_at`` are required (an error naming the
    file and the columns when absent); a missing optional column is empty (``is_deleted`` false); the
    profile columns (``crmhub.model.PROFILE_COLUMNS``: display name, location, bio) are kept when present,
    as match evidence; other extra columns are ignored.
    """
    file = Path(path)
    if not file.is_file():
        raise SourceDataError(f"{file}: no such file")
    suffix = file.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(file)
        elif suffix in {".csv", ".txt"}:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8")
        else:
            raise SourceDataError(f"{file}: unsupported file type {suffix!r} (use .csv or .parquet)")
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError) as exc:
        raise SourceDataError(f"{file}: cannot read: {type(exc).__name__}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceDataError(f"{file}: missing required column(s): {', '.join(missing)}")
    profile = [c for c in PROFILE_COLUMNS if c in frame.columns]  # optional evidence (reconcile.profile)
    frame = frame.reindex(columns=[*CONTACT_COLUMNS, *profile])
    already_bool = frame["is_deleted"].dtype == np.bool_  # a Parquet boolean column without nulls
    if not already_bool:
        frame["is_deleted"] = frame["is_deleted"].astype(object).where(frame["is_deleted"].notna(), "")
    for col in [*CONTACT_COLUMNS, *profile]:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            frame[col] = _text_or_none(frame[col])
    if not already_bool:
        frame["is_deleted"] = _parse_bool(frame, "is_deleted", file)
    for col in ("source_created_at", "source_updated_at"):
        try:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise SourceDataError(f"{file}: column {col!r}: not ISO 8601 timestamps") from exc
    return _with_profile(conform(frame[CONTACT_COLUMNS], CONTACT_COLUMNS), frame, profile)


def _text_or_none(column: pd.Series) -> pd.Series:
    """A text column as objects, None where null or blank (whitespace as Arrow's ``utf8_trim_whitespace``)."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # What the general case computes, without the round trip through objects and back to Arrow and
        # without stripping: Arrow's utf8_is_space uses the whitespace of utf8_trim_whitespace (tested).
        text = pa.array(column)
        blank = pc.or_(pc.equal(pc.binary_length(text), 0), pc.utf8_is_space(text))
        keep = pc.invert(blank).fill_null(False).to_numpy(zero_copy_only=False).astype(bool, copy=False)
        values = column.to_numpy(dtype=object)
        values[~keep] = None
        return pd.Series(values, index=column.index, dtype=object)
    text = column.astype("object")
    return text.where(text.notna() & (text.astype(str).str.strip() != ""), None)


def _with_profile(contacts: pd.DataFrame, source: pd.DataFrame, profile: list[str]) -> pd.DataFrame:
    """``contacts`` plus the profile columns of ``source`` (text, empty cells null)."""
    for col in profile:
        values = source[col].astype(object)
        contacts[col] = values.where(values.notna(), None).to_numpy()
    return contacts


def read_contacts(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Several contact files concatenated (e.g. one export per source)."""
    frames = [read_contacts_file(p) for p in paths]
    if not frames:
        return pd.DataFrame()
    joined = pd.concat(frames, ignore_index=True)
    profile = [c for c in PROFILE_COLUMNS if c in joined.columns]
    return _with_profile(conform(joined[CONTACT_COLUMNS], CONTACT_COLUMNS), joined, profile)


def write_result(result: ReconcileResult, out_dir: str | Path) -> dict[str, Path]:
    """Write golden, xref, lineage, conflicts and the review queue as CSV (merges as JSON) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name in ("golden", "xref", "lineage", "conflicts", "review"):
        target = out / ("review_queue.csv" if name == "review" else f"{name}.csv")
        frame: pd.DataFrame = getattr(result, name)
        write_csv(frame, target)
        written[name] = target
    merges = out / "merges.json"
    merges.write_text(json.dumps(result.merges, indent=2) + "\n", encoding="utf-8")
    written["merges"] = merges
    return written


#: How the result CSVs write timestamps (UTC, microseconds).
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

#: Rows formatted per step of :func:`write_csv`: bounds the memory of the formatted text.
CSV_CHUNK_ROWS = 200_000


def _csv_quote_chars() -> str:
    """The characters for which Python's ``csv`` (what ``to_csv`` uses) quotes a field: probed, since
    whether a lone carriage return counts differs between Python versions."""
    chars = ""
    for ch in ',"\n\r':
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerow(["x", f"a{ch}b"])
        if buf.getvalue().startswith('x,"'):
            chars += ch
    return chars


_QUOTE_CHARS = _csv_quote_chars()


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, type=pa.large_string())


def _per_distinct(key: np.ndarray, missing: np.ndarray, render: Callable[[np.ndarray], np.ndarray]) -> pa.Array:
    """Cells rendered by ``render`` (given row numbers) once per distinct ``key``; empty where ``missing``.

    Formatting numbers is slow and these columns repeat values (scores, dates).
    """
    codes, uniques = pd.factorize(key)
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    cells = pa.array(render(first), type=pa.large_string()).take(pa.array(codes))
    return pc.if_else(pa.array(missing), _text(""), cells) if missing.any() else cells


class _NotFast(Exception):
    """A column :func:`_csv_cells` cannot format exactly as pandas does (the frame goes to ``to_csv``)."""


def _csv_cells(column: pd.Series) -> pa.Array:
    """One column's CSV cells as ``to_csv(index=False, date_format=DATE_FORMAT)`` writes them, quoted.

    Text, floats, booleans and UTC timestamps only; anything else raises :class:`_NotFast`.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        cells = pa.array(column).cast(pa.large_string())
        if isinstance(cells, pa.ChunkedArray):  # a concatenated frame's column
            cells = cells.combine_chunks()
    elif isinstance(dtype, np.dtype) and dtype.kind == "O":
        cells = pa.array(column.to_numpy(), from_pandas=True)  # inferred: numbers or bytes are not text
        if cells.type not in (pa.string(), pa.large_string(), pa.null()):
            raise _NotFast
        cells = cells.cast(pa.large_string())
    elif dtype.kind == "f" and isinstance(dtype, np.dtype):
        values = column.to_numpy()
        # what pandas does for floats without float_format, once per distinct bit pattern (-0.0 stays)
        cells = _per_distinct(values.view(f"i{values.itemsize}"), np.isnan(values), lambda r: values[r].astype(str))
    elif dtype.kind == "b" and isinstance(dtype, np.dtype):
        cells = pa.array(np.where(column.to_numpy(), "True", "False"), type=pa.large_string())
    elif isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC" and dtype.unit in ("s", "ms", "us"):
        values = column.array._ndarray.astype("datetime64[us]")  # UTC wall time
        missing = np.isnat(values)
        present = values[~missing]
        # strftime writes %Y unpadded below year 1000: such (rare) values go to pandas
        if present.size and (
            present.min() < np.datetime64("1000-01-01") or present.max() >= np.datetime64("10000-01-01")
        ):
            raise _NotFast
        cells = _per_distinct(
            values.view("i8"), missing, lambda rows: np.char.add(np.datetime_as_string(values[rows], unit="us"), "Z")
        )
    else:
        raise _NotFast
    cells = cells.fill_null("")
    needs = _needs_quotes(cells)
    if needs is not None:
        quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(cells, '"', '""'), _text('"'), _text(""))
        cells = pc.if_else(pa.array(needs), quoted, cells)
    return cells


def _needs_quotes(cells: pa.Array) -> np.ndarray | None:
    """Per cell, whether it holds a character that makes ``csv`` quote it; None when no cell does.

    The characters are ASCII, so a scan of the UTF-8 bytes finds them (most columns have none).
    """
    _, offsets, data = cells.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[cells.offset : cells.offset + len(cells) + 1]
    if data is None or bounds[-1] == bounds[0]:
        return None
    text = np.frombuffer(data, dtype=np.uint8)[bounds[0] : bounds[-1]]
    hit = np.isin(text, np.frombuffer(_QUOTE_CHARS.encode("ascii"), dtype=np.uint8))
    if not hit.any():
        return None
    before = np.concatenate(([0], np.cumsum(hit)))
    starts = bounds - bounds[0]
    return before[starts[1:]] > before[starts[:-1]]


def _write_rows(frame: pd.DataFrame, out: BinaryIO) -> None:
    """``frame``'s data rows, in chunks, as CSV lines (raises :class:`_NotFast` before writing anything
    of a chunk it cannot format)."""
    for start in range(0, len(frame), CSV_CHUNK_ROWS):
        chunk = frame.iloc[start : start + CSV_CHUNK_ROWS]
        cells = [_csv_cells(chunk.iloc[:, i]) for i in range(chunk.shape[1])]
        lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, _text(",")), _text(""), _text("\n"))
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
        out.write(memoryview(data)[int(bounds[0]) : int(bounds[-1])])


def write_csv(frame: pd.DataFrame, target: str | Path) -> None:
    """``frame.to_csv(target, index=False, date_format=DATE_FORMAT)``, byte for byte, formatted by Arrow.

    At 1M records pandas' writer (a Python call per row and cell) took ~1/4 of the CLI's CPU time; this
    formats and quotes whole columns in C. A frame with a column of another kind (numbers in a text
    column, integers, other time zones) is written by pandas itself.
    """
    path = Path(target)
    if frame.shape[1] == 0 or len(frame) == 0:
        frame.to_csv(path, index=False, date_format=DATE_FORMAT)
        return
    header = frame.iloc[:0].to_csv(index=False, date_format=DATE_FORMAT)
    try:
        with path.open("wb") as out:
            out.write(header.encode("utf-8"))
            _write_rows(frame, out)
    except (_NotFast, pa.ArrowException, TypeError, ValueError):
        frame.to_csv(path, index=False, date_format=DATE_FORMAT)


def read_table(path: str | Path) -> pd.DataFrame:
    """A steward CSV (decisions, pins, previous xref): all text, empty cells are nulls."""
    file = Path(path)
    if not file.is_file():
        raise SourceDataError(f"{file}: no such file")
    raw = pd.read_csv(file, dtype=str, keep_default_na=False).astype(object)
    return raw.where(raw != "", None)
