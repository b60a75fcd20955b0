"""Every sandbox fault on Hootsuite messages: the pull recovers (a revoked token is replaced through the
refresh token), or fails naming source, endpoint and page; raw holds no duplicate and loses no message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hootsuite import HootsuiteConnector
from crmhub.errors import SourceDataError
from crmhub.model import CAMPAIGN_COLUMNS
from crmhub.stages.ingest import ingest
from crmhub.warehouse.api import Warehouse
from crmhub_dev.sandbox import datagen, hootsuite

from .conftest import ANCHOR

FULL = Window(None, ANCHOR)
RECOVERED = [{"rate_limit": 2}, {"server_error_page": 3}, {"slow_ms": 30}, {"duplicate_page": 3},
             {"expire_token_after": 3}]  # fmt: skip
RECOVERED += [{"malformed_page": 3}, {"html_error_page": 3}]  # an unreadable page is fetched again
#: pages that stay broken through every retry
FAILING = [
    ({"malformed_page": 3, "page_fault_repeat": 9}, "page 3: malformed JSON"),
    ({"html_error_page": 3, "page_fault_repeat": 9}, "page 3: expected JSON"),
]


@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


@pytest.fixture
def connector(sandbox) -> HootsuiteConnector:
    credentials = Credentials(
        login=hootsuite.DEFAULT_CLIENT_ID,
        password=hootsuite.DEFAULT_CLIENT_SECRET,
        extra={"organization_id": datagen.ORGANIZATION_ID},
    )
    made = HootsuiteConnector.connect("hootsuite", requests.Session(), sandbox.hootsuite_url, credentials,
                                      {"page_size": 20})  # fmt: skip
    assert isinstance(made, HootsuiteConnector)
    return made


def landed(warehouse: Warehouse) -> list[str]:
    query = "SELECT source_id FROM raw.payloads WHERE source = 'hootsuite' AND object_type = 'messages'"
    return warehouse.query(query)["source_id"].tolist()


@pytest.mark.parametrize("fault", RECOVERED, ids=lambda f: next(iter(f)))
def test_transient_faults_are_recovered_and_every_message_lands_once(connector, sandbox, warehouse, fault):
    tokens = sandbox._app("hootsuite").state.tokens
    issued_before = len(tokens.issued)
    sandbox.set_faults("hootsuite", **fault)
    stats = ingest(connector, "messages", FULL, warehouse, "run-1")
    ids = landed(warehouse)
    assert len(ids) == len(set(ids)) == stats.landed
    assert set(ids) == {m["id"] for m in sandbox.data.hootsuite_messages}
    if "duplicate_page" in fault:
        assert stats.duplicates_in_pull == 1
    if "expire_token_after" in fault:
        assert len(tokens.issued) - issued_before == 2  # the revoked token was replaced once


@pytest.mark.parametrize(("fault", "says"), FAILING, ids=lambda f: next(iter(f)) if isinstance(f, dict) else "")
def test_bad_page_fails_naming_source_endpoint_and_page_after_landing_the_pages_before(
    connector, sandbox, warehouse, fault, says
):
    connector.http.policy.base_backoff = 0.01
    sandbox.set_faults("hootsuite", **fault)
    with pytest.raises(SourceDataError) as raised:
        ingest(connector, "messages", FULL, warehouse, "run-1")
    assert f"hootsuite: GET /v1/messages {says}" in str(raised.value)
    ids = landed(warehouse)  # pages 1 and 2 landed, nothing twice
    assert ids and len(ids) == len(set(ids))


def test_tags_of_broadcast_posts_become_campaigns_and_routing_tags_do_not(connector, sandbox):
    raw = {
        "social_profiles": [r.payload for p in connector.extract("social_profiles", FULL) for r in p.records],
        "messages": [r.payload for p in connector.extract("messages", FULL) for r in p.records],
    }
    batch = connector.to_canonical(raw)
    assert list(batch.campaigns.columns) == CAMPAIGN_COLUMNS
    broadcast_tags = {
        t
        for m in sandbox.data.hootsuite_messages
        if sandbox.ground_truth["messages"][m["id"]] is None
        for t in m["tags"]
    }
    assert set(batch.campaigns["name"]) == broadcast_tags and broadcast_tags <= set(sandbox.ground_truth["campaigns"])
    assert not {"service", "klacht", "sales"} & set(batch.interactions["campaign"].dropna())
    assert batch.contacts["social_followers"].isna().all()  # Hootsuite's API offers no follower counts
