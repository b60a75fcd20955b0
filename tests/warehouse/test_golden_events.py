"""Every golden event reconcile logs reaches the warehouse (issue 12): merges, splits, merge undo and
steward link/split decisions load on both engines, with history, through the reconcile stage's
incremental handover; an event kind the loader does not know fails naming it.

The stage tests run the real reconcile engine (``match_and_survive``) on hand-built canonical
contacts, so the events are the ones production writes to ``merges.json``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from wh_helpers import batch, contact, golden_row, stage_run, standard_batch, ts, versions

from crmhub.warehouse import LoadBatch, Warehouse
from crmhub.warehouse.load import UnknownGoldenEvent, merges_frame

#: Business tables a rerun must leave alone (the load audit is the only table a rerun adds to).
HISTORY_TABLES = [
    "core.golden_contacts",
    "core.contact_xref",
    "core.golden_lineage",
    "core.golden_conflicts",
    "core.golden_merge_log",
    "mart.customer_360",
]


#: One person known to two CRMs (Salesforce also knows her company) ...
SANNE = [contact("hubspot", "101", "2025-02-01"), contact("salesforce", "0035", "2025-02-02", company="Bakker BV")]
#: ... until Salesforce corrects its record into somebody else (e-mail, name and address change).
CORRECTED = [
    SANNE[0],
    contact(
        "salesforce",
        "0035",
        "2025-03-01",
        first_name="Farid",
        last_name="Rahimi",
        email="farid.rahimi@example.com",
        city="Utrecht",
        address_line="Oudegracht 12",
        company="Rahimi Advies",
    ),
]


def golden_of(wh: Warehouse, source: str, source_id: str) -> str:
    xref = wh.current_xref()
    return xref[(xref["source"] == source) & (xref["source_id"] == source_id)]["golden_id"].item()


def memberships(wh: Warehouse, source: str, source_id: str) -> list[tuple[str, bool]]:
    """A source record's golden IDs over time, oldest first, with whether each is current."""
    frame = wh.query(
        "SELECT golden_id, is_current FROM core.contact_xref WHERE source = :s AND source_id = :i "
        "ORDER BY valid_from, xref_sk",
        {"s": source, "i": source_id},
    )
    return [(g, bool(c)) for g, c in zip(frame["golden_id"], frame["is_current"], strict=True)]


def checksums(wh: Warehouse) -> dict[str, str]:
    return {t: wh.checksum(t) for t in HISTORY_TABLES}


# -- through the stage: reconcile's real events, incremental handover ------------------------------


def test_a_record_corrected_into_another_person_splits_and_every_later_run_loads(wh: Warehouse, tmp_path: Path) -> None:
    stage_run(wh, tmp_path, "run-1", SANNE)
    sanne = golden_of(wh, "hubspot", "101")
    assert golden_of(wh, "salesforce", "0035") == sanne

    split = stage_run(wh, tmp_path, "run-2", CORRECTED)
    farid = golden_of(wh, "salesforce", "0035")
    assert farid != sanne
    assert split["handover"] == "incremental"
    assert [v["city"] for v in versions(wh, farid) if v["is_current"]] == ["Utrecht"]
    assert memberships(wh, "salesforce", "0035") == [(sanne, False), (farid, True)]
    assert {g for g, _ in memberships(wh, "hubspot", "101")} == {sanne}  # its match evidence changed, not its id

    before = checksums(wh)
    assert stage_run(wh, tmp_path, "run-3", CORRECTED)["handover"] == "incremental"
    assert checksums(wh) == before


def test_the_split_closes_the_merged_state_of_the_golden_id_that_stays_when_the_split_happens(
    wh: Warehouse, tmp_path: Path
) -> None:
    stage_run(wh, tmp_path, "run-1", SANNE)
    stage_run(wh, tmp_path, "run-2", CORRECTED)
    sanne = golden_of(wh, "hubspot", "101")
    history = [(v["valid_from"], v["valid_to"]) for v in versions(wh, sanne)]
    # the hubspot record alone before salesforce's record joined; both until the correction; alone again
    assert history == [
        (ts("2025-02-01"), ts("2025-02-02")),
        (ts("2025-02-02"), ts("2025-03-01")),
        (ts("2025-03-01"), None),
    ]


def test_the_merge_log_records_the_split(wh: Warehouse, tmp_path: Path) -> None:
    stage_run(wh, tmp_path, "run-1", SANNE)
    sanne = golden_of(wh, "hubspot", "101")
    stage_run(wh, tmp_path, "run-2", CORRECTED)
    log = wh.merge_log()
    assert log[["event", "winner_golden_id", "loser_golden_id", "run_id"]].values.tolist() == [
        ["split", sanne, golden_of(wh, "salesforce", "0035"), "run-2"]
    ]


def test_a_split_cannot_be_undone_like_a_merge(wh: Warehouse, tmp_path: Path) -> None:
    from crmhub.warehouse.steward import StewardError

    stage_run(wh, tmp_path, "run-1", SANNE)
    stage_run(wh, tmp_path, "run-2", CORRECTED)
    with pytest.raises(StewardError, match="split"):
        wh.undo_merge(wh.merge_log().loc[0, "merge_id"], "anna")


def test_a_steward_split_and_a_later_link_load_with_history(wh: Warehouse, tmp_path: Path) -> None:
    stage_run(wh, tmp_path, "run-1", SANNE)
    sanne = golden_of(wh, "hubspot", "101")
    wh.record_decision(("hubspot", "101"), ("salesforce", "0035"), "split", "anna", decided_at=ts("2025-04-01"))
    stage_run(wh, tmp_path, "run-2", SANNE)
    parted = golden_of(wh, "salesforce", "0035")
    assert parted != sanne
    assert [e for e in wh.merge_log()["event"]] == ["split"]
    before = checksums(wh)
    stage_run(wh, tmp_path, "run-3", SANNE)
    assert checksums(wh) == before

    wh.record_decision(("hubspot", "101"), ("salesforce", "0035"), "link", "bram", decided_at=ts("2025-05-01"))
    stage_run(wh, tmp_path, "run-4", SANNE)
    assert golden_of(wh, "salesforce", "0035") == golden_of(wh, "hubspot", "101")
    assert sorted(wh.merge_log()["event"]) == ["merge", "split"]
    assert len(wh.query("SELECT 1 FROM core.golden_contacts WHERE is_current")) == 1


def test_an_undone_merge_restores_the_losers_golden_id_through_the_stage(wh: Warehouse, tmp_path: Path) -> None:
    # Kees's two records keep one automatic link in the run (see the report on issue 12: reconcile
    # fails on split decisions in a run without any link)
    kees = [
        contact(s, f"k{s}", "2025-01-05", first_name="Kees", email="kees@example.nl") for s in ("hubspot", "dynamics")
    ]
    apart = [SANNE[0], contact("salesforce", "0035", "2025-02-02", email="sanne@bakker.example"), *kees]
    stage_run(wh, tmp_path, "run-1", apart)
    loser_ids = {golden_of(wh, "hubspot", "101"), golden_of(wh, "salesforce", "0035")}
    assert len(loser_ids) == 2
    wh.record_decision(("hubspot", "101"), ("salesforce", "0035"), "link", "anna", decided_at=ts("2025-04-01"))
    stage_run(wh, tmp_path, "run-2", apart)
    (merge,) = wh.merge_log().itertuples()
    assert merge.event == "merge"
    wh.undo_merge(merge.merge_id, "bram")
    stage_run(wh, tmp_path, "run-3", apart)
    assert {golden_of(wh, "hubspot", "101"), golden_of(wh, "salesforce", "0035")} == loser_ids
    assert len(wh.query("SELECT 1 FROM core.golden_contacts WHERE is_current")) == 3


# -- the loader itself -------------------------------------------------------------------------------


def test_a_split_event_opens_the_new_golden_id_and_moves_the_records_membership(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **standard_batch()))
    split = batch(
        golden=[golden_row("G1", "2025-03-01", city="Zwolle"), golden_row("G9", "2025-03-01", first_name="Farid")],
        xref=[
            {"source": "hubspot", "source_id": "101", "golden_id": "G1", "match_rule": "email", "match_key": "e1"},
            {"source": "hootsuite", "source_id": "twitter:handle_g1", "golden_id": "G9", "match_rule": "singleton"},
        ],
    )
    events = [{"event": "split", "golden_id": "G1", "new_golden_id": "G9", "records": 1}]
    stats = wh.load_reconciled(LoadBatch("run-2", **split, merges=events))
    assert stats.golden_merged == 0
    assert [v["is_current"] for v in versions(wh, "G9")] == [True]
    assert [(v["city"], v["is_current"]) for v in versions(wh, "G1")] == [("Amsterdam", False), ("Zwolle", True)]
    assert memberships(wh, "hootsuite", "twitter:handle_g1") == [("G1", False), ("G9", True)]
    before = checksums(wh)
    wh.load_reconciled(LoadBatch("run-2", **split, merges=events))
    assert checksums(wh) == before


def test_a_split_whose_new_golden_id_changed_later_than_the_staying_one_closes_it_then(wh: Warehouse) -> None:
    wh.load_reconciled(LoadBatch("run-1", **batch(golden=[golden_row("G1", "2025-02-02")])))
    split = batch(golden=[golden_row("G1", "2025-02-01", city="Zwolle"), golden_row("G9", "2025-03-01")])
    wh.load_reconciled(
        LoadBatch("run-2", **split, merges=[{"event": "split", "golden_id": "G1", "new_golden_id": "G9"}])
    )
    assert [(v["city"], v["valid_from"], v["valid_to"]) for v in versions(wh, "G1")] == [
        ("Zwolle", ts("2025-02-01"), ts("2025-02-02")),
        ("Amsterdam", ts("2025-02-02"), ts("2025-03-01")),
        ("Zwolle", ts("2025-03-01"), None),
    ]
    before = checksums(wh)
    wh.load_reconciled(LoadBatch("run-3", **split))  # the same state again, no event: nothing changes
    assert checksums(wh) == before


def test_an_unknown_golden_event_fails_naming_the_event(wh: Warehouse) -> None:
    before = checksums(wh)
    with pytest.raises(UnknownGoldenEvent, match="'rename'"):
        wh.load_reconciled(LoadBatch("run-1", **standard_batch(), merges=[{"event": "rename", "golden_id": "G1"}]))
    assert checksums(wh) == before


def test_a_merge_event_without_its_golden_ids_fails_naming_the_event() -> None:
    with pytest.raises(UnknownGoldenEvent, match="'merge'.*into_golden_id"):
        merges_frame([{"event": "merge", "golden_id": "G1"}])


def test_the_events_of_a_run_become_one_row_each() -> None:
    frame = merges_frame(
        [
            {"event": "merge", "into_golden_id": "G1", "from_golden_id": "G2", "records": 1},
            {"event": "split", "golden_id": "G1", "new_golden_id": "G3", "records": 1},
            {"winner_golden_id": "G4", "loser_golden_id": "G5"},
        ]
    )
    assert frame.values.tolist() == [["G1", "G2", "merge"], ["G1", "G3", "split"], ["G4", "G5", "merge"]]
