"""HubSpot connector: paging, incremental search, rate limits and bad pages, against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmhub.connectors.base import Window
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CONTACT_COLUMNS

from .conftest import ANCHOR


def pull(connector, window):
    return [record for page in connector.extract("contacts", window) for record in page.records]


def test_full_pull_returns_every_contact_once_including_archived(hubspot_connector, sandbox):
    records = pull(hubspot_connector, Window(None, ANCHOR))
    ids = [r.source_id for r in records]
    assert sorted(ids) == sorted(c["id"] for c in sandbox.data.hubspot_contacts)
    assert len(ids) == len(set(ids))
    assert any(r.payload["archived"] for r in records)


def test_incremental_pull_returns_only_contacts_modified_in_the_window(hubspot_connector, sandbox):
    since = ANCHOR - timedelta(days=20)
    records = pull(hubspot_connector, Window(since, ANCHOR))
    expected = {
        c["id"]
        for c in sandbox.data.hubspot_contacts
        if not c["archived"] and since <= parse_timestamp(c["updatedAt"]) < ANCHOR
    }
    assert expected and {r.source_id for r in records} == expected


def test_rate_limit_is_waited_out_and_the_pull_completes(hubspot_connector, sandbox):
    sandbox.set_faults("hubspot", rate_limit=2)
    records = pull(hubspot_connector, Window(None, ANCHOR))
    assert len(records) == len(sandbox.data.hubspot_contacts)
    assert hubspot_connector.http.retries == 2


def test_server_error_mid_pagination_retries_that_page_only(hubspot_connector, sandbox):
    sandbox.set_faults("hubspot", server_error_page=2)
    records = pull(hubspot_connector, Window(None, ANCHOR))
    assert len(records) == len(sandbox.data.hubspot_contacts)
    pages = -(-len(sandbox.data.hubspot_contacts) // 25) + 1  # + the archived list's page(s)
    assert hubspot_connector.http.requests_made <= pages + 2


@pytest.mark.parametrize(
    ("fault", "says"), [("malformed_page", "malformed JSON"), ("html_error_page", "expected JSON, got text/html")]
)
def test_bad_page_fails_naming_source_endpoint_and_page(hubspot_connector, sandbox, fault, says):
    hubspot_connector.http.policy.base_backoff = 0.01
    sandbox.set_faults("hubspot", **{fault: 2, "page_fault_repeat": 9})  # broken through every retry
    with pytest.raises(SourceDataError) as raised:
        pull(hubspot_connector, Window(None, ANCHOR))
    assert "hubspot: GET /crm/v3/objects/contacts page 2" in str(raised.value)
    assert says in str(raised.value)


def test_wrong_token_fails_with_the_vendor_error(sandbox):
    import requests

    from crmhub.connectors.credentials import Credentials
    from crmhub.connectors.hubspot import HubSpotConnector

    connector = HubSpotConnector.connect("hubspot", requests.Session(), sandbox.hubspot_url, Credentials(password="x"))
    with pytest.raises(SourceDataError, match="HTTP 401"):
        pull(connector, Window(None, ANCHOR))


def test_canonical_mapping_keeps_every_contact_and_its_handle(hubspot_connector, sandbox):
    records = pull(hubspot_connector, Window(None, ANCHOR))
    contacts = hubspot_connector.to_canonical({"contacts": [r.payload for r in records]}).contacts
    assert list(contacts.columns) == CONTACT_COLUMNS
    assert len(contacts) == len(records)
    assert set(contacts["social_network"].dropna()) <= {"twitter", "instagram"}
    assert contacts["is_deleted"].sum() == sum(c["archived"] for c in sandbox.data.hubspot_contacts)
