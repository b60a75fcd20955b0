"""Deleting a person at the vendor: the HubSpot sandbox's delete endpoints behave like HubSpot's."""

from __future__ import annotations

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import PublicGdprDeleteInput
from hubspot.crm.contacts.exceptions import NotFoundException

from crmhub.ops.vendors import NOT_SUPPORTED, request_deletion
from crmhub.sandbox.hubspot import DEFAULT_TOKEN

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
    session = requests.Session()
    result = request_deletion("hubspot", session, sandbox.hubspot_url, DEFAULT_TOKEN, [*ids, "999999999"])
    assert result == {"status": "requested", "records": 3, "deleted": 2}
    assert request_deletion("hootsuite", session, sandbox.hootsuite_url, None, ["x"])["status"] == NOT_SUPPORTED
