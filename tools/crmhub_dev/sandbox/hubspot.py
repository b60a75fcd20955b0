"""Fake HubSpot CRM v3 (contacts, deals, notes) and marketing campaigns API, close enough to the real wire
format that the official SDK reads it.

Why: connectors and the official ``hubspot-api-client`` must be exercised against real HTTP (paging with
``after``, ``properties`` as repeated keys or comma lists, ``archived``, ``associations=contacts`` on list
calls, the search API with its own rate limit and 10,000-result cap and no associations, the associations
batch-read API, 429 bodies and rate-limit headers) without touching a real portal.

Merges: the portal has a clock (``data.anchor`` unless moved with ``POST /_sandbox/clock``). Once the clock
passes a merge in ``data.hubspot_merges``, the loser is gone from every list, search and read, and the
winner carries ``hs_merged_object_ids`` with ``updatedAt``/``lastmodifieddate`` at the merge time, as in
HubSpot. ``POST /crm/v3/objects/contacts/merge`` merges two contacts at the clock's time.

Faults: ``duplicate_page`` repeats the previous page's last record on top of the next page;
``expire_token_after=N`` revokes the private-app token after N requests (private-app tokens do not expire
by themselves, but an admin can rotate one mid-run): every later request is 401 until the faults change.

Writes (issue 17): tasks and contact updates, in :mod:`crmhub_dev.sandbox.hubspot_writes`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmhub_dev.sandbox.datagen import SandboxData, iso_ms
from crmhub_dev.sandbox.faults import (
    DailyCounter,
    FaultState,
    SlidingWindow,
    install_sandbox_routes,
    log_request,
    new_id,
    page_fault_response,
)
from crmhub_dev.sandbox.hubspot_writes import TASK_PROPERTIES, install_write_routes

DEFAULT_TOKEN = "sandbox-hubspot-token"
#: HubSpot returns these when no ``properties`` are asked for.
DEFAULT_PROPERTIES = ("firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id")
#: HubSpot always adds these to whatever properties were asked for.
ALWAYS_PROPERTIES = ("createdate", "hs_object_id", "lastmodifieddate")
KNOWN_PROPERTIES = ("firstname", "lastname", "email", "phone", "address", "zip", "city", "country", "company",
                    "twitterhandle", "instagram_handle", "followercount", "hs_merged_object_ids", "hs_object_id",
                    "createdate", "lastmodifieddate")  # fmt: skip
DATE_PROPERTIES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate", "closedate",
                   "hs_timestamp"}  # fmt: skip


@dataclass(frozen=True)
class ObjectKind:
    """What differs between CRM object types: their properties and the association type names."""

    known: tuple[str, ...]
    default: tuple[str, ...]
    always: tuple[str, ...]
    association_type: str  # e.g. deal_to_contact


OBJECT_KINDS: dict[str, ObjectKind] = {
    "contacts": ObjectKind(KNOWN_PROPERTIES, DEFAULT_PROPERTIES, ALWAYS_PROPERTIES, "contact_to_contact"),
    "deals": ObjectKind(
        ("dealname", "amount", "dealstage", "pipeline", "closedate", "createdate", "hs_lastmodifieddate",
         "hs_is_closed", "hs_is_closed_won", "deal_currency_code", "hs_analytics_source", "hs_campaign",
         "hs_object_id", "hubspot_owner_id"),
        ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
         "pipeline"),
        ("createdate", "hs_lastmodifieddate", "hs_object_id"),
        "deal_to_contact",
    ),
    "notes": ObjectKind(
        ("hs_note_body", "hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        "note_to_contact",
    ),
    "tasks": ObjectKind(
        TASK_PROPERTIES,
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id", "hs_task_subject"),
        ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
        "task_to_contact",
    ),
}  # fmt: skip
CAMPAIGN_PROPERTIES = ("hs_name", "hs_start_date", "hs_end_date", "hs_campaign_status", "hs_notes", "hs_audience",
                       "hs_currency_code", "hs_owner")  # fmt: skip
CAMPAIGNS_MAX_LIMIT = 100
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
    #: where the portal keeps the tasks and contact changes the hub wrote (None: in memory only)
    writes_file: str | None = None


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


def _shape(
    record: dict[str, Any],
    properties: list[str] | None,
    kind: ObjectKind = OBJECT_KINDS["contacts"],
    associations: list[str] | None = None,
) -> dict[str, Any]:
    """The record as HubSpot returns it: only the asked-for properties, unset ones as null, and the
    ``associations`` block only when asked for and non-empty (as HubSpot leaves it out)."""
    wanted = list(kind.default) if properties is None else properties + list(kind.always)
    props = {name: record["properties"].get(name) for name in dict.fromkeys(wanted) if name in kind.known}
    out: dict[str, Any] = {"id": record["id"], "properties": props, "createdAt": record["createdAt"],
                           "updatedAt": record["updatedAt"], "archived": record["archived"]}  # fmt: skip
    if record.get("archivedAt"):
        out["archivedAt"] = record["archivedAt"]
    if associations and "contacts" in associations and record.get("_contacts"):
        out["associations"] = {
            "contacts": {"results": [{"id": cid, "type": kind.association_type} for cid in record["_contacts"]]}
        }
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
    """Build the fake HubSpot app over ``data``; state (limits, faults, clock) lives in the app instance."""
    settings = settings or HubSpotSettings()
    app = FastAPI(title="HubSpot sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    faults = FaultState(settings.faults)
    window = SlidingWindow(settings.rate_limit_max, settings.rate_limit_interval_ms)
    search_window = SlidingWindow(settings.search_rate_limit_max, settings.search_rate_limit_interval_ms)
    daily = DailyCounter(settings.daily_limit)
    contacts = sorted(data.hubspot_contacts, key=lambda c: int(c["id"]))
    by_id = {c["id"]: c for c in contacts}
    stores: dict[str, list[dict[str, Any]]] = {
        "contacts": contacts,
        "deals": sorted(data.hubspot_deals, key=lambda d: int(d["id"])),
        "notes": sorted(data.hubspot_notes, key=lambda n: int(n["id"])),
        "tasks": [],
    }
    engagement_index = {name: {r["id"]: r for r in stores[name]} for name in ("deals", "notes")}
    campaigns = sorted(data.hubspot_campaigns, key=lambda c: c["id"])
    merges = [dict(m) for m in data.hubspot_merges]
    app.state.faults = faults
    app.state.settings = settings
    app.state.clock = data.anchor
    app.state.merges = merges
    token_state: dict[str, Any] = {"config": None, "issued": 0.0}

    def token_revoked() -> bool:
        """``expire_token_after``: the private-app token was rotated after N requests of this fault set."""
        if "expire_token_after" not in faults.config:
            return False
        if faults.config is not token_state["config"]:  # a new fault set: the token in use is fresh
            token_state["config"], token_state["issued"] = faults.config, time.monotonic()
        return faults.token_revoked(token_state["issued"])

    def view(object_type: str) -> list[dict[str, Any]]:
        """The records as the portal shows them at its clock: merged-away contacts gone, winners updated."""
        records = stores[object_type]
        if object_type != "contacts":
            return records
        done = [m for m in merges if _parse_time(m["mergedAt"]) <= app.state.clock]
        if not done:
            return records
        losers = {m["loser"] for m in done}
        winners: dict[str, dict[str, Any]] = {}
        for merge in sorted(done, key=lambda m: m["mergedAt"]):
            base = winners.get(merge["winner"]) or by_id.get(merge["winner"])
            if base is None:
                continue
            props = dict(base["properties"])
            merged = [i for i in (props.get("hs_merged_object_ids") or "").split(";") if i]
            props["hs_merged_object_ids"] = ";".join([*merged, merge["loser"]])
            props["lastmodifieddate"] = merge["mergedAt"]
            winners[merge["winner"]] = dict(base, properties=props, updatedAt=merge["mergedAt"])
        return [winners.get(c["id"], c) for c in records if c["id"] not in losers]

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
        elif token not in settings.tokens or token_revoked():
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

    def serve_page(fault: str | None, records: list[dict[str, Any]], payload: dict[str, Any]) -> Response:
        """The page with ``duplicate_page`` applied; the error faults render instead of the page."""
        payload["results"] = faults.with_duplicate(fault, records)
        if fault in ("html_error_page", "malformed_page"):
            return page_fault_response(fault, faults, payload)
        return JSONResponse(payload)

    def unknown_type(object_type: str) -> JSONResponse:
        return _error(400, f"Unable to infer object type from: {object_type}", "VALIDATION_ERROR")

    @app.get("/crm/v3/objects/{object_type}")
    async def list_objects(object_type: str, request: Request) -> Response:
        if object_type not in stores:
            return unknown_type(object_type)
        kind = OBJECT_KINDS[object_type]
        query = request.query_params
        try:
            limit = int(query.get("limit", "10"))
        except ValueError:
            return _error(400, f"Invalid input: limit={query.get('limit')!r} is not an integer", "VALIDATION_ERROR")
        if not 1 <= limit <= LIST_MAX_LIMIT:
            return _error(400, f"limit must be between 1 and {LIST_MAX_LIMIT}", "VALIDATION_ERROR")
        archived = query.get("archived", "false").lower() == "true"
        properties = _requested_properties(query.getlist("properties"))
        associations = _requested_properties(query.getlist("associations"))
        after = query.get("after")
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        pool = [c for c in view(object_type) if c["archived"] == archived]
        if after:
            if not after.isdigit():
                return _error(400, f"Invalid after cursor: {after!r}", "VALIDATION_ERROR")
            pool = [c for c in pool if int(c["id"]) >= int(after)]
        page, rest = pool[:limit], pool[limit:]
        payload: dict[str, Any] = {}
        if rest:
            nxt = rest[0]["id"]
            link = f"{str(request.base_url).rstrip('/')}/crm/v3/objects/{object_type}?limit={limit}&after={nxt}"
            if properties:
                link += "&properties=" + ",".join(properties)
            payload["paging"] = {"next": {"after": nxt, "link": link}}
        return serve_page(fault, [_shape(c, properties, kind, associations) for c in page], payload)

    @app.post("/crm/v3/objects/contacts/merge")
    async def merge_contacts(request: Request) -> Response:
        """Merge ``objectIdToMerge`` into ``primaryObjectId`` at the portal's clock; returns the winner."""
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        visible = {c["id"] for c in view("contacts")}
        winner = str((body or {}).get("primaryObjectId", "")) if isinstance(body, dict) else ""
        loser = str((body or {}).get("objectIdToMerge", "")) if isinstance(body, dict) else ""
        if winner not in visible or loser not in visible or winner == loser:
            return _error(400, "Both objects must exist, be different and not be merged already.", "VALIDATION_ERROR")
        merges.append({"loser": loser, "winner": winner, "mergedAt": iso_ms(app.state.clock)})
        merged = next(c for c in view("contacts") if c["id"] == winner)
        return JSONResponse(_shape(merged, list(KNOWN_PROPERTIES)))

    @app.get("/crm/v3/objects/{object_type}/{object_id}")
    async def get_object(object_type: str, object_id: str, request: Request) -> Response:
        if object_type not in stores:
            return unknown_type(object_type)
        query = request.query_params
        archived = query.get("archived", "false").lower() == "true"
        record = next((c for c in view(object_type) if c["id"] == object_id), None)
        if record is None or record["archived"] != archived:
            return _error(404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND",
                          context={"id": [object_id]})  # fmt: skip
        shaped = _shape(record, _requested_properties(query.getlist("properties")), OBJECT_KINDS[object_type],
                        _requested_properties(query.getlist("associations")))  # fmt: skip
        return JSONResponse(shaped)

    @app.post("/crm/v3/objects/{object_type}/search")
    async def search_objects(object_type: str, request: Request) -> Response:
        if object_type not in stores:
            return unknown_type(object_type)
        kind = OBJECT_KINDS[object_type]
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
                for c in view(object_type)
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
            properties = {"contacts": ["firstname", "lastname", "email"]}.get(object_type, list(kind.default))
        page = pool[after : after + limit]
        payload: dict[str, Any] = {"total": len(pool)}
        if after + limit < len(pool):
            payload["paging"] = {"next": {"after": str(after + limit)}}
        # search results never carry associations in HubSpot: read them with the associations API
        return serve_page(fault, [_shape(c, list(properties), kind) for c in page], payload)

    @app.post("/crm/v3/associations/{from_type}/{to_type}/batch/read")
    async def read_associations(from_type: str, to_type: str, request: Request) -> Response:
        """Associations v3 batch read: ``{"inputs": [{"id"}]}`` -> ``results`` of ``from``/``to``."""
        if from_type not in stores or to_type != "contacts":
            return unknown_type(from_type if from_type not in stores else to_type)
        try:
            body = await request.json()
            ids = [str(i["id"]) for i in body["inputs"]]
        except (ValueError, KeyError, TypeError):
            return _error(400, 'Invalid input: expected {"inputs": [{"id": ...}]}', "VALIDATION_ERROR")
        if len(ids) > 1000:
            return _error(400, "Batch input is limited to 1000 ids", "VALIDATION_ERROR")
        if from_type == "contacts":  # contacts carry no contact associations here
            found: dict[str, dict[str, Any]] = {}
        else:
            found = {i: engagement_index[from_type][i] for i in ids if i in engagement_index[from_type]}
        kind = OBJECT_KINDS[from_type]
        results = [
            {"from": {"id": i}, "to": [{"id": cid, "type": kind.association_type} for cid in found[i]["_contacts"]]}
            for i in ids
            if i in found and found[i].get("_contacts")
        ]
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})

    @app.get("/marketing/v3/campaigns")
    async def list_campaigns(request: Request) -> Response:
        """Marketing campaigns: ``after``/``limit`` paging, ``properties`` to pick, ``total`` in the body."""
        query = request.query_params
        try:
            limit = int(query.get("limit", "50"))
        except ValueError:
            return _error(400, f"Invalid input: limit={query.get('limit')!r} is not an integer", "VALIDATION_ERROR")
        if not 1 <= limit <= CAMPAIGNS_MAX_LIMIT:
            return _error(400, f"limit must be between 1 and {CAMPAIGNS_MAX_LIMIT}", "VALIDATION_ERROR")
        after = query.get("after") or "0"
        if not after.isdigit():
            return _error(400, f"Invalid after cursor: {after!r}", "VALIDATION_ERROR")
        wanted = _requested_properties(query.getlist("properties")) or []
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        pool = list(campaigns)
        name = query.get("name")
        if name:
            pool = [c for c in pool if name.lower() in (c["properties"]["hs_name"] or "").lower()]
        sort = query.get("sort")
        if sort:
            field_name = sort.lstrip("-")
            pool.sort(key=lambda c: str(c.get(field_name) or c["properties"].get(field_name) or ""),
                      reverse=sort.startswith("-"))  # fmt: skip
        start = int(after)
        page = pool[start : start + limit]
        shaped = [
            {
                "id": c["id"],
                "properties": {p: c["properties"].get(p) for p in wanted if p in CAMPAIGN_PROPERTIES},
                "createdAt": c["createdAt"],
                "updatedAt": c["updatedAt"],
                "businessUnits": c["businessUnits"],
            }
            for c in page
        ]
        payload: dict[str, Any] = {"total": len(pool)}
        if start + limit < len(pool):
            link = f"{str(request.base_url).rstrip('/')}/marketing/v3/campaigns?limit={limit}&after={start + limit}"
            payload["paging"] = {"next": {"after": str(start + limit), "link": link}}
        return serve_page(fault, shaped, payload)

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

    @app.get("/_sandbox/clock", include_in_schema=False)
    async def get_clock() -> dict[str, Any]:
        return {"now": iso_ms(app.state.clock)}

    @app.post("/_sandbox/clock", include_in_schema=False)
    async def set_clock(request: Request) -> Response:
        """Move the portal's clock (e.g. past ``data.hubspot_merges``) to play the next day's state."""
        try:
            body = await request.json()
            app.state.clock = _parse_time(body["now"])
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f'expected {{"now": ISO-8601}}: {exc}'}, status_code=400)
        return JSONResponse({"now": iso_ms(app.state.clock)})

    install_write_routes(app, faults, lambda: view("contacts"), stores["tasks"], settings.writes_file)
    install_sandbox_routes(app, "hubspot", faults, data.ground_truth)
    return app


def sandbox_connection(url: str, data: SandboxData, ca_bundle: str | None) -> dict[str, Any]:
    """The Airflow Connection that reaches this sandbox: the private-app token in the password."""
    return {"conn_type": "crmhub_hubspot", "password": DEFAULT_TOKEN, "extra": {}}
