"""Microsoft's own Dataverse client reads the sandbox unchanged: proof the fake speaks the real wire format.

The client insists on https, resolves the entity set through ``EntityDefinitions`` first, asks an
azure-identity ``TokenCredential`` for ``<base url>/.default`` and follows ``@odata.nextLink`` itself.
The credential here is the smallest real one: a client-credentials grant against the sandbox's token
endpoint (what ``ClientSecretCredential`` does against login.microsoftonline.com).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError

from crmhub_dev.sandbox.dynamics import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID
from crmhub_dev.sandbox.server import SandboxServer


class SandboxClientSecretCredential:
    """An azure-core ``TokenCredential``: client id and secret exchanged at the sandbox's token endpoint."""

    def __init__(self, token_url: str, verify: bool | str) -> None:
        self.token_url, self.verify = token_url, verify
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        self.scopes += scopes
        form = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET, "scope": scopes[0]}  # fmt: skip
        response = requests.post(self.token_url, data=form, verify=self.verify, timeout=10)
        response.raise_for_status()
        body = response.json()
        return AccessToken(body["access_token"], int(time.time()) + int(body["expires_in"]))


@pytest.fixture(scope="module")
def dynamics() -> Iterator[SandboxServer]:
    with SandboxServer(seed=3, people=80, vendors=("dynamics",), tls=True) as server:
        yield server


@pytest.fixture
def client(dynamics: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataverseClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(dynamics.ca_bundle))  # the client uses requests' CA lookup
    base = dynamics.url("dynamics")
    credential = SandboxClientSecretCredential(f"{base}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token", dynamics.verify)
    with DataverseClient(base, credential) as client:  # its pooled session is closed on exit
        client.test_credential = credential  # type: ignore[attr-defined]
        yield client


def contacts(dynamics: SandboxServer) -> list[dict[str, Any]]:
    return dynamics.data.vendors["dynamics"]["contacts"]


def test_official_client_pages_through_every_contact(client, dynamics):
    result = client.records.list("contact", select=["fullname", "modifiedon"], page_size=9)
    ids = [record["contactid"] for record in result]
    assert sorted(ids) == sorted(c["contactid"] for c in contacts(dynamics))
    assert len(ids) > 9  # more than one page, so the client followed nextLink
    assert client.test_credential.scopes[0] == f"{dynamics.url('dynamics')}/.default"


def test_official_client_filters_on_modifiedon(client, dynamics):
    flt = "modifiedon ge 2026-09-01T00:00:00Z and modifiedon lt 2026-10-15T00:00:00Z"
    result = client.records.list("contact", select=["modifiedon"], filter=flt, orderby=["modifiedon asc"], page_size=4)
    got = [record["modifiedon"] for record in result]
    expected = sorted(
        c["modifiedon"]
        for c in contacts(dynamics)
        if "2026-09-01T00:00:00Z" <= c["modifiedon"] < "2026-10-15T00:00:00Z"
    )
    assert got and got == expected


def test_official_client_reads_one_contact_by_id(client, dynamics):
    contact = contacts(dynamics)[0]
    record = client.records.retrieve("contact", contact["contactid"], select=["fullname", "emailaddress1"])
    assert record["fullname"] == contact["fullname"] and record["emailaddress1"] == contact["emailaddress1"]


def test_official_client_surfaces_the_vendor_error(client):
    with pytest.raises(HttpError, match="Could not find a property named 'no_such_column'"):
        client.records.list("contact", select=["no_such_column"])
