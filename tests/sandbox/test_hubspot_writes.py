"""The sandbox HubSpot portal takes task and contact writes as HubSpot answers them (issue 17),
read by the official ``hubspot-api-client`` and plain HTTP."""

from __future__ import annotations

import requests
from hubspot import HubSpot
from hubspot.crm.objects import (
    AssociationSpec,
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)

from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def live_contact(sandbox) -> str:
    return next(c["id"] for c in sandbox.data.hubspot_contacts if not c["archived"])


def test_the_official_client_creates_a_task_associated_with_a_contact(sandbox):
    contact = live_contact(sandbox)
    client = HubSpot(access_token=DEFAULT_TOKEN, host=sandbox.hubspot_url)
    association = PublicAssociationsForObject(
        to=PublicObjectId(id=contact),
        types=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=204)],
    )
    created = client.crm.objects.basic_api.create(
        "tasks",
        SimplePublicObjectInputForCreate(
            properties={
                "hs_task_subject": "Follow up",
                "hs_timestamp": "2026-11-01T10:00:00Z",
                "crmhub_writeback_key": "crmhub-sdk",
            },  # fmt: skip
            associations=[association],
        ),
    )
    assert created.id and created.properties["crmhub_writeback_key"] == "crmhub-sdk"
    read = requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/tasks/{created.id}", headers=AUTH,
                        params={"associations": "contacts"}, timeout=10)  # fmt: skip
    assert read.json()["associations"]["contacts"]["results"][0]["id"] == contact


def test_a_task_for_a_contact_that_does_not_exist_is_a_validation_error_naming_the_invalid_id(sandbox):
    body = {
        "properties": {"hs_task_subject": "x", "hs_timestamp": "2026-11-01T10:00:00Z"},
        "associations": [{"to": {"id": "999999999"},
                          "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}],
    }  # fmt: skip
    answer = requests.post(f"{sandbox.hubspot_url}/crm/v3/objects/tasks", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["category"] == "VALIDATION_ERROR"
    assert answer.json()["context"]["INVALID_OBJECT_IDS"] == ["CONTACT=999999999 is not valid"]


def test_an_unknown_task_property_is_refused(sandbox):
    body = {"properties": {"hs_timestamp": "2026-11-01T10:00:00Z", "no_such_prop": "x"}}
    answer = requests.post(f"{sandbox.hubspot_url}/crm/v3/objects/tasks", json=body, headers=AUTH, timeout=10)
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"


def test_patching_an_unknown_contact_is_404_object_not_found(sandbox):
    answer = requests.patch(f"{sandbox.hubspot_url}/crm/v3/objects/contacts/999999999",
                            json={"properties": {"twitterhandle": "x"}}, headers=AUTH, timeout=10)  # fmt: skip
    assert answer.status_code == 404 and answer.json()["category"] == "OBJECT_NOT_FOUND"


def test_tasks_are_found_by_the_key_property_with_search(sandbox):
    contact = live_contact(sandbox)
    body = {
        "properties": {"hs_timestamp": "2026-11-01T10:00:00Z", "crmhub_writeback_key": "crmhub-findme"},
        "associations": [{"to": {"id": contact},
                          "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}]}],
    }  # fmt: skip
    created = requests.post(f"{sandbox.hubspot_url}/crm/v3/objects/tasks", json=body, headers=AUTH, timeout=10)
    assert created.status_code == 201
    query = {"filterGroups": [{"filters": [{"propertyName": "crmhub_writeback_key", "operator": "EQ",
                                            "value": "crmhub-findme"}]}], "limit": 1}  # fmt: skip
    found = requests.post(f"{sandbox.hubspot_url}/crm/v3/objects/tasks/search", json=query, headers=AUTH, timeout=10)
    assert [r["id"] for r in found.json()["results"]] == [created.json()["id"]]
