"""Salesforce write-back against the fake org over HTTP: Task/Case upsert on an External ID, contact fields.

Each test reads back what the org holds (SOQL through the REST API, or the org's records) and checks the
outcome the connector reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from crmhub.connectors.credentials import Credentials
from crmhub.connectors.salesforce import SalesforceConnector
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
from crmhub.errors import SourceDataError
from crmhub_dev.sandbox.salesforce import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    DUPLICATE_MARKER,
    VALIDATION_MARKER,
    SalesforceSettings,
)
from crmhub_dev.sandbox.server import SandboxServer

KEY_FIELD = "CrmHub_Key__c"


@pytest.fixture(scope="module")
def sf_sandbox() -> Iterator[SandboxServer]:
    settings = SalesforceSettings(retry_after_seconds=0)
    with SandboxServer(seed=11, people=120, vendors=("salesforce",), settings={"salesforce": settings}) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_org(sf_sandbox: SandboxServer) -> Iterator[None]:
    sf_sandbox.clear_faults()
    yield
    sf_sandbox.clear_faults()
    sf_sandbox.apps["salesforce"].state.usage["used"] = 0


@pytest.fixture
def org(sf_sandbox: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    """The org's records: the generated ones and the tasks written since the sandbox started."""
    return {**sf_sandbox.data.vendors["salesforce"], "tasks": sf_sandbox.apps["salesforce"].state.tasks}


def connect(sandbox: SandboxServer, **options: object) -> SalesforceConnector:
    connector = SalesforceConnector.connect(
        "salesforce",
        requests.Session(),
        sandbox.url("salesforce"),
        Credentials(login=DEFAULT_CONSUMER_KEY, password=DEFAULT_CONSUMER_SECRET, extra={"api_version": "60.0"}),
        dict(options),
    )
    assert isinstance(connector, SalesforceConnector)
    connector.http.policy.base_backoff = 0.01
    return connector


@pytest.fixture
def connector(sf_sandbox: SandboxServer) -> SalesforceConnector:
    return connect(sf_sandbox)


_live_used: set[str] = set()


def live_contact(org: dict[str, list[dict[str, Any]]], **where: Any) -> dict[str, Any]:
    """A live contact no other test of this module has written to (the org lives for the module)."""
    for contact in org["contacts"]:
        if contact["IsDeleted"] or contact["Id"] in _live_used:
            continue
        if all((contact.get(k) in (None, "")) if v is None else bool(contact.get(k)) for k, v in where.items()):
            _live_used.add(contact["Id"])
            return contact
    raise AssertionError(f"no unused live contact with {where}")


def followup(contact_id: str, message: str, kind: str = TASK, subject: str = "Complaint on Twitter") -> FollowUp:
    return FollowUp(
        key=idempotency_key("salesforce", contact_id, message),
        contact_id=contact_id,
        kind=kind,
        subject=subject,
        body="The customer says the delivery is two weeks late.",
        intent="complaint",
        department="service",
        priority="high",
        message_url=f"https://twitter.com/someone/status/{abs(hash(message)) % 10**12}",
        due_at="2026-11-02T09:00:00Z",
    )


def soql_by_key(sandbox: SandboxServer, connector: SalesforceConnector, sobject: str, key: str) -> list[dict]:
    """Read back through the vendor's own query API, as a person checking the org would."""
    query = f"SELECT Id, Subject, Status, Priority, Description, {KEY_FIELD} FROM {sobject} WHERE {KEY_FIELD} = '{key}'"
    _, body = connector.http.request_json("GET", "/services/data/v60.0/query", page=1, params={"q": query})
    return body["records"]


def test_a_followup_becomes_one_task_on_the_contact_carrying_link_intent_department_and_priority(
    sf_sandbox, connector, org
):
    contact = live_contact(org)
    item = followup(contact["Id"], "m-create")
    outcome = connector.write_followup(item)
    assert outcome.status == CREATED and outcome.vendor_id and outcome.vendor_id.startswith("00T")
    [task] = [t for t in org["tasks"] if t[KEY_FIELD] == item.key]
    assert task["Id"] == outcome.vendor_id and task["WhoId"] == contact["Id"]
    assert task["Subject"] == "Complaint on Twitter" and task["Priority"] == "High"
    assert task["Status"] == "Not Started" and task["ActivityDate"] == "2026-11-02"
    for line in (f"Message: {item.message_url}", "Intent: complaint", "Department: service", "Priority: high"):
        assert line in task["Description"]
    assert len(soql_by_key(sf_sandbox, connector, "Task", item.key)) == 1


def test_the_same_key_again_is_skipped_already_written_and_the_org_holds_one_task(sf_sandbox, connector, org):
    item = followup(live_contact(org)["Id"], "m-twice")
    first = connector.write_followup(item)
    second = connector.write_followup(item)
    assert (first.status, second.status) == (CREATED, ALREADY_WRITTEN)
    assert second.vendor_id == first.vendor_id
    assert len(soql_by_key(sf_sandbox, connector, "Task", item.key)) == 1


def test_a_rerun_leaves_what_the_owner_changed_on_the_task_alone(connector, org):
    item = followup(live_contact(org)["Id"], "m-owner")
    connector.write_followup(item)
    [task] = [t for t in org["tasks"] if t[KEY_FIELD] == item.key]
    task.update(Status="Completed", Priority="Low")  # the owner worked it in Salesforce
    assert connector.write_followup(item).status == ALREADY_WRITTEN
    assert (task["Status"], task["Priority"]) == ("Completed", "Low")


def test_a_service_followup_becomes_a_case_with_origin_from_the_message_link(sf_sandbox, connector, org):
    contact = live_contact(org)
    item = followup(contact["Id"], "m-case", kind=CASE)
    outcome = connector.write_followup(item)
    assert outcome.status == CREATED and outcome.vendor_id.startswith("500")
    [case] = [c for c in org["cases"] if c.get(KEY_FIELD) == item.key]
    assert (case["ContactId"], case["Origin"], case["Priority"], case["Status"]) == (
        contact["Id"], "Twitter", "High", "New"
    )  # fmt: skip
    assert connector.write_followup(item).status == ALREADY_WRITTEN
    assert len(soql_by_key(sf_sandbox, connector, "Case", item.key)) == 1


def test_a_503_storm_is_waited_out_and_creates_exactly_one_task(sf_sandbox, connector, org):
    item = followup(live_contact(org)["Id"], "m-storm")
    sf_sandbox.set_faults("salesforce", rate_limit=4)
    assert connector.write_followup(item).status == CREATED
    assert connector.http.retries >= 4
    assert len(soql_by_key(sf_sandbox, connector, "Task", item.key)) == 1


def test_an_answer_lost_after_the_org_saved_the_task_still_leaves_one_task(sf_sandbox, connector, org):
    item = followup(live_contact(org)["Id"], "m-lost")
    sf_sandbox.set_faults("salesforce", write_lost_response=1, server_error_status=502)
    outcome = connector.write_followup(item)
    assert outcome.status in (CREATED, ALREADY_WRITTEN) and outcome.vendor_id
    assert len(soql_by_key(sf_sandbox, connector, "Task", item.key)) == 1


def test_a_run_killed_after_the_201_then_run_again_finds_the_task_instead_of_writing_a_second(
    sf_sandbox, connector, org
):
    item = followup(live_contact(org)["Id"], "m-killed")
    assert connector.write_followup(item).status == CREATED  # the hub died before recording this
    fresh = connect(sf_sandbox)  # the next run: a new process, a new session
    outcome = fresh.write_followup(item)
    assert outcome.status == ALREADY_WRITTEN
    assert len(soql_by_key(sf_sandbox, fresh, "Task", item.key)) == 1


def test_a_storm_longer_than_the_retries_fails_the_record_retryably(sf_sandbox, connector, org):
    item = followup(live_contact(org)["Id"], "m-long-storm")
    connector.http.policy.max_attempts = 2
    sf_sandbox.set_faults("salesforce", rate_limit=10)
    outcome = connector.write_followup(item)
    assert outcome.status == FAILED and outcome.retryable and "503" in outcome.reason
    assert not [t for t in org["tasks"] if t[KEY_FIELD] == item.key]


@pytest.mark.parametrize(
    ("subject", "code"),
    [
        (f"Complaint {DUPLICATE_MARKER}", "DUPLICATES_DETECTED"),
        (f"Complaint {VALIDATION_MARKER}", "FIELD_CUSTOM_VALIDATION_EXCEPTION"),
        ("", "REQUIRED_FIELD_MISSING"),
    ],
    ids=["duplicate_rule", "validation_rule", "required_field"],
)
def test_a_refused_followup_fails_with_the_vendor_code_not_retryable_and_the_next_is_still_written(
    connector, org, subject, code
):
    bad = followup(live_contact(org)["Id"], f"m-bad-{code}", subject=subject)
    good = followup(live_contact(org)["Id"], f"m-good-{code}")
    outcomes = [connector.write_followup(bad), connector.write_followup(good)]
    assert outcomes[0].status == FAILED and not outcomes[0].retryable
    assert outcomes[0].reason.startswith(f"Task: {code}: ")
    assert outcomes[1].status == CREATED
    assert not [t for t in org["tasks"] if t[KEY_FIELD] == bad.key]


def test_a_contact_deleted_meanwhile_fails_the_followup_with_entity_is_deleted(sf_sandbox, connector, org):
    contact = live_contact(org)
    _, _ = connector.http.request_json(
        "DELETE", f"/services/data/v60.0/sobjects/Contact/{contact['Id']}", page=1, accept_status=(204,)
    )
    outcome = connector.write_followup(followup(contact["Id"], "m-deleted"))
    assert outcome.status == FAILED and not outcome.retryable
    assert outcome.reason == "Task: ENTITY_IS_DELETED: entity is deleted (fields: WhoId)"


def test_a_failure_reason_names_code_and_field_never_the_values_written(connector, org):
    outcome = connector.write_followup(followup("003000000000000AAA", "m-unknown"))
    assert outcome.status == FAILED
    assert outcome.reason == "Task: INVALID_CROSS_REFERENCE_KEY: invalid cross reference id (fields: WhoId)"


def test_the_daily_api_limit_stops_the_run_instead_of_failing_each_record(sf_sandbox, connector, org):
    settings = sf_sandbox.apps["salesforce"].state.settings
    sf_sandbox.apps["salesforce"].state.usage["used"] = settings.daily_api_limit
    with pytest.raises(SourceDataError, match="REQUEST_LIMIT_EXCEEDED"):
        connector.write_followup(followup(live_contact(org)["Id"], "m-limit"))


# -- contact fields ------------------------------------------------------------------------------------
def fields(contact_id: str, only_if_empty: set[str] = frozenset(), **values: Any) -> ContactFields:
    return ContactFields(
        key=idempotency_key("salesforce", contact_id, *sorted(values)),
        contact_id=contact_id,
        values=values,
        only_if_empty=frozenset(only_if_empty),
    )


def test_an_empty_crm_led_handle_is_filled_and_the_followers_written(connector, org):
    contact = live_contact(org, Twitter_Handle__c=None)
    outcome = connector.write_contact_fields(
        fields(contact["Id"], {"social_handle"}, social_handle="new_handle_1", social_followers=1520)
    )
    assert outcome.status == UPDATED and set(outcome.fields) == {"social_handle", "social_followers"}
    assert (contact["Twitter_Handle__c"], contact["Twitter_Followers__c"]) == ("new_handle_1", 1520)


def test_a_filled_crm_led_handle_is_never_overwritten(connector, org):
    contact = live_contact(org, Twitter_Handle__c=True)
    before = contact["Twitter_Handle__c"]
    outcome = connector.write_contact_fields(fields(contact["Id"], {"social_handle"}, social_handle="other_handle"))
    assert outcome.status == SKIPPED_BY_PRECEDENCE and outcome.fields == ()
    assert contact["Twitter_Handle__c"] == before


def test_a_crm_led_handle_held_back_does_not_stop_the_followers_being_written(connector, org):
    contact = live_contact(org, Twitter_Handle__c=True)
    before = contact["Twitter_Handle__c"]
    outcome = connector.write_contact_fields(
        fields(contact["Id"], {"social_handle"}, social_handle="other_handle_2", social_followers=88)
    )
    assert outcome.status == UPDATED and outcome.fields == ("social_followers",)
    assert (contact["Twitter_Handle__c"], contact["Twitter_Followers__c"]) == (before, 88)


def test_values_the_contact_already_holds_are_skipped_already_written(connector, org):
    contact = live_contact(org, Twitter_Handle__c=True)
    same = str(contact["Twitter_Handle__c"]).lstrip("@").rsplit("/", 1)[-1]
    outcome = connector.write_contact_fields(fields(contact["Id"], set(), social_handle=same))
    assert outcome.status == ALREADY_WRITTEN
    stamp = contact["SystemModstamp"]
    assert connector.write_contact_fields(fields(contact["Id"], set(), social_handle=same)).status == ALREADY_WRITTEN
    assert contact["SystemModstamp"] == stamp  # no write happened


def test_a_handle_another_contact_holds_trips_the_duplicate_rule_and_fails_only_that_contact(connector, org):
    holder = live_contact(org, Twitter_Handle__c=True)
    taken = str(holder["Twitter_Handle__c"]).lstrip("@").rsplit("/", 1)[-1]
    contact = live_contact(org, Twitter_Handle__c=None)
    outcome = connector.write_contact_fields(fields(contact["Id"], set(), social_handle=taken))
    assert outcome.status == FAILED and not outcome.retryable
    assert outcome.reason == "Contact: DUPLICATES_DETECTED: Use one of these records?"
    assert contact["Twitter_Handle__c"] is None


def test_contact_fields_for_a_deleted_contact_fail_with_not_found(connector, org):
    contact = next(c for c in org["contacts"] if c["IsDeleted"])
    outcome = connector.write_contact_fields(fields(contact["Id"], set(), social_followers=5))
    assert outcome.status == FAILED and not outcome.retryable and "NOT_FOUND" in outcome.reason


def test_a_handle_of_another_network_is_not_written_to_the_twitter_field(connector, org):
    if "social_network" not in ContactFields.__dataclass_fields__:
        pytest.skip("ContactFields carries no social_network yet")
    contact = live_contact(org, Twitter_Handle__c=None)
    update = ContactFields(
        key="k-net",
        contact_id=contact["Id"],
        values={"social_handle": "insta_person", "social_followers": 7},
        social_network="instagram",
    )
    outcome = connector.write_contact_fields(update)
    assert outcome.fields == ("social_followers",) and contact["Twitter_Handle__c"] is None
