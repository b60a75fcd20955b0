"""The fake Dataverse takes writes as the Web API documents them (issue 17): upsert on an alternate key (204 +
``OData-EntityId``, or 201/200 with ``Prefer: return=representation``), ``If-None-Match: *`` (412 when the row
exists), ``If-Match: *`` (404 when it does not), ``@odata.bind`` to a missing contact (404 0x80040217),
the ``{"error": {"code", "message"}}`` envelope, deletes and write faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crmhub_dev.sandbox.dynamics import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_RESOURCE,
    DEFAULT_TENANT_ID,
    DynamicsSettings,
)
from crmhub_dev.sandbox.server import SandboxServer

API = "/api/data/v9.2"


@pytest.fixture(scope="module")
def dv() -> Iterator[SandboxServer]:
    settings = {"dynamics": DynamicsSettings(throttle_retry_after=0)}
    with SandboxServer(seed=17, people=80, vendors=("dynamics",), settings=settings) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(dv: SandboxServer) -> Iterator[None]:
    dv.clear_faults()
    yield
    dv.clear_faults()


@pytest.fixture
def call(dv: SandboxServer):
    form = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": f"{DEFAULT_RESOURCE}/.default"}  # fmt: skip
    token = requests.post(f"{dv.url('dynamics')}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", data=form, timeout=10)
    auth = {"Authorization": f"Bearer {token.json()['access_token']}", "OData-Version": "4.0"}

    def _call(method: str, path: str, body: Any = None, **headers: str) -> requests.Response:
        named = {k.replace("_", "-"): v for k, v in headers.items()}
        return requests.request(method, f"{dv.url('dynamics')}{API}{path}", json=body, headers={**auth, **named},
                                timeout=10)  # fmt: skip

    return _call


def contact_id(dv: SandboxServer, index: int) -> str:
    return [c for c in dv.apps["dynamics"].state.records["contacts"] if c["statecode"] == 0][index]["contactid"]


def task(dv: SandboxServer, subject: str = "Follow up", index: int = 0) -> dict[str, Any]:
    return {"subject": subject, "regardingobjectid_contact_task@odata.bind": f"/contacts({contact_id(dv, index)})"}


def test_an_upsert_on_the_alternate_key_creates_with_204_and_the_key_in_odata_entityid(dv, call):
    response = call("PATCH", "/tasks(crmhub_key='k-plain')", task(dv))
    assert response.status_code == 204 and not response.content
    assert response.headers["OData-EntityId"].endswith(f"{API}/tasks(crmhub_key='k-plain')")
    row = call("GET", "/tasks(crmhub_key='k-plain')").json()
    assert row["crmhub_key"] == "k-plain" and row["_regardingobjectid_value"] == contact_id(dv, 0)


def test_return_representation_answers_201_on_create_and_200_on_update(dv, call):
    created = call("PATCH", "/tasks(crmhub_key='k-repr')?$select=activityid", task(dv), Prefer="return=representation")
    assert created.status_code == 201 and created.headers["Preference-Applied"] == "return=representation"
    assert set(created.json()) == {"@odata.context", "@odata.etag", "activityid"}
    updated = call("PATCH", "/tasks(crmhub_key='k-repr')?$select=activityid", {"subject": "Changed"},
                   Prefer="return=representation")  # fmt: skip
    assert updated.status_code == 200 and updated.json()["activityid"] == created.json()["activityid"]


def test_if_none_match_star_creates_once_then_412_without_touching_the_row(dv, call):
    assert call("PATCH", "/tasks(crmhub_key='k-once')", task(dv), If_None_Match="*").status_code == 204
    again = call("PATCH", "/tasks(crmhub_key='k-once')", task(dv, "Other"), If_None_Match="*")
    assert again.status_code == 412
    assert again.json() == {"error": {"code": "", "message": "A record with matching key values already exists."}}
    assert call("GET", "/tasks(crmhub_key='k-once')").json()["subject"] == "Follow up"
    rows = call("GET", "/tasks?$filter=crmhub_key eq 'k-once'").json()["value"]
    assert len(rows) == 1


def test_if_match_star_updates_only_and_a_missing_row_is_404_0x80040217(dv, call):
    missing = "00000000-0000-0000-0000-000000000001"
    response = call("PATCH", f"/contacts({missing})", {"crmhub_socialfollowers": 3}, If_Match="*")
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "0x80040217", "message": f"contact With Id = {missing} Does Not Exist"}
    assert call("PATCH", f"/contacts({contact_id(dv, 1)})", {"crmhub_socialfollowers": 3}, If_Match="*").ok


def test_binding_a_deleted_contact_is_404_0x80040217_and_an_unknown_column_400(dv, call):
    gone = contact_id(dv, 2)
    assert call("DELETE", f"/contacts({gone})").status_code == 204
    bound = call("PATCH", "/tasks(crmhub_key='k-gone')", {"subject": "x",
                 "regardingobjectid_contact_task@odata.bind": f"/contacts({gone})"})  # fmt: skip
    assert bound.status_code == 404 and bound.json()["error"]["code"] == "0x80040217"
    unknown = call("PATCH", "/tasks(crmhub_key='k-col')", {"nope": 1})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "0x80060888"


def test_faults_apply_to_writes_429_with_retry_after_and_a_lost_answer_still_saves(dv, call):
    dv.set_faults("dynamics", rate_limit=1, write_lost_response=1)
    throttled = call("PATCH", "/tasks(crmhub_key='k-fault')", task(dv), If_None_Match="*")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "0"
    lost = call("PATCH", "/tasks(crmhub_key='k-fault')", task(dv), If_None_Match="*")
    assert lost.status_code == 502
    assert call("PATCH", "/tasks(crmhub_key='k-fault')", task(dv), If_None_Match="*").status_code == 412
    written = requests.get(f"{dv.url('dynamics')}/_sandbox/dynamics/written", timeout=10).json()
    assert sum(t["crmhub_key"] == "k-fault" for t in written["tasks"]) == 1
