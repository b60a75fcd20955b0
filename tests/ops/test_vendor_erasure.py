"""Deleting a person at the vendor: the HubSpot sandbox's delete endpoints behave like HubSpot's, and the
hub reaches them the way ingest does (Connection, TLS settings, auth), also with a private CA."""

from __future__ import annotations

import json

import certifi
import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import PublicGdprDeleteInput
from hubspot.crm.contacts.exceptions import NotFoundException

from crmhub.config import load_sources
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.ops.erasure_flow import FAILED, NO_API, NOT_SUPPORTED, request_deletion, request_deletions
from crmhub.orchestration.hooks import SourceHook
from crmhub_dev.localrun import sandbox_connections
from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN
from crmhub_dev.sandbox.server import SandboxServer

from .conftest import new_sandbox

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


@pytest.fixture(scope="module")
def sandbox():
    with new_sandbox() as server:
        yield server


def live_ids(sandbox) -> list[str]:
    body = requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts?limit=100", headers=AUTH, timeout=10).json()
    return [c["id"] for c in body["results"]]


def test_delete_archives_the_contact_as_hubspot_does(sandbox):
    contact_id = live_ids(sandbox)[0]
    client = HubSpot(access_token=DEFAULT_TOKEN, host=sandbox.hubspot_url)
    client.crm.contacts.basic_api.archive(contact_id)  # the official SDK: DELETE, 204
    with pytest.raises(NotFoundException):
        client.crm.contacts.basic_api.get_by_id(contact_id)
    archived = client.crm.contacts.basic_api.get_by_id(contact_id, archived=True)
    assert archived.archived is True and archived.archived_at is not None


def test_gdpr_delete_removes_the_contact_for_good(sandbox):
    contact_id = live_ids(sandbox)[1]
    client = HubSpot(access_token=DEFAULT_TOKEN, host=sandbox.hubspot_url)
    client.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=contact_id))  # the official SDK
    for archived in ("false", "true"):
        get = f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{contact_id}?archived={archived}"
        assert requests.get(get, headers=AUTH, timeout=10).status_code == 404
    url = f"{sandbox.hubspot_url}/crm/v3/objects/contacts/gdpr-delete"
    assert requests.post(url, json={"objectId": contact_id}, headers=AUTH, timeout=10).status_code == 404
    assert requests.post(url, json={"objectId": contact_id}, timeout=10).status_code == 401


def test_request_deletion_counts_what_the_vendor_deleted_and_names_what_it_cannot(sandbox):
    ids = live_ids(sandbox)[2:4]
    sources = load_sources()
    connector = HubSpotConnector.connect(
        "hubspot", requests.Session(), sandbox.hubspot_url, Credentials(password=DEFAULT_TOKEN), {}
    )
    result = request_deletion(sources["hubspot"], connector, [*ids, "999999999"])
    assert result == {"status": "requested", "records": 3, "deleted": 2}
    assert request_deletion(sources["hootsuite"], None, ["x"])["status"] == NOT_SUPPORTED
    assert request_deletion(sources["legacy"], None, ["00014495"])["status"] == NO_API


@pytest.fixture(scope="module")
def https_sandbox():
    with SandboxServer(seed=3, people=15, vendors=("hubspot",), tls=True) as server:
        yield server


def https_live_ids(sandbox) -> list[str]:
    url = f"{sandbox.hubspot_url}/crm/v3/objects/contacts?limit=100"
    return [c["id"] for c in requests.get(url, headers=AUTH, timeout=10, verify=sandbox.verify).json()["results"]]


def https_status(sandbox, contact_id: str) -> int:
    url = f"{sandbox.hubspot_url}/crm/v3/objects/contacts/{contact_id}"
    return requests.get(url, headers=AUTH, timeout=10, verify=sandbox.verify).status_code


def test_vendor_deletion_trusts_the_connections_ca_even_when_requests_ca_bundle_names_another(
    https_sandbox, monkeypatch
):
    for name, value in sandbox_connections(https_sandbox).items():  # the Connection's extra names the CA
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # which requests would let override the session
    ids = https_live_ids(https_sandbox)[:2]

    results, pending = request_deletions(load_sources(), {"hubspot": ids}, connect=SourceHook.for_source)

    assert results == {"hubspot": {"status": "requested", "records": 2, "deleted": 2}} and pending == {}
    assert [https_status(https_sandbox, i) for i in ids] == [404, 404]


def test_a_vendor_that_cannot_be_reached_stays_pending_while_the_other_sources_are_answered(https_sandbox, monkeypatch):
    connections = sandbox_connections(https_sandbox)
    untrusted = json.loads(connections["AIRFLOW_CONN_CRMHUB_HUBSPOT"])
    untrusted["extra"] = {**untrusted.get("extra", {}), "verify": certifi.where()}  # not the sandbox's CA
    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_HUBSPOT", json.dumps(untrusted))
    ids = https_live_ids(https_sandbox)[2:3]

    pending_ids = {"hubspot": ids, "legacy": ["00000001"]}
    results, pending = request_deletions(load_sources(), pending_ids, connect=SourceHook.for_source)

    assert results["hubspot"] == {"status": FAILED, "records": 1, "error": "SourceDataError"}
    assert results["legacy"]["status"] == NO_API  # a file drop needs no Connection: no hook is built for it
    assert pending == {"hubspot": ids}
    assert https_status(https_sandbox, ids[0]) == 200
