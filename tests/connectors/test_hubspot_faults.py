"""Every sandbox fault on HubSpot deals, notes and campaigns: the pull recovers, or fails naming source,
endpoint and page after landing the pages before it; either way raw holds no duplicate and loses no
record (real ingest into DuckDB)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RetryPolicy
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.stages.ingest import ingest
from crmhub.warehouse.api import Warehouse
from crmhub_dev.sandbox import hubspot

from .conftest import ANCHOR

SINCE = ANCHOR - timedelta(days=60)
#: (object type, window, endpoint of the paged call)
PULLS = {
    "deals-full": ("deals", Window(None, ANCHOR), "GET /crm/v3/objects/deals"),
    "notes-incremental": ("notes", Window(SINCE, ANCHOR), "POST /crm/v3/objects/notes/search"),
    "campaigns": ("campaigns", Window(SINCE, ANCHOR), "GET /marketing/v3/campaigns"),
}
RECOVERED = [{"rate_limit": 3}, {"server_error_page": 2}, {"slow_ms": 30}, {"duplicate_page": 2},
             {"malformed_page": 2}, {"html_error_page": 2}]  # fmt: skip
#: pages that stay broken through every retry
FAILING = [
    ({"malformed_page": 2, "page_fault_repeat": 9}, "page 2: malformed JSON"),
    ({"html_error_page": 2, "page_fault_repeat": 9}, "page 2: expected JSON"),
]


@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


@pytest.fixture
def connector(sandbox) -> HubSpotConnector:
    small_pages = {"page_size": 2, "search_page_size": 3}  # campaigns and notes need several pages too
    made = HubSpotConnector.connect(
        "hubspot", requests.Session(), sandbox.hubspot_url, Credentials(password=hubspot.DEFAULT_TOKEN), small_pages
    )
    assert isinstance(made, HubSpotConnector)
    made.http.policy = RetryPolicy(base_backoff=0.01)
    return made


def expected_ids(sandbox, object_type: str, window: Window) -> set[str]:
    records = {
        "deals": sandbox.data.hubspot_deals,
        "notes": sandbox.data.hubspot_notes,
        "campaigns": sandbox.data.hubspot_campaigns,
    }[object_type]
    if object_type == "campaigns" or window.since is None:
        return {r["id"] for r in records}
    return {
        r["id"]
        for r in records
        if not r["archived"] and window.since <= parse_timestamp(r["properties"]["hs_lastmodifieddate"]) < window.until
    }


def landed(warehouse: Warehouse, object_type: str) -> list[str]:
    frame = warehouse.query(
        f"SELECT source_id FROM raw.payloads WHERE source = 'hubspot' AND object_type = '{object_type}'"
    )
    return frame["source_id"].tolist()


@pytest.mark.parametrize("fault", RECOVERED, ids=lambda f: next(iter(f)))
@pytest.mark.parametrize("pull", PULLS, ids=str)
def test_transient_faults_are_recovered_and_every_record_lands_once(connector, sandbox, warehouse, pull, fault):
    object_type, window, _ = PULLS[pull]
    sandbox.set_faults("hubspot", **fault)
    stats = ingest(connector, object_type, window, warehouse, "run-1")
    ids = landed(warehouse, object_type)
    assert len(ids) == len(set(ids)) == stats.landed
    assert set(ids) == expected_ids(sandbox, object_type, window)
    if "duplicate_page" in fault:
        assert stats.duplicates_in_pull == 1  # the repeated record was seen, and kept once


@pytest.mark.parametrize(("fault", "says"), FAILING, ids=lambda f: next(iter(f)) if isinstance(f, dict) else "")
@pytest.mark.parametrize("pull", PULLS, ids=str)
def test_bad_page_fails_naming_source_endpoint_and_page_after_landing_the_pages_before(
    connector, sandbox, warehouse, pull, fault, says
):
    object_type, window, endpoint = PULLS[pull]
    sandbox.set_faults("hubspot", **fault)
    with pytest.raises(SourceDataError) as raised:
        ingest(connector, object_type, window, warehouse, "run-1")
    assert f"hubspot: {endpoint} {says}" in str(raised.value)
    before = landed(warehouse, object_type)
    assert before and set(before) < expected_ids(sandbox, object_type, window)  # page 1 landed, no more
    sandbox.clear_faults()
    ingest(connector, object_type, window, warehouse, "run-2")  # the next run gets everything
    assert set(landed(warehouse, object_type)) == expected_ids(sandbox, object_type, window)


@pytest.mark.parametrize("pull", PULLS, ids=str)
def test_revoked_private_app_token_fails_clearly_after_landing_the_pages_before(connector, sandbox, warehouse, pull):
    object_type, window, endpoint = PULLS[pull]
    sandbox.set_faults("hubspot", expire_token_after=2)
    with pytest.raises(SourceDataError) as raised:
        ingest(connector, object_type, window, warehouse, "run-1")
    message = str(raised.value)
    assert message.startswith(f"hubspot: {endpoint.split(' ')[0]} ") and "HTTP 401" in message
    assert "INVALID_AUTHENTICATION" in message and hubspot.DEFAULT_TOKEN not in message
    assert re.search(r" page \d+: HTTP 401", message)
    assert 0 < len(landed(warehouse, object_type)) < len(expected_ids(sandbox, object_type, window))


def test_rate_limited_incremental_deals_keep_their_contact_associations(connector, sandbox, warehouse):
    sandbox.set_faults("hubspot", rate_limit=2)
    ingest(connector, "deals", Window(SINCE, ANCHOR), warehouse, "run-1")
    frame = warehouse.query("SELECT payload FROM raw.payloads WHERE object_type = 'deals'")
    with_contact = frame["payload"].str.contains('"associations"').sum()
    expected = expected_ids(sandbox, "deals", Window(SINCE, ANCHOR))
    deals = {d["id"]: d for d in sandbox.data.hubspot_deals}
    assert with_contact == sum(bool(deals[i]["_contacts"]) for i in expected)
