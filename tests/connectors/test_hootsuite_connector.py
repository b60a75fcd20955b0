"""Hootsuite connector: OAuth2, 4-week windows, cursor paging and the canonical mapping."""

from __future__ import annotations

import pytest

from crmhub.connectors.base import Window
from crmhub.errors import SourceDataError
from crmhub.model import INTERACTION_COLUMNS

from .conftest import ANCHOR


def pull(connector, object_type, window):
    return [record for page in connector.extract(object_type, window) for record in page.records]


def test_full_pull_walks_four_week_windows_and_gets_every_message(hootsuite_connector, sandbox):
    records = pull(hootsuite_connector, "messages", Window(None, ANCHOR))
    assert sorted(r.source_id for r in records) == sorted(m["id"] for m in sandbox.data.hootsuite_messages)
    assert hootsuite_connector.http.requests_made >= 5  # 120 days need at least five 28-day windows


def test_social_profiles_are_listed(hootsuite_connector, sandbox):
    records = pull(hootsuite_connector, "social_profiles", Window(None, ANCHOR))
    assert {r.source_id for r in records} == {p["id"] for p in sandbox.data.hootsuite_profiles}


def test_expired_tokens_are_renewed_during_a_pull(sandbox):
    import requests

    from crmhub.connectors.credentials import Credentials
    from crmhub.connectors.oauth import OAuthTokenProvider
    from crmhub_dev.sandbox import datagen, hootsuite

    clock = iter(range(0, 10_000, 4000))  # every call jumps past the token's one-hour lifetime
    provider = OAuthTokenProvider(
        "hootsuite",
        requests.Session(),
        f"{sandbox.hootsuite_url}/oauth2/token",
        hootsuite.DEFAULT_CLIENT_ID,
        hootsuite.DEFAULT_CLIENT_SECRET,
        {"grant_type": "organization_app", "organization_id": datagen.ORGANIZATION_ID},
        clock=lambda: float(next(clock)),
    )
    first = provider.header()
    second = provider.header()
    assert first != second and provider.tokens_issued == 2  # renewed with the rotating refresh token
    assert Credentials(password="secret").__repr__().count("secret") == 0


def test_wrong_client_secret_fails_clearly(sandbox):
    import requests

    from crmhub.connectors.credentials import Credentials
    from crmhub.connectors.hootsuite import HootsuiteConnector

    connector = HootsuiteConnector.connect(
        "hootsuite", requests.Session(), sandbox.hootsuite_url, Credentials(login="a", password="b")
    )
    with pytest.raises(SourceDataError, match="token endpoint refused"):
        pull(connector, "social_profiles", Window(None, ANCHOR))


def test_replies_are_attached_to_the_handle_they_answer(hootsuite_connector, sandbox):
    raw = {
        "social_profiles": [r.payload for r in pull(hootsuite_connector, "social_profiles", Window(None, ANCHOR))],
        "messages": [r.payload for r in pull(hootsuite_connector, "messages", Window(None, ANCHOR))],
    }
    batch = hootsuite_connector.to_canonical(raw)
    assert list(batch.interactions.columns) == INTERACTION_COLUMNS
    truth = sandbox.ground_truth["messages"]
    attributed = batch.interactions.dropna(subset=["contact_source_id"])
    assert set(attributed["source_id"]) == {m for m, person in truth.items() if person}
    assert set(batch.contacts["source_id"]) == set(attributed["contact_source_id"])
    handles = {r["source_id"] for p in sandbox.ground_truth["persons"] for r in p["source_records"]
               if r["source"] == "hootsuite"}  # fmt: skip
    assert set(batch.contacts["source_id"]) == handles
