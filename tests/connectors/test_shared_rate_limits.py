"""Rate limits shared across worker processes through Redis (127.0.0.1:6379), with the documented fallback.

Every test uses its own key prefix, so runs never see each other's windows. Worker processes are
started with ``spawn`` (a fresh interpreter, as a Celery worker on another machine would be).
"""

from __future__ import annotations

import logging
import multiprocessing
import random
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests

from crmhub.connectors import rate_limit_store
from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RateLimit
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.connectors.rate_limit_store import ENV_VAR, RedisRateLimitStore, shared_rate_limit_store
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.datagen import DEFAULT_ANCHOR
from crmhub_dev.sandbox.server import SandboxServer

REDIS_URL = "redis://127.0.0.1:6379/0"
DEAD_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = f"crmhub-test:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _spawn() -> Any:
    return multiprocessing.get_context("spawn")


def _admit_many(prefix: str, count: int, limit: tuple[int, float], barrier: Any, out: Any) -> None:
    """Worker: be admitted ``count`` times under one shared rule; report when Redis admitted each."""
    store = RedisRateLimitStore.from_url(REDIS_URL, prefix=prefix)
    rule = [RateLimit(requests=limit[0], per_seconds=limit[1])]
    rng = random.Random()
    barrier.wait()
    admitted = []
    while len(admitted) < count:
        admission = store.acquire("vendor", rule)
        if admission.member is None:
            time.sleep(admission.wait)
            continue
        admitted.append(admission.redis_time)
        time.sleep(rng.uniform(0, 0.03))  # the request's round trip
        store.answered("vendor", rule, admission.member)
    out.put(admitted)


def _pull_hubspot(url: str, prefix: str | None, limit: tuple[int, float], barrier: Any, out: Any) -> None:
    """Worker: pull HubSpot contacts at ``limit``, shared through Redis unless ``prefix`` is None."""
    connector = HubSpotConnector.connect(
        "hubspot", requests.Session(), url, Credentials(password=hubspot.DEFAULT_TOKEN), {"page_size": 5}
    )
    store = RedisRateLimitStore.from_url(REDIS_URL, prefix=prefix) if prefix else None
    connector.apply_rate_limits([{"requests": limit[0], "per_seconds": limit[1], "paths": ()}], store=store)
    barrier.wait()
    pages = sum(1 for _ in connector.extract("contacts", Window(None, DEFAULT_ANCHOR)))
    out.put({"pages": pages, "requests": connector.http.requests_made, "retries": connector.http.retries})


def _run(target: Any, args_per_worker: list[tuple[Any, ...]]) -> list[Any]:
    ctx = _spawn()
    barrier, out = ctx.Barrier(len(args_per_worker)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for args in args_per_worker]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    return results


def test_two_processes_sharing_one_limit_never_exceed_it_together_in_any_window(prefix: str) -> None:
    requests_, per_seconds, each = 5, 0.4, 15
    results = _run(_admit_many, [(prefix, each, (requests_, per_seconds))] * 2)
    times = sorted(t for admitted in results for t in admitted)
    assert len(times) == 2 * each and all(len(r) == each for r in results)
    # at most `requests_` admissions in any window of `per_seconds` (one clock: Redis's)
    crowded = [(a, b) for a, b in zip(times, times[requests_:], strict=False) if b - a < per_seconds - 1e-6]
    assert not crowded
    # and the pair ran near the shared limit, not one after the other: 30 admissions need >= 5 windows
    fastest = (len(times) - 1) // requests_ * per_seconds
    assert times[-1] - times[0] < fastest * 1.5


def test_two_processes_pulling_one_vendor_get_no_429_with_the_shared_limit(prefix: str) -> None:
    settings = hubspot.HubSpotSettings(rate_limit_max=4, rate_limit_interval_ms=500)
    with SandboxServer(seed=3, people=60, vendors=("hubspot",), hubspot_settings=settings) as sandbox:
        shared = _run(_pull_hubspot, [(sandbox.hubspot_url, prefix, (4, 0.5))] * 2)
        alone = _run(_pull_hubspot, [(sandbox.hubspot_url, None, (4, 0.5))] * 2)
    assert all(r["pages"] > 8 for r in shared)  # each pull spans many windows
    assert [r["retries"] for r in shared] == [0, 0]  # together never over the vendor's window
    # the bug this fixes: each process keeping the limit on its own, the two together trip the vendor
    assert sum(r["retries"] for r in alone) > 0


def test_store_admits_up_to_the_limit_then_waits_for_the_oldest_answer(prefix: str) -> None:
    store = RedisRateLimitStore.from_url(REDIS_URL, prefix=prefix, poll_seconds=0.02)
    rule = [RateLimit(requests=2, per_seconds=5.0)]
    first, second = store.acquire("s", rule), store.acquire("s", rule)
    assert first.member and second.member
    in_flight = store.acquire("s", rule)
    assert in_flight.member is None and in_flight.wait == pytest.approx(0.02)  # both still in flight: poll
    answered = store.answered("s", rule, first.member)
    assert answered is not None
    full = store.acquire("s", rule)
    assert full.member is None
    assert full.wait == pytest.approx(answered + 5.0 - full.redis_time, abs=1e-3)  # counted from the answer
    assert 4.9 < full.wait <= 5.0
    assert store.acquire("other_source", rule).member  # windows are per source ...
    assert store.acquire("s", [RateLimit(requests=2, per_seconds=1.0)]).member  # ... and per rule


def test_rules_of_one_request_are_taken_together_or_not_at_all(prefix: str) -> None:
    store = RedisRateLimitStore.from_url(REDIS_URL, prefix=prefix)
    general, search = RateLimit(requests=10, per_seconds=10.0), RateLimit(1, 10.0, paths=("/search",))
    assert store.acquire("hubspot", [general, search]).member
    assert store.acquire("hubspot", [general, search]).member is None  # search full
    client = redis.Redis.from_url(REDIS_URL)
    assert client.zcard(store.key("hubspot", general)) == 1  # the refused request took no general slot
    assert store.key("hubspot", search) == f"{prefix}:hubspot:1/10s:/search"


def test_shared_store_comes_from_the_environment_and_is_off_without_it() -> None:
    assert shared_rate_limit_store({}) is None
    assert shared_rate_limit_store({ENV_VAR: " "}) is None
    store = shared_rate_limit_store({ENV_VAR: "redis://127.0.0.1:6379/3"})
    assert isinstance(store, RedisRateLimitStore)
    assert shared_rate_limit_store({ENV_VAR: "redis://127.0.0.1:6379/3"}) is store  # one pool per process
    assert rate_limit_store._without_password("redis://:s3cret@redis:6379/1") == "redis://:***@redis:6379/1"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    settings = hubspot.HubSpotSettings(rate_limit_max=4, rate_limit_interval_ms=500)
    with SandboxServer(seed=3, people=60, vendors=("hubspot",), hubspot_settings=settings) as server:
        yield server


def _connector(sandbox: SandboxServer, store: RedisRateLimitStore | None) -> HubSpotConnector:
    connector = HubSpotConnector.connect(
        "hubspot", requests.Session(), sandbox.hubspot_url, Credentials(password=hubspot.DEFAULT_TOKEN),
        {"page_size": 5},
    )  # fmt: skip
    connector.apply_rate_limits([{"requests": 4, "per_seconds": 0.5, "paths": ()}], store=store)
    return connector


def test_without_a_store_the_in_process_limiter_keeps_the_limit(sandbox: SandboxServer) -> None:
    connector = _connector(sandbox, None)
    pages = list(connector.extract("contacts", Window(None, sandbox.data.anchor)))
    assert len(pages) > 8
    assert connector.http.retries == 0 and connector.http.throttled_seconds > 0


def test_redis_down_from_the_start_falls_back_to_the_in_process_limiter(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisRateLimitStore.from_url(DEAD_REDIS_URL, prefix="crmhub-test:dead", retry_seconds=60)
    connector = _connector(sandbox, store)
    with caplog.at_level(logging.WARNING, logger=rate_limit_store.__name__):
        pages = list(connector.extract("contacts", Window(None, sandbox.data.anchor)))
    assert len(pages) > 8  # the pull went on
    assert connector.http.retries == 0 and connector.http.throttled_seconds > 0  # the limit held, locally
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # once, not per request
    assert "redis://127.0.0.1:1/0 unreachable" in warnings[0] and "in this process only" in warnings[0]
    assert not store.available()  # not asked again before retry_seconds


def test_redis_lost_mid_run_falls_back_then_shares_again_when_back(
    sandbox: SandboxServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    store = RedisRateLimitStore.from_url(REDIS_URL, prefix=prefix, retry_seconds=30, clock=lambda: now[0])
    live = (store._acquire, store._answered)
    dead = RedisRateLimitStore.from_url(DEAD_REDIS_URL)
    connector = _connector(sandbox, store)
    answers = 0

    def lose_redis_after_five(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        nonlocal answers
        answers += 1
        if answers == 5:
            store._acquire, store._answered = dead._acquire, dead._answered

    connector.http.session.hooks["response"].append(lose_redis_after_five)
    key = store.key("hubspot", connector.http.rate_limits[0])
    with caplog.at_level(logging.WARNING, logger=rate_limit_store.__name__):
        pages = list(connector.extract("contacts", Window(None, sandbox.data.anchor)))
        assert redis.Redis.from_url(REDIS_URL).zcard(key) >= 1  # the first requests went through Redis
        assert len(pages) > 8 and connector.http.retries == 0  # finished at the limit, without Redis
        assert len(caplog.records) == 1 and "unreachable" in caplog.records[0].getMessage()
        store._acquire, store._answered = live
        assert not store.available()
        now[0] += 30  # retry_seconds later Redis is asked again
        assert store.available()
        assert store.acquire("hubspot", connector.http.rate_limits).member
        assert "reachable again" in caplog.records[-1].getMessage()
