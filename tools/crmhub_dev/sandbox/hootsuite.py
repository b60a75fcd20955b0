"""Fake Hootsuite REST API: OAuth2 token endpoint, /v1/me, /v1/socialProfiles and /v1/messages.

Why: the Hootsuite connector has to handle Basic client authentication, short-lived access tokens with
single-use rotating refresh tokens, the 4-week ``startTime``/``endTime`` window of the messages endpoint,
cursor paging and the ``{"errors": [...]}`` envelope, all without a real Hootsuite organization.

Faults: ``duplicate_page`` repeats the previous page's last message on top of the next page;
``expire_token_after=N`` revokes every access token issued so far once N API requests have been served
(the next request answers 401 code 1001; a token granted afterwards, e.g. with the refresh token, works).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmhub_dev.sandbox.datagen import ORGANIZATION_ID, SandboxData
from crmhub_dev.sandbox.faults import (
    DailyCounter,
    FaultState,
    SlidingWindow,
    install_sandbox_routes,
    log_request,
    new_id,
    page_fault_response,
)

DEFAULT_CLIENT_ID = "sandbox-hootsuite-client"
DEFAULT_CLIENT_SECRET = "sandbox-hootsuite-secret"
MAX_WINDOW = timedelta(weeks=4)
MESSAGE_STATES = ("PENDING_APPROVAL", "REJECTED", "SENT", "SCHEDULED", "SEND_FAILED_PERMANENTLY")
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass
class HootsuiteSettings:
    """Client credentials, token lifetime, limits and faults (defaults follow Hootsuite's documentation)."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    organization_id: str = ORGANIZATION_ID
    expires_in: int = 3599
    rate_limit_per_second: int = 20
    daily_quota: int = 100_000
    faults: dict[str, int] = field(default_factory=dict)


def _errors(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message, "id": new_id()}]}, status_code=status)


def _oauth_error(status: int, error: str, description: str, hint: str = "") -> JSONResponse:
    body = {"error": error, "error_description": description, "error_hint": hint, "status_code": status}
    return JSONResponse(body, status_code=status)


def _parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class TokenStore:
    """Issued access tokens with their expiry, and the refresh tokens that may still be used once."""

    def __init__(self) -> None:
        self.access: dict[str, float] = {}
        self.issued: dict[str, float] = {}  # monotonic issue time, for ``expire_token_after``
        self.refresh: set[str] = set()

    def issue(self, expires_in: int) -> tuple[str, str]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access[access] = time.time() + expires_in
        self.issued[access] = time.monotonic()
        self.refresh.add(refresh)
        return access, refresh

    def redeem(self, refresh: str) -> bool:
        if refresh in self.refresh:
            self.refresh.discard(refresh)
            return True
        return False

    def valid(self, access: str) -> bool:
        expiry = self.access.get(access)
        return expiry is not None and time.time() < expiry


def create_hootsuite_app(data: SandboxData, settings: HootsuiteSettings | None = None) -> FastAPI:
    """Build the fake Hootsuite app over ``data``; tokens, limits and faults live in the app instance."""
    settings = settings or HootsuiteSettings()
    app = FastAPI(title="Hootsuite sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    faults = FaultState(settings.faults)
    window = SlidingWindow(settings.rate_limit_per_second, 1_000)
    daily = DailyCounter(settings.daily_quota)
    tokens = TokenStore()
    messages = sorted(data.hootsuite_messages, key=lambda m: (m["scheduledSendTime"], int(m["id"])))
    app.state.faults = faults
    app.state.settings = settings
    app.state.tokens = tokens

    def quota_headers() -> dict[str, str]:
        return {
            "X-Account-Quota": f"{daily.limit} per day",
            "X-Account-Quota-Used": str(daily.used),
            "X-Account-Rate-Limit-Requests-Remaining": str(window.remaining()),
        }

    @app.middleware("http")
    async def vendor_behaviour(request: Request, call_next: Any) -> Response:
        started = time.monotonic()
        path = request.url.path
        if not path.startswith("/v1/"):
            response = await call_next(request)
            if not path.startswith("/_sandbox"):
                log_request("hootsuite", request, response.status_code, started)
            return response
        await faults.delay()
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        counted = False
        if not token:
            response = _errors(401, 1000, "Missing or duplicate access token")
        elif not tokens.valid(token) or faults.token_revoked(tokens.issued[token]):
            response = _errors(401, 1001, "Invalid access token")
        elif faults.take_forced_rate_limit() or not window.hit() or not daily.hit():
            response = _errors(429, 1003, "Account plan limit exceeded")
            counted = True
        else:
            response = await call_next(request)
            counted = True
        if counted:
            response.headers.update(quota_headers())
        log_request("hootsuite", request, response.status_code, started)
        return response

    @app.post("/oauth2/token")
    async def token(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("basic "):
            hint = "Pass the client credentials with HTTP Basic; credentials in the request body are not supported."
            return _oauth_error(401, "invalid_client", "Client authentication failed.", hint)
        try:
            client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return _oauth_error(401, "invalid_client", "Client authentication failed.", "Malformed Basic header.")
        if (client_id, client_secret) != (settings.client_id, settings.client_secret):
            return _oauth_error(401, "invalid_client", "Client authentication failed.", "Unknown client.")
        grant = str(form.get("grant_type", ""))
        if grant == "organization_app":
            if str(form.get("organization_id", "")) != settings.organization_id:
                return _oauth_error(400, "invalid_request", "The organization_id is missing or unknown.",
                                    "Pass the organization_id the app is installed in.")  # fmt: skip
        elif grant == "refresh_token":
            if not tokens.redeem(str(form.get("refresh_token", ""))):
                return _oauth_error(400, "invalid_grant", "The refresh token is invalid, expired or already used.",
                                    "Refresh tokens can only be used once; use the one returned last.")  # fmt: skip
        else:
            return _oauth_error(400, "unsupported_grant_type", f"Grant type {grant!r} is not supported here.",
                                "Use organization_app or refresh_token.")  # fmt: skip
        access, refresh = tokens.issue(settings.expires_in)
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "bearer",
                "expires_in": settings.expires_in,
                "refresh_token": refresh,
                "scope": "offline",
            }  # fmt: skip
        )

    @app.get("/v1/me")
    async def me() -> dict[str, Any]:
        return {"data": data.hootsuite_member}

    @app.get("/v1/me/organizations")
    async def me_organizations() -> dict[str, Any]:
        return {"data": [{"id": settings.organization_id, "name": "Social CRM Hub B.V.", "logoUrl": None}]}

    @app.get("/v1/socialProfiles")
    async def social_profiles() -> dict[str, Any]:
        return {"data": data.hootsuite_profiles}

    @app.get("/v1/socialProfiles/{profile_id}")
    async def social_profile(profile_id: str) -> Response:
        for profile in data.hootsuite_profiles:
            if profile["id"] == profile_id:
                return JSONResponse({"data": profile})
        return _errors(404, 4001, "Resource not found")

    @app.get("/v1/messages")
    async def list_messages(request: Request) -> Response:
        query = request.query_params
        start_raw, end_raw = query.get("startTime"), query.get("endTime")
        if not start_raw or not end_raw:
            return _errors(400, 4000, "Schema validation failed: startTime and endTime are required")
        try:
            start, end = _parse_iso(start_raw), _parse_iso(end_raw)
        except ValueError:
            return _errors(400, 4000, "Schema validation failed: startTime and endTime must be ISO-8601")
        if end < start or end - start > MAX_WINDOW:
            return _errors(400, 40020, "Specified date range is too large")
        state = query.get("state")
        if state and state not in MESSAGE_STATES:
            return _errors(400, 40019, "Message state filter not supported")
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            return _errors(400, 4000, "Schema validation failed: limit must be an integer")
        if not 1 <= limit <= MAX_LIMIT:
            return _errors(400, 4000, f"Schema validation failed: limit must be between 1 and {MAX_LIMIT}")
        profile_ids = set(query.getlist("socialProfileIds"))
        offset = 0
        cursor = query.get("cursor")
        if cursor:
            parts = cursor.split(":")
            if len(parts) != 3 or not all(p.isdigit() for p in parts):
                return _errors(400, 3020, "Invalid cursor format")
            offset = int(parts[2])
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        pool = [
            m
            for m in messages
            if start <= _parse_iso(m["scheduledSendTime"]) < end
            and (not state or m["state"] == state)
            and (not profile_ids or m["socialProfile"]["id"] in profile_ids)
        ]
        page = pool[offset : offset + limit]
        served = faults.with_duplicate(fault, page)
        next_cursor = prev_cursor = None
        if offset + limit < len(pool):
            nxt = pool[offset + limit]
            ms = int(_parse_iso(nxt["scheduledSendTime"]).timestamp() * 1000)
            next_cursor = f"{ms}:{nxt['id']}:{offset + limit}"
        if offset and page:
            ms = int(_parse_iso(page[0]["scheduledSendTime"]).timestamp() * 1000)
            prev_cursor = f"{ms}:{page[0]['id']}:{max(0, offset - limit)}"
        payload = {"data": served, "metadata": {"cursor": {"next": next_cursor, "previous": prev_cursor}}}
        if fault in ("html_error_page", "malformed_page"):
            return page_fault_response(fault, faults, payload)
        return JSONResponse(payload)

    @app.get("/v1/messages/{message_id}")
    async def get_message(message_id: str) -> Response:
        for message in messages:
            if message["id"] == message_id:
                return JSONResponse({"data": message})
        return _errors(404, 4001, "Resource not found")

    install_sandbox_routes(app, "hootsuite", faults, data.ground_truth)
    return app


def sandbox_connection(url: str, data: SandboxData, ca_bundle: str | None) -> dict[str, Any]:
    """The Airflow Connection that reaches this sandbox: OAuth2 client in login/password."""
    return {
        "conn_type": "crmhub_hootsuite",
        "login": DEFAULT_CLIENT_ID,
        "password": DEFAULT_CLIENT_SECRET,
        "extra": {"organization_id": data.organization_id},
    }
