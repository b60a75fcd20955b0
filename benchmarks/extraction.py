"""Extraction against the sandbox at the vendor's rate limit: how close to the limit, and never over it.

    .venv/bin/python benchmarks/extraction.py                       # every vendor, default scales
    .venv/bin/python benchmarks/extraction.py --vendors hubspot --people 2000 8000 --markdown

For each vendor the sandbox enforces a request window (the vendor's documented limit, or a faster one so
the run stays short: the ratio is what counts) and the connector is given the same limit as
sources.yaml would (``rate_limits``). A pull of one object type then runs through the real connector
and ``SourceHttpClient``. Printed per run: requests, elapsed seconds, achieved requests per second
against the configured rate (goal: at least 90%), 429s the vendor answered (goal: 0, i.e. never over
the limit), records per second and peak RSS. Not a test: it waits on rate windows by design.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from crmhub.connectors.base import Connector, Window
from crmhub.connectors.credentials import Credentials
from crmhub.sandbox.datagen import DEFAULT_ANCHOR, generate
from crmhub.sandbox.server import SandboxServer


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
    from crmhub.sandbox.hubspot import HubSpotSettings

    return HubSpotSettings(rate_limit_max=requests_, rate_limit_interval_ms=int(per_seconds * 1000))


def _hubspot(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.hubspot import HubSpotConnector
    from crmhub.sandbox.hubspot import DEFAULT_TOKEN

    options = {"page_size": 10}
    return HubSpotConnector.connect(
        "hubspot", requests.Session(), sandbox.url("hubspot"), Credentials(password=DEFAULT_TOKEN), options
    )


def _hootsuite_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub.sandbox.hootsuite import HootsuiteSettings

    return HootsuiteSettings(rate_limit_per_second=max(1, round(requests_ / per_seconds)))


def _hootsuite(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.hootsuite import HootsuiteConnector
    from crmhub.sandbox.hootsuite import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    credentials = Credentials(
        login=DEFAULT_CLIENT_ID, password=DEFAULT_CLIENT_SECRET, extra={"organization_id": sandbox.data.organization_id}
    )
    options = {"page_size": 10, "history_days": 120}
    return HootsuiteConnector.connect("hootsuite", requests.Session(), sandbox.url("hootsuite"), credentials, options)


def _dynamics_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub.sandbox.dynamics import DynamicsSettings

    return DynamicsSettings(rate_limit_max=requests_, rate_limit_interval_ms=int(per_seconds * 1000))


def _dynamics(sandbox: SandboxServer) -> Connector:
    from crmhub.connectors.dynamics import DynamicsConnector

    fields = sandbox.airflow_connections()["dynamics"]
    credentials = Credentials(login=fields["login"], password=fields["password"], extra=fields["extra"])
    return DynamicsConnector.connect(
        "dynamics", requests.Session(), sandbox.url("dynamics"), credentials, {"page_size": 5}
    )


def _sprout_settings(requests_: int, per_seconds: float) -> Any:
    from crmhub.sandbox.sprout import SproutSettings

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vendors", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--people", nargs="+", type=int, default=[2500], help="sandbox people (scale factors)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table for BENCHMARKS.md")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
