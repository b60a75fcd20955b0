"""Bad input through Airflow: rate limits are waited out; a malformed page fails with nothing landed."""

from __future__ import annotations

import re

from crmhub.warehouse import Warehouse

from .conftest import LOGICAL_DATE, make_airflow


def test_rate_limited_ingest_waits_and_lands_everything(e2e_sandbox, migrated_home, tmp_path):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    airflow = make_airflow(e2e_sandbox, migrated_home, url, tmp_path)
    e2e_sandbox.set_faults("hubspot", rate_limit=3)
    try:
        result = airflow.dags_test("crmhub_ingest_hubspot", LOGICAL_DATE)
    finally:
        e2e_sandbox.clear_faults()
    assert "HTTP 429" in result.stdout + result.stderr
    with Warehouse.from_url(url) as warehouse:
        landed = warehouse.query(
            "SELECT COUNT(*) AS n FROM raw.payloads WHERE source = 'hubspot' AND object_type = 'contacts'"
        )["n"].iloc[0]
    assert landed == len(e2e_sandbox.data.hubspot_contacts)


def test_a_page_that_stays_malformed_fails_the_task_naming_it_after_the_pages_before_landed(
    e2e_sandbox, migrated_home, tmp_path
):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    airflow = make_airflow(e2e_sandbox, migrated_home, url, tmp_path, CRMHUB_RETRIES="0")
    e2e_sandbox.set_faults("hubspot", malformed_page=2, page_fault_repeat=9)  # broken through every retry
    try:
        result = airflow.dags_test("crmhub_ingest_hubspot", LOGICAL_DATE, check=False)
    finally:
        e2e_sandbox.clear_faults()
    output = result.stdout + result.stderr
    assert result.returncode != 0
    failed = re.search(r"hubspot: GET (/\S+) page (\d+): malformed JSON", output)
    assert failed, "the failure names source, endpoint and page"
    object_type = failed.group(1).rstrip("/").rsplit("/", 1)[-1]  # /crm/v3/objects/contacts -> contacts
    with Warehouse.from_url(url) as warehouse:
        warehouse.migrate()
        # the pages fetched before the broken one landed (none when it is the first); the next run pulls again
        assert warehouse.has_raw("hubspot", object_type) == (int(failed.group(2)) > 1)
