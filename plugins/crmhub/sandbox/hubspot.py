"""Fake HubSpot CRM v3 contacts API, close enough to the real wire format that the official SDK reads it.

Why: connectors and the official ``hubspot-api-client`` must be exercised against real HTTP (paging with
``after``, ``properties`` as repeated keys or comma lists, ``archived``, the search API with its own rate
limit and 10,000-result cap, 429 bodies and rate-limit headers) without touching a real portal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmhub.sandbox.datagen import SandboxData
from crmhub.sandbox.faults import (
    DailyCounter,
    FaultState,
    SlidingWindow,
    install_sandbox_routes,
    log_request,
    new_id,
    page_fault_response,
)

DEFAULT_TOKEN = "sandbox-hubspot-token"
#: HubSpot returns these when no ``properties`` are asked for.
DEFAULT_PROPERTIES = ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id")
#: HubSpot always adds these to whatever properties were asked for.
ALWAYS_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
KNOWN_PROPERTIES = ("firstname", "lastname", "email", "phone", "address", "zip", "city", "country", "company",
                    "twitterhandle", "instagram_handle", "hs_object_id", "createdate",
                    "lastmodifieddate")  # fmt: skip
DATE_PROPERTIES = {"createdate", "lastmodifieddate"}
SEARCH_RESULT_CAP = 10_000
LIST_MAX_LIMIT = 100
SEARCH_MAX_LIMIT = 200


@dataclass
class HubSpotSettings:
    """Credentials, limits and faults of the fake portal (defaults: a private app on a Pro portal)."""

    tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    rate_limit_max: int = 100
    rate_limit_interval_ms: int = 10_000
    search_rate_limit_max: int = 5
    search_rate_limit_interval_ms: int = 1_000
    daily_limit: int = 500_000
    faults: dict[str, int] = field(default_factory=dict)


def _error(status: int, message: str, category: str, **extra: Any) -> JSONResponse:
    body = {"status": "error", "message": message, "correlationId": new_id(), "category": category, **extra}
    return JSONResponse(body, status_code=status)


def _parse_time(value: Any) -> datetime:
    """A filter value: epoch milliseconds (as HubSpot documents) or an ISO-8601 string."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _requested_properties(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name and name not in names:
                names.append(name)
    return names or None


def _shape(record: dict[str, Any], properties: list[str] | None) -> dict[str, Any]:
    """The record as HubSpot returns it: only the asked-for properties, unset ones as null."""
    wanted = list(DEFAULT_PROPERTIES) if properties is None else properties + list(ALWAYS_PROPERTIES)
    props = {name: record["properties"].get(name) for name in dict.fromkeys(wanted) if name in KNOWN_PROPERTIES}
    out: dict[str, Any] = {"id": record["id"], "properties": props, "createdAt": record["createdAt"],
                           "updatedAt": record["updatedAt"], "archived": record["archived"]}  # fmt: skip
    if record.get("archivedAt"):
        out["archivedAt"] = record["archivedAt"]
    return out


def _matches(record: dict[str, Any], flt: dict[str, Any]) -> bool:
    name = flt.get("propertyName")
    op = str(flt.get("operator", "EQ")).upper()
    actual = record["properties"].get(name)
    if op == "HAS_PROPERTY":
        return actual not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return actual in (None, "")
    if actual is None:
        return op == "NEQ"

    def conv(value: Any) -> Any:
        if name in DATE_PROPERTIES:
            return _parse_time(value)
        return str(value).lower()

    left = conv(actual)
    if op == "IN":
        return left in {conv(v) for v in flt.get("values", [])}
    if op == "NOT_IN":
        return left not in {conv(v) for v in flt.get("values", [])}
    if op == "BETWEEN":
        return conv(flt["value"]) <= left <= conv(flt["highValue"])
    if op == "CONTAINS_TOKEN":
        return str(flt.get("value", "")).lower().strip("*") in str(actual).lower()
    right = conv(flt.get("value"))
    return {
        "EQ": left == right,
        "NEQ": left != right,
        "GT": left > right,
        "GTE": left >= right,
        "LT": left < right,
        "LTE": left <= right,
    }[op]


def create_hubspot_app(data: SandboxData, settings: HubSpotSettings | None = None) -> FastAPI:
    """Build the fake HubSpot app over ``data``; state (limits, faults) lives in the app instance."""
    settings = settings or HubSpotSettings()
    app = FastAPI(title="HubSpot sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    faults = FaultState(settings.faults)
    window = SlidingWindow(settings.rate_limit_max, settings.rate_limit_interval_ms)
    search_window = SlidingWindow(settings.search_rate_limit_max, settings.search_rate_limit_interval_ms)
    daily = DailyCounter(settings.daily_limit)
    contacts = sorted(data.hubspot_contacts, key=lambda c: int(c["id"]))
    by_id = {c["id"]: c for c in contacts}
    app.state.faults = faults
    app.state.settings = settings

    def limit_headers() -> dict[str, str]:
        seconds = max(settings.rate_limit_interval_ms / 1000, 1)
        return {
            "X-HubSpot-RateLimit-Daily": str(daily.limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily.remaining()),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(settings.rate_limit_interval_ms),
            "X-HubSpot-RateLimit-Max": str(window.max_requests),
            "X-HubSpot-RateLimit-Remaining": str(window.remaining()),
            "X-HubSpot-RateLimit-Secondly": str(int(window.max_requests / seconds)),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(int(window.remaining() / seconds)),
        }

    def too_many(policy: str) -> JSONResponse:
        message = {
            "SECONDLY": "You have reached your secondly limit.",
            "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
            "DAILY": "You have reached your daily limit.",
        }[policy]
        body = {"status": "error", "message": message, "errorType": "RATE_LIMIT", "correlationId": new_id(),
                "policyName": policy, "requestId": new_id().replace("-", "")}  # fmt: skip
        return JSONResponse(body, status_code=429)

    @app.middleware("http")
    async def vendor_behaviour(request: Request, call_next: Any) -> Response:
        started = time.monotonic()
        path = request.url.path
        if path.startswith("/_sandbox"):
            return await call_next(request)
        await faults.delay()
        is_search = path.endswith("/search")
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        response: Response
        if token is None:
            response = _error(
                401,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            )
        elif token not in settings.tokens:
            response = _error(
                401,
                "Authentication credentials not found. The access token provided is invalid or has expired.",
                "INVALID_AUTHENTICATION",
            )
        elif faults.take_forced_rate_limit():
            response = too_many("SECONDLY" if is_search else "TEN_SECONDLY_ROLLING")
        elif not daily.hit():
            response = too_many("DAILY")
        elif is_search and not search_window.hit():
            response = too_many("SECONDLY")
        elif not is_search and not window.hit():
            response = too_many("TEN_SECONDLY_ROLLING")
        else:
            response = await call_next(request)
        response.headers["X-HubSpot-Correlation-Id"] = new_id()
        if token in settings.tokens and not is_search:
            # HubSpot does not send the rate-limit headers on search responses.
            response.headers.update(limit_headers())
        log_request("hubspot", request, response.status_code, started)
        return response

    @app.get("/crm/v3/objects/contacts")
    async def list_contacts(request: Request) -> Response:
        query = request.query_params
        try:
            limit = int(query.get("limit", "10"))
        except ValueError:
            return _error(400, f"Invalid input: limit={query.get('limit')!r} is not an integer", "VALIDATION_ERROR")
        if not 1 <= limit <= LIST_MAX_LIMIT:
            return _error(400, f"limit must be between 1 and {LIST_MAX_LIMIT}", "VALIDATION_ERROR")
        archived = query.get("archived", "false").lower() == "true"
        properties = _requested_properties(query.getlist("properties"))
        after = query.get("after")
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        pool = [c for c in contacts if c["archived"] == archived]
        if after:
            if not after.isdigit():
                return _error(400, f"Invalid after cursor: {after!r}", "VALIDATION_ERROR")
            pool = [c for c in pool if int(c["id"]) >= int(after)]
        page, rest = pool[:limit], pool[limit:]
        payload: dict[str, Any] = {"results": [_shape(c, properties) for c in page]}
        if rest:
            nxt = rest[0]["id"]
            link = f"{str(request.base_url).rstrip('/')}/crm/v3/objects/contacts?limit={limit}&after={nxt}"
            if properties:
                link += "&properties=" + ",".join(properties)
            payload["paging"] = {"next": {"after": nxt, "link": link}}
        if fault:
            return page_fault_response(fault, faults, payload)
        return JSONResponse(payload)

    @app.get("/crm/v3/objects/contacts/{contact_id}")
    async def get_contact(contact_id: str, request: Request) -> Response:
        query = request.query_params
        archived = query.get("archived", "false").lower() == "true"
        record = by_id.get(contact_id)
        if record is None or record["archived"] != archived:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                          context={"id": [contact_id]})  # fmt: skip
        return JSONResponse(_shape(record, _requested_properties(query.getlist("properties"))))

    @app.post("/crm/v3/objects/contacts/search")
    async def search_contacts(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        if not isinstance(body, dict):
            return _error(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
        try:
            limit = int(body.get("limit", 10))
            after = int(body.get("after") or 0)
        except (TypeError, ValueError):
            return _error(400, "Invalid input: limit and after must be integers", "VALIDATION_ERROR")
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            return _error(400, f"limit must be between 1 and {SEARCH_MAX_LIMIT}", "VALIDATION_ERROR")
        if after >= SEARCH_RESULT_CAP:
            return _error(
                400,
                f"Search results are limited to {SEARCH_RESULT_CAP} records; after={after} pages beyond that "
                "limit. Narrow the query, for example by a lastmodifieddate range.",
                "VALIDATION_ERROR",
            )
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        groups = body.get("filterGroups") or []
        try:
            pool = [
                c
                for c in contacts
                if not c["archived"]
                and (not groups or any(all(_matches(c, f) for f in g.get("filters", [])) for g in groups))
            ]
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"Invalid filter: {exc}", "VALIDATION_ERROR")
        for sort in reversed(body.get("sorts") or []):
            if isinstance(sort, str):
                name, desc = sort.lstrip("-"), sort.startswith("-")
            else:
                name, desc = sort.get("propertyName", "hs_object_id"), sort.get("direction") == "DESCENDING"

            def key(c: dict[str, Any], name: str = name) -> Any:
                value = c["properties"].get(name) or ""
                return int(value) if name == "hs_object_id" else value

            pool.sort(key=key, reverse=desc)
        properties = body.get("properties") or None
        if properties is None:
            properties = ["firstname", "lastname", "email"]
        page = pool[after : after + limit]
        payload: dict[str, Any] = {"total": len(pool), "results": [_shape(c, list(properties)) for c in page]}
        if after + limit < len(pool):
            payload["paging"] = {"next": {"after": str(after + limit)}}
        if fault:
            return page_fault_response(fault, faults, payload)
        return JSONResponse(payload)

    @app.delete("/crm/v3/objects/contacts/{contact_id}")
    async def archive_contact(contact_id: str) -> Response:
        """HubSpot's delete moves the contact to the recycle bin: listed again with ``archived=true``."""
        record = by_id.get(contact_id)
        if record is None:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                          context={"id": [contact_id]})  # fmt: skip
        if not record["archived"]:
            record["archived"] = True
            record["archivedAt"] = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return Response(status_code=204)

    @app.post("/crm/v3/objects/contacts/gdpr-delete")
    async def gdpr_delete_contact(request: Request) -> Response:
        """GDPR delete: the contact is gone for good (not in the recycle bin); 204 like HubSpot."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        object_id = str(body.get("objectId", "")) if isinstance(body, dict) else ""
        if isinstance(body, dict) and body.get("idProperty") == "email":
            match = next((c for c in contacts if (c["properties"].get("email") or "").strip().lower()
                          == object_id.strip().lower()), None)  # fmt: skip
        else:
            match = by_id.get(object_id)
        if match is None:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                          context={"id": [object_id]})  # fmt: skip
        contacts.remove(match)
        del by_id[match["id"]]
        return Response(status_code=204)

    install_sandbox_routes(app, "hubspot", faults, data.ground_truth)
    return app


def sandbox_connection(url: str, data: SandboxData, ca_bundle: str | None) -> dict[str, Any]:
    """The Airflow Connection that reaches this sandbox: the private-app token in the password."""
    return {"conn_type": "crmhub_hubspot", "password": DEFAULT_TOKEN, "extra": {}}
