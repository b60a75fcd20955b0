"""The client keeps to the vendor's configured request limits instead of running into 429s."""

from __future__ import annotations

import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RateLimit
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.server import SandboxServer


def test_rate_limit_has_room_until_the_window_is_full() -> None:
    limit = RateLimit(requests=2, per_seconds=10)
    assert limit.wait_time(100.0) == 0
    limit.record(100.0)
    limit.record(101.0)
    assert limit.wait_time(102.0) == 8.0  # the oldest request leaves the window at 110


def test_rate_limit_frees_a_slot_when_the_oldest_request_leaves_the_window() -> None:
    limit = RateLimit(requests=1, per_seconds=1)
    limit.record(5.0)
    assert limit.wait_time(6.0) == 0


def test_rate_limit_applies_only_to_its_paths() -> None:
    search = RateLimit(requests=5, per_seconds=1, paths=("/search",))
    assert search.applies("/crm/v3/objects/contacts/search")
    assert not search.applies("/crm/v3/objects/contacts")
    assert RateLimit(requests=5, per_seconds=1).applies("/anything")


def test_pull_at_the_configured_limit_gets_no_429_from_the_vendor() -> None:
    settings = hubspot.HubSpotSettings(rate_limit_max=4, rate_limit_interval_ms=500)
    with SandboxServer(seed=3, people=60, vendors=("hubspot",), hubspot_settings=settings) as sandbox:
        connector = HubSpotConnector.connect(
            "hubspot", requests.Session(), sandbox.hubspot_url, Credentials(password=hubspot.DEFAULT_TOKEN),
            {"page_size": 5},
        )  # fmt: skip
        connector.apply_rate_limits([{"requests": 4, "per_seconds": 0.5, "paths": ()}])
        pages = list(connector.extract("contacts", Window(None, sandbox.data.anchor)))
    assert len(pages) > 8  # more requests than one window holds
    assert connector.http.retries == 0  # never a 429: the client waited instead
    assert connector.http.throttled_seconds > 0
