"""The fake HubSpot portal's writes (issue 17): tasks with a contact association, contact PATCH.

As HubSpot answers them: ``POST /crm/v3/objects/tasks`` is 201 with the task; a property the portal
does not have is 400 ``VALIDATION_ERROR`` (``PROPERTY_DOESNT_EXIST``), a missing ``hs_timestamp`` or a
bad priority/status 400 ``INVALID_OPTION``/``REQUIRED``, an association to a contact that does not
exist (deleted, archived, never there) 400 ``VALIDATION_ERROR`` "One or more associations are
invalid" with ``INVALID_OBJECT_IDS``. ``PATCH /crm/v3/objects/contacts/{id}`` is 200 with the contact,
404 ``OBJECT_NOT_FOUND`` for an unknown or archived one. The portal has the custom task property
``crmhub_writeback_key`` (what a portal admin creates for the hub) so tasks can be searched by it.

What was written is kept in the app (``app.state.tasks``; contact changes on the contact) and, with
``writes_file``, in a JSON file read back at start, so a second demo run against a new sandbox
process sees the tasks of the first. The fault switches apply: ``rate_limit`` and ``slow_ms`` (every
request), ``write_error`` (a 5xx before the write) and ``write_lost_response`` (the write is saved,
then a 5xx: the answer was lost), counted per write (:meth:`FaultState.next_write_fault`); searches
count as pages (``server_error_page``, ...).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmhub_dev.sandbox.faults import SERVER_ERROR_BODY, FaultState, new_id

TASK_PROPERTIES = ("hs_task_subject", "hs_task_body", "hs_timestamp", "hs_task_priority", "hs_task_status",
                   "hs_task_type", "hubspot_owner_id", "crmhub_writeback_key", "hs_createdate",
                   "hs_lastmodifieddate", "hs_object_id")  # fmt: skip
TASK_PRIORITIES = ("LOW", "MEDIUM", "HIGH", "NONE")
TASK_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED")
TASK_TYPES = ("TODO", "CALL", "EMAIL", "LINKED_IN", "MEETING")
TASK_TO_CONTACT = 204
WRITABLE_CONTACT_PROPERTIES = ("twitterhandle", "instagram_handle", "followercount", "firstname", "lastname",
                               "phone", "company", "city", "country", "zip", "address")  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": new_id(), "category": category, **extra}
    return JSONResponse(body, status_code=status)


def _invalid_property(name: str, error: str, message: str) -> JSONResponse:
    detail = [{"isValid": False, "message": message, "error": error, "name": name}]
    return _error(400, f"Property values were not valid: {json.dumps(detail)}", "VALIDATION_ERROR",
                  errors=[{"message": message, "code": error, "context": {"propertyName": [name]}}])  # fmt: skip


class WriteStore:
    """Tasks and contact property changes, optionally mirrored to a JSON file."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.tasks: list[dict[str, Any]] = []
        self.contact_changes: dict[str, dict[str, Any]] = {}
        if self.path and self.path.exists():
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            self.tasks = list(saved.get("tasks", []))
            self.contact_changes = dict(saved.get("contact_changes", {}))

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = {"tasks": self.tasks, "contact_changes": self.contact_changes}
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)


def install_write_routes(
    app: FastAPI,
    faults: FaultState,
    contacts: Callable[[], list[dict[str, Any]]],
    tasks_store: list[dict[str, Any]],
    writes_file: str | None,
) -> WriteStore:
    """Add the write routes; ``contacts()`` is the portal's current contacts (merged-away ones gone)."""
    store = WriteStore(writes_file)
    tasks_store[:] = store.tasks
    store.tasks = tasks_store
    app.state.tasks = tasks_store
    app.state.writes = store

    def lost() -> Response:
        return Response(SERVER_ERROR_BODY, status_code=faults.config.get("server_error_status", 502),
                        media_type="text/html")  # fmt: skip

    def live_contact(contact_id: str) -> dict[str, Any] | None:
        return next((c for c in contacts() if c["id"] == contact_id and not c["archived"]), None)

    for contact_id, changes in store.contact_changes.items():
        record = live_contact(contact_id)
        if record is not None:
            record["properties"].update(changes)

    @app.post("/crm/v3/objects/tasks")
    async def create_task(request: Request) -> Response:
        fault = faults.next_write_fault()
        if fault == "write_error":
            return lost()
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            return _error(400, "Invalid input JSON: expected an object with properties", "VALIDATION_ERROR")
        props = {str(k): v for k, v in body["properties"].items()}
        for name in props:
            if name not in TASK_PROPERTIES:
                return _invalid_property(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
        if not props.get("hs_timestamp"):
            return _invalid_property("hs_timestamp", "REQUIRED", "hs_timestamp is required")
        for name, allowed in (("hs_task_priority", TASK_PRIORITIES), ("hs_task_status", TASK_STATUSES),
                              ("hs_task_type", TASK_TYPES)):  # fmt: skip
            if name in props and props[name] not in allowed:
                return _invalid_property(name, "INVALID_OPTION", f"{props[name]!r} was not one of the allowed options")
        contact_ids: list[str] = []
        for assoc in body.get("associations") or []:
            to = str(((assoc or {}).get("to") or {}).get("id", ""))
            types = (assoc or {}).get("types") or []
            if not any(t.get("associationTypeId") == TASK_TO_CONTACT and t.get("associationCategory")
                       == "HUBSPOT_DEFINED" for t in types if isinstance(t, dict)):  # fmt: skip
                return _error(400, "One or more associations are invalid", "VALIDATION_ERROR",
                              context={"INVALID_ASSOCIATION_TYPE": [str(types)]})  # fmt: skip
            if live_contact(to) is None:
                return _error(400, "One or more associations are invalid", "VALIDATION_ERROR",
                              context={"INVALID_OBJECT_IDS": [f"CONTACT={to} is not valid"], "objectId": [to],
                                       "objectType": ["CONTACT"]})  # fmt: skip
            contact_ids.append(to)
        now = _now()
        task_id = str(70_000_000 + len(tasks_store) + 1)
        properties = {**props, "hs_createdate": now, "hs_lastmodifieddate": now, "hs_object_id": task_id}
        task = {"id": task_id, "properties": properties, "createdAt": now, "updatedAt": now, "archived": False,
                "_contacts": contact_ids}  # fmt: skip
        tasks_store.append(task)
        store.save()
        if fault == "write_lost_response":  # saved, but the answer never reaches the caller
            return lost()
        out = {k: v for k, v in task.items() if not k.startswith("_")}
        return JSONResponse(out, status_code=201)

    @app.patch("/crm/v3/objects/contacts/{contact_id}")
    async def update_contact(contact_id: str, request: Request) -> Response:
        fault = faults.next_write_fault()
        if fault == "write_error":
            return lost()
        record = live_contact(contact_id)
        if record is None:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                          context={"id": [contact_id]})  # fmt: skip
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        props = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(props, dict):
            return _error(400, "Invalid input JSON: expected an object with properties", "VALIDATION_ERROR")
        for name, value in props.items():
            if name not in WRITABLE_CONTACT_PROPERTIES:
                return _invalid_property(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
            if name == "followercount" and value not in (None, "") and not str(value).lstrip("-").isdigit():
                return _invalid_property(name, "INVALID_INTEGER", f"{value!r} is not a valid integer")
        now = _now()
        changes = {str(k): (None if v in (None, "") else str(v)) for k, v in props.items()}
        record["properties"].update(changes, lastmodifieddate=now)
        record["updatedAt"] = now
        store.contact_changes.setdefault(contact_id, {}).update(changes)
        store.save()
        if fault == "write_lost_response":
            return lost()
        return JSONResponse({"id": contact_id, "properties": dict(record["properties"]), "createdAt":
                             record["createdAt"], "updatedAt": now, "archived": False})  # fmt: skip

    return store
