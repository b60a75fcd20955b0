"""Each gate in its stage: a batch with a known defect is stopped (blocking), recorded (warning) or
quarantined with its reason, and every result lands in the warehouse.

Real parts throughout: Great Expectations, a DuckDB warehouse, the sandbox Hootsuite API for the raw
gate, the real matcher between the canonical and golden gates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests

from crmhub.connectors.base import RawRecord
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hootsuite import HootsuiteConnector
from crmhub.errors import QualityGateFailed
from crmhub.quality.gates import validate as gx_validate
from crmhub.quality.quarantine_rules import apply_quarantine
from crmhub.quality.raw_gate import validate_raw
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.stages.ingest import ingest, pull_window
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.hootsuite import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from crmhub_dev.sandbox.server import SandboxServer

UNTIL = datetime(2026, 11, 2, 2, tzinfo=UTC)


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb://{tmp_path / 'wh.duckdb'}") as warehouse:
        warehouse.migrate()
        yield warehouse


def results(wh: Warehouse, stage_name: str) -> pd.DataFrame:
    return wh.query("SELECT * FROM audit.quality_results WHERE stage = :stage", {"stage": stage_name})


def write_canonical(files: stage.RunFiles, contacts: pd.DataFrame, interactions: pd.DataFrame) -> None:
    """What ``canonicalize`` hands to the canonical gate."""
    for name, frame in (("contacts", contacts), ("interactions", interactions)):
        files.write(f"canonical_{name}", frame)
        files.write(name, frame)


# -- raw: in the ingest task, before landing ----------------------------------------------------


def test_raw_gate_stops_a_pull_with_an_unknown_message_state_and_lands_nothing(wh: Warehouse) -> None:
    data = datagen.generate(seed=5, people=12, anchor=datagen.DEFAULT_ANCHOR)
    broken = data.hootsuite_messages[3]
    broken["state"] = "ARCHIVED_BY_ROBOT"  # a state Hootsuite does not document
    with SandboxServer(data=data) as sandbox:
        connector = HootsuiteConnector.connect(
            "hootsuite",
            requests.Session(),
            sandbox.hootsuite_url,
            Credentials(
                login=DEFAULT_CLIENT_ID,
                password=DEFAULT_CLIENT_SECRET,
                extra={"organization_id": data.organization_id},
            ),
            {"page_size": 100},
        )
        window = pull_window(UNTIL - timedelta(days=1), UNTIL, timedelta(hours=1), full=True)
        with pytest.raises(QualityGateFailed) as err:
            ingest(connector, "messages", window, wh, "ingest-run-1")
    message = str(err.value)
    assert "quality gate raw_hootsuite_messages@1 (stage raw_hootsuite_messages, run ingest-run-1)" in message
    pulled = len(data.hootsuite_messages)
    assert f"expect_column_values_to_be_in_set(state): 1 unexpected of {pulled} rows" in message
    assert f"e.g. source ids {broken['id']}" in message  # a vendor id, never the message text
    assert "ARCHIVED_BY_ROBOT" not in message and broken["text"][:20] not in message
    assert not wh.has_raw("hootsuite", "messages")
    stored = results(wh, "raw_hootsuite_messages").set_index("expectation")
    assert not stored.loc["expect_column_values_to_be_in_set", "success"]
    assert stored.loc["expect_column_values_to_be_in_set", "unexpected_count"] == 1


def raw(source_id: str, updated: str | None, **payload: object) -> RawRecord:
    when = datetime.fromisoformat(updated) if updated else None
    return RawRecord("contacts", source_id, when, {"id": source_id, "updatedAt": updated, **payload})


def test_raw_gate_records_records_outside_the_pull_window_as_a_warning() -> None:
    since = datetime(2026, 11, 1, 1, tzinfo=UTC)  # interval start minus the overlap
    records = [
        raw("1", "2026-11-01T12:00:00+00:00", createdAt="x", archived=False),
        raw("2", "2026-10-20T12:00:00+00:00", createdAt="x", archived=False),  # before the window
        raw("3", "2026-11-03T12:00:00+00:00", createdAt="x", archived=True),  # after the interval
    ]
    report, _ = validate_raw("raw_hubspot_contacts", records, window_since=since, window_until=UNTIL, run_id="ingest-1")
    failed = {o.column: o.unexpected_rows for o in report.warnings}
    assert failed == {"source_updated_at,window_since": (1,), "window_until,source_updated_at": (2,)}
    report.raise_if_blocking()  # warnings never stop a pull


def test_raw_gate_skips_the_lower_bound_on_a_full_pull_and_blocks_on_unknown_archived_flags() -> None:
    records = [
        raw("1", "2020-01-01T00:00:00+00:00", createdAt="x", archived=False),
        raw("2", "2026-11-01T00:00:00+00:00", createdAt="x", archived="sometimes"),
    ]
    report, frame = validate_raw("raw_hubspot_contacts", records, window_since=None, window_until=UNTIL, run_id="r")
    assert not report.warnings
    with pytest.raises(QualityGateFailed, match=r"be_in_set\(archived\): 1 unexpected of 2 rows, e.g. source ids 2"):
        report.raise_if_blocking(example_ids=frame["source_id"].tolist())


# -- canonical: quarantine what a rule can name, stop on the rest --------------------------------


def test_canonical_gate_quarantines_failing_rows_with_reason_and_lets_the_rest_through(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    canonical_contacts.loc[2, ["social_network", "source_id"]] = ["mastodon", "mastodon:jan_devries"]
    canonical_interactions.loc[1, "channel"] = "fax"
    files = stage.run_folder(tmp_path, "run-1")
    write_canonical(files, canonical_contacts, canonical_interactions)
    summary = stage.validate_canonical(wh, files, "run-1", docs_dir=tmp_path / "docs")

    assert summary["quarantined_records"] == {"canonical_contacts": 1, "canonical_interactions": 1}
    assert list(files.read("contacts")["source_id"]) == ["101", "102"]
    assert list(files.read("interactions")["source_id"]) == ["m1", "m1"]  # hootsuite m2 held back
    held = wh.quarantine().set_index("source_id")
    assert held.loc["mastodon:jan_devries", "expectation"] == "expect_column_values_to_be_in_set(social_network)"
    assert held.loc["mastodon:jan_devries", "reason"].startswith("a handle only identifies a person")
    assert held.loc["m2", "stage"] == "canonical_interactions" and held.loc["m2", "run_id"] == "run-1"
    assert json.loads(held.loc["m2", "payload"])["channel"] == "fax"
    assert set(wh.query("SELECT DISTINCT stage FROM audit.quality_results")["stage"]) == {
        "canonical_contacts",
        "canonical_interactions",
    }
    assert (tmp_path / "docs" / "index.html").is_file()


def test_canonical_gate_stops_on_a_duplicate_source_record_but_keeps_results_and_quarantine(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    canonical_contacts.loc[1, "source_id"] = "101"  # two rows for hubspot 101
    canonical_interactions.loc[0, "occurred_at"] = pd.NaT  # quarantined meanwhile
    files = stage.run_folder(tmp_path, "run-1")
    write_canonical(files, canonical_contacts, canonical_interactions)
    with pytest.raises(QualityGateFailed) as err:
        stage.validate_canonical(wh, files, "run-1")
    assert "expect_compound_columns_to_be_unique(source,source_id): 2 unexpected of 3 rows" in str(err.value)
    assert "Vries" not in str(err.value) and "jan@example.nl" not in str(err.value)
    assert list(wh.quarantine()["source_id"]) == ["m1"]
    compound = results(wh, "canonical_contacts").query("column_name == 'source,source_id'").iloc[0]
    assert not compound["success"] and compound["unexpected_count"] == 2


def test_canonical_warnings_are_recorded_and_hold_nothing_back(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    canonical_contacts.loc[0, ["email", "phone"]] = ["jan-at-example.nl", "06-1234 5678"]
    files = stage.run_folder(tmp_path, "run-1")
    write_canonical(files, canonical_contacts, canonical_interactions)
    summary = stage.validate_canonical(wh, files, "run-1")
    assert summary["failed_warning"] == 2 and summary["quarantine_entries"] == 0  # email, phone not E.164
    assert len(files.read("contacts")) == 3 and wh.quarantine().empty


def test_one_record_failing_two_rules_is_one_record_with_two_entries(canonical_interactions: pd.DataFrame) -> None:
    canonical_interactions.loc[2, ["channel", "direction"]] = ["fax", "sideways"]
    report = gx_validate("canonical_interactions", canonical_interactions, run_id="run-1")
    gate = apply_quarantine(report, canonical_interactions)
    assert gate.quarantined_records == 1 and len(gate.quarantined) == 2
    assert set(gate.quarantined["expectation"]) == {
        "expect_column_values_to_be_in_set(channel)",
        "expect_column_values_to_be_in_set(direction)",
    }
    assert len(gate.passed) == 2


# -- golden: structural rules stop the run before the load ---------------------------------------


def reconciled(tmp_path: Path, wh: Warehouse, contacts: pd.DataFrame, interactions: pd.DataFrame) -> stage.RunFiles:
    files = stage.run_folder(tmp_path, "run-1")
    write_canonical(files, contacts, interactions)
    stage.validate_canonical(wh, files, "run-1")
    stage.match_and_survive(wh, files, "run-1", rules=load_rules())
    return files


def test_golden_gate_passes_the_matchers_output(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    files = reconciled(tmp_path, wh, canonical_contacts, canonical_interactions)
    summary = stage.validate(wh, files, "run-1")
    assert summary["failed_blocking"] == 0
    assert {"golden_contacts", "golden_xref", "interactions"} <= set(results(wh, "golden_xref")["stage"]) | set(
        wh.query("SELECT DISTINCT stage FROM audit.quality_results")["stage"]
    )


def test_golden_gate_stops_a_golden_record_without_source_and_a_record_in_no_golden_record(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    files = reconciled(tmp_path, wh, canonical_contacts, canonical_interactions)
    xref = files.read("xref")
    files.write("xref", xref[xref["source_id"] != "102"])  # hubspot 102 lost its link
    with pytest.raises(QualityGateFailed) as err:
        stage.validate(wh, files, "run-1")
    message = str(err.value)
    assert "expect_column_values_to_be_between(source_records): 1 unexpected of" in message
    assert "expect_column_values_to_not_be_null(golden_id): 1 unexpected of 3 rows" in message
    stored = results(wh, "golden_xref")
    assert set(stored.loc[~stored["success"], "column_name"]) == {"golden_id", "golden_exists"}


# -- warehouse: after the load, fails loudly -----------------------------------------------------


def test_warehouse_gate_passes_a_clean_load_and_fails_loudly_on_an_orphan_interaction(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    files = reconciled(tmp_path, wh, canonical_contacts, canonical_interactions)
    stage.validate(wh, files, "run-1")
    stage.load(wh, files, "run-1", state_dir=stage.state_dir(tmp_path))
    assert stage.validate_warehouse(wh, files, "run-1")["failed_blocking"] == 0

    wh.engine.execute("UPDATE core.interactions SET golden_id = 'G-gone' WHERE source = 'hubspot'")
    with pytest.raises(QualityGateFailed, match=r"be_in_set\(contact_exists\): 1 unexpected of"):
        stage.validate_warehouse(wh, files, "run-1")
    stored = results(wh, "warehouse_interaction_contacts")
    assert len(stored) == 1 and not stored.iloc[0]["success"]


def test_warehouse_gate_fails_when_the_run_has_no_audited_load(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    files = reconciled(tmp_path, wh, canonical_contacts, canonical_interactions)
    with pytest.raises(QualityGateFailed, match="expect_table_row_count_to_be_between"):
        stage.validate_warehouse(wh, files, "run-1")


# -- re-processing: fixed records pass, load and resolve their quarantine entries ---------------


def test_a_fixed_record_is_loaded_by_the_next_run_and_its_quarantine_entry_resolved(
    tmp_path: Path, wh: Warehouse, canonical_contacts: pd.DataFrame, canonical_interactions: pd.DataFrame
) -> None:
    def run(run_id: str, contacts: pd.DataFrame) -> None:
        files = stage.run_folder(tmp_path, run_id)
        write_canonical(files, contacts, canonical_interactions)
        stage.validate_canonical(wh, files, run_id)
        stage.match_and_survive(wh, files, run_id, rules=load_rules())
        stage.validate(wh, files, run_id)
        stage.load(wh, files, run_id, state_dir=stage.state_dir(tmp_path))
        stage.validate_warehouse(wh, files, run_id)

    broken = canonical_contacts.copy()
    broken.loc[1, "source_updated_at"] = pd.NaT  # hubspot 102 arrives without its business timestamp
    run("run-1", broken)
    loaded = "SELECT source_id FROM core.contact_xref WHERE is_current ORDER BY source_id"
    assert "102" not in set(wh.query(loaded)["source_id"])
    (entry,) = wh.quarantine().itertuples()
    assert entry.source_id == "102" and entry.expectation == "expect_column_values_to_not_be_null(source_updated_at)"
    assert entry.reason.startswith("survivorship 'most recent'")

    run("run-2", canonical_contacts)  # the source (or the mapping) was fixed
    assert "102" in set(wh.query(loaded)["source_id"])
    assert wh.quarantine("open").empty
    (resolved,) = wh.quarantine("resolved").itertuples()
    assert (resolved.source_id, resolved.run_id, resolved.resolved_run_id) == ("102", "run-1", "run-2")
