"""``crmhub warehouse-diff``: the refactor proof names what differs and ignores run bookkeeping."""

from __future__ import annotations

from pathlib import Path

from crmhub.warehouse.api import Warehouse
from crmhub_dev.warehouse_diff import compare

CAMPAIGN = (
    "INSERT INTO core.campaigns (source, source_id, name, channel, status, started_at, ended_at, "
    "source_updated_at, is_deleted, loaded_run_id, loaded_at) VALUES "
    "('hubspot', 'c1', 'Lente', 'email', 'active', {started}, NULL, TIMESTAMPTZ '2026-03-01 00:00:00+00', "
    "false, '{run}', {loaded})"
)


def _warehouse(path: Path, *, run: str, loaded: str, started: str) -> str:
    url = f"duckdb:///{path}"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
        wh.engine.execute(CAMPAIGN.format(run=run, loaded=loaded, started=started))
    return url


def test_two_warehouses_loaded_in_different_runs_are_identical(tmp_path: Path) -> None:
    before = _warehouse(tmp_path / "a.duckdb", run="r1", loaded="now()", started="TIMESTAMPTZ '2026-03-02 00:00:00+00'")
    after = _warehouse(tmp_path / "b.duckdb", run="r2", loaded="now()", started="TIMESTAMPTZ '2026-03-02 00:00:00+00'")

    assert not any(compare(before, after).values())


def test_a_changed_business_value_is_named_by_table_and_column(tmp_path: Path) -> None:
    before = _warehouse(tmp_path / "a.duckdb", run="r1", loaded="now()", started="TIMESTAMPTZ '2026-03-02 00:00:00+00'")
    after = _warehouse(tmp_path / "b.duckdb", run="r1", loaded="now()", started="TIMESTAMPTZ '2026-03-09 00:00:00+00'")

    differences = compare(before, after)

    assert differences["core.campaigns"] == ["started_at"]
    assert [table for table, columns in differences.items() if columns] == ["core.campaigns"]
