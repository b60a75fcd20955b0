"""Sprout Social connector against the fake Sprout over real HTTP: paging, 202, faults, landing, mapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RetryPolicy
from crmhub.connectors.sprout import SproutConnector
from crmhub.errors import SourceDataError
from crmhub.model import CAMPAIGN_COLUMNS, CONTACT_COLUMNS, INTERACTION_COLUMNS
from crmhub.stages.ingest import ingest
from crmhub.warehouse.api import Warehouse
from crmhub_dev.sandbox import datagen, sprout
from crmhub_dev.sandbox.server import SandboxServer

ANCHOR = datagen.DEFAULT_ANCHOR
FULL = Window(None, ANCHOR)
FAST = {"page_size": 10, "not_ready_wait": 0.01}


def roomy() -> sprout.SproutSettings:
    return sprout.SproutSettings(rate_limit_per_minute=100_000)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(seed=5, people=60, vendors=("sprout",), settings={"sprout": roomy()}) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


def make_connector(server: SandboxServer, **options: object) -> SproutConnector:
    fields = server.airflow_connections()["sprout"]
    credentials = Credentials(login=fields["login"], password=fields["password"], extra=fields["extra"])
    connector = SproutConnector.connect("sprout", requests.Session(), server.url("sprout"), credentials,
                                        {**FAST, **options})  # fmt: skip
    assert isinstance(connector, SproutConnector)
    connector.http.policy = RetryPolicy(max_attempts=4, base_backoff=0.01, max_backoff=0.05)
    return connector


@pytest.fixture
def connector(sandbox: SandboxServer) -> SproutConnector:
    return make_connector(sandbox)


@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


def pull(connector: SproutConnector, object_type: str, window: Window = FULL) -> list:
    return [record for page in connector.extract(object_type, window) for record in page.records]


def served(server: SandboxServer) -> dict:
    return server.data.vendors["sprout"]


def landed_ids(warehouse: Warehouse, object_type: str) -> list[str]:
    frame = warehouse.query(
        f"SELECT source_id FROM raw.payloads WHERE source = 'sprout' AND object_type = '{object_type}'"
    )
    return sorted(frame["source_id"])


def test_full_pull_pages_by_cursor_and_gets_every_message_once(connector, sandbox):
    records = pull(connector, "messages")
    expected = sorted(m["guid"] for m in served(sandbox)["messages"])
    assert sorted(r.source_id for r in records) == expected
    assert connector.http.requests_made > len(expected) / 10  # ten per page: the cursor was followed


def test_the_customer_id_is_read_from_the_bootstrap_call_when_not_configured(sandbox):
    connector = SproutConnector.connect("sprout", requests.Session(), sandbox.url("sprout"),
                                        Credentials(password=sprout.DEFAULT_TOKEN), FAST)  # fmt: skip
    assert connector.customer_id() == str(sprout.CUSTOMER_ID)


def test_incremental_window_returns_only_messages_created_inside_it(connector, sandbox):
    since = ANCHOR - timedelta(days=10)
    records = pull(connector, "messages", Window(since, ANCHOR))
    expected = {
        m["guid"] for m in served(sandbox)["messages"] if m["created_time"] >= since.strftime("%Y-%m-%dT%H:%M:%SZ")
    }
    assert {r.source_id for r in records} == expected and expected


def test_messages_carry_the_requested_fields_and_their_created_time(connector):
    record = pull(connector, "messages")[0]
    assert {"guid", "created_time", "post_type", "from", "internal", "customer_profile_id"} <= set(record.payload)
    assert record.source_updated_at is not None and record.source_updated_at.tzinfo is not None


def test_profiles_tags_and_follower_analytics_are_listed(connector, sandbox):
    assert {r.source_id for r in pull(connector, "profiles")} == {
        str(p["customer_profile_id"]) for p in sprout.PROFILES
    }
    assert {r.source_id for r in pull(connector, "tags")} == {str(t["tag_id"]) for t in sprout.TAGS}
    analytics = pull(connector, "profile_analytics", Window(ANCHOR - timedelta(days=7), ANCHOR))
    assert len(analytics) == 4 * 8  # four profiles, eight days (both ends included)
    assert all(r.payload["metrics"]["lifetime_snapshot.followers_count"] > 0 for r in analytics)


def test_not_ready_202_is_asked_again_for_the_same_page(sandbox):
    settings = sprout.SproutSettings(rate_limit_per_minute=100_000, not_ready_once_per_page=True)
    with SandboxServer(data=sandbox.data, vendors=("sprout",), settings={"sprout": settings}) as server:
        connector = make_connector(server)
        records = pull(connector, "messages")
    assert sorted(r.source_id for r in records) == sorted(m["guid"] for m in served(sandbox)["messages"])
    assert connector.not_ready_answers >= 10  # once for every page


def test_a_bare_429_without_retry_after_is_backed_off_and_the_page_retried(connector, sandbox):
    sandbox.set_faults("sprout", rate_limit=2)
    records = pull(connector, "messages")
    assert len(records) == len(served(sandbox)["messages"])
    assert connector.http.retries == 2


def test_the_documented_60_per_minute_limit_answers_429_past_the_budget(sandbox):
    settings = sprout.SproutSettings(rate_limit_per_minute=3)
    with SandboxServer(data=sandbox.data, vendors=("sprout",), settings={"sprout": settings}) as server:
        headers = {"Authorization": f"Bearer {sprout.DEFAULT_TOKEN}"}
        codes = [requests.get(f"{server.url('sprout')}/v1/metadata/client", headers=headers).status_code
                 for _ in range(4)]  # fmt: skip
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("fault", ["server_error_page", "html_error_page", "malformed_page", "duplicate_page"])
def test_page_faults_recover_or_fail_naming_the_page_and_land_no_duplicate_or_loss(fault, sandbox, warehouse):
    connector = make_connector(sandbox)
    connector.customer_id(), connector.profile_ids()  # the fault counter counts message pages only
    sandbox.set_faults("sprout", **{fault: 3})
    expected = sorted(m["guid"] for m in served(sandbox)["messages"])
    try:
        ingest(connector, "messages", FULL, warehouse, "run-1")
    except SourceDataError as exc:
        assert fault in ("html_error_page", "malformed_page")
        assert "sprout" in str(exc) and "/messages" in str(exc) and "page 3" in str(exc)
        assert landed_ids(warehouse, "messages") == []
        sandbox.clear_faults()
        ingest(make_connector(sandbox), "messages", FULL, warehouse, "run-2")  # the next run gets everything
    assert landed_ids(warehouse, "messages") == expected


def test_slow_responses_still_complete(connector, sandbox, warehouse):
    sandbox.set_faults("sprout", slow_ms=20)
    stats = ingest(connector, "tags", FULL, warehouse, "run-1")
    assert stats.landed == len(sprout.TAGS)


def test_a_token_revoked_mid_run_fails_naming_the_page_and_keeps_the_pages_before(sandbox, warehouse):
    with SandboxServer(data=sandbox.data, vendors=("sprout",), settings={"sprout": roomy()}) as server:
        connector = make_connector(server)
        server.set_faults("sprout", expire_token_after=4)
        with pytest.raises(SourceDataError, match=r"sprout: POST /v1/\d+/messages page \d+: HTTP 401"):
            ingest(connector, "messages", FULL, warehouse, "run-1")
    ids = landed_ids(warehouse, "messages")  # what came before the 401 landed, nothing twice
    assert len(ids) == len(set(ids))


def test_every_object_lands_through_its_raw_quality_suite(connector, sandbox, warehouse):
    for object_type in connector.objects:
        stats = ingest(connector, object_type, Window(ANCHOR - timedelta(days=30), ANCHOR), warehouse, "run-1")
        assert stats.landed == stats.records > 0 and stats.quality_warnings == 0
    suites = set(warehouse.query("SELECT DISTINCT stage FROM audit.quality_results")["stage"])
    assert {f"raw_sprout_{o}" for o in connector.objects} <= suites


def canonical(connector: SproutConnector):
    return connector.to_canonical(
        {o: [r.payload for r in pull(connector, o)] for o in ("profiles", "tags", "messages")}
    )


def test_message_authors_become_social_contacts_keyed_network_and_handle(connector, sandbox):
    batch = canonical(connector)
    assert list(batch.contacts.columns) == CONTACT_COLUMNS
    truth = {r["source_id"] for p in sandbox.ground_truth["persons"] for r in p["source_records"]
             if r["source"] == "sprout"}  # fmt: skip
    assert set(batch.contacts["source_id"]) == truth
    assert all(sid == f"{net}:{handle.lower()}" for sid, net, handle in
               batch.contacts[["source_id", "social_network", "social_handle"]].itertuples(index=False))  # fmt: skip
    assert batch.contacts["social_followers"].isna().all()  # the inbox API gives no author followers


def test_inbound_messages_and_replies_are_attributed_to_their_author(connector, sandbox):
    batch = canonical(connector)
    assert list(batch.interactions.columns) == INTERACTION_COLUMNS
    truth = served(sandbox)["message_truth"]
    attributed = batch.interactions.dropna(subset=["contact_source_id"])
    assert set(attributed["source_id"]) == {guid for guid, person in truth.items() if person}
    replies = batch.interactions[batch.interactions["interaction_type"] == "reply"]
    assert len(replies) and set(replies["direction"]) == {"outbound"} and replies["contact_source_id"].notna().all()
    assert set(batch.interactions["direction"]) == {"inbound", "outbound"}
    assert {"mention", "dm", "comment"} <= set(batch.interactions["interaction_type"])


def test_campaign_tags_become_campaigns_and_name_the_interactions_campaign(connector):
    batch = canonical(connector)
    assert list(batch.campaigns.columns) == CAMPAIGN_COLUMNS
    names = {name for name, _ in datagen.CAMPAIGNS}
    assert set(batch.campaigns["name"]) <= names and len(batch.campaigns) >= 2
    posts = batch.interactions[batch.interactions["campaign"].isin(names)]
    assert len(posts) and posts["campaign"].isin(set(batch.campaigns["name"])).all()


def test_labels_are_never_campaigns_unless_campaign_tags_names_them():
    """Issue 14: a message with only a label (service, klacht) has no campaign; ``campaign_tags`` makes one."""
    tags = [{"tag_id": 1, "text": "klacht", "type": "LABEL"}, {"tag_id": 2, "text": "Lente", "type": "LABEL"}]
    messages = [
        {"guid": f"g{i}", "created_time": "2025-03-01T09:00:00Z", "text": "hoi", "network": "TWITTER",
         "post_type": "TWITTER_MENTION", "from": {"guid": "u1", "screen_name": "sanne_b"},
         "internal": {"tags": [{"id": tag}]}}
        for i, tag in ((1, 1), (2, 2))
    ]  # fmt: skip
    plain = SproutConnector("sprout", None, {}).to_canonical({"tags": tags, "messages": messages})
    assert plain.interactions["campaign"].isna().all() and plain.campaigns.empty
    configured = SproutConnector("sprout", None, {"campaign_tags": ["lente"]})
    batch = configured.to_canonical({"tags": tags, "messages": messages})
    assert batch.interactions.set_index("source_id")["campaign"].to_dict() == {"g1": None, "g2": "Lente"}
    assert batch.campaigns["name"].tolist() == ["Lente"]
