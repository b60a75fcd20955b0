"""Quarantine storage and the warehouse-gate reads, on DuckDB and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from wh_helpers import standard_batch

from crmhub.quality.quarantine_rules import QUARANTINE_COLUMNS
from crmhub.warehouse import LoadBatch, Warehouse

RULE = "expect_column_values_to_be_in_set(channel)"


def held_back(run_id: str, *source_ids: str, stage: str = "canonical_interactions", rule: str = RULE) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "source": "hootsuite",
                "source_id": sid,
                "stage": stage,
                "suite": f"{stage}@1",
                "expectation": rule,
                "reason": "channel is one the marts know",
                "run_id": run_id,
                "payload": '{"channel": "mastodon", "note": "nul \\u0000 ok"}',
                "quarantined_at": datetime.now(UTC),
            }
            for sid in source_ids
        ],
        columns=QUARANTINE_COLUMNS,
    )


def entries(wh: Warehouse, resolved: str = "all") -> pd.DataFrame:
    return wh.quarantine(resolved).sort_values(["source_id", "quarantined_at"]).reset_index(drop=True)


def test_held_back_rows_are_stored_open_with_rule_reason_and_row(wh: Warehouse) -> None:
    assert wh.store_quarantine(held_back("run-1", "m1", "m2")) == {"refreshed": 0, "opened": 2}
    stored = entries(wh, "open")
    assert list(stored["source_id"]) == ["m1", "m2"]
    first = stored.iloc[0]
    assert (first["stage"], first["expectation"], first["run_id"], first["last_run_id"]) == (
        "canonical_interactions",
        RULE,
        "run-1",
        "run-1",
    )
    assert first["reason"] == "channel is one the marts know" and not first["resolved"]
    assert '"channel": "mastodon"' in first["payload"]


def test_a_retried_or_later_run_refreshes_the_open_entry_instead_of_adding_one(wh: Warehouse) -> None:
    wh.store_quarantine(held_back("run-1", "m1"))
    assert wh.store_quarantine(held_back("run-1", "m1")) == {"refreshed": 1, "opened": 0}  # task retry
    wh.store_quarantine(held_back("run-2", "m1"))
    (entry,) = entries(wh).itertuples()
    assert (entry.run_id, entry.last_run_id) == ("run-1", "run-2")  # first seen, last seen


def test_records_that_pass_again_are_resolved_by_the_run_that_loaded_them(wh: Warehouse) -> None:
    wh.store_quarantine(held_back("run-1", "m1", "m2"))
    wh.store_quarantine(held_back("run-2", "m2"))  # m1's cause was fixed before run-2
    assert wh.resolve_quarantine("run-2", ["canonical_interactions"]) == 1
    stored = entries(wh)
    m1, m2 = stored.iloc[0], stored.iloc[1]
    assert m1["resolved"] and m1["resolved_run_id"] == "run-2" and pd.notna(m1["resolved_at"])
    assert not m2["resolved"] and m2["last_run_id"] == "run-2"
    assert list(entries(wh, "open")["source_id"]) == ["m2"]
    assert list(entries(wh, "resolved")["source_id"]) == ["m1"]


def test_resolving_leaves_stages_the_run_did_not_validate_alone(wh: Warehouse) -> None:
    wh.store_quarantine(held_back("run-1", "c1", stage="canonical_contacts"))
    assert wh.resolve_quarantine("run-2", ["canonical_interactions"]) == 0
    assert not entries(wh).iloc[0]["resolved"]


def test_a_record_failing_again_after_resolution_opens_a_new_entry(wh: Warehouse) -> None:
    wh.store_quarantine(held_back("run-1", "m1"))
    wh.resolve_quarantine("run-2", ["canonical_interactions"])
    assert wh.store_quarantine(held_back("run-3", "m1")) == {"refreshed": 0, "opened": 1}
    stored = entries(wh)
    assert list(stored["resolved"]) == [True, False] and stored.iloc[1]["run_id"] == "run-3"


def test_two_failed_rules_of_one_record_are_two_entries(wh: Warehouse) -> None:
    frame = pd.concat([held_back("run-1", "m1"), held_back("run-1", "m1", rule="other_rule")])
    assert wh.store_quarantine(frame)["opened"] == 2


def test_nothing_held_back_stores_nothing(wh: Warehouse) -> None:
    assert wh.store_quarantine(held_back("run-1")) == {"refreshed": 0, "opened": 0}
    assert entries(wh).empty


def test_warehouse_gate_frames_after_a_clean_load(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **standard_batch()))
    wh.load_reconciled(LoadBatch("run-2", **standard_batch(city="Utrecht", updated="2025-03-01T00:00:00")))
    frames = wh.quality_check_frames("run-2")
    versions = frames["warehouse_current_versions"].set_index("golden_id")["current_versions"]
    assert versions.to_dict() == {"G1": 1, "G2": 1}
    validity = frames["warehouse_validity"]
    assert list(validity["golden_id"]) == ["G1"] and validity.iloc[0]["version_number"] == 2
    assert validity.iloc[0]["previous_valid_to"] == validity.iloc[0]["valid_from"]  # closed where the next opens
    contacts = frames["warehouse_interaction_contacts"]
    assert set(contacts["golden_id"]) == {"G1", "G2"} and contacts["contact_exists"].all()
    counts = frames["warehouse_load_counts"].set_index("table_name")
    assert counts.loc["core.golden_contacts"].tolist() == [1, 1]  # G1's new version
    assert (counts["audited_rows"] == counts["warehouse_rows"]).all()


def test_warehouse_gate_frames_show_an_orphan_interaction_and_an_unaudited_load(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **standard_batch()))
    wh.engine.execute("UPDATE core.interactions SET golden_id = 'G404' WHERE source_id = 'm3'")
    frames = wh.quality_check_frames("run-1")
    contacts = frames["warehouse_interaction_contacts"].set_index("golden_id")
    assert not contacts.loc["G404", "contact_exists"] and contacts.loc["G1", "contact_exists"]
    assert wh.quality_check_frames("never-loaded")["warehouse_load_counts"].empty


def test_warehouse_gate_frames_show_cases_and_deals_without_a_known_contact(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **standard_batch()))
    case = (
        "INSERT INTO core.cases (source, source_id, golden_id, is_complaint, is_closed, created_at, "
        "source_updated_at, is_deleted, loaded_run_id, loaded_at) VALUES ('salesforce', :id, :golden, FALSE, "
        "FALSE, TIMESTAMP '2025-01-01 00:00:00', TIMESTAMP '2025-01-01 00:00:00', :deleted, 'run-1', "
        "TIMESTAMP '2025-01-01 00:00:00')"
    )
    for source_id, golden, deleted in (("c1", "G1", False), ("c2", "G404", False), ("c3", None, False),
                                       ("c4", "G405", True)):  # fmt: skip
        wh.engine.execute(case, {"id": source_id, "golden": golden, "deleted": deleted})
    frame = wh.quality_check_frames("run-1")["warehouse_record_contacts"]
    rows = {
        (r.kind, r.golden_id if isinstance(r.golden_id, str) else None): (
            r.records,
            bool(r.linked),
            bool(r.contact_exists),
        )
        for r in frame.itertuples()
    }  # engines return a NULL text as None or NaN
    assert rows == {
        ("case", "G1"): (1, True, True),
        ("case", "G404"): (1, True, False),  # names a contact the warehouse does not hold: blocking
        ("case", None): (1, False, True),  # contact unknown: kept, a warning
    }
