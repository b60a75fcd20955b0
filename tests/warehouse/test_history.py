"""History semantics of the warehouse core (issue 5), each a contract on both engines (``url`` fixture).

Golden contacts are SCD2 in business time; opportunities, cases and campaigns keep the newest business
version per (source, source_id); deletes and merges from sources and from reconcile show in history.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from wh_helpers import (
    batch,
    campaign_row,
    case_row,
    checksums,
    core_and_mart_tables,
    golden_row,
    interaction_row,
    opportunity_row,
    records,
    standard_batch,
    ts,
    versions,
    wait_then_kill,
)

from crmhub.warehouse import LoadBatch, LoadIntegrityError, Warehouse

HERE = Path(__file__).parent


def full_batch(city: str = "Amsterdam", updated: str = "2025-01-01") -> dict[str, pd.DataFrame]:
    """Golden contacts, xref, lineage, interactions and one of each new record kind."""
    return {
        **standard_batch(city=city, updated=updated),
        **records(
            opportunities=[opportunity_row("o1", updated), opportunity_row("o2", updated, contact=None)],
            cases=[case_row("k1", updated)],
            campaigns=[campaign_row("c1", updated)],
        ),
    }


def all_checksums(wh: Warehouse) -> dict[str, str]:
    return checksums(wh, core_and_mart_tables())


# -- opportunities, cases, campaigns ---------------------------------------------------------------


def test_opportunities_cases_and_campaigns_load_with_the_contacts_golden_id(wh: Warehouse) -> None:
    stats = wh.load_reconciled(LoadBatch("run-1", **full_batch()))
    assert (stats.opportunities_upserted, stats.cases_upserted, stats.campaigns_upserted) == (2, 1, 1)
    opps = wh.query("SELECT source_id, golden_id, amount, is_closed FROM core.opportunities ORDER BY source_id")
    assert opps.astype(object).where(opps.notna(), None).to_dict("records") == [
        {"source_id": "o1", "golden_id": "G1", "amount": 1250.5, "is_closed": False},
        {"source_id": "o2", "golden_id": None, "amount": 1250.5, "is_closed": False},
    ]
    case = wh.query("SELECT golden_id, is_complaint, created_at FROM core.cases").iloc[0]
    assert (case["golden_id"], bool(case["is_complaint"]), case["created_at"]) == ("G1", True, ts("2025-01-03"))
    assert wh.query("SELECT name FROM core.campaigns")["name"].tolist() == ["Voorjaarsactie c1"]


def test_a_record_pulled_twice_is_loaded_once_as_its_newest_version(wh: Warehouse) -> None:
    frames = records(
        opportunities=[opportunity_row("o1", "2025-02-01", stage="won"), opportunity_row("o1", "2025-01-01")],
        campaigns=[campaign_row("c1", "2025-01-01"), campaign_row("c1", "2025-01-05", status="Completed")],
    )
    stats = wh.load_reconciled(LoadBatch("run-1", **batch(), **frames))
    assert (stats.opportunities_received, stats.campaigns_received) == (1, 1)
    assert wh.query("SELECT stage FROM core.opportunities")["stage"].tolist() == ["won"]
    assert wh.query("SELECT status FROM core.campaigns")["status"].tolist() == ["Completed"]


def test_an_older_record_version_arriving_late_does_not_overwrite_the_newer(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(), **records(cases=[case_row("k1", "2025-03-01", status="Closed")])))
    stats = wh.load_reconciled(
        LoadBatch("run-2", **batch(), **records(cases=[case_row("k1", "2025-02-01", status="New")]))
    )
    assert stats.cases_upserted == 0
    assert wh.query("SELECT status, source_updated_at FROM core.cases").iloc[0].tolist() == [
        "Closed",
        ts("2025-03-01"),
    ]


def test_an_older_record_version_still_follows_its_contact_to_a_new_golden_id(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(), **records(opportunities=[opportunity_row("o1", "2025-03-01")])))
    relinked = records(opportunities=[opportunity_row("o1", "2025-01-01", stage="old", golden_id="G7")])
    wh.load_reconciled(LoadBatch("run-2", **batch(), **relinked))
    assert wh.query("SELECT stage, golden_id FROM core.opportunities").iloc[0].tolist() == ["qualified", "G7"]


def test_a_deleted_opportunity_is_kept_with_its_deleted_flag(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(), **records(opportunities=[opportunity_row("o1", "2025-01-01")])))
    wh.load_reconciled(
        LoadBatch("run-2", **batch(), **records(opportunities=[opportunity_row("o1", "2025-02-01", is_deleted=True)]))
    )
    assert wh.query("SELECT is_deleted FROM core.opportunities")["is_deleted"].tolist() == [True]


# -- rerun, atomicity ------------------------------------------------------------------------------


def test_rerunning_a_load_leaves_every_core_and_mart_table_identical(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **full_batch()))
    wh.load_reconciled(LoadBatch("run-2", **full_batch(city="Utrecht", updated="2025-02-01")))
    before = all_checksums(wh)
    audit_rows = len(wh.query("SELECT * FROM audit.load_audit"))
    stats = wh.load_reconciled(LoadBatch("run-2", **full_batch(city="Utrecht", updated="2025-02-01")))
    assert all_checksums(wh) == before
    changed = {k: v for k, v in stats.counts().items() if v and not k.endswith("_received")}
    assert changed == {}  # conflicts too: an identical conflict is kept as first recorded (issue 12)
    assert len(wh.query("SELECT * FROM audit.load_audit")) == audit_rows + 1


CHILD = """
import sys
sys.path[:0] = [{helpers!r}]
import pandas as pd
from pathlib import Path
from wh_helpers import standard_batch, records, opportunity_row, case_row, campaign_row, pause_after_file
from crmhub.warehouse import LoadBatch, Warehouse
frames = {{
    **standard_batch(city="Rotterdam", updated="2025-03-01"),
    **records(opportunities=[opportunity_row("o1", "2025-03-01", stage="won")],
              cases=[case_row("k1", "2025-03-01", status="Closed")],
              campaigns=[campaign_row("c1", "2025-03-01", status="Completed")]),
}}
with Warehouse.from_url({url!r}) as wh:
    pause_after_file(wh, {sql_file!r}, Path({marker!r}))
    merges = [{{"winner_golden_id": "G1", "loser_golden_id": "G2"}}]
    wh.load_reconciled(LoadBatch("run-killed", **frames, merges=merges))
"""


#: Points inside the load transaction where the kill test stops the load: after these SQL files.
KILL_AFTER = {"golden": "golden_open", "records": "campaigns_upsert", "conflicts": "conflicts_insert"}


@pytest.mark.parametrize("step", list(KILL_AFTER))
def test_a_load_killed_mid_transaction_leaves_the_warehouse_as_before(url: str, step: str, tmp_path: Path) -> None:
    with Warehouse.from_url(url) as wh:
        wh.migrate()
        wh.load_reconciled(LoadBatch("run-1", **full_batch()))
        before = all_checksums(wh)
    marker = tmp_path / "paused"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "plugins"), os.environ.get("PYTHONPATH", "")]),
    }
    code = CHILD.format(helpers=str(HERE), url=url, sql_file=KILL_AFTER[step], marker=str(marker))
    child = subprocess.Popen([sys.executable, "-c", code], env=env)
    wait_then_kill(child, marker, timeout=60)
    assert child.returncode == -signal.SIGKILL
    with Warehouse.from_url(url) as wh:
        assert all_checksums(wh) == before
        assert "run-killed" not in wh.query("SELECT run_id FROM audit.load_audit")["run_id"].tolist()
        # nothing half-done blocks the next load
        assert (
            wh.load_reconciled(LoadBatch("run-2", **full_batch(city="Delft", updated="2025-04-01"))).golden_opened == 1
        )


# -- one current version -----------------------------------------------------------------------------


def test_a_second_current_version_is_refused(wh: Warehouse) -> None:
    """PostgreSQL refuses it with a partial unique index; DuckDB has none, so the loader's check does."""
    wh.load_reconciled(LoadBatch("run-1", **batch(golden=[golden_row("G1")])))
    duplicate = (
        "INSERT INTO core.golden_contacts (golden_id, source_updated_at, is_deleted, change_hash, valid_from, "
        "valid_to, is_current, loaded_run_id, loaded_at) VALUES ('G1', :t, FALSE, 'x', :t, NULL, TRUE, 'bad', :t)"
    )
    if wh.dialect == "postgresql":
        import psycopg

        with pytest.raises(psycopg.errors.UniqueViolation):
            wh.engine.execute(duplicate, {"t": ts("2025-05-01")})
        return
    wh.engine.execute(duplicate, {"t": ts("2025-05-01")})
    with pytest.raises(LoadIntegrityError, match="more than one current"):
        wh.load_reconciled(LoadBatch("run-2", **batch(golden=[golden_row("G1", "2025-06-01", city="Delft")])))


# -- business-time validity, late-arriving data, backfill -----------------------------------------------


def test_late_arriving_state_lands_between_the_versions_it_falls_between(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(golden=[golden_row("G1", "2025-01-01", city="Amsterdam")])))
    wh.load_reconciled(LoadBatch("run-2", **batch(golden=[golden_row("G1", "2025-03-01", city="Delft")])))
    stats = wh.load_reconciled(LoadBatch("run-3", **batch(golden=[golden_row("G1", "2025-02-01", city="Utrecht")])))
    assert (stats.golden_closed, stats.golden_opened) == (1, 1)
    history = versions(wh, "G1")
    assert [(v["city"], v["valid_from"], v["valid_to"], v["is_current"]) for v in history] == [
        ("Amsterdam", ts("2025-01-01"), ts("2025-02-01"), False),
        ("Utrecht", ts("2025-02-01"), ts("2025-03-01"), False),
        ("Delft", ts("2025-03-01"), None, True),
    ]


def test_a_state_older_than_all_history_is_prepended(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(golden=[golden_row("G1", "2025-03-01", city="Delft")])))
    wh.load_reconciled(LoadBatch("run-2", **batch(golden=[golden_row("G1", "2025-01-01", city="Leiden")])))
    history = versions(wh, "G1")
    assert [(v["city"], v["valid_from"], v["valid_to"]) for v in history] == [
        ("Leiden", ts("2025-01-01"), ts("2025-03-01")),
        ("Delft", ts("2025-03-01"), None),
    ]


def test_a_correction_at_the_same_business_time_restates_that_version(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(golden=[golden_row("G1", "2025-01-01", city="Amsterdam")])))
    stats = wh.load_reconciled(LoadBatch("run-2", **batch(golden=[golden_row("G1", "2025-01-01", city="Amstelveen")])))
    assert (stats.golden_restated, stats.golden_opened) == (1, 0)
    assert [(v["city"], v["is_current"]) for v in versions(wh, "G1")] == [("Amstelveen", True)]


INTERVALS = {
    "jan": {"G1": ("2025-01-10", "Amsterdam"), "G2": ("2025-01-12", "Leiden")},
    "feb": {"G1": ("2025-02-10", "Utrecht"), "G2": ("2025-02-12", "Leiden")},  # G2 unchanged
    "mar": {"G1": ("2025-03-10", "Delft")},
    "apr": {"G1": ("2025-04-10", "Utrecht"), "G2": ("2025-04-12", "Gouda")},
}


def interval_batch(name: str) -> dict[str, pd.DataFrame]:
    golden = [golden_row(g, updated, city=city) for g, (updated, city) in INTERVALS[name].items()]
    month = INTERVALS[name]["G1"][0]
    return {
        **batch(golden=golden, interactions=[interaction_row(f"m-{name}", month)]),
        **records(
            opportunities=[opportunity_row("o1", month, stage=name)],
            cases=[case_row(f"k-{name}", month)],
            campaigns=[campaign_row("c1", month, status=name)],
        ),
    }


def test_backfilling_old_intervals_after_newer_ones_gives_the_in_order_history(url: str, tmp_path: Path) -> None:
    compared = [t for t in core_and_mart_tables() if t not in ("core.golden_conflicts",)]
    results = []
    orders = [("jan", "feb", "mar", "apr"), ("apr", "mar", "feb", "jan"), ("mar", "jan", "apr", "feb")]
    for order in orders:
        if url.startswith("duckdb"):
            url = f"duckdb://{tmp_path / ('-'.join(order) + '.duckdb')}"
        else:
            with Warehouse.from_url(url) as wh:
                for schema in ("raw", "staging", "core", "mart", "audit", "ops"):
                    wh.engine.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        with Warehouse.from_url(url) as wh:
            wh.migrate()
            for name in order:
                wh.load_reconciled(LoadBatch(f"load-{name}", **interval_batch(name)))
            results.append(checksums(wh, compared))
            if order == orders[0]:
                g2 = versions(wh, "G2")
    assert results[1] == results[0]
    assert results[2] == results[0]
    # the unchanged February observation of G2 adds no version, in any order
    assert [(v["city"], v["valid_from"]) for v in g2] == [("Leiden", ts("2025-01-12")), ("Gouda", ts("2025-04-12"))]


@pytest.mark.parametrize("order", list(itertools.permutations(["jan", "feb", "mar"])))
def test_any_load_order_of_distinct_states_gives_the_same_golden_history(wh: Warehouse, order: tuple) -> None:
    for name in order:
        updated, city = INTERVALS[name]["G1"]
        wh.load_reconciled(LoadBatch(f"load-{name}", **batch(golden=[golden_row("G1", updated, city=city)])))
    assert [(v["city"], v["valid_from"], v["is_current"]) for v in versions(wh, "G1")] == [
        ("Amsterdam", ts("2025-01-10"), False),
        ("Utrecht", ts("2025-02-10"), False),
        ("Delft", ts("2025-03-10"), True),
    ]


# -- deletes ---------------------------------------------------------------------------------------


def test_a_delete_closes_the_version_and_opens_a_deleted_one_and_a_comeback_opens_another(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(golden=[golden_row("G1", "2025-01-01")])))
    wh.load_reconciled(LoadBatch("run-2", **batch(golden=[golden_row("G1", "2025-02-01", is_deleted=True)])))
    assert wh.table_counts()["mart.customer_360"] == 0
    wh.load_reconciled(LoadBatch("run-3", **batch(golden=[golden_row("G1", "2025-03-01")])))
    assert [(v["is_deleted"], v["valid_from"], v["valid_to"]) for v in versions(wh, "G1")] == [
        (False, ts("2025-01-01"), ts("2025-02-01")),
        (True, ts("2025-02-01"), ts("2025-03-01")),
        (False, ts("2025-03-01"), None),
    ]
    assert wh.table_counts()["mart.customer_360"] == 1


# -- golden merges and source merges ---------------------------------------------------------------


def test_a_golden_merge_closes_the_losers_version_naming_the_winner(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **standard_batch()))
    merged = batch(
        golden=[golden_row("G1", "2025-02-01", city="Utrecht")],
        xref=[
            {"source": "hubspot", "source_id": "101", "golden_id": "G1", "match_rule": "email", "match_key": "e1"},
            {"source": "hubspot", "source_id": "102", "golden_id": "G1", "match_rule": "email", "match_key": "e1"},
        ],
    )
    merge_events = [{"event": "merge", "into_golden_id": "G1", "from_golden_id": "G2", "records": 2}]
    stats = wh.load_reconciled(LoadBatch("run-2", **merged, merges=merge_events))
    assert stats.golden_merged == 1
    assert versions(wh, "G2") == [
        {
            "city": "Amsterdam",
            "is_deleted": False,
            "valid_from": ts("2025-01-01"),
            "valid_to": ts("2025-02-01"),
            "is_current": False,
            "merged_into_golden_id": "G1",
        }
    ]
    assert wh.query("SELECT golden_id FROM mart.customer_360")["golden_id"].tolist() == ["G1"]
    before = all_checksums(wh)
    wh.load_reconciled(LoadBatch("run-2", **merged, merges=merge_events))
    assert all_checksums(wh) == before


def test_an_undone_merge_brings_the_loser_back_as_a_new_current_version(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **standard_batch()))
    wh.load_reconciled(
        LoadBatch(
            "run-2",
            **batch(golden=[golden_row("G1", "2025-02-01")]),
            merges=[{"winner_golden_id": "G1", "loser_golden_id": "G2"}],
        )
    )
    wh.load_reconciled(
        LoadBatch("run-3", **batch(golden=[golden_row("G1", "2025-02-01"), golden_row("G2", "2025-01-01")]))
    )
    assert [(v["valid_from"], v["valid_to"], v["merged_into_golden_id"]) for v in versions(wh, "G2")] == [
        (ts("2025-01-01"), ts("2025-02-01"), "G1"),
        (ts("2025-02-01"), None, None),
    ]


def xref_frame(rows: list[dict]) -> pd.DataFrame:
    from crmhub.warehouse.tables import LOAD_XREF_COLUMNS

    return pd.DataFrame(rows, columns=LOAD_XREF_COLUMNS)


def test_source_merges_and_deletes_show_in_the_xref_history(wh: Warehouse) -> None:
    link = {"source": "hubspot", "match_rule": "email", "match_key": "e1"}
    wh.load_reconciled(
        LoadBatch(
            "run-1",
            **{
                **batch(golden=[golden_row("G1"), golden_row("G2")]),
                "xref": xref_frame(
                    [{**link, "source_id": "101", "golden_id": "G1"}, {**link, "source_id": "102", "golden_id": "G2"}]
                ),
            },
        )
    )
    # HubSpot merged 102 into 101 and deleted 103 (never seen before): reconcile links the loser to the winner
    wh.load_reconciled(
        LoadBatch(
            "run-2",
            **{
                **batch(golden=[golden_row("G1", "2025-02-01")]),
                "xref": xref_frame(
                    [
                        {**link, "source_id": "101", "golden_id": "G1"},
                        {**link, "source_id": "102", "golden_id": "G1", "merged_into_source_id": "101"},
                        {**link, "source_id": "103", "golden_id": "G1", "is_deleted": True},
                    ]
                ),
            },
            merges=[{"winner_golden_id": "G1", "loser_golden_id": "G2"}],
        )
    )
    history = wh.query(
        "SELECT source_id, golden_id, is_current, is_deleted, merged_into_source_id FROM core.contact_xref "
        "ORDER BY source_id, is_current"
    )
    assert history.astype(object).where(history.notna(), None).to_dict("records") == [
        {"source_id": "101", "golden_id": "G1", "is_current": True, "is_deleted": False, "merged_into_source_id": None},
        {
            "source_id": "102",
            "golden_id": "G2",
            "is_current": False,
            "is_deleted": False,
            "merged_into_source_id": None,
        },
        {
            "source_id": "102",
            "golden_id": "G1",
            "is_current": True,
            "is_deleted": False,
            "merged_into_source_id": "101",
        },
        {"source_id": "103", "golden_id": "G1", "is_current": True, "is_deleted": True, "merged_into_source_id": None},
    ]
    assert wh.current_xref().set_index("source_id").loc["102", "golden_id"] == "G1"
    assert versions(wh, "G2")[-1]["merged_into_golden_id"] == "G1"
