"""Retention prunes superseded raw payloads, old run folders and old processed drop files; replaying what
is kept changes nothing."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import requests

from crmhub.config import load_sources
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.file_drop import MANIFEST
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.ops.retention import prune_drop_files
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.stages.ingest import ingest, pull_window
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import datagen, hubspot
from crmhub_dev.sandbox.legacy_files import write_drop

from .erasure_setup import LEGACY, hub_sources

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=500)
REPLAYED = [
    "core.golden_contacts",
    "core.contact_xref",
    "core.interactions",
    "core.golden_lineage",
    "mart.customer_360",
]


def reconcile(warehouse: Warehouse, data_dir, run_id: str) -> None:
    """canonicalize → match and survive → load, as the reconcile DAG does (the gate is not the point)."""
    files = stage.run_folder(data_dir, run_id)
    stage.canonicalize(warehouse, files, run_id, sources=load_sources())
    stage.match_and_survive(warehouse, files, run_id, rules=load_rules())
    stage.load(warehouse, files, run_id, state_dir=stage.state_dir(data_dir))


def older_version(row: pd.Series, days_before: int) -> dict:
    """The same HubSpot record as it looked ``days_before`` earlier (another city)."""
    payload = json.loads(row["payload"])
    payload["properties"]["city"] = "Oudedorp"
    updated = pd.Timestamp(row["source_updated_at"]) - timedelta(days=days_before)
    payload["updatedAt"] = updated.isoformat().replace("+00:00", "Z")
    text = json.dumps(payload, sort_keys=True)
    return {**row.to_dict(), "payload": text, "payload_hash": f"old-{row['source_id']}-{days_before}",
            "source_updated_at": updated, "extracted_at": LONG_AGO, "run_id": "long-ago"}  # fmt: skip


def landed(folder, name: str, days_ago: float, *, notes: tuple[str, ...] = ()) -> Path:
    """A drop file landed (or rejected) ``days_ago``, as the file-drop connector leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"KLANTNR;EMAIL\r\n00000001;someone@example.nl\r\n")
    at = time.time() - days_ago * 86400
    with (folder / MANIFEST).open("a", encoding="utf-8") as manifest:
        if folder.name == "processed":
            when = datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
            manifest.write(json.dumps({"file": name, "stored_as": name, "sha256": name, "processed_at": when}) + "\n")
    for suffix in notes:
        path.with_name(f"{name}{suffix}").write_text("note", encoding="utf-8")
        os.utime(path.with_name(f"{name}{suffix}"), (at, at))
    exported = at - 10 * 86400  # a move keeps the export time: the file is older than its landing
    os.utime(path, (exported, exported))
    return path


def test_retention_deletes_processed_and_rejected_drop_files_landed_before_the_cutoff(tmp_path):
    drop = tmp_path / LEGACY
    old = landed(drop / "processed", "KLANTEN_20260101_1.csv", 40)
    recent = landed(drop / "processed", "KLANTEN_20261101_1.csv", 5)  # exported 15 days ago, landed 5
    rejected = landed(drop / "rejected", "KLANTEN_20260102_1.csv", 40, notes=(".reason.txt",))

    removed = prune_drop_files(tmp_path, timedelta(days=30), sources=hub_sources())

    assert removed == 2
    assert not old.exists() and not rejected.exists() and not rejected.with_name(f"{rejected.name}.reason.txt").exists()
    assert recent.exists()
    assert (drop / "processed" / MANIFEST).exists()  # hashes only: a pruned file dropped again is still known


def test_retention_never_touches_drop_files_still_waiting_to_be_ingested(tmp_path):
    waiting = write_drop(datagen.generate(seed=1, people=10), tmp_path / LEGACY, files=1)[0]
    os.utime(waiting, (time.time() - 400 * 86400, time.time() - 400 * 86400))

    assert prune_drop_files(tmp_path, timedelta(days=30), sources=hub_sources()) == 0
    assert waiting.exists()


@pytest.mark.airflow
def test_retention_keeps_the_newest_version_of_every_record_and_replay_still_works(
    fresh_sandbox, make_ops_airflow, tmp_path
):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    data_dir = tmp_path / "data"
    connector = HubSpotConnector.connect(
        "hubspot", requests.Session(), fresh_sandbox.hubspot_url, Credentials(password=hubspot.DEFAULT_TOKEN), {}
    )
    with Warehouse.from_url(url) as warehouse:
        warehouse.migrate()
        ingest(connector, "contacts", pull_window(NOW, NOW, timedelta(0), full=True), warehouse, "first")
        current = warehouse.latest_raw("hubspot", "contacts")
        # history: half the records also have two superseded versions landed long ago
        superseded = pd.DataFrame([older_version(r, d) for _, r in current.iloc[::2].iterrows() for d in (30, 60)])
        assert warehouse.land_raw(superseded) == len(superseded)
        # the newest versions of the other half were themselves extracted long ago: they must stay
        stale_ids = list(current.iloc[1::2]["source_id"])
        warehouse.engine.execute(
            "UPDATE raw.payloads SET extracted_at = :at WHERE run_id = 'first' AND source_id = ANY(:ids)",
            {"at": LONG_AGO, "ids": stale_ids},
        )
        reconcile(warehouse, data_dir, "before")
        before = {table: warehouse.checksum(table) for table in REPLAYED}
        latest_before = warehouse.latest_raw("hubspot", "contacts")
        rows_before = warehouse.table_counts()["raw.payloads"]
    old_run, new_run = data_dir / "runs" / "before", data_dir / "runs" / "recent"
    new_run.mkdir(parents=True)
    (new_run / "summary.json").write_text("{}", encoding="utf-8")
    month_ago = time.time() - 40 * 86400
    for path in [*old_run.rglob("*"), old_run]:
        os.utime(path, (month_ago, month_ago))
    old_drop = landed(data_dir / LEGACY / "processed", "KLANTEN_20260101_1.csv", 40)

    airflow = make_ops_airflow(fresh_sandbox, url, data_dir)
    airflow.dags_test("crmhub_retention", "2026-11-02", conf={"raw_days": 365, "run_days": 30, "drop_days": 30})

    with Warehouse.from_url(url) as warehouse:
        assert warehouse.table_counts()["raw.payloads"] == rows_before - len(superseded)
        pd.testing.assert_frame_equal(warehouse.latest_raw("hubspot", "contacts"), latest_before)
        audit = warehouse.query("SELECT row_counts FROM audit.load_audit WHERE stage = 'retention_raw'")
        assert json.loads(audit["row_counts"][0])["deleted"] == len(superseded)
        reconcile(warehouse, data_dir, "after")  # replay from what retention kept
        assert {table: warehouse.checksum(table) for table in REPLAYED} == before
    assert not old_run.exists() and new_run.exists()
    assert not old_drop.exists()  # the DAG prunes processed drop files too
