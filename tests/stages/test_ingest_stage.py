"""The ingest stage: windows, atomic landing, idempotent re-pulls (sandbox + a real DuckDB warehouse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RetryPolicy
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.errors import SourceDataError
from crmhub.stages.ingest import ingest, pull_window
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import datagen, hubspot
from crmhub_dev.sandbox.server import SandboxServer

ANCHOR = datagen.DEFAULT_ANCHOR


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(seed=3, people=40) as server:
        yield server


@pytest.fixture
def warehouse(tmp_path):
    with Warehouse.from_url(f"duckdb://{tmp_path / 'wh.duckdb'}") as wh:
        wh.migrate()
        yield wh


@pytest.fixture
def connector(sandbox):
    sandbox.clear_faults()
    made = HubSpotConnector.connect(
        "hubspot",
        requests.Session(),
        sandbox.hubspot_url,
        Credentials(password=hubspot.DEFAULT_TOKEN),
        {"page_size": 10},
    )
    made.http.policy = RetryPolicy(base_backoff=0.01)
    return made


def test_window_is_the_interval_widened_by_the_overlap():
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    window = pull_window(start, end, timedelta(hours=1), full=False)
    assert (window.since, window.until) == (start - timedelta(hours=1), end)
    assert pull_window(start, end, timedelta(hours=1), full=True).since is None


def test_window_starts_no_later_than_the_last_successful_run():
    """Runs that failed landed only part of their pull: the next window reaches back over them."""
    start, end = datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)
    last_ok = datetime(2026, 11, 1, tzinfo=UTC)
    window = pull_window(start, end, timedelta(hours=1), full=False, last_success_end=last_ok)
    assert (window.since, window.until) == (last_ok - timedelta(hours=1), end)
    assert pull_window(start, end, timedelta(0), full=False, last_success_end=start).since == start


def test_ingest_lands_every_record_with_load_metadata(connector, warehouse, sandbox):
    stats = ingest(connector, "contacts", pull_window(ANCHOR, ANCHOR, timedelta(0), full=True), warehouse, "run-1")
    assert stats.landed == stats.records == len(sandbox.data.hubspot_contacts)
    row = warehouse.query("SELECT * FROM raw.payloads LIMIT 1").iloc[0]
    assert row["source"] == "hubspot" and row["run_id"] == "run-1" and len(row["payload_hash"]) == 64


def test_repulling_the_same_records_lands_nothing_new(connector, warehouse):
    window = pull_window(ANCHOR, ANCHOR, timedelta(0), full=True)
    ingest(connector, "contacts", window, warehouse, "run-1")
    again = ingest(connector, "contacts", window, warehouse, "run-2")
    assert again.records > 0 and again.landed == 0


def test_a_page_broken_once_is_fetched_again_and_everything_lands(connector, warehouse, sandbox):
    sandbox.set_faults("hubspot", malformed_page=3)
    stats = ingest(connector, "contacts", pull_window(ANCHOR, ANCHOR, timedelta(0), full=True), warehouse, "run-1")
    assert stats.retries == 1 and stats.landed == len(sandbox.data.hubspot_contacts)


def test_a_page_that_stays_broken_fails_naming_it_and_keeps_the_pages_before(connector, warehouse, sandbox):
    sandbox.set_faults("hubspot", malformed_page=3, page_fault_repeat=10)
    window = pull_window(ANCHOR, ANCHOR, timedelta(0), full=True)
    with pytest.raises(SourceDataError, match=r"^hubspot: GET /crm/v3/objects/contacts page 3: malformed JSON"):
        ingest(connector, "contacts", window, warehouse, "run-1")
    assert warehouse.table_counts()["raw.payloads"] == 20  # pages 1 and 2 (10 records each) landed
    sandbox.clear_faults()
    again = ingest(connector, "contacts", window, warehouse, "run-2")  # the next run pulls the rest, once
    assert again.landed == len(sandbox.data.hubspot_contacts) - 20
    assert warehouse.table_counts()["raw.payloads"] == len(sandbox.data.hubspot_contacts)
