"""Paged JSON over HTTP with page-level back-off.

The HTTP provider's hook gives us a configured ``requests.Session`` (TLS, proxies, headers from the
Connection), but it neither honours ``Retry-After`` nor retries one page of a paginated pull
(STACK_NOTES.md). This client does: a 429 or 5xx on page N is waited out and page N alone is fetched
again, so a long pull survives rate limits without starting over.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, retry_if_not_exception_type

from crmhub.connectors.rate_limit_store import RateLimitStoreUnavailable, RedisRateLimitStore
from crmhub.errors import SourceDataError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class RetryableResponse(Exception):
    """A response worth retrying (rate limit, server error); carries the wait the server asked for."""

    def __init__(self, status: int, wait_seconds: float | None, what: str) -> None:
        self.status, self.wait_seconds = status, wait_seconds
        super().__init__(f"{what}: HTTP {status}")


class UnparseablePage(Exception):
    """A 200 whose body is not the JSON asked for (an HTML proxy page, a truncated body): worth retrying once
    or twice, as an edge proxy's maintenance page or a dropped connection is often transient."""


class Unauthorized(Exception):
    """HTTP 401: the access token is missing or expired; the caller may refresh it once."""


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_backoff: float = 1.0
    max_backoff: float = 60.0
    #: attempts for a page whose body cannot be parsed (HTML with status 200, truncated JSON)
    unparseable_attempts: int = 3


@dataclass
class RateLimit:
    """At most ``requests`` in any ``per_seconds`` window, for paths containing one of ``paths`` (all if empty).

    The vendor's documented limit goes in sources.yaml (``rate_limits``); the client waits for a free slot
    before sending, so a pull runs at the limit without tripping it (429s are still honoured if a
    shared quota is used up by someone else). This object keeps the window of one process; with a
    shared store (:mod:`crmhub.connectors.rate_limit_store`) the window of every worker lives in Redis
    and this one is the fallback while Redis is unreachable.
    """

    requests: int
    per_seconds: float
    paths: tuple[str, ...] = ()
    _sent: deque[float] = field(default_factory=deque, repr=False)

    def applies(self, path: str) -> bool:
        return not self.paths or any(p in path for p in self.paths)

    def wait_time(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - self.per_seconds:
            self._sent.popleft()
        if len(self._sent) < self.requests:
            return 0.0
        return self._sent[0] + self.per_seconds - now

    def record(self, now: float) -> None:
        self._sent.append(now)


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header, in either of its RFC 9110 forms."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class SourceHttpClient:
    """JSON requests against one source, with auth, back-off and errors that name the page."""

    def __init__(
        self,
        source_name: str,
        session: requests.Session,
        base_url: str,
        *,
        auth_header: Callable[[bool], Mapping[str, str]] | None = None,
        wait_hint: Callable[[requests.Response], float | None] | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        rate_limits: Sequence[RateLimit] = (),
        rate_limit_store: RedisRateLimitStore | None = None,
    ) -> None:
        self.source_name = source_name
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.auth_header = auth_header
        self._wait_hint = wait_hint or retry_after_seconds
        self.policy = policy or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self.rate_limits = list(rate_limits)
        #: where the limits are shared with other workers (None: this process only)
        self.rate_limit_store = rate_limit_store
        self.requests_made = 0
        self.retries = 0
        self.throttled_seconds = 0.0  # time spent waiting for our own rate limit, for the task log

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request_json(
        self,
        method: str,
        path: str,
        *,
        page: int,
        params: Any = None,
        json_body: Any = None,
        accept_status: tuple[int, ...] = (200,),
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Send one request for page ``page``; retry rate limits and server errors for that page only.

        ``headers`` go on top of the auth headers (a write's ``If-None-Match``, a ``Prefer``); an
        ``accept_status`` beyond 200 lets a writer read a vendor's per-record 4xx answer itself.
        """
        what = f"{self.source_name}: {method} {path.split('?')[0]} page {page}"

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = exc.wait_seconds if isinstance(exc, RetryableResponse) else None
            backoff = min(self.policy.max_backoff, self.policy.base_backoff * 2 ** (state.attempt_number - 1))
            seconds = hinted if hinted is not None else backoff
            log.warning("%s: %s, waiting %.1fs (attempt %d)", what, exc, seconds, state.attempt_number)
            self.retries += 1
            return seconds

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            limit = self.policy.unparseable_attempts if isinstance(exc, UnparseablePage) else self.policy.max_attempts
            return state.attempt_number >= limit

        retrying = Retrying(
            # a TLS failure (untrusted CA, wrong host name) is a configuration error: retrying cannot fix it
            retry=retry_if_exception_type(
                (RetryableResponse, UnparseablePage, requests.ConnectionError, requests.Timeout)
            )
            & retry_if_not_exception_type(requests.exceptions.SSLError),
            stop=stop,
            wait=wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send_once, method, path, what, params, json_body, accept_status, headers)
        except RetryableResponse as exc:
            attempts = self.policy.max_attempts
            raise SourceDataError(f"{what}: gave up after {attempts} attempts ({exc})") from exc
        except UnparseablePage as exc:
            attempts = self.policy.unparseable_attempts
            raise SourceDataError(f"{what}: {exc} (still after {attempts} attempts)") from exc
        except requests.exceptions.SSLError as exc:
            raise SourceDataError(
                f"{what}: TLS verification failed ({type(exc).__name__}); if the server uses a private CA, "
                'put its bundle\'s path in the Connection\'s extra as {"verify": "/path/ca.pem"}'
            ) from exc

    def _send_once(
        self,
        method: str,
        path: str,
        what: str,
        params: Any,
        json_body: Any,
        accept_status: tuple[int, ...],
        extra_headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        refreshed = False
        while True:
            headers = dict(self.auth_header(refreshed)) if self.auth_header else {}
            headers.update(extra_headers or {})
            limits, member = self._wait_for_slot(path)
            self.requests_made += 1
            try:
                response = self.session.request(
                    method,
                    self.url(path),
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self.timeout,
                    verify=self.session.verify,  # else REQUESTS_CA_BUNDLE overrides the Connection's CA
                )
            finally:
                # counted from when the answer came back: the vendor saw the request no later than that,
                # so our window never starts before the vendor's does
                answered = time.monotonic()
                for limit in limits:
                    limit.record(answered)  # kept even when shared: the fallback if Redis goes away
                if member is not None and self.rate_limit_store is not None:
                    self.rate_limit_store.answered(self.source_name, limits, member)
            if response.status_code == 401 and self.auth_header and not refreshed:
                refreshed = True  # token expired or revoked: fetch a new one once, then give up
                continue
            break
        if response.status_code in RETRYABLE_STATUS:
            raise RetryableResponse(response.status_code, self._wait_hint(response), what)
        if response.status_code not in accept_status:
            raise SourceDataError(f"{what}: HTTP {response.status_code}: {_error_summary(response)}")
        try:
            return response.status_code, parse_json(response, what)
        except SourceDataError as exc:
            raise UnparseablePage(str(exc).removeprefix(f"{what}: ")) from exc

    def _wait_for_slot(self, path: str) -> tuple[list[RateLimit], str | None]:
        """Sleep until every rate limit that applies to ``path`` has room; return those limits.

        With a shared store the room is asked of Redis (the second value is the admitted request's
        member there); if Redis cannot be asked, this process's own windows decide (None).
        """
        limits = [limit for limit in self.rate_limits if limit.applies(path)]
        store = self.rate_limit_store
        if limits and store is not None and store.available():
            try:
                while True:
                    admission = store.acquire(self.source_name, limits)
                    if admission.member is not None:
                        return limits, admission.member
                    self.throttled_seconds += admission.wait
                    self._sleep(admission.wait)
            except RateLimitStoreUnavailable:
                pass  # the store warned; fall back to the windows of this process
        while limits:
            wait = max(limit.wait_time(time.monotonic()) for limit in limits)
            if wait <= 0:
                break
            self.throttled_seconds += wait
            self._sleep(wait)
        return limits, None


def parse_json(response: requests.Response, what: str) -> Any:
    """Decode a JSON body or fail naming the page; an HTML page with status 200 is not data.

    Bytes that are not UTF-8 do not fail the page: they are decoded with ``surrogateescape`` (a bad
    byte 0xNN becomes the lone surrogate U+DCNN), as a ``"\\ud800"`` escape in a JSON string becomes a
    lone surrogate too. Such text cannot be stored; :func:`crmhub.connectors.base.bad_text_path` finds
    it per record, so one bad record is quarantined and the rest of its page lands.
    """
    content_type = response.headers.get("Content-Type", "")
    if not response.content:
        return None
    if "json" not in content_type:
        raise SourceDataError(
            f"{what}: expected JSON, got {content_type or 'no content type'} ({len(response.content)} bytes)"
        )
    try:
        return json.loads(response.content.decode("utf-8", errors="surrogateescape"))
    except json.JSONDecodeError as exc:
        raise SourceDataError(f"{what}: malformed JSON at line {exc.lineno} column {exc.colno}") from exc


def _error_summary(response: requests.Response) -> str:
    """The vendor's error code and message, trimmed; never the request's credentials."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return json.dumps(body, ensure_ascii=False)[:300]
