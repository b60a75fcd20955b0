"""Write-back through the stage to Salesforce (issue 17), for people whose leading CRM record is a
Salesforce contact: a Task (a Case for ``service``) upserted on the External ID ``CrmHub_Key__c`` exists
once however the run goes, precedence holds on write, one refused record fails alone and is reported.
Real HTTP to the sandbox org, real DuckDB and PostgreSQL warehouses; what the org holds is read back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from crmhub.stages.writeback_config import load_writeback

from .conftest import Hub, key_for, killed_on_record, precedence

KEY = "CrmHub_Key__c"
API = "/services/data/v60.0"
#: writeback.yaml with a link to each sprout message, so the follow-up can carry it
LINKED = replace(load_writeback(), message_links={"sprout": "https://twitter.com/i/web/status/{source_id}"})


@pytest.fixture
def sf(crm_sandbox, warehouse_url) -> Hub:
    return Hub(crm_sandbox, warehouse_url, crm="salesforce")


def contacts(hub: Hub, *, with_handle: bool | None = None) -> list[dict[str, Any]]:
    live = [c for c in hub.sandbox.data.vendors["salesforce"]["contacts"] if not c["IsDeleted"]]
    if with_handle is not None:
        live = [c for c in live if bool(c.get("Twitter_Handle__c")) == with_handle]
    return live


def followups(hub: Hub, key: str) -> list[dict[str, Any]]:
    """The Tasks and Cases in the org carrying this idempotency key."""
    tasks = hub.app.state.tasks
    cases = hub.sandbox.data.vendors["salesforce"]["cases"]
    return [r for r in [*tasks, *cases] if r.get(KEY) == key]


def delete_contact(hub: Hub, contact_id: str) -> None:
    """A user deletes the contact in Salesforce (to the recycle bin) after reconcile linked it."""
    connector = hub.connect(hub_source(hub))
    connector.http.request_json("DELETE", f"{API}/sobjects/Contact/{contact_id}", page=1, accept_status=(204,))


def hub_source(hub: Hub) -> Any:
    from .conftest import SOURCES

    return SOURCES[hub.crm]


def test_a_service_message_becomes_one_case_on_the_contact_with_link_intent_department_and_priority(sf):
    contact = contacts(sf)[0]["Id"]
    message = sf.route(contact, department="service", handle=None, followers=None)
    report = sf.run(config=LINKED)
    assert report.counts["created"] == 1
    (case,) = followups(sf, key_for(message, "case", "salesforce"))
    assert (case["ContactId"], case["Priority"], case["Origin"], case["Status"]) == (contact, "High", "Twitter", "New")
    assert case["Subject"] == "Service follow-up: complaint on twitter"
    for line in (f"Message: https://twitter.com/i/web/status/{message}", "Intent: complaint", "Department: service",
                 "Priority: high", "Al drie dagen geen internet"):  # fmt: skip
        assert line in case["Description"]


def test_a_sales_message_becomes_one_task_on_the_contact_due_at_the_routing_sla(sf):
    contact = contacts(sf)[0]["Id"]
    message = sf.route(contact, department="sales", intent="sales_lead")
    sf.run(config=LINKED)
    (task,) = followups(sf, key_for(message, "task", "salesforce"))
    assert (task["WhoId"], task["Priority"], task["Status"]) == (contact, "High", "Not Started")
    assert task["Subject"] == "Sales follow-up: sales lead on twitter"
    assert task["ActivityDate"] == "2026-10-30"  # routed at 09:00 + 1 hour SLA
    for line in (f"Message: https://twitter.com/i/web/status/{message}", "Intent: sales_lead", "Department: sales",
                 "Priority: high"):  # fmt: skip
        assert line in task["Description"]


def test_a_rerun_creates_nothing_and_each_followup_exists_once(sf):
    routed = [
        (sf.route(c["Id"], handle=None, followers=None, department=d), k)
        for c, (d, k) in zip(
            contacts(sf)[:3], [("service", "case"), ("sales", "task"), ("marketing", "task")], strict=True
        )
    ]
    first = sf.run()
    second = sf.run(run_id="wb-2")
    assert first.counts["created"] == 3 and second.counts["created"] == 0
    assert [len(followups(sf, key_for(m, k, "salesforce"))) for m, k in routed] == [1, 1, 1]


def test_a_503_overload_storm_is_waited_out_and_creates_each_followup_once(sf):
    messages = [sf.route(c["Id"], handle=None, followers=None) for c in contacts(sf)[:2]]
    sf.sandbox.set_faults("salesforce", rate_limit=4)  # Salesforce's 429: 503 SERVER_UNAVAILABLE
    report = sf.run()
    assert report.counts["created"] == 2 and report.counts["failed"] == 0
    assert [len(followups(sf, key_for(m, "case", "salesforce"))) for m in messages] == [1, 1]


def test_a_run_killed_between_the_orgs_201_and_the_hubs_commit_leaves_one_followup_each(sf):
    messages = [sf.route(c["Id"], handle=None, followers=None) for c in contacts(sf)[:2]]
    with pytest.raises(KeyboardInterrupt):
        sf.run(opener=killed_on_record(sf))
    assert sf.attempts() == []
    sent = sum(len(followups(sf, key_for(m, "case", "salesforce"))) for m in messages)
    assert sent >= 1  # the org saved what the killed run sent; the hub recorded none of it
    report = sf.run(run_id="wb-2")
    assert (report.counts["skipped_already_written"], report.counts["created"]) == (sent, 2 - sent)
    assert [len(followups(sf, key_for(m, "case", "salesforce"))) for m in messages] == [1, 1]


def test_an_upsert_whose_answer_was_lost_is_counted_created_once_and_leaves_one_case(sf):
    message = sf.route(contacts(sf)[0]["Id"], handle=None, followers=None)
    sf.sandbox.set_faults("salesforce", write_lost_response=1, server_error_status=502)
    report = sf.run()
    assert (report.counts["created"], report.counts["skipped_already_written"]) == (1, 0)
    (case,) = followups(sf, key_for(message, "case", "salesforce"))
    assert [a["vendor_id"] for a in sf.attempts()] == [case["Id"]]


def test_a_crm_leading_handle_is_never_overwritten(sf, tmp_path):
    contact = contacts(sf, with_handle=True)[0]
    before = contact["Twitter_Handle__c"]
    sf.route(contact["Id"], handle="someone_else", followers=None)
    report = sf.run(rules=precedence(tmp_path, "hubspot, salesforce, dynamics, hootsuite, sprout"))
    assert contact["Twitter_Handle__c"] == before
    assert report.counts["skipped_by_precedence"] == 1
    (row,) = [a for a in sf.attempts() if a["kind"] == "contact_fields"]
    assert (row["target_source"], row["target_record"], row["status"]) == ("salesforce", contact["Id"],
                                                                          "skipped_by_precedence")  # fmt: skip


def test_an_empty_crm_field_is_filled_even_where_the_crm_leads(sf, crm_leads_social):
    contact = contacts(sf, with_handle=False)[0]
    sf.route(contact["Id"], handle="filled_in", followers=1500)
    report = sf.run(rules=crm_leads_social)
    assert (contact["Twitter_Handle__c"], contact["Twitter_Followers__c"]) == ("filled_in", 1500)
    assert report.counts["updated"] == 1


def test_where_the_social_source_leads_its_handle_replaces_the_crms(sf):
    contact = contacts(sf, with_handle=True)[0]
    sf.route(contact["Id"], handle="fresh_from_sprout", followers=None)
    sf.run()
    assert contact["Twitter_Handle__c"] == "fresh_from_sprout"


def test_a_duplicate_rule_fails_only_that_contacts_fields_and_is_reported_with_source_record_and_reason(sf):
    holder = contacts(sf, with_handle=True)[0]
    taken = str(holder["Twitter_Handle__c"]).lstrip("@").rsplit("/", 1)[-1]
    clash, other = contacts(sf, with_handle=False)[:2]
    clash_message = sf.route(clash["Id"], handle=taken, followers=None)
    other_message = sf.route(other["Id"], handle="unique_handle_9", followers=None)
    report = sf.run()
    assert report.counts["failed"] == 1 and report.counts["created"] == 2 and report.counts["updated"] == 1
    assert report.failures == [("salesforce", clash["Id"], "Contact: DUPLICATES_DETECTED: Use one of these records?")]
    assert clash["Twitter_Handle__c"] is None and other["Twitter_Handle__c"] == "unique_handle_9"
    assert [len(followups(sf, key_for(m, "case", "salesforce"))) for m in (clash_message, other_message)] == [1, 1]
    (row,) = [a for a in sf.attempts() if a["status"] == "failed"]
    assert (row["target_source"], row["target_record"], row["kind"], row["retryable"]) == (
        "salesforce", clash["Id"], "contact_fields", False
    )  # fmt: skip
    assert "DUPLICATES_DETECTED" in row["reason"]


def test_a_contact_deleted_meanwhile_fails_alone_and_is_reported_with_source_record_and_reason(sf):
    live, gone = contacts(sf)[:2], contacts(sf)[2]["Id"]
    messages = [sf.route(c["Id"], handle=None, followers=None) for c in live]
    sf.route(gone, handle=None, followers=None)
    delete_contact(sf, gone)
    report = sf.run()
    assert report.counts["created"] == 2
    assert report.failures == [("salesforce", gone, "Case: ENTITY_IS_DELETED: entity is deleted (fields: ContactId)")]
    assert [len(followups(sf, key_for(m, "case", "salesforce"))) for m in messages] == [1, 1]
    (row,) = [a for a in sf.attempts() if a["status"] == "failed"]
    assert (row["target_source"], row["target_record"], row["retryable"]) == ("salesforce", gone, False)
    assert "ENTITY_IS_DELETED" in row["reason"]


def test_an_overload_outlasting_the_retries_fails_retryably_and_the_next_run_creates_the_case_once(sf):
    message = sf.route(contacts(sf)[0]["Id"], handle=None, followers=None)
    sf.attempts_per_request = 2
    sf.sandbox.set_faults("salesforce", rate_limit=1000)
    first = sf.run()
    assert first.counts["failed"] == 1 and [a["retryable"] for a in sf.attempts()] == [True]
    sf.sandbox.clear_faults()
    second = sf.run(run_id="wb-2")
    assert second.counts["created"] == 1
    assert len(followups(sf, key_for(message, "case", "salesforce"))) == 1
