"""HubSpot write-back (issue 17): follow-up tasks on a contact, and social fields on the contact.

Tasks: ``POST /crm/v3/objects/tasks`` with the task properties and an association to the contact
(type 204, task to contact, ``HUBSPOT_DEFINED``). HubSpot tasks have no external id or upsert, so the
hub's idempotency key goes into a custom task property (``crmhub_writeback_key`` unless the source's
``writeback_key_property`` option names another; a portal admin creates it once, see
docs/operations.md) and ``POST /crm/v3/objects/tasks/search`` (``EQ`` on that property) runs before
every create: a rerun, a retry or a run killed after HubSpot's 201 finds the task and writes none.
HubSpot has no cases in this hub's mapping (tickets are a separate object): a ``case`` is a task.

Contact fields: ``GET /crm/v3/objects/contacts/{id}`` reads the current values, then
``PATCH /crm/v3/objects/contacts/{id}`` writes only what changes; fields the CRM leads on
(``only_if_empty``) are written only where HubSpot's value is empty at that moment.

Errors: a 400 (``VALIDATION_ERROR``, e.g. ``INVALID_OBJECT_IDS`` for a contact deleted meanwhile) or a
404 (``OBJECT_NOT_FOUND``) fails that record alone, not retryable; 429 and 5xx are retried by the
HTTP client and, if they outlast its attempts, fail the record as retryable. Reasons carry HubSpot's
category and error codes, never a value.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import requests

from crmhub.connectors.http import RetryableResponse, SourceHttpClient
from crmhub.connectors.writeback import (
    ALREADY_WRITTEN,
    CREATED,
    FAILED,
    SKIPPED_BY_PRECEDENCE,
    UPDATED,
    ContactFields,
    FollowUp,
    WriteOutcome,
)
from crmhub.errors import SourceDataError

TASKS_PATH = "/crm/v3/objects/tasks"
TASK_SEARCH_PATH = "/crm/v3/objects/tasks/search"
CONTACT_PATH = "/crm/v3/objects/contacts/{id}"
DEFAULT_KEY_PROPERTY = "crmhub_writeback_key"
#: HubSpot-defined association type of a task to a contact
TASK_TO_CONTACT = 204
PRIORITIES = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
FOLLOWERS_PROPERTY = "followercount"
#: the HTTP answers a write reads itself (the rest are the client's: retried or raised)
WRITE_STATUSES = (200, 201, 400, 404, 409)


def write_task(http: SourceHttpClient, followup: FollowUp, key_property: str) -> WriteOutcome:
    """Find the task by its key, else create it associated with the contact.

    A create is never retried blind: a 429/5xx or a dropped connection may come after HubSpot saved
    the task, so each new attempt searches for the key first (a task found then is the one created).
    """
    body = _task_body(followup, key_property)
    attempts = max(1, http.policy.max_attempts)
    last = "no attempt"
    for attempt in range(attempts):
        try:
            found = _find_task(http, followup.key, key_property)
            if found is not None:
                return WriteOutcome(CREATED if attempt else ALREADY_WRITTEN, vendor_id=found)
            status, answer = _post_once(http, body)
        except SourceDataError as exc:
            if not isinstance(exc.__cause__, RetryableResponse):
                return WriteOutcome(FAILED, reason=_short(exc), retryable=False)
            last, wait = _short(exc), exc.__cause__.wait_seconds
        except (requests.ConnectionError, requests.Timeout) as exc:
            if isinstance(exc, requests.exceptions.SSLError) or attempt == attempts - 1:
                raise
            last, wait = type(exc).__name__, None
        else:
            if status == 201 and isinstance(answer, dict) and answer.get("id"):
                return WriteOutcome(CREATED, vendor_id=str(answer["id"]))
            return WriteOutcome(FAILED, reason=error_reason(status, answer), retryable=False)
        backoff = min(http.policy.max_backoff, http.policy.base_backoff * 2**attempt)
        time.sleep(wait if wait is not None else backoff)
    return WriteOutcome(FAILED, reason=f"gave up after {attempts} attempts ({last})", retryable=True)


def _post_once(http: SourceHttpClient, body: dict[str, Any]) -> tuple[int, Any]:
    """One POST, without the client's own retries (the caller searches before trying again)."""
    saved = http.policy
    http.policy = dataclasses.replace(saved, max_attempts=1)
    try:
        return http.request_json("POST", TASKS_PATH, page=1, json_body=body, accept_status=WRITE_STATUSES)
    finally:
        http.policy = saved


def write_contact(http: SourceHttpClient, update: ContactFields, social_properties: dict[str, str]) -> WriteOutcome:
    """Read the contact, then patch the properties that change and precedence allows."""
    wanted = _vendor_values(update, social_properties)
    if not wanted:
        return WriteOutcome(SKIPPED_BY_PRECEDENCE, reason="no HubSpot property for these fields")
    path = CONTACT_PATH.format(id=update.contact_id)
    try:
        status, body = http.request_json(
            "GET", path, page=1, params=[("properties", p) for p, _, _ in wanted], accept_status=WRITE_STATUSES
        )
        if status != 200:
            return WriteOutcome(FAILED, reason=error_reason(status, body), retryable=False)
        current = (body or {}).get("properties") or {}
        patch: dict[str, Any] = {}
        written: list[str] = []
        held: list[str] = []
        for prop, field, value in wanted:
            have = current.get(prop)
            if _same(have, value):
                continue
            if field in update.only_if_empty and have not in (None, ""):
                held.append(field)
                continue
            patch[prop] = value
            written.append(field)
        if not patch:
            if held:
                return WriteOutcome(SKIPPED_BY_PRECEDENCE, reason=f"CRM leads and holds a value: {', '.join(held)}")
            return WriteOutcome(ALREADY_WRITTEN, vendor_id=update.contact_id)
        status, body = http.request_json(
            "PATCH", path, page=1, json_body={"properties": patch}, accept_status=WRITE_STATUSES
        )
    except SourceDataError as exc:
        return _gave_up(exc)
    if status != 200:
        return WriteOutcome(FAILED, reason=error_reason(status, body), retryable=False)
    reason = f"CRM leads and holds a value: {', '.join(held)}" if held else None
    return WriteOutcome(UPDATED, vendor_id=update.contact_id, reason=reason, fields=tuple(written))


def error_reason(status: int, body: Any) -> str:
    """``HTTP 400 VALIDATION_ERROR: INVALID_OBJECT_IDS``: HubSpot's category and error codes, no values."""
    if not isinstance(body, dict):
        return f"HTTP {status}"
    codes: list[str] = []
    sub = body.get("subCategory")
    if isinstance(sub, str):
        codes.append(sub)
    context = body.get("context")
    if isinstance(context, dict):
        codes += [str(k) for k in context if str(k).isupper()]
    for error in body.get("errors") or []:
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            codes.append(error["code"])
    category = body.get("category") or "error"
    return f"HTTP {status} {category}" + (f": {', '.join(dict.fromkeys(codes))}" if codes else "")


def _find_task(http: SourceHttpClient, key: str, key_property: str) -> str | None:
    query = {
        "filterGroups": [{"filters": [{"propertyName": key_property, "operator": "EQ", "value": key}]}],
        "properties": [key_property],
        "limit": 1,
    }
    status, body = http.request_json("POST", TASK_SEARCH_PATH, page=1, json_body=query, accept_status=(200,))
    results = (body or {}).get("results") or []
    return str(results[0]["id"]) if results else None


def _task_body(followup: FollowUp, key_property: str) -> dict[str, Any]:
    due = followup.due_at or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    body = followup.body + (f"\n\nMessage: {followup.message_url}" if followup.message_url else "")
    properties = {
        "hs_task_subject": followup.subject,
        "hs_task_body": body,
        "hs_timestamp": due,
        "hs_task_priority": PRIORITIES.get(followup.priority, "NONE"),
        "hs_task_status": "NOT_STARTED",
        "hs_task_type": "TODO",
        key_property: followup.key,
    }
    if followup.owner:
        properties["hubspot_owner_id"] = followup.owner
    association = {
        "to": {"id": followup.contact_id},
        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_CONTACT}],
    }
    return {"properties": properties, "associations": [association]}


def _vendor_values(update: ContactFields, social_properties: dict[str, str]) -> list[tuple[str, str, Any]]:
    """(HubSpot property, canonical field, value) for each field HubSpot has a property for."""
    out: list[tuple[str, str, Any]] = []
    for field, value in update.values.items():
        if value is None:
            continue
        if field == "social_handle":
            network = update.social_network or "twitter"
            prop = next((p for p, n in social_properties.items() if n == network), None)
            if prop:
                out.append((prop, field, str(value)))
        elif field == "social_followers":
            out.append((FOLLOWERS_PROPERTY, field, str(int(float(value)))))
    return out


def _same(have: Any, value: Any) -> bool:
    if have in (None, ""):
        return False
    try:
        return float(have) == float(value)
    except (TypeError, ValueError):
        return str(have).strip().lower() == str(value).strip().lower()


def _gave_up(exc: SourceDataError) -> WriteOutcome:
    """The client's retries ran out: a 429/5xx storm is worth the next run; anything else is not."""
    return WriteOutcome(FAILED, reason=_short(exc), retryable=isinstance(exc.__cause__, RetryableResponse))


def _short(exc: Exception) -> str:
    """The client's message without the source name (the attempt row has it), trimmed."""
    return str(exc).split(": ", 1)[-1][:300]
