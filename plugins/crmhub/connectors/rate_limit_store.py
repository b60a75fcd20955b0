"""Vendor rate limits shared by every process that calls the vendor, kept in Redis.

``SourceHttpClient`` keeps to a source's ``rate_limits`` (sources.yaml) in its own process. Two Celery
workers pulling one vendor would each allow the full limit, so together they could go over it. With
``CRMHUB_RATE_LIMIT_REDIS_URL`` set (the compose stack points it at its Redis), every client of a
source asks one sliding window per limit rule in Redis instead:

* Each rule of each source is one sorted set, ``<prefix>:<source>:<requests>/<per_seconds>s[:<paths>]``,
  holding one member per request. A Lua script checks every rule that applies to the request and
  admits it only if all of them have room, atomically across processes and machines; the time is
  Redis's own clock (``TIME``), so the workers' clocks do not matter.
* An admitted request is entered "in flight" (scored ``in_flight_seconds`` in the future, so it counts
  until answered) and re-scored with the time its answer came back, as the in-process limiter counts
  it: the vendor saw it no later than that, so our window never opens before the vendor's. A worker
  that dies mid-request leaves an entry that expires after ``in_flight_seconds`` + the window.
* If Redis cannot be reached (at start or mid-run), the client logs a warning once and **falls back to
  the in-process limiter** (which records every request all along, so it knows this process's recent
  history), and asks Redis again after ``retry_seconds``. During the outage each worker keeps the limit
  on its own, so N workers could send up to N times the limit; the vendor's 429s are then still
  waited out page by page (``Retry-After``, vendor headers) and the vendor's Airflow pool bounds how
  many tasks call it at once. A pull is never stopped or stalled because the limiter's Redis is down
  (in the compose stack that Redis is also the Celery broker, so an outage stops new tasks anyway).

Without the variable (the demo, tests, single-process runs) nothing changes: limits are per process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import redis

    from crmhub.connectors.http import RateLimit

log = logging.getLogger(__name__)

#: the Redis URL of the shared limiter (``redis://host:6379/1``); unset or empty: limits per process
ENV_VAR = "CRMHUB_RATE_LIMIT_REDIS_URL"
DEFAULT_PREFIX = "crmhub:ratelimit"

# KEYS: one sorted set per rule. ARGV: member, in-flight seconds, poll seconds, then requests and
# per_seconds of each key in order. Returns {admitted (0/1), wait seconds, Redis time} as text (Lua
# numbers would be truncated to integers in the reply).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local member, in_flight, poll = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit, per = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - per)
  if redis.call('ZCARD', key) >= limit then
    local oldest = tonumber(redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2])
    local w = poll
    if oldest <= now then w = oldest + per - now end
    if w > wait then wait = w end
  end
end
if wait > 0 then
  return {0, string.format('%.6f', wait), string.format('%.6f', now)}
end
for i, key in ipairs(KEYS) do
  local per = tonumber(ARGV[3 + 2 * i])
  redis.call('ZADD', key, now + in_flight, member)
  redis.call('PEXPIRE', key, math.ceil((per + in_flight) * 1000))
end
return {1, '0', string.format('%.6f', now)}
"""

# KEYS: the rules the request was admitted under; ARGV: its member. Re-scores it with the answer's time.
_ANSWERED = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now, ARGV[1])
end
return string.format('%.6f', now)
"""


class RateLimitStoreUnavailable(Exception):
    """The shared limiter cannot be asked (Redis down or unreachable); the client keeps limits itself."""


@dataclass(frozen=True)
class Admission:
    """The shared limiter's answer: a ``member`` to send under, or the seconds to ``wait`` first."""

    member: str | None
    wait: float
    redis_time: float  # when Redis decided, on Redis's clock


class RedisRateLimitStore:
    """Sliding windows per source and limit rule in Redis, atomic across processes (see the module doc)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        in_flight_seconds: float = 300.0,
        poll_seconds: float = 0.05,
        retry_seconds: float = 30.0,
        label: str = "redis",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.prefix = prefix.rstrip(":")
        self.in_flight_seconds = in_flight_seconds
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.label = label
        self._clock = clock
        self._acquire = client.register_script(_ACQUIRE)
        self._answered = client.register_script(_ANSWERED)
        self._down_until: float | None = None  # set while Redis is unreachable: ask again after this
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisRateLimitStore:
        """A store on the Redis at ``url``; short timeouts, so a dead Redis costs seconds, not a hang."""
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0, health_check_interval=30)
        kwargs.setdefault("label", _without_password(url))
        return cls(client, **kwargs)

    def key(self, source: str, limit: RateLimit) -> str:
        """The sorted set of one rule of one source: same config, same key, in every process."""
        rule = f"{limit.requests}/{limit.per_seconds:g}s"
        if limit.paths:
            rule += ":" + ",".join(sorted(limit.paths))
        return f"{self.prefix}:{source}:{rule}"

    def available(self) -> bool:
        """False while a recent failure says Redis is down (until ``retry_seconds`` have passed)."""
        return self._down_until is None or self._clock() >= self._down_until

    def acquire(self, source: str, limits: Sequence[RateLimit]) -> Admission:
        """Admit one request under every rule in ``limits``, or say how long to wait before asking again.

        Raises :class:`RateLimitStoreUnavailable` if Redis cannot be asked.
        """
        member = f"{os.getpid()}:{uuid.uuid4().hex}"
        args: list[Any] = [member, self.in_flight_seconds, self.poll_seconds]
        for limit in limits:
            args += [limit.requests, limit.per_seconds]
        try:
            admitted, wait, now = self._acquire(keys=[self.key(source, limit) for limit in limits], args=args)
        except Exception as exc:  # redis.RedisError, OSError: any failure to ask means "not available"
            self._failed(exc)
            raise RateLimitStoreUnavailable(f"{self.label}: {type(exc).__name__}") from exc
        self._recovered()
        return Admission(member if int(admitted) else None, float(wait), float(now))

    def answered(self, source: str, limits: Sequence[RateLimit], member: str) -> float | None:
        """Count ``member`` from now (its answer came back); the Redis time, or None if Redis failed.

        Never raises: if Redis fails here the entry stays "in flight" and expires on its own.
        """
        try:
            now = self._answered(keys=[self.key(source, limit) for limit in limits], args=[member])
        except Exception as exc:
            self._failed(exc)
            return None
        return float(now)

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until is None
            self._down_until = self._clock() + self.retry_seconds
        if first:
            log.warning(
                "shared rate limits: %s unreachable (%s: %s); keeping each source's rate_limits in this "
                "process only (other workers are not counted) and asking again every %.0fs; vendor 429s "
                "are still waited out",
                self.label,
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )

    def _recovered(self) -> None:
        if self._down_until is not None:
            with self._lock:
                self._down_until = None
            log.warning("shared rate limits: %s reachable again; limits are shared across workers", self.label)


_stores: dict[str, RedisRateLimitStore] = {}
_stores_lock = threading.Lock()


def shared_rate_limit_store(environ: Mapping[str, str] | None = None) -> RedisRateLimitStore | None:
    """The process's shared limiter from ``CRMHUB_RATE_LIMIT_REDIS_URL``, or None (limits per process).

    One store (one Redis connection pool) per URL and process. Nothing is contacted here: an
    unreachable Redis is found, warned about and fallen back from on the first request.
    """
    url = ((os.environ if environ is None else environ).get(ENV_VAR) or "").strip()
    if not url:
        return None
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            store = _stores[url] = RedisRateLimitStore.from_url(url)
        return store


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
