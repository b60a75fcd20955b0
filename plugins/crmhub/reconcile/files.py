"""Read canonical contact files and write reconcile results, for the CLI and stewards' dry runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

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
    frame["is_deleted"] = frame["is_deleted"].astype(object).where(frame["is_deleted"].notna(), "")
    for col in [*CONTACT_COLUMNS, *profile]:
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            text = frame[col].astype("object")
            frame[col] = text.where(text.notna() & (text.astype(str).str.strip() != ""), None)
    if not pd.api.types.is_bool_dtype(frame["is_deleted"]):
        frame["is_deleted"] = _parse_bool(frame, "is_deleted", file)
    for col in ("source_created_at", "source_updated_at"):
        try:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise SourceDataError(f"{file}: column {col!r}: not ISO 8601 timestamps") from exc
    return _with_profile(conform(frame[CONTACT_COLUMNS], CONTACT_COLUMNS), frame, profile)


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
        frame.to_csv(target, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        written[name] = target
    merges = out / "merges.json"
    merges.write_text(json.dumps(result.merges, indent=2) + "\n", encoding="utf-8")
    written["merges"] = merges
    return written


def read_table(path: str | Path) -> pd.DataFrame:
    """A steward CSV (decisions, pins, previous xref): all text, empty cells are nulls."""
    file = Path(path)
    if not file.is_file():
        raise SourceDataError(f"{file}: no such file")
    raw = pd.read_csv(file, dtype=str, keep_default_na=False).astype(object)
    return raw.where(raw != "", None)
