"""TLS is verified by default, against the CA bundle the Connection names."""

from __future__ import annotations

from collections.abc import Iterator

import certifi
import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.errors import SourceDataError
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.server import SandboxServer


@pytest.fixture(scope="module")
def https_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=2, people=15, vendors=("hubspot",), tls=True) as sandbox:
        yield sandbox


def _connector(sandbox: SandboxServer, verify: bool | str) -> HubSpotConnector:
    session = requests.Session()
    session.verify = verify  # what the HTTP hook sets from the Connection's extra
    connector = HubSpotConnector.connect(
        "hubspot", session, sandbox.url("hubspot"), Credentials(password=hubspot.DEFAULT_TOKEN), {}
    )
    assert isinstance(connector, HubSpotConnector)
    return connector


def test_the_connections_ca_bundle_is_used_even_when_the_environment_names_another(
    https_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())  # requests would let this override the session
    pages = list(
        _connector(https_sandbox, https_sandbox.verify).extract("contacts", Window(None, https_sandbox.data.anchor))
    )
    assert sum(len(p.records) for p in pages) == len(https_sandbox.data.hubspot_contacts)


def test_an_untrusted_certificate_fails_at_once_saying_how_to_trust_it(https_sandbox: SandboxServer) -> None:
    connector = _connector(https_sandbox, certifi.where())
    with pytest.raises(SourceDataError, match=r"hubspot: GET /crm/v3/objects/contacts page 1: TLS verification failed"):
        next(iter(connector.extract("contacts", Window(None, https_sandbox.data.anchor))))
    assert connector.http.retries == 0
