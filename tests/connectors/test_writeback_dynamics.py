"""Dynamics 365 write-back against the Dataverse sandbox over HTTP: task/incident upsert on an alternate key
with ``If-None-Match: *``, contact columns with ``If-Match: *``.

Each test reads back what the environment holds (the Web API's own query, or the environment's rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.dynamics import DynamicsConnector
from crmhub.connectors.writeback import (
    ALREADY_WRITTEN,
    CASE,
    CREATED,
    FAILED,
    SKIPPED_BY_PRECEDENCE,
    TASK,
    UPDATED,
    ContactFields,
    FollowUp,
    idempotency_key,
)
from crmhub_dev.sandbox.dynamics import DUPLICATE_MARKER, VALIDATION_MARKER, DynamicsSettings
from crmhub_dev.sandbox.server import SandboxServer

API = "/api/data/v9.2"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    settings = {"dynamics": DynamicsSettings(throttle_retry_after=0)}
    with SandboxServer(seed=11, people=160, vendors=("dynamics",), settings=settings) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


def connect(sandbox: SandboxServer, **options: Any) -> DynamicsConnector:
    fields = sandbox.airflow_connections()["dynamics"]
    credentials = Credentials(login=fields["login"], password=fields["password"], extra=fields["extra"])
    connector = DynamicsConnector.connect("dynamics", requests.Session(), sandbox.url("dynamics"), credentials, options)
    assert isinstance(connector, DynamicsConnector)
    connector.http.policy.base_backoff = 0.01
    return connector


@pytest.fixture
def connector(sandbox: SandboxServer) -> DynamicsConnector:
    return connect(sandbox)


@pytest.fixture
def env(sandbox: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    """The environment's rows: contacts, incidents and the tasks written since the sandbox started."""
    return sandbox.apps["dynamics"].state.records


_used: set[str] = set()


def active_contact(env: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """An active contact no other test of this module has written to (the environment lives for the module)."""
    for contact in env["contacts"]:
        if contact["statecode"] == 0 and contact["contactid"] not in _used:
            _used.add(contact["contactid"])
            return contact
    raise AssertionError("no unused active contact left")


def followup(contact_id: str, message: str, kind: str = TASK, subject: str = "Klacht op Twitter") -> FollowUp:
    return FollowUp(
        key=idempotency_key("dynamics", contact_id, message),
        contact_id=contact_id,
        kind=kind,
        subject=subject,
        body="Levering is twee weken te laat.",
        intent="complaint",
        department="service",
        priority="high",
        message_url="https://twitter.com/someone/status/1850000000000000001",
        due_at="2026-11-02T09:00:00Z",
    )


def by_key(connector: DynamicsConnector, entity_set: str, key: str) -> list[dict[str, Any]]:
    """Read back through the Web API's own query, as a person checking the environment would."""
    _, body = connector.http.request_json("GET", f"{API}/{entity_set}?$filter=crmhub_key eq '{key}'", page=1)
    return body["value"]


def test_a_followup_becomes_one_task_regarding_the_contact_with_link_intent_department_and_priority(connector, env):
    contact = active_contact(env)
    item = followup(contact["contactid"], "m-create")
    outcome = connector.write_followup(item)
    [task] = by_key(connector, "tasks", item.key)
    assert outcome.status == CREATED and outcome.vendor_id == task["activityid"]
    assert task["_regardingobjectid_value"] == contact["contactid"]
    assert (task["subject"], task["prioritycode"], task["scheduledend"]) == (
        "Klacht op Twitter", 2, "2026-11-02T09:00:00Z"
    )  # fmt: skip
    for line in (f"Message: {item.message_url}", "Intent: complaint", "Department: service", "Priority: high"):
        assert line in task["description"]


def test_the_same_key_again_answers_412_and_is_skipped_already_written_with_one_task(connector, env):
    item = followup(active_contact(env)["contactid"], "m-twice")
    first, second = connector.write_followup(item), connector.write_followup(item)
    assert (first.status, second.status) == (CREATED, ALREADY_WRITTEN)
    assert second.vendor_id == first.vendor_id
    assert len(by_key(connector, "tasks", item.key)) == 1


def test_a_rerun_leaves_what_the_owner_changed_on_the_task_alone(connector, env):
    item = followup(active_contact(env)["contactid"], "m-owner")
    connector.write_followup(item)
    [task] = [t for t in env["tasks"] if t["crmhub_key"] == item.key]
    task.update(statecode=1, statuscode=5, prioritycode=0)  # the owner completed it in Dynamics
    assert connector.write_followup(item).status == ALREADY_WRITTEN
    assert (task["statecode"], task["statuscode"], task["prioritycode"]) == (1, 5, 0)


def test_a_service_followup_becomes_an_incident_for_the_contact_with_origin_twitter(connector, env):
    contact = active_contact(env)
    item = followup(contact["contactid"], "m-case", kind=CASE)
    outcome = connector.write_followup(item)
    [incident] = by_key(connector, "incidents", item.key)
    assert outcome.status == CREATED and outcome.vendor_id == incident["incidentid"]
    assert (incident["_customerid_value"], incident["caseorigincode"], incident["prioritycode"]) == (
        contact["contactid"], 3986, 1
    )  # fmt: skip
    assert connector.write_followup(item).status == ALREADY_WRITTEN
    assert len(by_key(connector, "incidents", item.key)) == 1


def test_a_429_storm_is_waited_out_and_creates_exactly_one_task(sandbox, connector, env):
    item = followup(active_contact(env)["contactid"], "m-storm")
    sandbox.set_faults("dynamics", rate_limit=4)
    assert connector.write_followup(item).status == CREATED
    assert connector.http.retries >= 4
    assert len(by_key(connector, "tasks", item.key)) == 1


def test_an_answer_lost_after_dataverse_saved_the_task_still_leaves_one_task(sandbox, connector, env):
    item = followup(active_contact(env)["contactid"], "m-lost")
    sandbox.set_faults("dynamics", write_lost_response=1, server_error_status=503)
    outcome = connector.write_followup(item)
    assert outcome.status == CREATED  # the retry met the row its own first try created
    [task] = by_key(connector, "tasks", item.key)
    assert outcome.vendor_id == task["activityid"]


def test_a_run_killed_after_the_201_then_run_again_finds_the_task_instead_of_writing_a_second(sandbox, env):
    item = followup(active_contact(env)["contactid"], "m-killed")
    assert connect(sandbox).write_followup(item).status == CREATED  # the hub died before recording this
    fresh = connect(sandbox)  # the next run: a new process, a new token
    assert fresh.write_followup(item).status == ALREADY_WRITTEN
    assert len(by_key(fresh, "tasks", item.key)) == 1


def test_a_storm_longer_than_the_retries_fails_the_record_retryably(sandbox, connector, env):
    item = followup(active_contact(env)["contactid"], "m-long-storm")
    connector.http.policy.max_attempts = 2
    sandbox.set_faults("dynamics", rate_limit=10)
    outcome = connector.write_followup(item)
    assert outcome.status == FAILED and outcome.retryable and "429" in outcome.reason
    assert not [t for t in env["tasks"] if t["crmhub_key"] == item.key]


def test_a_contact_deleted_meanwhile_fails_the_followup_with_0x80040217_and_the_next_is_written(connector, env):
    gone = active_contact(env)
    connector.http.request_json("DELETE", f"{API}/contacts({gone['contactid']})", page=1, accept_status=(204,))
    outcomes = [
        connector.write_followup(followup(gone["contactid"], "m-gone")),
        connector.write_followup(followup(active_contact(env)["contactid"], "m-after-gone")),
    ]
    assert outcomes[0].status == FAILED and not outcomes[0].retryable
    assert outcomes[0].reason == (f"tasks: HTTP 404 0x80040217: contact With Id = {gone['contactid']} Does Not Exist")
    assert outcomes[1].status == CREATED


@pytest.mark.parametrize(
    ("subject", "expected"),
    [(f"Klacht {VALIDATION_MARKER}", "tasks: HTTP 400 0x80040265: "), ("", "tasks: HTTP 400 0x80040203: ")],
    ids=["business_rule", "required_subject"],
)
def test_a_refused_followup_fails_with_the_dataverse_code_not_retryable_and_the_next_is_written(
    connector, env, subject, expected
):
    bad = followup(active_contact(env)["contactid"], f"m-bad-{expected}", subject=subject)
    good = followup(active_contact(env)["contactid"], f"m-good-{expected}")
    outcomes = [connector.write_followup(bad), connector.write_followup(good)]
    assert outcomes[0].status == FAILED and not outcomes[0].retryable and outcomes[0].reason.startswith(expected)
    assert outcomes[1].status == CREATED
    assert not [t for t in env["tasks"] if t["crmhub_key"] == bad.key]


def test_with_duplicate_detection_on_a_duplicate_fails_instead_of_passing_for_already_written(sandbox, env):
    connector = connect(sandbox, duplicate_detection=True)
    item = followup(active_contact(env)["contactid"], "m-dup", subject=f"Klacht {DUPLICATE_MARKER}")
    outcome = connector.write_followup(item)
    assert outcome.status == FAILED and outcome.reason.startswith("tasks: HTTP 412 0x80040333: ")
    assert not [t for t in env["tasks"] if t["crmhub_key"] == item.key]


# -- contact columns ------------------------------------------------------------------------------------
def fields(contact_id: str, only_if_empty: set[str] = frozenset(), **values: Any) -> ContactFields:
    return ContactFields(
        key=idempotency_key("dynamics", contact_id, *sorted(values)),
        contact_id=contact_id,
        values=values,
        only_if_empty=frozenset(only_if_empty),
    )


def test_an_empty_crm_led_handle_is_filled_and_the_followers_written(connector, env):
    contact = active_contact(env)
    outcome = connector.write_contact_fields(
        fields(contact["contactid"], {"social_handle"}, social_handle="nieuw_handle", social_followers=930)
    )
    assert outcome.status == UPDATED and set(outcome.fields) == {"social_handle", "social_followers"}
    assert (contact["crmhub_twitterhandle"], contact["crmhub_socialfollowers"]) == ("nieuw_handle", 930)


def test_a_filled_crm_led_handle_is_never_overwritten(connector, env):
    contact = active_contact(env)
    contact["crmhub_twitterhandle"] = "@keyed_by_a_rep"
    outcome = connector.write_contact_fields(fields(contact["contactid"], {"social_handle"}, social_handle="other"))
    assert outcome.status == SKIPPED_BY_PRECEDENCE and contact["crmhub_twitterhandle"] == "@keyed_by_a_rep"


def test_values_the_contact_already_holds_are_skipped_without_a_write(connector, env):
    contact = active_contact(env)
    contact.update(crmhub_twitterhandle="@same_person", crmhub_socialfollowers=12)
    version = contact.get("versionnumber")
    update = fields(contact["contactid"], set(), social_handle="same_person", social_followers=12)
    assert connector.write_contact_fields(update).status == ALREADY_WRITTEN
    assert contact.get("versionnumber") == version


def test_contact_columns_for_a_deleted_contact_fail_with_not_found(connector, env):
    gone = active_contact(env)
    connector.http.request_json("DELETE", f"{API}/contacts({gone['contactid']})", page=1, accept_status=(204,))
    outcome = connector.write_contact_fields(fields(gone["contactid"], set(), social_followers=5))
    assert outcome.status == FAILED and not outcome.retryable and "0x80040217" in outcome.reason


def test_a_handle_written_back_is_what_the_next_pull_reads_as_the_contacts_social_handle(connector, env):
    contact = active_contact(env)
    connector.write_contact_fields(fields(contact["contactid"], set(), social_handle="@round_trip"))
    contacts = connector.to_canonical({"contacts": [r.payload for r in pull_contacts(connector)]}).contacts
    row = contacts.set_index("source_id").loc[contact["contactid"]]
    assert (row["social_handle"], row["social_network"]) == ("round_trip", "twitter")


def pull_contacts(connector: DynamicsConnector) -> list[Any]:
    window = Window(None, datetime.now(UTC) + timedelta(minutes=1))  # the write stamped modifiedon just now
    return [r for page in connector.extract("contacts", window) for r in page.records]


def test_writes_keep_to_the_configured_rate_limit(sandbox, env):
    connector = connect(sandbox)
    connector.apply_rate_limits([{"requests": 2, "per_seconds": 0.5}])  # as sources.yaml rate_limits
    items = [followup(active_contact(env)["contactid"], f"m-rate-{i}") for i in range(4)]
    outcomes = [connector.write_followup(item) for item in items]
    assert [o.status for o in outcomes] == [CREATED] * 4
    assert connector.http.throttled_seconds >= 0.4  # the client waited for a free slot instead of a 429
    assert connector.http.retries == 0
