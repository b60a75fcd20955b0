"""Prepare frames for the warehouse: contract columns, dtypes, NUL scrubbing, keys, hashes.

Both engines load the output of :func:`prepare`, so DuckDB and PostgreSQL store identical
values (and identical checksums) for the same input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

import pandas as pd

from crmhub.warehouse.tables import kind_of

#: PostgreSQL TEXT cannot hold U+0000. Plain text gets U+FFFD (visibly "something was here");
#: JSON text gets the JSON escape, which keeps the payload valid and lossless.
NUL = "\x00"
NUL_TEXT_REPLACEMENT = "\ufffd"
NUL_JSON_REPLACEMENT = "\\u0000"
JSON_COLUMNS = {"payload"}


def scrub_nul(value: str, *, json_text: bool = False) -> str:
    """Replace NUL characters, the one place the warehouse handles them."""
    if NUL not in value:
        return value
    return value.replace(NUL, NUL_JSON_REPLACEMENT if json_text else NUL_TEXT_REPLACEMENT)


def _text(series: pd.Series, column: str) -> pd.Series:
    json_text = column in JSON_COLUMNS
    values = [
        None if _missing(v) else scrub_nul(v if isinstance(v, str) else str(v), json_text=json_text)
        for v in series.astype(object)
    ]
    return pd.Series(values, index=series.index, dtype=object)


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def prepare(
    frame: pd.DataFrame,
    columns: list[str],
    *,
    name: str,
    required: Iterable[str] = (),
    key: list[str] | None = None,
) -> pd.DataFrame:
    """``frame`` with exactly ``columns`` in warehouse dtypes; raises naming ``name`` when wrong.

    Missing optional columns become null, extra columns raise (a contract mismatch). Naive
    timestamps are taken as UTC. ``required`` columns must be non-null and ``key`` unique, since
    a null or duplicated key would make the set-based SQL ambiguous.
    """
    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ValueError(f"{name}: columns outside the contract: {extra}")
    out = frame.reindex(columns=columns).reset_index(drop=True)
    for col in columns:
        kind = kind_of(col)
        if kind == "timestamp":
            try:
                out[col] = pd.to_datetime(out[col], utc=True).dt.as_unit("us")
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{name}: column {col!r} has values that are not timestamps: {exc}") from exc
        elif kind == "bool":
            out[col] = out[col].astype(object).where(out[col].notna(), False).astype(bool)
        elif kind == "float":
            try:
                out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{name}: column {col!r} has values that are not numbers: {exc}") from exc
        else:
            out[col] = _text(out[col], col)
    for col in required:
        nulls = out[col].isna()
        if nulls.any():
            raise ValueError(f"{name}: required column {col!r} is null in {int(nulls.sum())} row(s)")
    if key:
        dup = out.duplicated(subset=key, keep=False)
        if dup.any():
            first = out.loc[dup, key].iloc[0].tolist()
            raise ValueError(f"{name}: key {key} is not unique, e.g. {first} ({int(dup.sum())} rows)")
    return out


def change_hash(frame: pd.DataFrame, attributes: list[str]) -> pd.Series:
    """sha256 over the attributes of each row: a stable fingerprint for SCD2 change detection."""

    def digest(row: tuple) -> str:
        return hashlib.sha256(json.dumps(list(row), ensure_ascii=False, default=str).encode("utf-8")).hexdigest()

    values = frame[attributes].astype(object).where(frame[attributes].notna(), None)
    return pd.Series(
        [digest(row) for row in values.itertuples(index=False, name=None)],
        index=frame.index,
        dtype=object,
    )


def rows(frame: pd.DataFrame) -> Iterator[tuple]:
    """Plain Python tuples (``None`` for nulls, ``datetime`` for timestamps) for COPY."""
    columns = []
    for col in frame.columns:
        series = frame[col]
        if kind_of(col) == "timestamp":
            columns.append([None if pd.isna(v) else v.to_pydatetime() for v in series])
        elif kind_of(col) == "bool":
            columns.append([bool(v) for v in series])
        elif kind_of(col) == "float":
            columns.append([None if pd.isna(v) else float(v) for v in series])
        else:
            columns.append(series.tolist())
    return zip(*columns, strict=True) if columns else iter(())
