"""Raw-stage gate: the vendor payloads of one pull, checked before anything is landed.

Suites are per source and object type (``include/gx/raw_<source>_<object_type>.json``) and speak
the vendor's field names: a nested payload field is addressed with ``__`` (``socialProfile__id``).
Besides payload fields, a suite can use ``source_id``, ``source_updated_at`` (what the connector
keyed the record by) and ``window_since`` / ``window_until`` (the pull's window, overlap included;
``window_since`` is empty for a full pull), so "timestamps inside the run's window" is an ordinary
column-pair expectation. Only the columns a suite names are flattened, which keeps a large pull cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from crmhub import paths
from crmhub.quality.report import ValidationReport
from crmhub.quality.suites import SuiteSpec, load_suite, suite_path

#: Columns a raw suite may use that do not come from the payload.
META_COLUMNS = ("source_id", "source_updated_at", "window_since", "window_until")
PATH_SEPARATOR = "__"


class RawLike(Protocol):
    """What the gate needs of a ``crmhub.connectors.base.RawRecord``."""

    source_id: str
    source_updated_at: datetime | None
    payload: Mapping[str, Any]


def raw_stage(source: str, object_type: str) -> str:
    """Suite/stage name of one source's object type, e.g. ``raw_hubspot_contacts``."""
    return f"raw_{source}_{object_type}"


def find_raw_stage(names: Iterable[str], object_type: str, suite_dir: Path | str = paths.GX_DIR) -> str | None:
    """The first of ``names`` (source name, then connector plugin name) with a raw suite file."""
    for name in names:
        stage = raw_stage(name, object_type)
        if suite_path(stage, suite_dir).is_file():
            return stage
    return None


def suite_columns(spec: SuiteSpec) -> list[str]:
    """Every column a suite refers to (kwargs and where clauses), in first-use order."""
    return list(dict.fromkeys(col for exp in spec.expectations for col in exp.reads))


def raw_frame(
    records: Iterable[RawLike], columns: Iterable[str], window_since: datetime | None, window_until: datetime
) -> pd.DataFrame:
    """One row per record with the named columns; a payload path that is absent becomes null."""
    cols = list(columns)
    rows = []
    for record in records:
        row: dict[str, Any] = {}
        for col in cols:
            if col == "source_id":
                row[col] = record.source_id
            elif col == "source_updated_at":
                row[col] = record.source_updated_at
            elif col == "window_since":
                row[col] = window_since
            elif col == "window_until":
                row[col] = window_until
            else:
                row[col] = _lookup(record.payload, col.split(PATH_SEPARATOR))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=cols)
    for col in ("source_updated_at", "window_since", "window_until"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def validate_raw(
    stage: str,
    records: list[RawLike],
    *,
    window_since: datetime | None,
    window_until: datetime,
    run_id: str,
    suite_dir: Path | str = paths.GX_DIR,
    docs_dir: Path | str | None = None,
) -> tuple[ValidationReport, pd.DataFrame]:
    """Validate one pull against its raw suite; returns the report and the frame it validated."""
    from crmhub.quality.gates import validate

    spec = load_suite(stage, suite_dir)
    columns = ["source_id", *(c for c in suite_columns(spec) if c != "source_id")]  # ids name examples
    frame = raw_frame(records, columns, window_since, window_until)
    return validate(stage, frame, run_id=run_id, suite_dir=suite_dir, docs_dir=docs_dir), frame


def _lookup(payload: Any, path: list[str]) -> Any:
    value = payload
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, list | dict):  # enumerations and ids are scalars; keep containers out of GX
        return str(value)
    return value
