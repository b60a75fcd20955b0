"""Write-back to HubSpot (issue 17): each follow-up exists once however the run goes, precedence holds
on write, one bad record fails alone, and a dry run writes nothing. Real HTTP to the sandbox, real
DuckDB and PostgreSQL warehouses."""

from __future__ import annotations

import logging

import pytest
import requests

from crmhub_dev.sandbox import hubspot

from .conftest import key_for, killed_on_record


def test_a_rerun_leaves_each_task_in_the_crm_exactly_once(hub):
    messages = [hub.route(c["id"]) for c in hub.contacts()[:3]]
    first = hub.run()
    second = hub.run(run_id="wb-2")
    assert first.counts["created"] == 3
    assert second.counts["created"] == 0
    assert [len(hub.tasks(key_for(m))) for m in messages] == [1, 1, 1]


def test_the_task_carries_the_message_intent_department_priority_and_the_contact(hub):
    contact = hub.contacts()[0]["id"]
    message = hub.route(contact)
    hub.run()
    (task,) = hub.tasks(key_for(message))
    props = task["properties"]
    assert task["_contacts"] == [contact]
    assert props["hs_task_priority"] == "HIGH"
    assert props["hs_task_subject"] == "Service follow-up: complaint on twitter"
    assert "Intent: complaint" in props["hs_task_body"] and "Al drie dagen geen internet" in props["hs_task_body"]
    assert props["hs_timestamp"] == "2026-10-30T10:00:00Z"  # routed at 09:00 + 1 hour SLA


def test_a_429_storm_is_waited_out_and_creates_one_task(hub):
    message = hub.route(hub.contacts()[0]["id"])
    hub.sandbox.set_faults("hubspot", rate_limit=4)
    report = hub.run()
    assert report.counts["created"] == 1
    assert len(hub.tasks(key_for(message))) == 1


def test_a_run_killed_between_the_vendors_201_and_the_hubs_commit_creates_no_second_task(hub):
    message = hub.route(hub.contacts()[0]["id"], handle=None, followers=None)
    with pytest.raises(KeyboardInterrupt):
        hub.run(opener=killed_on_record(hub))
    assert hub.attempts() == []
    report = hub.run(run_id="wb-2")
    assert report.counts["skipped_already_written"] == 1 and report.counts["created"] == 0
    assert len(hub.tasks(key_for(message))) == 1


def test_a_create_whose_answer_was_lost_is_found_not_repeated(hub):
    message = hub.route(hub.contacts()[0]["id"])
    hub.sandbox.set_faults("hubspot", write_lost_response=1)
    report = hub.run()
    assert report.counts["created"] == 1
    assert len(hub.tasks(key_for(message))) == 1


def test_a_crm_leading_field_is_never_overwritten(hub, crm_leads_social):
    contact = hub.contacts(with_handle=True)[0]
    before = contact["properties"]["twitterhandle"]
    hub.route(contact["id"], handle="someone_else", followers=None)
    report = hub.run(rules=crm_leads_social)
    assert hub.contact(contact["id"])["properties"]["twitterhandle"] == before
    assert report.counts["skipped_by_precedence"] == 1
    (row,) = [a for a in hub.attempts() if a["kind"] == "contact_fields"]
    assert row["status"] == "skipped_by_precedence" and "social_handle" in row["reason"]


def test_an_empty_crm_field_is_filled_even_where_the_crm_leads(hub, crm_leads_social):
    contact = hub.contacts(with_handle=False)[0]
    hub.route(contact["id"], handle="filled_in", followers=1500)
    report = hub.run(rules=crm_leads_social)
    props = hub.contact(contact["id"])["properties"]
    assert (props["twitterhandle"], props["followercount"]) == ("filled_in", "1500")
    assert report.counts["updated"] == 1


def test_where_the_social_source_leads_its_value_replaces_the_crms(hub):
    contact = hub.contacts(with_handle=True)[0]
    hub.route(contact["id"], handle="fresh_from_sprout", followers=None)
    hub.run()
    assert hub.contact(contact["id"])["properties"]["twitterhandle"] == "fresh_from_sprout"


def test_a_contact_deleted_meanwhile_fails_alone_and_is_reported_with_source_record_and_reason(hub, caplog):
    live, gone = hub.contacts()[:2], hub.contacts()[2]["id"]
    messages = [hub.route(c["id"]) for c in live]
    hub.route(gone)
    token = {"Authorization": f"Bearer {hubspot.DEFAULT_TOKEN}"}
    assert requests.delete(f"{hub.sandbox.hubspot_url}/crm/v3/objects/contacts/{gone}", headers=token).ok
    with caplog.at_level(logging.WARNING, logger="crmhub.stages.writeback"):
        report = hub.run()
    assert report.counts["created"] == 2
    assert report.failures[0][:2] == ("hubspot", gone) and "INVALID_OBJECT_IDS" in report.failures[0][2]
    assert [len(hub.tasks(key_for(m))) for m in messages] == [1, 1]
    assert any(f"hubspot: record {gone}: task failed" in r.getMessage() for r in caplog.records)
    failed = [a for a in hub.attempts() if a["status"] == "failed"]
    assert {(a["target_record"], a["retryable"]) for a in failed} >= {(gone, False)}


def test_a_failure_no_retry_can_fix_is_not_sent_again(hub):
    gone = hub.contacts()[0]["id"]
    hub.route(gone, handle=None, followers=None)
    requests.delete(f"{hub.sandbox.hubspot_url}/crm/v3/objects/contacts/{gone}",
                    headers={"Authorization": f"Bearer {hubspot.DEFAULT_TOKEN}"})  # fmt: skip
    hub.run()
    again = hub.run(run_id="wb-2")
    assert sum(again.counts.values()) == 0
    assert len(hub.attempts()) == 1


def test_a_retryable_failure_is_tried_again_on_the_next_run(hub):
    message = hub.route(hub.contacts()[0]["id"], handle=None, followers=None)
    hub.attempts_per_request = 2
    hub.sandbox.set_faults("hubspot", rate_limit=1000)
    first = hub.run()
    assert first.counts["failed"] == 1 and hub.attempts()[0]["retryable"]
    hub.sandbox.clear_faults()
    second = hub.run(run_id="wb-2")
    assert second.counts["created"] == 1
    assert len(hub.tasks(key_for(message))) == 1


def test_a_dry_run_writes_nothing_and_stores_what_it_would_write(hub):
    contact = hub.contacts(with_handle=False)[0]
    hub.route(contact["id"], handle="would_be", followers=10)
    report = hub.run(dry_run=True)
    assert hub.tasks() == []
    assert hub.contact(contact["id"])["properties"].get("twitterhandle") is None
    assert report.counts["dry_run"] == 2
    assert {a["status"] for a in hub.attempts()} == {"dry_run"}
    assert hub.run(run_id="wb-2").counts["created"] == 1  # a dry run does not count as written
