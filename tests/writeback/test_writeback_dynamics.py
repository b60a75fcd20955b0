"""Write-back through the stage to Dynamics 365 (issue 17), for people whose leading CRM record is a
Dataverse contact: a task (an incident for ``service``) created on the alternate key ``crmhub_key`` with
``If-None-Match: *`` exists once however the run goes, precedence holds on write, one refused record
fails alone and is reported. Real HTTP to the sandbox environment, real DuckDB and PostgreSQL
warehouses; what the environment holds is read back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from crmhub.stages.writeback_config import load_writeback
from crmhub_dev.sandbox.dynamics import VALIDATION_MARKER

from .conftest import SOURCES, Hub, key_for, killed_on_record

API = "/api/data/v9.2"
#: writeback.yaml with a link to each sprout message, so the follow-up can carry it
LINKED = replace(load_writeback(), message_links={"sprout": "https://twitter.com/i/web/status/{source_id}"})


@pytest.fixture
def dyn(crm_sandbox, warehouse_url) -> Hub:
    return Hub(crm_sandbox, warehouse_url, crm="dynamics")


def contacts(hub: Hub) -> list[dict[str, Any]]:
    """The environment's active contacts."""
    return [c for c in hub.app.state.records["contacts"] if c["statecode"] == 0]


def followups(hub: Hub, key: str) -> list[dict[str, Any]]:
    """The tasks and incidents in the environment carrying this alternate key value."""
    rows = hub.app.state.records
    return [r for r in [*rows["tasks"], *rows["incidents"]] if r.get("crmhub_key") == key]


def key(message: str, kind: str = "case") -> str:
    return key_for(message, kind, "dynamics")


def test_a_service_message_becomes_one_incident_for_the_contact_with_link_intent_department_and_priority(dyn):
    contact = contacts(dyn)[0]["contactid"]
    message = dyn.route(contact, department="service", handle=None, followers=None)
    report = dyn.run(config=LINKED)
    assert report.counts["created"] == 1
    (incident,) = followups(dyn, key(message))
    assert (incident["_customerid_value"], incident["prioritycode"], incident["caseorigincode"]) == (contact, 1, 3986)
    assert incident["title"] == "Service follow-up: complaint on twitter"
    for line in (f"Message: https://twitter.com/i/web/status/{message}", "Intent: complaint", "Department: service",
                 "Priority: high", "Al drie dagen geen internet"):  # fmt: skip
        assert line in incident["description"]


def test_a_sales_message_becomes_one_task_regarding_the_contact_due_at_the_routing_sla(dyn):
    contact = contacts(dyn)[0]["contactid"]
    message = dyn.route(contact, department="sales", intent="sales_lead", handle=None, followers=None)
    dyn.run(config=LINKED)
    (task,) = followups(dyn, key(message, "task"))
    assert (task["_regardingobjectid_value"], task["prioritycode"]) == (contact, 2)
    assert task["subject"] == "Sales follow-up: sales lead on twitter"
    assert task["scheduledend"] == "2026-10-30T10:00:00Z"  # routed at 09:00 + 1 hour SLA
    for line in (f"Message: https://twitter.com/i/web/status/{message}", "Intent: sales_lead", "Department: sales",
                 "Priority: high"):  # fmt: skip
        assert line in task["description"]


def test_a_rerun_creates_nothing_and_each_followup_exists_once(dyn):
    routed = [
        (dyn.route(c["contactid"], handle=None, followers=None, department=d), k)
        for c, (d, k) in zip(
            contacts(dyn)[:3], [("service", "case"), ("sales", "task"), ("marketing", "task")], strict=True
        )
    ]
    first = dyn.run()
    second = dyn.run(run_id="wb-2")
    assert first.counts["created"] == 3 and second.counts["created"] == 0
    assert [len(followups(dyn, key(m, k))) for m, k in routed] == [1, 1, 1]


def test_a_429_storm_is_waited_out_and_creates_each_followup_once(dyn):
    messages = [dyn.route(c["contactid"], handle=None, followers=None) for c in contacts(dyn)[:2]]
    dyn.sandbox.set_faults("dynamics", rate_limit=4)
    report = dyn.run()
    assert report.counts["created"] == 2 and report.counts["failed"] == 0
    assert [len(followups(dyn, key(m))) for m in messages] == [1, 1]


def test_a_run_killed_between_dataverses_201_and_the_hubs_commit_leaves_one_followup_each(dyn):
    messages = [dyn.route(c["contactid"], handle=None, followers=None) for c in contacts(dyn)[:2]]
    with pytest.raises(KeyboardInterrupt):
        dyn.run(opener=killed_on_record(dyn))
    assert dyn.attempts() == []
    sent = sum(len(followups(dyn, key(m))) for m in messages)
    assert sent >= 1  # the environment saved what the killed run sent; the hub recorded none of it
    report = dyn.run(run_id="wb-2")
    assert (report.counts["skipped_already_written"], report.counts["created"]) == (sent, 2 - sent)
    assert [len(followups(dyn, key(m))) for m in messages] == [1, 1]


def test_a_create_whose_answer_was_lost_is_counted_created_once_and_leaves_one_incident(dyn):
    message = dyn.route(contacts(dyn)[0]["contactid"], handle=None, followers=None)
    dyn.sandbox.set_faults("dynamics", write_lost_response=1, server_error_status=503)
    report = dyn.run()
    assert (report.counts["created"], report.counts["skipped_already_written"]) == (1, 0)
    (incident,) = followups(dyn, key(message))
    assert [a["vendor_id"] for a in dyn.attempts()] == [incident["incidentid"]]


def test_a_crm_leading_handle_is_never_overwritten(dyn, crm_leads_social):
    contact = contacts(dyn)[0]
    contact["crmhub_twitterhandle"] = "@keyed_by_a_rep"
    dyn.route(contact["contactid"], handle="someone_else", followers=None)
    report = dyn.run(rules=crm_leads_social)
    assert contact["crmhub_twitterhandle"] == "@keyed_by_a_rep"
    assert report.counts["skipped_by_precedence"] == 1
    (row,) = [a for a in dyn.attempts() if a["kind"] == "contact_fields"]
    assert (row["target_source"], row["target_record"], row["status"]) == ("dynamics", contact["contactid"],
                                                                          "skipped_by_precedence")  # fmt: skip


def test_an_empty_crm_field_is_filled_even_where_the_crm_leads(dyn, crm_leads_social):
    contact = contacts(dyn)[0]
    dyn.route(contact["contactid"], handle="nieuw_handle", followers=930)
    report = dyn.run(rules=crm_leads_social)
    assert (contact["crmhub_twitterhandle"], contact["crmhub_socialfollowers"]) == ("nieuw_handle", 930)
    assert report.counts["updated"] == 1


def test_where_the_shipped_precedence_lists_no_dynamics_for_social_the_hubs_handle_replaces_the_crms(dyn):
    contact = contacts(dyn)[0]
    contact["crmhub_twitterhandle"] = "@old_handle"
    dyn.route(contact["contactid"], handle="fresh_from_sprout", followers=None)
    dyn.run()
    assert contact["crmhub_twitterhandle"] == "fresh_from_sprout"


def test_a_contact_deleted_meanwhile_fails_alone_with_404_and_is_reported_with_source_record_and_reason(dyn):
    live, gone = contacts(dyn)[:2], contacts(dyn)[2]["contactid"]
    messages = [dyn.route(c["contactid"], handle=None, followers=None) for c in live]
    dyn.route(gone, handle=None, followers=None)
    connector = dyn.connect(SOURCES["dynamics"])
    connector.http.request_json("DELETE", f"{API}/contacts({gone})", page=1, accept_status=(204,))
    report = dyn.run()
    assert report.counts["created"] == 2
    assert report.failures == [("dynamics", gone, f"incidents: HTTP 404 0x80040217: contact With Id = {gone} "
                                "Does Not Exist")]  # fmt: skip
    assert [len(followups(dyn, key(m))) for m in messages] == [1, 1]
    (row,) = [a for a in dyn.attempts() if a["status"] == "failed"]
    assert (row["target_source"], row["target_record"], row["retryable"]) == ("dynamics", gone, False)
    assert "0x80040217" in row["reason"]


def test_a_business_rule_refusing_one_task_fails_only_that_record_and_the_others_are_written(dyn):
    refused, *fine = contacts(dyn)[:3]
    bad = dyn.route(refused["contactid"], intent=f"complaint {VALIDATION_MARKER}", handle=None, followers=None)
    good = [dyn.route(c["contactid"], handle=None, followers=None) for c in fine]
    report = dyn.run()
    assert (report.counts["created"], report.counts["failed"]) == (2, 1)
    assert followups(dyn, key(bad)) == [] and [len(followups(dyn, key(m))) for m in good] == [1, 1]
    (row,) = [a for a in dyn.attempts() if a["status"] == "failed"]
    assert (row["target_source"], row["target_record"], row["message_source_id"]) == (
        "dynamics", refused["contactid"], bad
    )  # fmt: skip
    assert row["reason"].startswith("incidents: HTTP 400 0x80040265: ") and not row["retryable"]


def test_a_429_storm_outlasting_the_retries_fails_retryably_and_the_next_run_creates_the_incident_once(dyn):
    message = dyn.route(contacts(dyn)[0]["contactid"], handle=None, followers=None)
    dyn.attempts_per_request = 2
    dyn.sandbox.set_faults("dynamics", rate_limit=1000)
    first = dyn.run()
    assert first.counts["failed"] == 1 and [a["retryable"] for a in dyn.attempts()] == [True]
    dyn.sandbox.clear_faults()
    second = dyn.run(run_id="wb-2")
    assert second.counts["created"] == 1
    assert len(followups(dyn, key(message))) == 1
