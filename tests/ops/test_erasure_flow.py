"""GDPR erasure step by step, without Airflow: the file drop's CSV files, the proof search, the request
file, and what happens when a vendor cannot be reached (real HTTPS sandbox with the project CA, real
DuckDB, real drop files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import certifi
import pytest
import requests

from crmhub.ops import erasure_requests
from crmhub.ops.erasure_flow import delete_at_vendors, erase_from_hub
from crmhub.ops.identifiers import norm_phone
from crmhub.ops.proof import ErasureNotProven
from crmhub.orchestration.hooks import SourceHook
from crmhub.warehouse import Warehouse
from crmhub_dev.localrun import sandbox_connections
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN
from crmhub_dev.sandbox.server import SandboxServer

from .conftest import PEOPLE, SEED
from .erasure_setup import LEGACY, fill_hub, hub_sources, person_in, source_id


@pytest.fixture
def sandbox(monkeypatch):
    data = datagen.generate(seed=SEED, people=PEOPLE, anchor=datagen.DEFAULT_ANCHOR)
    with SandboxServer(data=data, vendors=("hubspot",), tls=True) as server:
        for name, value in sandbox_connections(server).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # a private CA must still be trusted
        yield server


@pytest.fixture
def hub(sandbox, tmp_path):
    """``(warehouse, data dir, person)``: HubSpot and the legacy drop landed and reconciled."""
    data_dir = tmp_path / "data"
    with Warehouse.from_url(f"duckdb://{tmp_path / 'warehouse.duckdb'}") as warehouse:
        warehouse.migrate()
        fill_hub(sandbox, warehouse, data_dir)
        yield warehouse, data_dir, person_in(sandbox.ground_truth, "hubspot", "legacy")


def request_for(data_dir: Path, person: dict) -> dict:
    return {"request_id": erasure_requests.create_request(data_dir, "email", person["email"].upper())}


def mentions(text: str, person: dict) -> bool:
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "\n")
    return person["email"].lower() in text.lower() or any(
        norm_phone(person["phone"]) in line for line in digits.splitlines()
    )


def drop_lines(folder: Path) -> dict[str, list[bytes]]:
    return {p.name: p.read_bytes().splitlines(keepends=True) for p in sorted(folder.glob("KLANTEN_*.csv"))}


def audit(warehouse: Warehouse) -> dict:
    row = warehouse.query("SELECT status, row_counts, vendor_requests FROM audit.erasure_log").iloc[-1]
    return {"status": row["status"], **json.loads(row["row_counts"]), "vendor": json.loads(row["vendor_requests"])}


def test_erasure_removes_the_persons_rows_from_processed_drop_files_and_leaves_every_other_byte(hub):
    warehouse, data_dir, person = hub
    processed = data_dir / LEGACY / "processed"
    before = drop_lines(processed)
    times = {p.name: p.stat().st_mtime_ns for p in processed.glob("KLANTEN_*.csv")}
    klantnr = source_id(person, "legacy")
    theirs = {name: [line for line in lines if line.startswith(klantnr.encode())] for name, lines in before.items()}
    assert sum(len(v) for v in theirs.values()) == 1, "the person has one row in the legacy export"

    erase_from_hub(warehouse, request_for(data_dir, person), hub_sources(), data_dir)

    after = drop_lines(processed)
    assert after == {name: [ln for ln in lines if ln not in theirs[name]] for name, lines in before.items()}
    assert not any(mentions(p.read_bytes().decode("cp1252"), person) for p in processed.glob("KLANTEN_*.csv"))
    assert {p.name: p.stat().st_mtime_ns for p in processed.glob("KLANTEN_*.csv")} == times


def test_erasure_removes_the_person_from_drop_files_still_waiting_to_be_ingested(hub):
    warehouse, data_dir, person = hub
    processed = next((data_dir / LEGACY / "processed").glob("KLANTEN_*_2.csv"))  # UTF-8 with BOM, commas
    header, *rows = processed.read_bytes().splitlines(keepends=True)
    klantnr = source_id(person, "legacy").encode()
    mine = next((r for r in rows if r.startswith(klantnr)), None) or next(
        r for p in (data_dir / LEGACY / "processed").glob("KLANTEN_*.csv") for r in p.read_bytes().splitlines(True)
        if r.startswith(klantnr)
    )  # fmt: skip
    other = next(r for r in rows if not r.startswith(klantnr))
    waiting = data_dir / LEGACY / "KLANTEN_20261201_1.csv"
    waiting.write_bytes(header + other + mine.replace(klantnr, b"99999999"))  # a new export: a new number

    erase_from_hub(warehouse, request_for(data_dir, person), hub_sources(), data_dir)

    assert waiting.read_bytes() == header + other


def test_erasure_searches_every_table_and_file_afterwards_and_audits_zero_hits(hub):
    warehouse, data_dir, person = hub

    result = erase_from_hub(warehouse, request_for(data_dir, person), hub_sources(), data_dir)

    logged = audit(warehouse)
    assert logged["status"] == "erased" and result["proof"] == logged["proof"]
    assert logged["proof"]["searched"] is True and logged["proof"]["found"] == 0
    assert logged["proof"]["identifiers"]["emails"] >= 1 and logged["proof"]["identifiers"]["phones"] >= 1
    assert logged["files"]["drop_rows_removed"] == 1


def test_erasure_fails_loudly_when_a_copy_it_does_not_know_of_is_left(hub):
    warehouse, data_dir, person = hub
    (data_dir / "exports").mkdir()
    (data_dir / "exports" / "adhoc.json").write_text(json.dumps({"to": person["email"].upper()}), encoding="utf-8")
    national = "0" + person["phone"][3:]  # +31 6 12345678 → 0612345678, written as 06-12 34 56 78
    spaced = f"{national[:2]}-{national[2:4]} {national[4:6]} {national[6:8]} {national[8:]}"
    warehouse.engine.execute("CREATE TABLE mart.adhoc_copy (note VARCHAR)")
    warehouse.engine.execute("INSERT INTO mart.adhoc_copy VALUES (:note)", {"note": f"call back on {spaced}"})

    with pytest.raises(ErasureNotProven, match=r"still in mart\.adhoc_copy, 1 file"):
        erase_from_hub(warehouse, request_for(data_dir, person), hub_sources(), data_dir)

    logged = audit(warehouse)
    assert logged["status"] == "not_proven"
    assert (logged["proof"]["found"], logged["proof"]["tables_with_hits"], logged["proof"]["files_with_hits"]) == (
        2,
        1,
        1,
    )


def test_erasure_drops_the_incremental_load_fingerprints_and_scrubs_the_run_files(hub):
    warehouse, data_dir, person = hub
    assert list((data_dir / "state" / "warehouse_load").iterdir())

    result = erase_from_hub(warehouse, request_for(data_dir, person), hub_sources(), data_dir)

    assert not (data_dir / "state" / "warehouse_load").exists()
    assert result["files"]["parquet_rows_removed"] > 0


def test_the_request_file_holding_the_identifier_is_deleted_once_the_person_is_erased(hub):
    warehouse, data_dir, person = hub
    params = request_for(data_dir, person)
    path = erasure_requests.request_path(data_dir, params["request_id"])
    assert person["email"].upper() in path.read_text(encoding="utf-8") and oct(path.stat().st_mode)[-3:] == "600"

    erase_from_hub(warehouse, params, hub_sources(), data_dir)

    assert not path.exists()
    with pytest.raises(erasure_requests.RequestError, match="not found"):  # carried out: it cannot run twice
        erasure_requests.resolve(params, data_dir)


@pytest.mark.parametrize("conf", [{"email": "jan@example.nl"}, {"phone": "+31 6 1234 5678"}])
def test_an_email_or_phone_in_the_dag_runs_conf_is_refused_naming_the_request_file_way(conf, tmp_path):
    with pytest.raises(erasure_requests.RequestError, match=r"refused.*erasure_requests"):
        erasure_requests.resolve(conf, tmp_path)


def test_a_vendor_that_cannot_be_reached_does_not_keep_the_person_in_the_hub_and_is_retried(hub, sandbox, monkeypatch):
    warehouse, data_dir, person = hub
    good = os.environ["AIRFLOW_CONN_CRMHUB_HUBSPOT"]
    bad = json.loads(good)
    bad["extra"] = {**bad.get("extra", {}), "verify": certifi.where()}  # the vendor's CA is not trusted
    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_HUBSPOT", json.dumps(bad))
    contact = f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{source_id(person, 'hubspot')}"

    def at_vendor() -> int:
        return requests.get(
            contact, headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}, verify=sandbox.verify
        ).status_code

    erased = erase_from_hub(warehouse, request_for(data_dir, person), hub_sources(), data_dir)
    with pytest.raises(RuntimeError, match=r"vendor deletion failed.*hubspot.*already erased from the hub"):
        delete_at_vendors(warehouse, hub_sources(), data_dir, connect=SourceHook.for_source)

    assert erased["proof"]["found"] == 0 and at_vendor() == 200
    assert audit(warehouse)["vendor"]["hubspot"]["status"] == "failed"
    assert audit(warehouse)["vendor"]["legacy"]["status"].startswith("no vendor API")

    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_HUBSPOT", good)  # the vendor is reachable again: the retry
    delete_at_vendors(warehouse, hub_sources(), data_dir, connect=SourceHook.for_source)

    assert at_vendor() == 404
    assert audit(warehouse)["vendor"]["hubspot"] == {"status": "requested", "records": 1, "deleted": 1}
    assert not list((data_dir / erasure_requests.VENDOR_DIR).glob("*.json"))
