"""Fault injection and rate-limit windows shared by the fake vendor apps.

Connectors must survive 429 storms, 5xx mid-pagination, HTML error pages with status 200 and truncated
JSON. The faults here are counted, not random, so a test that sets ``malformed_page=2`` knows the second
page it fetches is the broken one, every run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

FAULT_KEYS = ("rate_limit", "malformed_page", "html_error_page", "server_error_page", "server_error_status",
              "slow_ms", "duplicate_page", "expire_token_after", "page_fault_repeat", "write_error",
              "write_lost_response")  # fmt: skip
#: faults of write requests (create/update/upsert), counted apart from pages: see ``FaultState.next_write_fault``
WRITE_FAULTS = ("write_error", "write_lost_response")
PAGE_FAULTS = ("server_error_page", "html_error_page", "malformed_page", "duplicate_page")

HTML_ERROR_BODY = (
    "<!DOCTYPE html>\n<html><head><title>Service temporarily unavailable</title></head>\n"
    "<body><h1>We&rsquo;ll be right back</h1><p>Our API is undergoing maintenance. "
    "Please try again in a few minutes.</p><!-- edge: ams1 --></body></html>\n"
)
SERVER_ERROR_BODY = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"
)

log = logging.getLogger("crmhub_dev.sandbox")


class FaultState:
    """The faults switched on for one app, with the counters that make them deterministic.

    ``rate_limit=N`` answers the next N API requests with 429; ``malformed_page=N``,
    ``html_error_page=N`` and ``server_error_page=N`` break the N-th page request (list, search or
    messages) counted from the moment the faults were set, once; ``duplicate_page=N`` serves page N
    with the last record of page N-1 repeated at its top (an offset shifted by a concurrent insert);
    ``expire_token_after=N`` revokes every access token issued so far once N API requests have been
    served (a token that expires mid-run: the next request gets 401); ``slow_ms`` delays every API
    request. Setting faults replaces the previous set and restarts the counters.

    Writes (issue 17) count apart from pages: ``write_error=N`` answers the N-th write with a 5xx
    before doing anything; ``write_lost_response=N`` does the N-th write and then answers 5xx, as when
    the vendor committed but the answer never arrived (``page_fault_repeat`` widens both to several
    writes in a row). ``rate_limit`` and ``slow_ms`` apply to writes as to any API request.
    """

    def __init__(self, faults: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, int] = {}
        self.rate_limit_left = 0
        self.pages_served = 0
        self.writes_served = 0
        self.requests_served = 0
        self.tokens_revoked_at = 0.0
        self.last_page_tail: Any = None
        self.set(faults or {})

    def set(self, faults: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(faults) - set(FAULT_KEYS))
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {list(FAULT_KEYS)}")
        config: dict[str, int] = {}
        for key, value in faults.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"fault {key!r} must be a non-negative integer, got {value!r}")
            config[key] = value
        self.config = config
        self.rate_limit_left = config.get("rate_limit", 0)
        self.pages_served = 0
        self.writes_served = 0
        self.requests_served = 0
        self.last_page_tail = None
        return self.snapshot()

    def clear(self) -> dict[str, Any]:
        return self.set({})

    def snapshot(self) -> dict[str, Any]:
        return {
            "faults": dict(self.config),
            "rate_limit_remaining": self.rate_limit_left,
            "pages_served": self.pages_served,
        }

    def take_forced_rate_limit(self) -> bool:
        if self.rate_limit_left > 0:
            self.rate_limit_left -= 1
            return True
        return False

    def next_page_fault(self) -> str | None:
        """Count one page request and name the fault due on it, if any."""
        self.pages_served += 1
        repeat = max(1, self.config.get("page_fault_repeat", 1))
        for kind in PAGE_FAULTS:
            first = self.config.get(kind)
            if not first:
                continue
            last = first if kind == "duplicate_page" else first + repeat - 1
            if first <= self.pages_served <= last:
                return kind
        return None

    def next_write_fault(self) -> str | None:
        """Count one write request and name the write fault due on it, if any."""
        self.writes_served += 1
        repeat = max(1, self.config.get("page_fault_repeat", 1))
        for kind in WRITE_FAULTS:
            first = self.config.get(kind)
            if first and first <= self.writes_served <= first + repeat - 1:
                return kind
        return None

    def with_duplicate(self, fault: str | None, records: list[Any]) -> list[Any]:
        """Apply ``duplicate_page`` to a page about to be served and remember its last record.

        Call on every page with the fault ``next_page_fault`` named (``None`` when none).
        """
        out = list(records)
        if fault == "duplicate_page" and self.last_page_tail is not None:
            out = [self.last_page_tail, *out]
        if records:
            self.last_page_tail = records[-1]
        return out

    def token_revoked(self, issued_at: float) -> bool:
        """Count one authenticated API request; True if a token issued at ``issued_at`` (monotonic)
        has been revoked by ``expire_token_after``."""
        self.requests_served += 1
        limit = self.config.get("expire_token_after")
        if limit and self.requests_served == limit + 1:
            self.tokens_revoked_at = time.monotonic()
        return issued_at <= self.tokens_revoked_at

    async def delay(self) -> None:
        slow = self.config.get("slow_ms", 0)
        if slow:
            await asyncio.sleep(slow / 1000)


def page_fault_response(kind: str, faults: FaultState, payload: Any) -> Response:
    """Render a page fault; the malformed page is the real page cut in half, as a dropped connection would."""
    if kind == "server_error_page":
        return Response(SERVER_ERROR_BODY, status_code=faults.config.get("server_error_status", 502),
                        media_type="text/html")  # fmt: skip
    if kind == "html_error_page":
        return Response(HTML_ERROR_BODY, status_code=200, media_type="text/html; charset=utf-8")
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Response(body[: max(1, len(body) // 2)], status_code=200, media_type="application/json;charset=utf-8")


class SlidingWindow:
    """A rolling request window: at most ``max_requests`` in any ``interval_ms``."""

    def __init__(self, max_requests: int, interval_ms: int) -> None:
        self.max_requests = max_requests
        self.interval_ms = interval_ms
        self.hits: deque[float] = deque()

    def _trim(self, now: float) -> None:
        horizon = now - self.interval_ms / 1000
        while self.hits and self.hits[0] <= horizon:
            self.hits.popleft()

    def hit(self) -> bool:
        """Record a request if the window has room; False means the caller must answer 429."""
        now = time.monotonic()
        self._trim(now)
        if len(self.hits) >= self.max_requests:
            return False
        self.hits.append(now)
        return True

    def remaining(self) -> int:
        self._trim(time.monotonic())
        return max(0, self.max_requests - len(self.hits))


class DailyCounter:
    """Calls made today (UTC), for the vendors' daily-quota headers."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.day = time.gmtime().tm_yday
        self.used = 0

    def hit(self) -> bool:
        today = time.gmtime().tm_yday
        if today != self.day:
            self.day, self.used = today, 0
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def remaining(self) -> int:
        return max(0, self.limit - self.used)


def new_id() -> str:
    return str(uuid.uuid4())


def install_sandbox_routes(app: FastAPI, vendor: str, faults: FaultState, ground_truth: dict[str, Any]) -> None:
    """The ``/_sandbox`` control routes: switch faults at runtime and read the ground truth."""

    @app.get("/_sandbox/faults", include_in_schema=False)
    async def get_faults() -> dict[str, Any]:
        return faults.snapshot()

    @app.post("/_sandbox/faults", include_in_schema=False)
    async def set_faults(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            snapshot = faults.set(body)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        log.info("%s faults set: %s", vendor, snapshot["faults"])
        return JSONResponse(snapshot)

    @app.delete("/_sandbox/faults", include_in_schema=False)
    async def clear_faults() -> dict[str, Any]:
        log.info("%s faults cleared", vendor)
        return faults.clear()

    @app.get("/_sandbox/ground-truth", include_in_schema=False)
    async def get_ground_truth() -> dict[str, Any]:
        return ground_truth

    @app.get("/_sandbox/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok", "vendor": vendor}


def log_request(vendor: str, request: Request, status: int, started: float) -> None:
    """One line per request: method, path and status only; never query strings or bodies (personal data)."""
    log.info("%s %s %s %d %.0fms", vendor, request.method, request.url.path, status,
             (time.monotonic() - started) * 1000)  # fmt: skip
