"""Reconcile stage → warehouse: opportunities, cases and campaigns reach core with their golden ids,
and source-side deletes and merges reach the xref history (hand-built canonical run files, real DuckDB)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from crmhub.model import (
    CAMPAIGN_COLUMNS,
    CASE_COLUMNS,
    CONTACT_COLUMNS,
    INTERACTION_COLUMNS,
    OPPORTUNITY_COLUMNS,
    conform,
)
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse


def ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def contact(source_id: str, email: str, **over: object) -> dict[str, object]:
    row: dict[str, object] = {c: None for c in CONTACT_COLUMNS}
    row.update(
        source="hubspot",
        source_id=source_id,
        source_updated_at=ts("2025-02-01"),
        first_name="Sanne",
        last_name="Bakker",
        email=email,
        city="Haarlem",
        country="NL",
        is_deleted=False,
    )
    row.update(over)
    return row


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb://{tmp_path / 'w.duckdb'}") as warehouse:
        warehouse.migrate()
        yield warehouse


@pytest.fixture
def files(tmp_path: Path) -> stage.RunFiles:
    files = stage.run_folder(tmp_path / "data", "run-1")
    contacts = pd.DataFrame(
        [
            contact("101", "sanne.bakker@example.nl"),
            contact("102", "s.bakker@example.nl", merged_into_source_id="101"),
            contact("103", "farid.rahimi@example.com", first_name="Farid", last_name="Rahimi", is_deleted=True),
        ]
    )
    opportunities = pd.DataFrame(
        [
            {"source": "hubspot", "source_id": "d1", "contact_source_id": "101", "amount": 980.0, "currency": "EUR"},
            {"source": "hubspot", "source_id": "d2", "contact_source_id": None, "amount": 15.0, "currency": "EUR"},
            {"source": "hubspot", "source_id": "d3", "contact_source_id": "999", "amount": 1.0, "currency": "EUR"},
        ]
    ).assign(source_updated_at=ts("2025-02-02"))
    cases = pd.DataFrame(
        [{"source": "salesforce", "source_id": "500A", "contact_source_id": "003X", "subject": "Retour"}]
    ).assign(created_at=ts("2025-02-03"), source_updated_at=ts("2025-02-03"))
    campaigns = pd.DataFrame(
        [
            {"source": "hubspot", "source_id": "c1", "name": "Zomeractie"},
            {"source": "hubspot", "source_id": "c1", "name": "Zomeractie"},
        ]
    ).assign(source_updated_at=[ts("2025-01-01"), ts("2025-01-05")], status=["draft", "active"])
    for name, frame, columns in (
        ("contacts", contacts, CONTACT_COLUMNS),
        ("interactions", pd.DataFrame(columns=INTERACTION_COLUMNS), INTERACTION_COLUMNS),
        ("opportunities", opportunities, OPPORTUNITY_COLUMNS),
        ("cases", cases, CASE_COLUMNS),
        ("campaigns", campaigns, CAMPAIGN_COLUMNS),
    ):
        files.write(name, conform(frame, columns))
    return files


def test_opportunities_and_cases_get_their_contacts_golden_id_and_load_with_the_run(
    wh: Warehouse, files: stage.RunFiles, tmp_path: Path
) -> None:
    stats = stage.match_and_survive(wh, files, "run-1", rules=load_rules())
    assert (stats["opportunities_attached"], stats["opportunities_without_golden"]) == (1, 2)
    assert (stats["cases_attached"], stats["cases_without_golden"]) == (0, 1)
    loaded = stage.load(wh, files, "run-1", state_dir=stage.state_dir(tmp_path / "data"))
    assert (loaded["opportunities_upserted"], loaded["cases_upserted"], loaded["campaigns_upserted"]) == (3, 1, 1)
    golden_101 = wh.current_xref().set_index("source_id").loc["101", "golden_id"]
    opps = wh.query("SELECT source_id, golden_id FROM core.opportunities ORDER BY source_id")
    assert opps["golden_id"].tolist()[0] == golden_101
    assert opps["golden_id"].isna().tolist() == [False, True, True]
    assert wh.query("SELECT status FROM core.campaigns")["status"].tolist() == ["active"]


def test_source_deletes_and_merges_reach_the_xref_and_a_rerun_changes_nothing(
    wh: Warehouse, files: stage.RunFiles, tmp_path: Path
) -> None:
    stage.match_and_survive(wh, files, "run-1", rules=load_rules())
    stage.load(wh, files, "run-1", state_dir=stage.state_dir(tmp_path / "data"))
    xref = wh.query(
        "SELECT source_id, is_deleted, merged_into_source_id FROM core.contact_xref WHERE is_current ORDER BY source_id"
    )
    assert xref.astype(object).where(xref.notna(), None).values.tolist() == [
        ["101", False, None],
        ["102", False, "101"],
        ["103", True, None],
    ]
    deleted = wh.query(
        "SELECT g.is_deleted FROM core.golden_contacts g JOIN core.contact_xref x ON x.golden_id = g.golden_id "
        "WHERE x.source_id = '103' AND g.is_current AND x.is_current"
    )
    assert deleted["is_deleted"].tolist() == [True]
    tables = ["core.golden_contacts", "core.contact_xref", "core.opportunities", "core.cases", "core.campaigns"]
    before = {t: wh.checksum(t) for t in tables}
    stage.match_and_survive(wh, files, "run-1", rules=load_rules())
    stage.load(wh, files, "run-1", state_dir=stage.state_dir(tmp_path / "data"))
    assert {t: wh.checksum(t) for t in tables} == before
