"""GDPR erasure through Airflow: the person is gone from every table and file (drop files too), at the
vendor (over HTTPS with a private CA, whatever REQUESTS_CA_BUNDLE says), from Airflow's own metadata,
and stays gone."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import certifi
import pytest
import requests

from crmhub.ops import erasure_requests
from crmhub.warehouse import Warehouse
from crmhub_dev.localrun import local_airflow, prepare_file_drops, run_pipeline, sandbox_connections
from crmhub_dev.sandbox import datagen, hubspot
from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN
from crmhub_dev.sandbox.server import SandboxServer

from .conftest import PEOPLE, SEED
from .helpers import find_in_files, find_in_warehouse, person_values

pytestmark = pytest.mark.airflow

LOGICAL_DATE = "2026-11-02"
NEXT_DAY = "2026-11-03"


def erasable_person(ground_truth: dict) -> dict:
    """A person in HubSpot, Hootsuite and the legacy file drop, with e-mail, phone and handle, whose name
    nobody else shares."""
    names = Counter(f"{p['first_name']} {p['last_name']}" for p in ground_truth["persons"])
    for person in ground_truth["persons"]:
        sources = [r["source"] for r in person["source_records"]]
        live = {r["source"] for r in person["source_records"] if not r.get("archived")}
        if (
            sources.count("hubspot") == 1
            and {"hubspot", "hootsuite", "legacy"} <= live
            and person["email"]
            and person["phone"]
            and person["handle"]
            and names[f"{person['first_name']} {person['last_name']}"] == 1
        ):  # fmt: skip
            return person
    raise AssertionError("the sandbox data set has no person in HubSpot, Hootsuite and the legacy drop")


def hubspot_status(sandbox, source_id: str) -> int:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    url = f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{source_id}"
    return requests.get(url, headers=headers, timeout=10, verify=sandbox.verify).status_code


@pytest.fixture(scope="module")
def erased(ops_home, tmp_path_factory):
    """The whole hub loaded over HTTPS (project CA), then one person erased by a request id, with
    ``REQUESTS_CA_BUNDLE`` naming the public CAs (which do not include the sandbox's)."""
    root = tmp_path_factory.mktemp("erasure")
    data_dir, url = root / "data", f"duckdb://{root / 'warehouse.duckdb'}"
    data = datagen.generate(seed=SEED, people=PEOPLE, anchor=datagen.DEFAULT_ANCHOR)
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=500)
    with SandboxServer(data=data, hubspot_settings=settings, tls=True) as sandbox:

        def airflow(**env: str):
            extra = {"CRMHUB_RETRY_DELAY_SECONDS": "1", **env}
            return local_airflow(
                ops_home,
                connections=sandbox_connections(sandbox),
                warehouse_url=url,
                data_dir=data_dir,
                extra_env=extra,
            )

        prepare_file_drops(sandbox.data, data_dir)
        run_pipeline(airflow(), LOGICAL_DATE)
        person = erasable_person(sandbox.ground_truth)
        values = person_values(person)
        assert find_in_warehouse(url, values), "the person must be in the warehouse before erasure"
        with Warehouse.from_url(url) as warehouse:
            golden_before = len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts"))
        request_id = erasure_requests.create_request(data_dir, "email", person["email"].upper())

        result = airflow(REQUESTS_CA_BUNDLE=certifi.where()).dags_test(
            "crmhub_gdpr_erasure", LOGICAL_DATE, conf={"request_id": request_id}
        )
        yield {
            "sandbox": sandbox, "airflow": airflow, "url": url, "data_dir": data_dir, "person": person,
            "values": values, "result": result, "request_id": request_id, "golden_before": golden_before,
        }  # fmt: skip


def test_the_vendor_deletes_the_person_over_https_with_the_connections_private_ca(erased):
    hubspot_id = next(r["source_id"] for r in erased["person"]["source_records"] if r["source"] == "hubspot")
    assert hubspot_status(erased["sandbox"], hubspot_id) == 404


def test_no_table_and_no_file_of_the_hub_still_holds_the_person(erased):
    assert find_in_warehouse(erased["url"], erased["values"]) == {}
    assert find_in_files(erased["data_dir"], erased["values"]) == {}
    legacy_id = next(r["source_id"] for r in erased["person"]["source_records"] if r["source"] == "legacy")
    processed = sorted((erased["data_dir"] / "drop" / "legacy" / "processed").glob("KLANTEN_*.csv"))
    assert processed and not [p for p in processed if legacy_id.encode() in p.read_bytes()]


def test_the_audit_row_records_the_proof_search_and_every_sources_outcome_without_the_identifier(erased):
    with Warehouse.from_url(erased["url"]) as warehouse:
        audit = warehouse.query("SELECT * FROM audit.erasure_log")
        golden_after = len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts"))
    assert list(audit["identifier_kind"]) == ["email"] and list(audit["status"]) == ["erased"]
    counts, vendors = json.loads(audit["row_counts"][0]), json.loads(audit["vendor_requests"][0])
    assert counts["proof"]["searched"] is True and counts["proof"]["found"] == 0
    assert counts["files"]["drop_rows_removed"] >= 1
    assert vendors["hubspot"] == {"status": "requested", "records": 1, "deleted": 1}
    assert "not supported" in vendors["hootsuite"]["status"] and vendors["legacy"]["status"].startswith("no vendor API")
    assert 1 <= erased["golden_before"] - golden_after <= 2  # only the person's golden records went
    row = audit.astype(str).to_csv(index=False).lower()
    assert not [v for v in erased["values"] if v.lower() in row]


def test_the_identifier_is_nowhere_in_airflows_metadata_or_task_logs_and_its_request_file_is_gone(erased, ops_home):
    metadata = (Path(ops_home) / "airflow.db").read_bytes().lower()
    email, phone = erased["person"]["email"].lower().encode(), erased["person"]["phone"].encode()
    assert email not in metadata and phone not in metadata
    task_logs = (erased["result"].stdout + erased["result"].stderr).lower()
    assert "erasure" in task_logs and not [v for v in erased["values"] if v.lower() in task_logs]
    assert not erasure_requests.request_path(erased["data_dir"], erased["request_id"]).exists()


def test_the_next_ingest_does_not_bring_the_person_back(erased):
    with Warehouse.from_url(erased["url"]) as warehouse:
        golden_after = len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts"))

    run_pipeline(erased["airflow"](), NEXT_DAY, full_refresh=True)  # Hootsuite cannot delete: suppression must hold

    assert find_in_warehouse(erased["url"], erased["values"]) == {}
    assert find_in_files(erased["data_dir"], erased["values"]) == {}
    with Warehouse.from_url(erased["url"]) as warehouse:
        assert len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts")) == golden_after


def test_the_dag_erases_in_the_hub_first_and_asks_the_vendors_even_if_that_failed():
    from crmhub.config import load_sources
    from crmhub.orchestration.ops_dags import build_erasure_dag

    dag = build_erasure_dag(load_sources())
    vendor = dag.get_task("request_vendor_deletion")
    assert vendor.upstream_task_ids == {"erase_from_hub"} and vendor.trigger_rule == "all_done"
    complete = dag.get_task("erasure_complete")  # the leaf: the run fails unless both steps succeeded
    assert complete.upstream_task_ids == {"erase_from_hub", "request_vendor_deletion"}
    assert complete.trigger_rule == "all_success" and dag.leaves == [complete]
    assert set(dag.params) == {"request_id", "golden_id"}  # no e-mail or phone field to type into


def test_erasure_needs_exactly_one_identifier():
    from crmhub.ops.erasure import ErasureRequest

    assert ErasureRequest.from_params({"email": "", "phone": " +31 6 1234 5678 ", "golden_id": ""}).kind == "phone"
    for params in ({}, {"email": "a@b.nl", "golden_id": "G1"}, {"email": "  "}):
        with pytest.raises(ValueError, match="exactly one"):
            ErasureRequest.from_params(params)
