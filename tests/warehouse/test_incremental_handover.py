"""Incremental handover (issue 5): the reconcile stage hands the loader only what changed since the
warehouse's last load, and the warehouse ends up exactly as if every run had handed over its full
snapshot — on DuckDB and PostgreSQL, through a sequence of runs with every kind of change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import throwaway_database
from wh_helpers import (
    campaign_row,
    case_row,
    checksums,
    conflict_row,
    core_and_mart_tables,
    golden_row,
    interaction_row,
    opportunity_row,
    ts,
)

from crmhub.model import CAMPAIGN_COLUMNS, CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import LoadBatch, Warehouse, handover
from crmhub.warehouse.delta import LoadState, plan_load
from crmhub.warehouse.load import StaleHandover
from crmhub.warehouse.tables import (
    LOAD_CASE_COLUMNS,
    LOAD_INTERACTION_COLUMNS,
    LOAD_OPPORTUNITY_COLUMNS,
    LOAD_XREF_COLUMNS,
)

IDS = ["G1", "G2", "G3", "G4", "G5", "G6"]


def xref_row(source_id: str, golden_id: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in LOAD_XREF_COLUMNS}
    row.update(source="hubspot", source_id=source_id, golden_id=golden_id, match_rule="email", is_deleted=False)
    row.update(over)
    return row


def lineage_row(golden_id: str, attribute: str, updated: str = "2025-01-01") -> dict[str, Any]:
    return {
        "golden_id": golden_id,
        "attribute": attribute,
        "source": "hubspot",
        "source_id": f"s{golden_id}",
        "source_updated_at": ts(updated),
        "rule": "source_priority",
    }


def first_run() -> dict[str, Any]:
    """Six golden contacts with xref, lineage, a conflict, interactions, deals, cases, campaigns."""
    return {
        "golden": [golden_row(g, f"2025-01-{10 + int(g[1:])}T00:00:00", first_name=f"Naam{g}") for g in IDS],
        "xref": [xref_row(f"s{g}", g) for g in IDS],
        "lineage": [lineage_row(g, a) for g in IDS for a in ("email", "address")],
        "conflicts": [conflict_row()],
        "interactions": [interaction_row(f"m{i}", f"2025-02-0{i}T09:00:00", golden_id=f"G{i}") for i in range(1, 6)],
        "opportunities": [opportunity_row("d1", "2025-01-05"), opportunity_row("d2", "2025-01-05")],
        "cases": [case_row("c1", "2025-01-06")],
        "campaigns": [campaign_row("k1", "2025-01-01")],
        "merges": [],
    }


def second_run() -> dict[str, Any]:
    """Every kind of change: attribute change, lineage-only change, vanished lineage, a golden merge,
    a new golden contact, an edited and a new interaction, an updated deal, a new campaign, a changed
    and a new conflict (they vanish again in the run-4 of the sequence)."""
    run = first_run()
    golden = {g["golden_id"]: g for g in run["golden"]}
    golden["G1"] = golden_row("G1", "2025-03-01T00:00:00", first_name="NaamG1", city="Zwolle")
    del golden["G4"]  # merged into G5
    golden["G7"] = golden_row("G7", "2025-03-02T00:00:00", first_name="Nieuw")
    run["golden"] = list(golden.values())
    run["xref"] = [
        xref_row(f"s{g}", "G5" if g == "G4" else g, match_rule="merge" if g == "G4" else "email") for g in IDS
    ]
    run["xref"].append(xref_row("sG7", "G7"))
    lineage = [r for r in run["lineage"] if r["golden_id"] not in ("G2", "G3", "G4")]
    lineage += [lineage_row("G2", a, "2025-03-01") for a in ("email", "address")]  # G2: lineage only
    lineage += [lineage_row("G7", "email", "2025-03-02")]
    run["lineage"] = lineage  # G3: lineage gone
    run["interactions"][0] = interaction_row("m1", "2025-02-01T09:00:00", golden_id="G1", text="hallo (bewerkt)")
    run["interactions"][3] = interaction_row("m4", "2025-02-04T09:00:00", golden_id="G5")  # follows the merge
    run["interactions"].append(interaction_row("m9", "2025-03-03T09:00:00", golden_id="G7"))
    run["opportunities"][1] = opportunity_row("d2", "2025-03-01", stage="won", is_closed=True, is_won=True)
    run["campaigns"].append(campaign_row("k2", "2025-03-01"))
    run["conflicts"] = [{**conflict_row(), "other_value": "Zwolle"}, {**conflict_row("G2"), "attribute": "email"}]
    run["merges"] = [{"event": "merge", "into_golden_id": "G5", "from_golden_id": "G4"}]
    return run


def late_run() -> dict[str, Any]:
    """Late-arriving data: an older version of G1 (between its first and second state) and of G6."""
    run = second_run()
    run["golden"].append(golden_row("G1", "2025-02-01T00:00:00", first_name="NaamG1", city="Leiden"))
    run["golden"] = [g for g in run["golden"] if not (g["golden_id"] == "G1" and g["city"] == "Zwolle")]
    run["merges"] = []
    return run


def split_run() -> dict[str, Any]:
    """G2's record sG2b is corrected into another person: it splits off to the new G8 (later than G2's
    own business time, so G2's merged state closes at the split), its interaction follows it."""
    run = first_run()
    run["golden"].append(golden_row("G8", "2025-04-01T00:00:00", first_name="Gesplitst", city="Zwolle"))
    run["xref"].append(xref_row("sG2b", "G8"))
    run["lineage"].append(lineage_row("G8", "email", "2025-04-01"))
    run["interactions"].append(interaction_row("m8", "2025-04-02T09:00:00", golden_id="G8"))
    run["merges"] = [{"event": "split", "golden_id": "G2", "new_golden_id": "G8", "records": 1}]
    return run


def joined_run() -> dict[str, Any]:
    """Before the split: sG2b belongs to G2 (whose state it shaped) and so does its interaction."""
    run = first_run()
    run["golden"] = [
        golden_row("G2", "2025-03-01T00:00:00", first_name="NaamG2", city="Delft") if g["golden_id"] == "G2" else g
        for g in run["golden"]
    ]
    run["xref"].append(xref_row("sG2b", "G2"))
    run["interactions"].append(interaction_row("m8", "2025-04-02T09:00:00", golden_id="G2"))
    return run


def write_run(folder: Path, run_id: str, run: dict[str, Any]) -> stage.RunFiles:
    files = stage.run_folder(folder, run_id)
    for name, rows, columns in (
        ("golden", run["golden"], GOLDEN_COLUMNS),
        ("xref", run["xref"], LOAD_XREF_COLUMNS),
        ("lineage", run["lineage"], LINEAGE_COLUMNS),
        ("conflicts", run["conflicts"], CONFLICT_COLUMNS),
        ("interactions_attached", run["interactions"], LOAD_INTERACTION_COLUMNS),
        ("opportunities_attached", run["opportunities"], LOAD_OPPORTUNITY_COLUMNS),
        ("cases_attached", run["cases"], LOAD_CASE_COLUMNS),
        ("campaigns", run["campaigns"], CAMPAIGN_COLUMNS),
    ):
        files.write(name, pd.DataFrame(rows, columns=columns))
    (files.folder / "merges.json").write_text(json.dumps(run["merges"]), encoding="utf-8")
    return files


@pytest.fixture
def reference_url(url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty warehouse on the same engine: loaded with full snapshots, for comparison."""
    if url.startswith("duckdb"):
        yield f"duckdb://{tmp_path / 'reference.duckdb'}"
        return
    with throwaway_database("crmhub_test_ref_") as reference:
        yield reference


@pytest.fixture
def reference(reference_url: str) -> Iterator[Warehouse]:
    with Warehouse.from_url(reference_url) as warehouse:
        warehouse.migrate()
        yield warehouse


def load_full(wh: Warehouse, data: Path, run_id: str, run: dict[str, Any]) -> dict[str, Any]:
    """The stage's load with no comparison state: the whole snapshot is handed over."""
    files = write_run(data, run_id, run)
    state = wh.load_state(stage.state_dir(data))
    if state is not None and state.folder.exists():
        import shutil

        shutil.rmtree(state.folder)
    result = stage.load(wh, files, run_id, state_dir=stage.state_dir(data))
    assert result["handover"] == "full"
    return result


def load_incremental(wh: Warehouse, data: Path, run_id: str, run: dict[str, Any]) -> dict[str, Any]:
    return stage.load(wh, write_run(data, run_id, run), run_id, state_dir=stage.state_dir(data))


@pytest.mark.parametrize("share", [0.0, 1.0], ids=["joins", "key-probes"])
def test_incremental_handover_leaves_the_warehouse_as_full_snapshots_would(
    wh: Warehouse, reference: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    # share 1.0: every incremental handover counts as small, so PostgreSQL runs the *_by_key statements
    monkeypatch.setattr(handover, "SMALL_HANDOVER", share)
    tables = [t for t in core_and_mart_tables() if t != "core.contact_xref"]
    for run_id, run in (
        ("run-1", first_run()),
        ("run-2", second_run()),
        ("run-2", second_run()),  # a rerun of the same interval
        ("run-3", late_run()),
        ("run-4", first_run()),  # everything back as it was first (the merge loser returns)
        ("run-5", joined_run()),
        ("run-6", split_run()),  # a record splits off into a new golden contact (issue 12)
        ("run-6", split_run()),
        ("run-7", {**split_run(), "merges": []}),  # the next run: nothing changed
    ):
        load_full(reference, tmp_path / "ref", run_id, run)
        load_incremental(wh, tmp_path / "inc", run_id, run)
        assert checksums(wh, tables) == checksums(reference, tables), run_id
        assert xref_history(wh).equals(xref_history(reference)), run_id


def xref_history(wh: Warehouse) -> pd.DataFrame:
    """The xref history without its load-time validity (two warehouses are loaded at different times)."""
    return wh.query(
        "SELECT source, source_id, golden_id, match_rule, match_key, is_current, is_deleted, merged_into_source_id, "
        "loaded_run_id FROM core.contact_xref ORDER BY source, source_id, valid_from"
    )


def test_second_run_hands_over_only_changed_rows(wh: Warehouse, tmp_path: Path) -> None:
    first = load_incremental(wh, tmp_path, "run-1", first_run())
    second = load_incremental(wh, tmp_path, "run-2", second_run())
    assert first["handover"] == "full"
    assert second["handover"] == "incremental"
    # golden: G1 changed, G7 new, G3 (lineage vanished) and G5 (merge winner) are re-staged
    assert second["golden_received"] == 4
    # xref: the merged record and the new one; interactions: edited m1, re-pointed m4, new m9
    assert second["xref_received"] == 2
    assert second["interactions_received"] == 3
    assert (second["opportunities_received"], second["cases_received"], second["campaigns_received"]) == (1, 0, 1)
    assert second["handed_rows"] < second["snapshot_rows"]


def test_rerun_hands_over_nothing(wh: Warehouse, tmp_path: Path) -> None:
    load_incremental(wh, tmp_path, "run-1", first_run())
    before = checksums(wh, core_and_mart_tables())
    rerun = load_incremental(wh, tmp_path, "run-1", first_run())
    assert rerun["handover"] == "incremental"
    assert rerun["handed_rows"] == 0  # conflicts too: kept per golden ID since issue 12
    assert checksums(wh, core_and_mart_tables()) == before


def test_a_load_in_between_makes_the_handover_stale(wh: Warehouse, tmp_path: Path) -> None:
    load_incremental(wh, tmp_path, "run-1", first_run())
    files = write_run(tmp_path, "run-2", second_run())
    state = wh.load_state(stage.state_dir(tmp_path))
    plan = plan_load(handover.run_paths(files.folder), state, wh.last_load())
    assert plan.mode == "incremental"
    wh.load_reconciled(LoadBatch("other", **{k: v for k, v in _frames(first_run()).items()}))
    before = checksums(wh, core_and_mart_tables())
    with pytest.raises(StaleHandover):
        wh.load_reconciled(
            LoadBatch(
                "run-2",
                golden=plan.frames["golden"],
                xref=plan.frames["xref"],
                lineage=plan.frames["lineage"],
                conflicts=plan.frames["conflicts"],
                interactions=plan.frames["interactions_attached"],
            ),
            expect_last_load=plan.previous_load_id,
        )
    assert checksums(wh, core_and_mart_tables()) == before
    state.discard(plan.pending)


def test_the_stage_falls_back_to_the_full_snapshot_when_its_state_is_stale(wh: Warehouse, tmp_path: Path) -> None:
    load_incremental(wh, tmp_path, "run-1", first_run())
    wh.load_reconciled(LoadBatch("elsewhere", **_frames(first_run())))  # a load the state does not know of
    result = load_incremental(wh, tmp_path, "run-2", second_run())
    assert result["handover"] == "full"
    assert result["handover_reason"] == "the warehouse's latest load is not the one the fingerprints describe"
    assert load_incremental(wh, tmp_path, "run-3", second_run())["handover"] == "incremental"


def test_a_recreated_warehouse_is_not_mistaken_for_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.from_url(f"duckdb://{path}") as wh:
        wh.migrate()
        load_incremental(wh, tmp_path / "data", "run-1", first_run())
    path.unlink()
    with Warehouse.from_url(f"duckdb://{path}") as wh:
        wh.migrate()
        wh.load_reconciled(LoadBatch("run-0", **_frames({**first_run(), "golden": [], "lineage": []})))
        result = load_incremental(wh, tmp_path / "data", "run-2", second_run())
        assert result["handover"] == "full"


def test_state_is_not_trusted_after_an_erasure(tmp_path: Path) -> None:
    state = LoadState(tmp_path / "state")
    (tmp_path / "pending").mkdir()
    state.commit(tmp_path / "pending", "7@2025-01-01T00:00:00+00:00")
    assert state.trusted_for({"load_id": "7@2025-01-01T00:00:00+00:00", "erasures_since": 0})[0]
    trusted, reason = state.trusted_for({"load_id": "7@2025-01-01T00:00:00+00:00", "erasures_since": 1})
    assert not trusted
    assert "erasure" in reason


def test_an_in_memory_warehouse_always_gets_the_full_snapshot(tmp_path: Path) -> None:
    with Warehouse.from_url("duckdb:///:memory:") as wh:
        wh.migrate()
        load_incremental(wh, tmp_path, "run-1", first_run())
        assert load_incremental(wh, tmp_path, "run-2", second_run())["handover"] == "full"


def _frames(run: dict[str, Any]) -> dict[str, pd.DataFrame]:
    return {
        "golden": pd.DataFrame(run["golden"], columns=GOLDEN_COLUMNS),
        "xref": pd.DataFrame(run["xref"], columns=LOAD_XREF_COLUMNS),
        "lineage": pd.DataFrame(run["lineage"], columns=LINEAGE_COLUMNS),
        "conflicts": pd.DataFrame(run["conflicts"], columns=CONFLICT_COLUMNS),
        "interactions": pd.DataFrame(run["interactions"], columns=LOAD_INTERACTION_COLUMNS),
    }
