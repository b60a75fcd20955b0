"""The fake Salesforce org takes writes as Salesforce documents them (issue 17): upsert by External ID (201
``created: true`` / 200 ``created: false``), sObject row updates (204), deletes, the error array with
``fields``, duplicate rules, write faults; ``simple-salesforce`` writes to it unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from crmhub_dev.sandbox.salesforce import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DUPLICATE_MARKER,
)
from crmhub_dev.sandbox.server import SandboxServer

API = "/services/data/v60.0"
GRANT = {
    "grant_type": "client_credentials",
    "client_id": DEFAULT_CONSUMER_KEY,
    "client_secret": DEFAULT_CONSUMER_SECRET,
}


@pytest.fixture(scope="module")
def sf() -> Iterator[SandboxServer]:
    with SandboxServer(seed=13, people=60, vendors=("salesforce",), tls=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(sf: SandboxServer) -> Iterator[None]:
    sf.clear_faults()
    yield
    sf.clear_faults()


@pytest.fixture
def call(sf: SandboxServer):
    grant = requests.post(f"{sf.url('salesforce')}/services/oauth2/token", data=GRANT, verify=sf.verify, timeout=10)
    headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}

    def _call(method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{sf.url('salesforce')}{API}{path}", json=body, headers=headers,
                                verify=sf.verify, timeout=10)  # fmt: skip

    return _call


def live_contacts(sf: SandboxServer) -> list[dict[str, Any]]:
    return [c for c in sf.data.vendors["salesforce"]["contacts"] if not c["IsDeleted"]]


def test_upsert_creates_with_201_then_matches_with_200_created_false_and_updates(sf, call):
    who = live_contacts(sf)[0]["Id"]
    first = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-upsert", {"WhoId": who, "Subject": "First"})
    assert first.status_code == 201
    body = first.json()
    assert body["success"] is True and body["created"] is True and body["errors"] == [] and body["id"][:3] == "00T"
    again = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-upsert", {"Subject": "Second"})
    assert again.status_code == 200 and again.json() == {**body, "created": False}
    record = call("GET", "/sobjects/Task/CrmHub_Key__c/k-upsert").json()
    assert (record["Id"], record["Subject"], record["CrmHub_Key__c"]) == (body["id"], "Second", "k-upsert")


def test_an_unknown_external_id_is_404_not_found(call):
    response = call("GET", "/sobjects/Task/CrmHub_Key__c/never-written")
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"


def test_errors_are_an_array_naming_code_message_and_fields(sf, call):
    deleted = next(c for c in sf.data.vendors["salesforce"]["contacts"] if c["IsDeleted"])
    response = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-deleted", {"WhoId": deleted["Id"], "Subject": "x"})
    assert response.status_code == 400
    assert response.json() == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": ["WhoId"]}]
    missing = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-nosubject", {"WhoId": live_contacts(sf)[1]["Id"]})
    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING" and missing.json()[0]["fields"] == ["Subject"]
    unknown = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-field", {"Nope__c": 1})
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"


def test_a_blocking_duplicate_rule_answers_duplicates_detected_with_its_match_results(sf, call):
    body = {"WhoId": live_contacts(sf)[2]["Id"], "Subject": f"Dup {DUPLICATE_MARKER}"}
    response = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-dup", body)
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "DUPLICATES_DETECTED" and error["message"] == "Use one of these records?"
    assert error["duplicateResult"]["allowSave"] is False and error["duplicateResult"]["matchResults"][0]["size"] >= 1


def test_a_contact_update_answers_204_and_a_deleted_contact_404(sf, call):
    contact = live_contacts(sf)[3]
    assert call("PATCH", f"/sobjects/Contact/{contact['Id']}", {"Twitter_Followers__c": 42}).status_code == 204
    assert contact["Twitter_Followers__c"] == 42
    assert call("DELETE", f"/sobjects/Contact/{contact['Id']}").status_code == 204
    gone = call("GET", f"/sobjects/Contact/{contact['Id']}?fields=Id")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"


def test_write_faults_apply_to_writes_and_a_lost_answer_still_saves(sf, call):
    who = live_contacts(sf)[4]["Id"]
    sf.set_faults("salesforce", write_error=1, write_lost_response=2)
    assert call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-fault", {"WhoId": who, "Subject": "x"}).status_code == 502
    assert call("GET", "/sobjects/Task/CrmHub_Key__c/k-fault").status_code == 404  # nothing written
    assert call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-fault", {"WhoId": who, "Subject": "x"}).status_code == 502
    assert call("GET", "/sobjects/Task/CrmHub_Key__c/k-fault").status_code == 200  # written, answer lost
    sf.set_faults("salesforce", rate_limit=1)
    throttled = call("PATCH", "/sobjects/Task/CrmHub_Key__c/k-fault2", {"WhoId": who, "Subject": "x"})
    assert throttled.status_code == 503 and throttled.headers["Retry-After"]


def test_simple_salesforce_upserts_and_reads_back_by_external_id(sf, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_bundle)
    grant = requests.post(f"{sf.url('salesforce')}/services/oauth2/token", data=GRANT, verify=sf.verify, timeout=10)
    client = Salesforce(instance_url=grant.json()["instance_url"], session_id=grant.json()["access_token"],
                        version="60.0")  # fmt: skip
    who = live_contacts(sf)[5]["Id"]
    assert client.Task.upsert("CrmHub_Key__c/k-sdk", {"WhoId": who, "Subject": "Via SDK"}) == 201
    assert client.Task.upsert("CrmHub_Key__c/k-sdk", {"Subject": "Via SDK"}) == 200
    assert client.Task.get_by_custom_id("CrmHub_Key__c", "k-sdk")["WhoId"] == who
    with pytest.raises(SalesforceMalformedRequest):
        client.Task.upsert("CrmHub_Key__c/k-sdk-bad", {"WhoId": who})
    written = requests.get(f"{sf.url('salesforce')}/_sandbox/salesforce/written", verify=sf.verify, timeout=10).json()
    assert sum(t["CrmHub_Key__c"] == "k-sdk" for t in written["tasks"]) == 1
