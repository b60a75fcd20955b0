"""Extraction against the sandbox at the vendor's rate limit: how close to the limit, and never over it.

    .venv/bin/python benchmarks/extraction.py                       # every vendor, default scales
    .venv/bin/python benchmarks/extraction.py --vendors hubspot --people 2000 8000 --markdown

For each vendor the sandbox enforces a request window (the vendor's documented limit, or a faster one so
the run stays short: the ratio is what counts) and the connector is given the same limit as
sources.yaml would (``rate_limits``). A pull of one object type then runs through the real connector
and ``SourceHttpClient``. Printed per run: requests, elapsed seconds, achieved requests per second
against the configured rate (goal: at least 90%), 429s the vendor answered (goal: 0, i.e. never over
the limit), records per second and peak RSS. Not a test: it waits on rate windows by design.

    .venv/bin/python benchmarks/extraction.py --vendors hubspot --people 1200 --workers 2

``--workers N`` starts N processes that pull the same sandbox vendor at once, as N Celery workers would,
keeping to the limit through the shared limiter in Redis (``--redis-url``, default
``CRMHUB_RATE_LIMIT_REDIS_URL`` or the local Redis; a fresh key prefix per run). Printed: the rate the
workers achieved together as a % of the configured limit (goal: at most 100%), the most requests sent in
any one window (goal: at most the window's requests) and the vendor's 429s. ``--limiter process`` runs
the same with per-process limits only, the behaviour before the shared limiter (over the limit).
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import os
import resource
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from crmhub.connectors.base import Connector, Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.rate_limit_store import ENV_VAR, RedisRateLimitStore
from crmhub_dev.sandbox.datagen import DEFAULT_ANCHOR, generate
from crmhub_dev.sandbox.server import SandboxServer


@dataclass(frozen=True)
class Case:
    vendor: str
    object_type: str
    requests: int  # the window: at most this many requests ...
    per_seconds: float  # ... in any span of this many seconds
    settings: Callable[[int, float], Any]  # sandbox settings enforcing that window
    connect: Callable[[SandboxServer], Connector]
    window: Callable[[], Window]


def _hubspot_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub_dev.sandbox.hubspot import HubSpotSettings

    return HubSpotSettings(rate_limit_max=requests_, rate_limit_interval_ms=int(per_seconds * 1000))


def _hubspot(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.hubspot import HubSpotConnector
    from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN

    options = {"page_size": 10}
    return HubSpotConnector.connect(
        "hubspot", requests.Session(), sandbox.url("hubspot"), Credentials(password=DEFAULT_TOKEN), options
    )


def _hootsuite_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub_dev.sandbox.hootsuite import HootsuiteSettings

    return HootsuiteSettings(rate_limit_per_second=max(1, round(requests_ / per_seconds)))


def _hootsuite(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.hootsuite import HootsuiteConnector
    from crmhub_dev.sandbox.hootsuite import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    credentials = Credentials(
        login=DEFAULT_CLIENT_ID, password=DEFAULT_CLIENT_SECRET, extra={"organization_id": sandbox.data.organization_id}
    )
    options = {"page_size": 10, "history_days": 120}
    return HootsuiteConnector.connect("hootsuite", requests.Session(), sandbox.url("hootsuite"), credentials, options)


def _dynamics_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub_dev.sandbox.dynamics import DynamicsSettings

    return DynamicsSettings(rate_limit_max=requests_, rate_limit_interval_ms=int(per_seconds * 1000))


def _dynamics(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.dynamics import DynamicsConnector

    fields = sandbox.airflow_connections()["dynamics"]
    credentials = Credentials(login=fields["login"], password=fields["password"], extra=fields["extra"])
    return DynamicsConnector.connect(
        "dynamics", requests.Session(), sandbox.url("dynamics"), credentials, {"page_size": 5}
    )


def _sprout_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub_dev.sandbox.sprout import SproutSettings

    return SproutSettings(rate_limit_per_minute=round(requests_ * 60 / per_seconds))


def _sprout(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.sprout import SproutConnector

    fields = sandbox.airflow_connections()["sprout"]
    credentials = Credentials(password=fields["password"], extra=fields["extra"])
    options = {"page_size": 10, "history_days": 120}
    return SproutConnector.connect("sprout", requests.Session(), sandbox.url("sprout"), credentials, options)


CASES = {
    # HubSpot private apps: 100 requests per 10 s (documented); 20 per 2 s keeps the run short.
    "hubspot": Case("hubspot", "contacts", 20, 2.0, _hubspot_settings, _hubspot, lambda: Window(None, DEFAULT_ANCHOR)),
    # Hootsuite: 20 requests per second per member (the sandbox's documented default).
    "hootsuite": Case(
        "hootsuite", "messages", 20, 1.0, _hootsuite_settings, _hootsuite, lambda: Window(None, DEFAULT_ANCHOR)
    ),
    # Dataverse: 6,000 requests per 5 minutes per user (documented); 20 per 2 s here.
    "dynamics": Case(
        "dynamics", "contacts", 20, 2.0, _dynamics_settings, _dynamics, lambda: Window(None, DEFAULT_ANCHOR)
    ),
    # Sprout Social: 60 requests per minute (documented; the sandbox enforces it over a sliding minute).
    # The client is given 10 per 10 s, the same rate in windows short enough to measure in minutes.
    "sprout": Case("sprout", "messages", 10, 10.0, _sprout_settings, _sprout, lambda: Window(None, DEFAULT_ANCHOR)),
}


def run_case(case: Case, people: int) -> dict[str, Any]:
    data = generate(seed=17, people=people, anchor=DEFAULT_ANCHOR)
    settings = case.settings(case.requests, case.per_seconds)
    with SandboxServer(data=data, vendors=(case.vendor,), settings={case.vendor: settings}) as sandbox:
        connector = case.connect(sandbox)
        connector.apply_rate_limits([{"requests": case.requests, "per_seconds": case.per_seconds, "paths": ()}])
        http = connector.http
        before = http.requests_made
        started = time.monotonic()
        records = pages = 0
        for page in connector.extract(case.object_type, case.window()):
            pages += 1
            records += len(page.records)
        elapsed = time.monotonic() - started
    made = http.requests_made - before
    configured = case.requests / case.per_seconds
    achieved = made / max(elapsed, 1e-9)
    # A window lets `requests` go at once, so n requests need at least ((n - 1) // requests) full
    # windows: the share of the limit reached is that floor over the time the pull really took.
    fastest = ((made - 1) // case.requests) * case.per_seconds
    return {
        "vendor": case.vendor,
        "object": case.object_type,
        "people": people,
        "requests": made,
        "pages": pages,
        "records": records,
        "seconds": round(elapsed, 2),
        "configured_rps": round(configured, 2),
        "achieved_rps": round(achieved, 2),
        "share_of_limit": round(fastest / elapsed, 3) if fastest else None,
        "vendor_429s": http.retries,
        "records_per_s": round(records / max(elapsed, 1e-9), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _pull_worker(vendor: str, url: str, redis_url: str | None, prefix: str, barrier: Any, out: Any) -> None:
    """One worker process: pull the case's object through the sandbox ``url``; report send times."""
    case = CASES[vendor]
    connector = case.connect(_VendorURL(vendor, url))  # type: ignore[arg-type]
    store = RedisRateLimitStore.from_url(redis_url, prefix=prefix) if redis_url else None
    connector.apply_rate_limits([{"requests": case.requests, "per_seconds": case.per_seconds, "paths": ()}], store)
    http = connector.http
    sent: list[float] = []
    wait_for_slot = http._wait_for_slot

    def timed(path: str) -> Any:
        admitted = wait_for_slot(path)
        sent.append(time.time())  # the moment the request may go: what the window limits
        return admitted

    http._wait_for_slot = timed  # type: ignore[method-assign]
    barrier.wait()
    records = pages = 0
    for page in connector.extract(case.object_type, case.window()):
        pages += 1
        records += len(page.records)
    out.put({
        "sent": sent, "requests": http.requests_made, "pages": pages, "records": records, "retries": http.retries,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })  # fmt: skip


class _VendorURL:
    """What a worker needs of the parent's running sandbox: the vendor's URL (HubSpot needs no more)."""

    def __init__(self, vendor: str, url: str) -> None:
        self.vendor, self._url = vendor, url

    def url(self, vendor: str) -> str:
        assert vendor == self.vendor
        return self._url


def run_workers(case: Case, people: int, workers: int, redis_url: str | None) -> dict[str, Any]:
    """``workers`` processes pull the same vendor at once, sharing its limit in Redis (None: per process)."""
    data = generate(seed=17, people=people, anchor=DEFAULT_ANCHOR)
    settings = case.settings(case.requests, case.per_seconds)
    prefix = f"crmhub-bench:{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, like workers on other machines
    with SandboxServer(data=data, vendors=(case.vendor,), settings={case.vendor: settings}) as sandbox:
        barrier, out = ctx.Barrier(workers), ctx.Queue()
        url = sandbox.url(case.vendor)
        procs = [
            ctx.Process(target=_pull_worker, args=(case.vendor, url, redis_url, prefix, barrier, out))
            for _ in range(workers)
        ]
        for proc in procs:
            proc.start()
        results = [out.get(timeout=3600) for _ in procs]
        for proc in procs:
            proc.join()
    if redis_url:
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    sent = sorted(t for r in results for t in r["sent"])
    made = len(sent)
    span = sent[-1] - sent[0]
    configured = case.requests / case.per_seconds
    # The first window may go at once (the limit allows a burst of `requests`); from then on a sliding
    # window lets `requests` more go per `per_seconds`: the achieved rate is the requests after the first
    # window's over the time they took, which is at most the configured rate if no window ever overflowed.
    achieved = (made - case.requests) / span if span > 0 else 0.0
    peak = max(bisect.bisect_left(sent, t + case.per_seconds) - i for i, t in enumerate(sent))
    return {
        "vendor": case.vendor,
        "object": case.object_type,
        "people": people,
        "workers": workers,
        "limiter": "shared (redis)" if redis_url else "per process",
        "requests": made,
        "seconds": round(span, 2),
        "configured_rps": round(configured, 2),
        "achieved_rps": round(achieved, 2),
        "rate_of_limit": round(achieved / configured, 3),
        # the single-process table's measure: least time the pull could take at the limit over its time
        "share_of_limit": round((made - 1) // case.requests * case.per_seconds / span, 3) if span > 0 else None,
        "plain_rps": round(made / span, 2) if span > 0 else None,
        "peak_window": f"{peak}/{case.requests} per {case.per_seconds:g}s",
        "peak_of_limit": round(peak / case.requests, 3),
        "vendor_429s": sum(r["retries"] for r in results),
        "records_per_s": round(sum(r["records"] for r in results) / max(span, 1e-9), 1),
        "peak_rss_mb": round(max(r["rss"] for r in results), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vendors", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--people", nargs="+", type=int, default=[2500], help="sandbox people (scale factors)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table for BENCHMARKS.md")
    parser.add_argument("--workers", type=int, default=1, help="processes pulling the same vendor at once")
    parser.add_argument(
        "--limiter", choices=("shared", "process"), default="shared",
        help="with --workers: the limit shared in Redis, or kept per process (before issue 16)",
    )  # fmt: skip
    parser.add_argument(
        "--redis-url", default=os.environ.get(ENV_VAR) or "redis://127.0.0.1:6379/0",
        help=f"the shared limiter's Redis (default: ${ENV_VAR} or the local Redis)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.workers > 1:
        if set(args.vendors) - {"hubspot"}:
            parser.error("--workers: only hubspot (the other connectors read sandbox state the workers lack)")
        return _main_workers(args)
    rows = []
    for people in args.people:
        for name in args.vendors:
            row = run_case(CASES[name], people)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.markdown:
        print()
        print("| vendor | object | people | requests | seconds | limit (req/s) | achieved (req/s) | share | 429s "
              "| records/s | peak RSS (MB) |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['vendor']} | {r['object']} | {r['people']} | {r['requests']} | {r['seconds']} "
                f"| {r['configured_rps']} | {r['achieved_rps']} | {r['share_of_limit'] or 0:.1%} | {r['vendor_429s']} "
                f"| {r['records_per_s']} | {r['peak_rss_mb']} |"
            )
    failed = [r for r in rows if (r["share_of_limit"] or 0) < 0.9 or r["vendor_429s"]]
    return 1 if failed else 0


def _main_workers(args: argparse.Namespace) -> int:
    rows = []
    for people in args.people:
        for name in args.vendors:
            redis_url = args.redis_url if args.limiter == "shared" else None
            row = run_workers(CASES[name], people, args.workers, redis_url)
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.markdown:
        print()
        print("| vendor | object | people | workers | limiter | requests | seconds | limit (req/s) | achieved (req/s) "
              "| % of limit | share | busiest window | 429s |")  # fmt: skip
        print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['vendor']} | {r['object']} | {r['people']} | {r['workers']} | {r['limiter']} | {r['requests']} "
                f"| {r['seconds']} | {r['configured_rps']} | {r['achieved_rps']} | {r['rate_of_limit']:.1%} "
                f"| {r['share_of_limit'] or 0:.1%} | {r['peak_window']} | {r['vendor_429s']} |"
            )
    failed = [r for r in rows if r["rate_of_limit"] > 1 or r["peak_of_limit"] > 1 or r["vendor_429s"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
