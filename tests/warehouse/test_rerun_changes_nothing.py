"""Rerunning the same interval changes no business table (issue 12), on DuckDB and PostgreSQL.

Every table and view of the raw, core, audit and mart schemas is enumerated from the catalog, so a
table added later is covered without editing this test; the only columns left out are the load
bookkeeping listed in ``BOOKKEEPING`` and the only table left out is the load log itself.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from wh_helpers import contact, stage_run

from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse

SCHEMAS = ("raw", "core", "audit", "mart")
#: Run logs: one row per load attempt (and per run's filter counts) is what they are for; a rerun is
#: recorded there on purpose.
RUN_LOGS = {"audit.load_audit", "audit.interaction_filter_counts"}
#: Columns that say when and by which run a row was (re)written, not what the business knows.
BOOKKEEPING: dict[str, set[str]] = {
    "*": {"loaded_at", "loaded_run_id"},
    "core.review_queue": {"run_id"},  # the queue of the latest run (replaced by every run)
}


def business_tables(wh: Warehouse) -> dict[str, list[str]]:
    """Every table and view of ``SCHEMAS`` but the run logs, with its columns minus bookkeeping."""
    frame = wh.query(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('raw', 'core', 'audit', 'mart') ORDER BY table_schema, table_name, ordinal_position"
    )
    out: dict[str, list[str]] = {}
    for schema, table, column in frame.itertuples(index=False):
        name = f"{schema}.{table}"
        if name not in RUN_LOGS and column not in BOOKKEEPING["*"] | BOOKKEEPING.get(name, set()):
            out.setdefault(name, []).append(column)
    return out


def checksum_all(wh: Warehouse) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every business table."""
    sums = {}
    for table, columns in business_tables(wh).items():
        names = ", ".join(f'"{c}"' for c in columns)
        schema, name = table.split(".")
        _, rows = wh.engine.fetch(f'SELECT {names} FROM "{schema}"."{name}"')
        digests = sorted(hashlib.sha256(json.dumps([_plain(v) for v in row]).encode()).hexdigest() for row in rows)
        sums[table] = (len(rows), hashlib.sha256("".join(digests).encode()).hexdigest())
    return sums


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


#: Two people, each known to two CRMs that disagree on their city (conflicts) ...
FIRST = [
    contact("hubspot", "101", "2025-02-01", company="Bakker"),
    contact("salesforce", "0035", "2025-02-02", city="Amsterdam", company="Bakker BV"),
    contact("hubspot", "102", "2025-01-05", first_name="Kees", last_name="Jansen", email="kees@example.nl"),
    contact(
        "dynamics", "k-9", "2025-01-06", first_name="Kees", last_name="Jansen", city="Ede", email="kees@example.nl"
    ),
]
#: ... and the interval after: Salesforce corrects its record into another person (a split).
SECOND = [
    *FIRST[:1],
    contact("salesforce", "0035", "2025-03-01", first_name="Farid", last_name="Rahimi", email="f.rahimi@example.com"),
    *FIRST[2:],
]
MENTIONS = [
    {
        "source": "hubspot",
        "source_id": "e1",
        "contact_source_id": "101",
        "occurred_at": "2025-02-03T09:00:00Z",
        "channel": "email",
        "direction": "inbound",
        "interaction_type": "email",
        "text": "Waar blijft mijn pakket?",
    }
]


def forget_load_state(wh: Warehouse, data: Path) -> None:
    """Delete the incremental-load state: the next load hands over the full snapshot."""
    state = wh.load_state(stage.state_dir(data))
    if state is not None:
        shutil.rmtree(state.folder, ignore_errors=True)


@pytest.mark.parametrize("handover", ["incremental", "full"])
@pytest.mark.parametrize("rerun_id", ["same run id", "new run id"])
def test_rerunning_the_same_interval_changes_no_business_table(
    wh: Warehouse, tmp_path: Path, handover: str, rerun_id: str
) -> None:
    stage_run(wh, tmp_path, "interval-1", FIRST, MENTIONS)
    stage_run(wh, tmp_path, "interval-2", SECOND, MENTIONS)
    assert wh.table_counts()["core.golden_conflicts"] > 0  # the data has conflicts to re-record
    before = checksum_all(wh)
    for attempt in (1, 2, 3):
        if handover == "full":
            forget_load_state(wh, tmp_path)
        run_id = "interval-2" if rerun_id == "same run id" else f"interval-2-retry-{attempt}"
        result = stage_run(wh, tmp_path, run_id, SECOND, MENTIONS)
        assert result["handover"] == handover
        assert checksum_all(wh) == before, f"rerun {attempt}"


def test_the_check_covers_every_schema_the_hub_loads(wh: Warehouse) -> None:
    covered = {t.split(".")[0] for t in business_tables(wh)}
    assert covered == set(SCHEMAS)
    assert {"core.golden_conflicts", "core.golden_merge_log", "mart.customer_360", "raw.payloads"} <= set(
        business_tables(wh)
    )
