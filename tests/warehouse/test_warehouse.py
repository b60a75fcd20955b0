"""Warehouse behaviour, each test on both engines (see the ``url`` fixture)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from wh_helpers import (
    InjectedFailure,
    batch,
    checksums,
    current_counts,
    fail_after_file,
    golden_row,
    interaction_row,
    raw_record,
    standard_batch,
    ts,
)

from crmhub.warehouse import LoadBatch, Warehouse, tables


def _load(wh: Warehouse, run_id: str, frames: dict[str, pd.DataFrame], **kw):
    return wh.load_reconciled(LoadBatch(run_id, **frames, **kw))


def test_migrate_twice_is_harmless(wh: Warehouse) -> None:
    wh.land_raw(pd.DataFrame([raw_record("1", "2025-01-01", {"a": 1})]))
    before = wh.table_counts()
    wh.migrate()
    assert wh.table_counts() == before
    assert before["raw.payloads"] == 1


def test_database_columns_match_the_python_whitelist(wh: Warehouse) -> None:
    for table, columns in {**tables.TABLES, **tables.STAGING}.items():
        schema, name = table.split(".")
        found = wh.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = :name ORDER BY ordinal_position",
            {"schema": schema, "name": name},
        )["column_name"].tolist()
        assert found == columns, table


@pytest.mark.postgres
def test_postgres_interactions_pages_keep_room_for_in_place_updates(pg_url: str) -> None:
    """An edited interaction is rewritten on its own page (HOT), so small updates add no index entries."""
    with Warehouse.from_url(pg_url) as warehouse:
        warehouse.migrate()
        options = warehouse.query(
            "SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE oid = 'core.interactions'::regclass"
        )["options"].tolist()
    assert options == ["fillfactor=90"]


def test_land_raw_is_idempotent(wh: Warehouse) -> None:
    records = pd.DataFrame([raw_record("1", "2025-01-01", {"a": 1}), raw_record("2", "2025-01-01", {"a": 2})])
    assert wh.land_raw(records) == 2
    assert wh.land_raw(records) == 0
    again = pd.DataFrame([raw_record("3", "2025-01-02", {"a": 3})] * 2 + [raw_record("1", "2025-01-01", {"a": 1})])
    assert wh.land_raw(again) == 1
    assert wh.table_counts()["raw.payloads"] == 3


def test_latest_raw_picks_newest_per_source_id(wh: Warehouse) -> None:
    wh.land_raw(
        pd.DataFrame(
            [
                raw_record("1", "2025-01-01", {"v": "old"}),
                raw_record("1", "2025-01-05", {"v": "new"}),
                raw_record("1", "2025-01-03", {"v": "middle"}, extracted_at=ts("2025-04-01")),
                # same business time, later extraction wins the tie
                raw_record("2", "2025-01-01", {"v": "first pull"}),
                raw_record("2", "2025-01-01", {"v": "second pull"}, extracted_at=ts("2025-03-02")),
                raw_record("3", "2025-01-09", {"v": "other type"}, object_type="company"),
            ]
        )
    )
    latest = wh.latest_raw("hubspot", "contact")
    assert latest["source_id"].tolist() == ["1", "2"]
    assert [json.loads(p)["v"] for p in latest["payload"]] == ["new", "second pull"]
    assert str(latest["source_updated_at"].dtype) == "datetime64[us, UTC]"


def test_scd2_changed_attribute_adds_current_version_from_business_time(wh: Warehouse) -> None:
    _load(wh, "run-1", batch(golden=[golden_row("G1", "2025-01-01T00:00:00", city="Amsterdam")]))
    stats = _load(wh, "run-2", batch(golden=[golden_row("G1", "2025-02-10T12:00:00", city="Utrecht")]))
    assert (stats.golden_closed, stats.golden_opened) == (1, 1)
    versions = wh.query(
        "SELECT city, valid_from, valid_to, is_current, loaded_run_id FROM core.golden_contacts "
        "WHERE golden_id = :g ORDER BY valid_from",
        {"g": "G1"},
    )
    assert versions["city"].tolist() == ["Amsterdam", "Utrecht"]
    assert versions["is_current"].tolist() == [False, True]
    assert versions["valid_from"].tolist() == [ts("2025-01-01"), ts("2025-02-10T12:00:00")]
    assert versions["valid_to"].iloc[0] == ts("2025-02-10T12:00:00")
    assert pd.isna(versions["valid_to"].iloc[1])
    assert versions["loaded_run_id"].tolist() == ["run-1", "run-2"]


def test_newer_timestamp_without_attribute_change_adds_no_version(wh: Warehouse) -> None:
    _load(wh, "run-1", batch(golden=[golden_row("G1", "2025-01-01")]))
    stats = _load(wh, "run-2", batch(golden=[golden_row("G1", "2025-03-01")]))
    assert (stats.golden_closed, stats.golden_opened) == (0, 0)
    assert wh.table_counts()["core.golden_contacts"] == 1


def test_golden_absent_from_frame_is_left_as_is(wh: Warehouse) -> None:
    _load(wh, "run-1", batch(golden=[golden_row("G1"), golden_row("G2")]))
    _load(wh, "run-2", batch(golden=[golden_row("G1", "2025-02-01", city="Delft")]))
    g2 = wh.query("SELECT is_current, is_deleted FROM core.golden_contacts WHERE golden_id = 'G2'")
    assert g2.to_dict("records") == [{"is_current": True, "is_deleted": False}]


def test_deleted_golden_becomes_a_deleted_current_version_and_leaves_the_mart(wh: Warehouse) -> None:
    _load(wh, "run-1", batch(golden=[golden_row("G1")]))
    _load(wh, "run-2", batch(golden=[golden_row("G1", "2025-02-01", is_deleted=True)]))
    current = wh.query("SELECT is_deleted FROM core.golden_contacts WHERE is_current")
    assert current["is_deleted"].tolist() == [True]
    assert wh.table_counts()["mart.customer_360"] == 0


def test_conflicts_are_kept_per_golden_id_and_a_resolved_one_leaves_the_table(wh: Warehouse) -> None:
    _load(wh, "run-1", standard_batch())
    _load(wh, "run-2", standard_batch())  # found again by the next run: still one row, from run-1
    assert wh.query("SELECT run_id, golden_id FROM core.golden_conflicts").values.tolist() == [["run-1", "G1"]]
    resolved = standard_batch()
    resolved["conflicts"] = resolved["conflicts"].iloc[0:0]
    _load(wh, "run-3", resolved)
    assert wh.table_counts()["core.golden_conflicts"] == 0


def test_migrate_keeps_the_first_of_a_conflict_logged_once_per_run_before(wh: Warehouse) -> None:
    for run_id in ("run-1", "run-2", "run-3"):  # what per-run conflict logs left behind
        wh.engine.execute(
            "INSERT INTO core.golden_conflicts VALUES "
            f"('{run_id}', 'G1', 'city', 'hubspot', 'Amsterdam', 'hootsuite', NULL, 'source_priority', now())"
        )
    wh.migrate()
    assert wh.query("SELECT run_id FROM core.golden_conflicts")["run_id"].tolist() == ["run-1"]


def test_identical_rerun_changes_no_core_checksum(wh: Warehouse) -> None:
    wh.land_raw(pd.DataFrame([raw_record("101", "2025-01-01", {"a": 1})]))
    _load(wh, "run-1", standard_batch())
    before = checksums(wh)
    stats = _load(wh, "run-1", standard_batch())
    assert checksums(wh) == before
    assert stats.counts() | {"golden_received": 0, "xref_received": 0, "interactions_received": 0} == {
        k: 0 for k in stats.counts()
    }
    # a new run with the same data: every table stays identical, conflicts included (issue 12)
    _load(wh, "run-2", standard_batch())
    assert checksums(wh) == before
    audit = wh.query("SELECT run_id, status FROM audit.load_audit WHERE stage = 'load_reconciled' ORDER BY audit_id")
    assert audit.to_dict("records") == [
        {"run_id": "run-1", "status": "success"},
        {"run_id": "run-1", "status": "success"},
        {"run_id": "run-2", "status": "success"},
    ]


#: One SQL file per load step (staging, golden, xref, interactions, records, lineage, conflicts,
#: audit): the test fails the load right after it, inside the transaction.
FAIL_AFTER = (
    "golden_merge_close",
    "golden_open",
    "xref_open",
    "interactions_insert",
    "campaigns_upsert",
    "lineage_insert",
    "conflicts_insert",
    "audit_insert",
)


@pytest.mark.parametrize("step", FAIL_AFTER)
def test_failed_load_changes_nothing(wh: Warehouse, step: str) -> None:
    wh.land_raw(pd.DataFrame([raw_record("101", "2025-01-01", {"a": 1})]))
    _load(wh, "run-1", standard_batch())
    before = checksums(wh)
    changed = standard_batch(city="Rotterdam", updated="2025-03-01")
    changed["interactions"].loc[0, "text"] = "changed"
    changed["xref"].loc[0, "golden_id"] = "G2"
    fail_after_file(wh, step)
    with pytest.raises(InjectedFailure):
        _load(wh, "run-2", changed)
    assert checksums(wh) == before
    assert wh.table_counts()["core.golden_contacts"] == 2
    last = wh.query("SELECT run_id, status, error FROM audit.load_audit ORDER BY audit_id DESC LIMIT 1")
    assert last[["run_id", "status"]].iloc[0].tolist() == ["run-2", "failed"]
    assert step in last["error"].iloc[0]
    # the warehouse is still usable and the same load then succeeds
    stats = _load(wh, "run-2", changed)
    assert stats.golden_opened == 1


def test_exactly_one_current_row_per_golden_id(wh: Warehouse) -> None:
    for i, city in enumerate(["Amsterdam", "Utrecht", "Delft", "Utrecht"]):
        _load(
            wh,
            f"run-{i}",
            batch(golden=[golden_row("G1", f"2025-0{i + 1}-01", city=city), golden_row("G2", f"2025-0{i + 1}-01")]),
        )
    counts = current_counts(wh)
    assert counts["n"].tolist() == [1, 1]
    history = wh.query(
        "SELECT valid_from, valid_to FROM core.golden_contacts WHERE golden_id = 'G1' ORDER BY valid_from"
    )
    assert len(history) == 4
    # versions chain without gaps or overlaps
    assert history["valid_to"].iloc[:-1].tolist() == history["valid_from"].iloc[1:].tolist()


def test_xref_keeps_history_when_a_record_moves_to_another_golden_id(wh: Warehouse) -> None:
    _load(wh, "run-1", standard_batch())
    moved = standard_batch()
    moved["xref"].loc[1, ["golden_id", "match_rule"]] = ["G2", "steward_split"]
    stats = _load(wh, "run-2", moved)
    assert (stats.xref_closed, stats.xref_opened) == (1, 1)
    history = wh.query(
        "SELECT golden_id, is_current, valid_to IS NULL AS open FROM core.contact_xref "
        "WHERE source = 'hootsuite' ORDER BY valid_from, is_current"
    )
    assert history.to_dict("records") == [
        {"golden_id": "G1", "is_current": False, "open": False},
        {"golden_id": "G2", "is_current": True, "open": True},
    ]
    current = wh.current_xref()
    assert list(current.columns) == ["source", "source_id", "golden_id", "match_rule", "match_key"]
    assert len(current) == 3


def test_interactions_upsert_by_source_and_source_id(wh: Warehouse) -> None:
    _load(wh, "run-1", batch(interactions=[interaction_row("m1", "2025-02-01"), interaction_row("m2", "2025-02-02")]))
    stats = _load(
        wh,
        "run-2",
        batch(
            interactions=[
                interaction_row("m1", "2025-02-01", text="edited", golden_id="G9"),
                interaction_row("m2", "2025-02-02"),
                interaction_row("m3", "2025-02-03"),
            ]
        ),
    )
    assert (stats.interactions_updated, stats.interactions_inserted) == (1, 1)
    rows = wh.query("SELECT source_id, text, golden_id, loaded_run_id FROM core.interactions ORDER BY source_id")
    assert rows.to_dict("records") == [
        {"source_id": "m1", "text": "edited", "golden_id": "G9", "loaded_run_id": "run-2"},
        {"source_id": "m2", "text": "hallo", "golden_id": "G1", "loaded_run_id": "run-1"},
        {"source_id": "m3", "text": "hallo", "golden_id": "G1", "loaded_run_id": "run-2"},
    ]


def test_lineage_is_replaced_per_golden_id(wh: Warehouse) -> None:
    _load(wh, "run-1", standard_batch())
    frames = batch(
        golden=[golden_row("G1")],
        lineage=[{"golden_id": "G1", "attribute": "phone", "source": "hubspot", "source_id": "101", "rule": "r"}],
    )
    _load(wh, "run-2", frames)
    lineage = wh.query("SELECT golden_id, attribute FROM core.golden_lineage ORDER BY golden_id, attribute")
    assert lineage.values.tolist() == [["G1", "phone"], ["G2", "email"]]


def test_customer_360_returns_the_expected_row(wh: Warehouse) -> None:
    _load(wh, "run-1", standard_batch())
    row = wh.query("SELECT * FROM mart.customer_360 WHERE golden_id = 'G1'").iloc[0]
    assert row["first_name"] == "Jan" and row["last_name"] == "Vries"
    assert (row["social_network"], row["social_handle"]) == ("twitter", "handle_g1")
    assert (row["source_count"], row["source_record_count"], row["sources"]) == (2, 2, "hootsuite,hubspot")
    assert row["interaction_count"] == 2
    assert row["first_interaction_at"] == ts("2025-02-01T09:00:00")
    assert row["last_interaction_at"] == ts("2025-02-03T09:00:00")
    assert row["last_interaction_channel"] == "email"
    assert list(wh.query("SELECT * FROM mart.customer_360").columns) == tables.TABLES["mart.customer_360"]


def test_nul_bytes_in_text_are_replaced_centrally(wh: Warehouse) -> None:
    record = raw_record("1\x00x", "2025-01-01", {"bio": "a\x00b"})
    assert "\x00" not in record["payload"]  # json.dumps already escapes NUL in payloads
    record["payload"] = '{"bio":"a\x00b"}'  # a raw NUL, as a broken producer might send
    assert wh.land_raw(pd.DataFrame([record])) == 1
    landed = wh.latest_raw("hubspot", "contact").iloc[0]
    assert landed["source_id"] == "1\ufffdx"
    assert json.loads(landed["payload"]) == {"bio": "a\x00b"}  # lossless via the JSON escape
    _load(wh, "run-1", batch(golden=[golden_row("G1", first_name="Ja\x00n")]))
    assert wh.query("SELECT first_name FROM core.golden_contacts")["first_name"].tolist() == ["Ja\ufffdn"]


def test_checksum_is_order_independent_and_whitelisted(wh: Warehouse) -> None:
    empty = wh.checksum("raw.payloads")
    wh.land_raw(pd.DataFrame([raw_record("1", "2025-01-01", {"a": 1}), raw_record("2", "2025-01-01", {"a": 2})]))
    other = Warehouse.from_url("duckdb:///:memory:")
    other.migrate()
    other.land_raw(pd.DataFrame([raw_record("2", "2025-01-01", {"a": 2}), raw_record("1", "2025-01-01", {"a": 1})]))
    assert wh.checksum("raw.payloads") == other.checksum("raw.payloads") != empty
    other.close()
    with pytest.raises(ValueError, match="not a warehouse table"):
        wh.checksum("pg_catalog.pg_user")


def test_bad_frames_are_rejected_before_anything_changes(wh: Warehouse) -> None:
    _load(wh, "run-1", standard_batch())
    before = checksums(wh)
    dup = batch(golden=[golden_row("G1"), golden_row("G1", city="Delft")])
    with pytest.raises(ValueError, match="golden: key"):
        _load(wh, "run-2", dup)
    with pytest.raises(ValueError, match="outside the contract"):
        wh.land_raw(pd.DataFrame([{**raw_record("1", "2025-01-01", {}), "extra": 1}]))
    assert checksums(wh) == before
