"""Backfilling days out of order loads the same warehouse as loading them in order.

Each day is an ``airflow dags test`` run of the Hootsuite ingest DAG for that logical date (what
``airflow backfill create --dag-id crmhub_ingest_hootsuite`` schedules, one run per day; Hootsuite is
the source whose pulls are bounded by time windows on both ends); reconcile then runs once, as its
Assets trigger it after the last backfilled day. Raw landing is idempotent and windows overlap, so
the order of the days must not matter.
"""

from __future__ import annotations

import pytest

from crmhub.warehouse import Warehouse

pytestmark = pytest.mark.airflow

DAYS = ["2026-10-30", "2026-10-31", "2026-11-01"]
RECONCILE_DATE = "2026-11-02"
BACKFILLED = "crmhub_ingest_hootsuite"
COMPARED = ["core.golden_contacts", "core.interactions", "core.golden_lineage", "mart.customer_360"]
#: Content of the tables whose rows also carry when/by which run they were written (load-time validity
#: of a match decision, the reconcile run's own ID): those differ between any two loads by design.
CONTENT = {
    "raw.payloads": "SELECT source, object_type, source_id, payload_hash FROM raw.payloads",
    "core.contact_xref": "SELECT source, source_id, golden_id, match_rule, match_key, is_current "
    "FROM core.contact_xref",
    "core.golden_conflicts": "SELECT golden_id, attribute, chosen_source, chosen_value, other_source, "
    "other_value, rule FROM core.golden_conflicts",
}


def load_days(make_ops_airflow, sandbox, tmp_path, days: list[str]) -> dict[str, object]:
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    airflow = make_ops_airflow(sandbox, url, tmp_path / "data")
    for day in days:
        airflow.dags_test(BACKFILLED, day)
    airflow.dags_test("crmhub_reconcile", RECONCILE_DATE)
    with Warehouse.from_url(url) as warehouse:
        content = {
            table: sorted(map(str, warehouse.query(sql).itertuples(index=False))) for table, sql in CONTENT.items()
        }
        return {**content, **{table: warehouse.checksum(table) for table in COMPARED}}


def test_backfilling_three_days_out_of_order_equals_an_in_order_load(fresh_sandbox, make_ops_airflow, tmp_path):
    in_order = load_days(make_ops_airflow, fresh_sandbox, tmp_path / "in-order", DAYS)
    out_of_order = load_days(make_ops_airflow, fresh_sandbox, tmp_path / "out-of-order", [DAYS[2], DAYS[0], DAYS[1]])
    assert len(in_order["raw.payloads"]) > 0 and len(in_order["core.contact_xref"]) > 0
    assert out_of_order == in_order
