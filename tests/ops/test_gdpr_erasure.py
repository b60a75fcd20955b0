"""GDPR erasure through Airflow: the person is gone from every table and file, at the vendor, and stays gone."""

from __future__ import annotations

from collections import Counter

import pytest
import requests

from crmhub.devtools.localrun import run_pipeline
from crmhub.sandbox.hubspot import DEFAULT_TOKEN
from crmhub.warehouse import Warehouse

from .helpers import find_in_files, find_in_warehouse, person_values

pytestmark = pytest.mark.airflow

LOGICAL_DATE = "2026-11-02"
NEXT_DAY = "2026-11-03"


def erasable_person(ground_truth: dict) -> dict:
    """A person known to both sources, with e-mail, phone and handle, whose name nobody else shares."""
    names = Counter(f"{p['first_name']} {p['last_name']}" for p in ground_truth["persons"])
    for person in ground_truth["persons"]:
        sources = [r["source"] for r in person["source_records"]]
        hubspot_live = any(r["source"] == "hubspot" and not r.get("archived") for r in person["source_records"])
        if (
            sources.count("hubspot") == 1
            and "hootsuite" in sources
            and hubspot_live
            and person["email"]
            and person["phone"]
            and person["handle"]
            and names[f"{person['first_name']} {person['last_name']}"] == 1
        ):
            return person
    raise AssertionError("the sandbox data set has no person in both sources")


def hubspot_status(sandbox, source_id: str) -> int:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    return requests.get(
        f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{source_id}", headers=headers, timeout=10
    ).status_code


def test_erasure_by_email_leaves_no_trace_and_the_next_ingest_does_not_bring_them_back(
    fresh_sandbox, make_ops_airflow, tmp_path
):
    data_dir = tmp_path / "data"
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    airflow = make_ops_airflow(fresh_sandbox, url, data_dir)
    run_pipeline(airflow, LOGICAL_DATE)
    person = erasable_person(fresh_sandbox.ground_truth)
    values = person_values(person)
    hubspot_id = next(r["source_id"] for r in person["source_records"] if r["source"] == "hubspot")
    assert find_in_warehouse(url, values), "the person must be in the warehouse before erasure"
    with Warehouse.from_url(url) as warehouse:
        golden_before = len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts"))
        theirs = set(
            warehouse.query(
                "SELECT DISTINCT golden_id FROM core.contact_xref WHERE source = 'hubspot' AND source_id = :id",
                {"id": hubspot_id},
            )["golden_id"]
        )

    result = airflow.dags_test("crmhub_gdpr_erasure", LOGICAL_DATE, conf={"email": person["email"].upper()})

    assert find_in_warehouse(url, values) == {}
    assert find_in_files(data_dir, values) == {}
    assert hubspot_status(fresh_sandbox, hubspot_id) == 404  # asked the vendor: gone there too
    task_logs = result.stdout + result.stderr
    assert "erasure" in task_logs and not [v for v in values if v.lower() in task_logs.lower()]
    with Warehouse.from_url(url) as warehouse:
        audit = warehouse.query("SELECT * FROM audit.erasure_log")
        golden_after = len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts"))
    assert list(audit["identifier_kind"]) == ["email"] and list(audit["status"]) == ["erased"]
    assert '"hubspot"' in audit["vendor_requests"][0] and "not supported" in audit["vendor_requests"][0]
    assert 1 <= golden_before - golden_after <= 2  # only the person's golden records went
    with Warehouse.from_url(url) as warehouse:
        for table in ("core.opportunities", "core.cases", "core.interactions"):  # their deals and cases went too
            left = warehouse.query(f"SELECT golden_id FROM {table} WHERE golden_id IS NOT NULL")["golden_id"]
            assert not theirs & set(left), table

    run_pipeline(airflow, NEXT_DAY, full_refresh=True)  # Hootsuite cannot delete: suppression must hold

    assert find_in_warehouse(url, values) == {}
    assert find_in_files(data_dir, values) == {}
    with Warehouse.from_url(url) as warehouse:
        assert len(warehouse.query("SELECT DISTINCT golden_id FROM core.golden_contacts")) == golden_after


def test_erasure_needs_exactly_one_identifier():
    from crmhub.ops.erasure import ErasureRequest

    assert ErasureRequest.from_params({"email": "", "phone": " +31 6 1234 5678 ", "golden_id": ""}).kind == "phone"
    for params in ({}, {"email": "a@b.nl", "golden_id": "G1"}, {"email": "  "}):
        with pytest.raises(ValueError, match="exactly one"):
            ErasureRequest.from_params(params)
