"""Connectors against the sandbox over real HTTP (the network edge is the sandbox, not mocks)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hootsuite import HootsuiteConnector
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub_dev.sandbox import datagen, hootsuite, hubspot
from crmhub_dev.sandbox.server import SandboxServer

ANCHOR = datagen.DEFAULT_ANCHOR


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=300, search_rate_limit_interval_ms=300)
    with SandboxServer(seed=5, people=60, hubspot_settings=settings) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


@pytest.fixture
def hubspot_connector(sandbox: SandboxServer) -> HubSpotConnector:
    connector = HubSpotConnector.connect(
        "hubspot",
        requests.Session(),
        sandbox.hubspot_url,
        Credentials(password=hubspot.DEFAULT_TOKEN),
        {"page_size": 25},
    )
    assert isinstance(connector, HubSpotConnector)
    return connector


@pytest.fixture
def hootsuite_connector(sandbox: SandboxServer) -> HootsuiteConnector:
    credentials = Credentials(
        login=hootsuite.DEFAULT_CLIENT_ID,
        password=hootsuite.DEFAULT_CLIENT_SECRET,
        extra={"organization_id": datagen.ORGANIZATION_ID},
    )
    connector = HootsuiteConnector.connect("hootsuite", requests.Session(), sandbox.hootsuite_url, credentials, {})
    assert isinstance(connector, HootsuiteConnector)
    return connector
