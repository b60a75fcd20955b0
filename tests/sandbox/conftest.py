"""Shared sandbox servers: one roomy server for behaviour tests; tests of limits start their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from crmhub_dev.sandbox import HootsuiteSettings, HubSpotSettings, SandboxServer
from crmhub_dev.sandbox.hootsuite import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

CLIENT_AUTH = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    roomy_hubspot = HubSpotSettings(rate_limit_max=100_000, search_rate_limit_max=100_000)
    roomy_hootsuite = HootsuiteSettings(rate_limit_per_second=100_000)
    with SandboxServer(seed=42, people=200, hubspot_settings=roomy_hubspot,
                       hootsuite_settings=roomy_hootsuite) as server:  # fmt: skip
        yield server


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").clear_faults()


def _grant(base_url: str) -> dict[str, Any]:
    response = requests.post(
        f"{base_url}/oauth2/token",
        auth=CLIENT_AUTH,
        data={"grant_type": "organization_app", "organization_id": "626731"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture()
def grant_token() -> Callable[[str], dict[str, Any]]:
    """Grant an organization_app token the way Hootsuite requires: client credentials in HTTP Basic."""
    return _grant


@pytest.fixture()
def hootsuite_headers(sandbox: SandboxServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {_grant(sandbox.hootsuite_url)['access_token']}"}
