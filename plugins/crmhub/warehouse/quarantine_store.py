"""Quarantine and warehouse-gate reads: the SQL side of ``crmhub.quality`` (see docs/quality.md).

An open quarantine entry is keyed by (stage, expectation, source, source_id): a record that keeps
failing refreshes its entry (``last_run_id``), a record that passes again is marked resolved after
the run that loaded it. Resolved entries are kept as history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd

from crmhub.warehouse import frames, tables
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.sqlfiles import load_statements

RESOLVED_FILTERS = ("open", "resolved", "all")
#: LoadStats counters whose sum must equal the rows a table holds stamped with the run.
AUDITED_ROWS: dict[str, tuple[str, ...]] = {
    "core.golden_contacts": ("golden_opened",),
    "core.contact_xref": ("xref_opened",),
    "core.interactions": ("interactions_inserted", "interactions_updated"),
}


def store_quarantine(engine: Engine, records: pd.DataFrame) -> dict[str, int]:
    """Upsert held-back records in one transaction; returns how many entries were refreshed / opened."""
    prepared = frames.prepare(
        records,
        tables.QUARANTINE_COLUMNS,
        name="quarantine records",
        required=["stage", "suite", "expectation", "reason", "run_id", "quarantined_at"],
    )
    if prepared.empty:
        return {"refreshed": 0, "opened": 0}
    with engine.transaction():
        engine.run_file("quarantine_clear")
        engine.stage("staging.quarantine", prepared)
        refreshed = engine.run_file("quarantine_update")
        opened = engine.run_file("quarantine_insert")
        engine.run_file("quarantine_clear")
    return {"refreshed": refreshed, "opened": opened}


def resolve_quarantine(engine: Engine, run_id: str, stages: Iterable[str]) -> int:
    """Mark open entries of ``stages`` that ``run_id`` did not quarantine again as resolved.

    Call only after the run's load committed: the records passed this run's gate and are loaded.
    """
    now = datetime.now(UTC)
    resolved = 0
    with engine.transaction():
        for stage in stages:
            resolved += engine.run_file("quarantine_resolve", {"run_id": run_id, "stage": stage, "resolved_at": now})
    return resolved


def read_quarantine(engine: Engine, resolved: str = "open") -> pd.DataFrame:
    """Quarantine entries (``open``, ``resolved`` or ``all``), newest first."""
    if resolved not in RESOLVED_FILTERS:
        raise ValueError(f"resolved must be one of {RESOLVED_FILTERS}, not {resolved!r}")
    (statement,) = load_statements("quarantine_select", engine.dialect)
    names, data = engine.fetch(statement, {"resolved": resolved})
    return pd.DataFrame(data, columns=names)


def warehouse_check_frames(engine: Engine, run_id: str) -> dict[str, pd.DataFrame]:
    """The frames the warehouse-stage suites validate, read after the load (one per suite)."""
    out: dict[str, pd.DataFrame] = {}
    for stage, sql in (
        ("warehouse_current_versions", "quality_current_versions"),
        ("warehouse_validity", "quality_validity"),
        ("warehouse_interaction_contacts", "quality_interaction_contacts"),
        ("warehouse_record_contacts", "quality_record_contacts"),
    ):
        (statement,) = load_statements(sql, engine.dialect)
        names, data = engine.fetch(statement)
        out[stage] = pd.DataFrame(data, columns=names)
    out["warehouse_validity"] = _timestamps(out["warehouse_validity"], ["valid_from", "previous_valid_to"])
    out["warehouse_load_counts"] = load_counts(engine, run_id)
    return out


def load_counts(engine: Engine, run_id: str) -> pd.DataFrame:
    """Per loaded table: rows the run's successful loads audited vs rows stamped with the run.

    No successful load of the run gives an empty frame (the suite's row-count rule then fails).
    """
    (audit_sql,) = load_statements("quality_load_audit", engine.dialect)
    _, audit_rows = engine.fetch(audit_sql, {"run_id": run_id})
    if not audit_rows:
        return pd.DataFrame(columns=["table_name", "audited_rows", "warehouse_rows"])
    audited = dict.fromkeys(AUDITED_ROWS, 0)
    for (row_counts,) in audit_rows:
        counts = json.loads(row_counts or "{}")
        for table, keys in AUDITED_ROWS.items():
            audited[table] += sum(int(counts.get(k, 0)) for k in keys)
    (rows_sql,) = load_statements("quality_run_rows", engine.dialect)
    _, data = engine.fetch(rows_sql, {"run_id": run_id})
    held = {name: int(n) for name, n in data}
    return pd.DataFrame(
        [{"table_name": t, "audited_rows": audited[t], "warehouse_rows": held.get(t, 0)} for t in AUDITED_ROWS]
    )


def _timestamps(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for col in columns:
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame
