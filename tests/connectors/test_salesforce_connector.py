"""Salesforce connector against the fake org: SOQL windows, queryAll deletes and merges, sessions, limits, faults."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.salesforce import SalesforceConnector
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CAMPAIGN_COLUMNS, CASE_COLUMNS, CONTACT_COLUMNS, OPPORTUNITY_COLUMNS
from crmhub.stages.ingest import ingest
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.salesforce import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET, SalesforceSettings
from crmhub_dev.sandbox.server import SandboxServer

ANCHOR = datagen.DEFAULT_ANCHOR
FULL = Window(None, ANCHOR)
QUERY_MORE = "salesforce: GET /services/data/v60.0/query/01g"


@pytest.fixture(scope="module")
def sf_sandbox() -> Iterator[SandboxServer]:
    settings = SalesforceSettings(retry_after_seconds=0)
    with SandboxServer(seed=7, people=700, vendors=("salesforce",), settings={"salesforce": settings}) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_org(sf_sandbox: SandboxServer) -> Iterator[None]:
    sf_sandbox.clear_faults()
    yield
    sf_sandbox.clear_faults()
    sf_sandbox.apps["salesforce"].state.usage["used"] = 0


@pytest.fixture
def org(sf_sandbox: SandboxServer) -> dict[str, list[dict]]:
    return sf_sandbox.data.vendors["salesforce"]


def connect(sandbox: SandboxServer, secret: str = DEFAULT_CONSUMER_SECRET, **options: object) -> SalesforceConnector:
    connector = SalesforceConnector.connect(
        "salesforce",
        requests.Session(),
        sandbox.url("salesforce"),
        Credentials(login=DEFAULT_CONSUMER_KEY, password=secret, extra={"api_version": "60.0"}),
        {"batch_size": 200, **options},
    )
    assert isinstance(connector, SalesforceConnector)
    connector.http.policy.base_backoff = 0.05
    return connector


@pytest.fixture
def connector(sf_sandbox: SandboxServer) -> SalesforceConnector:
    return connect(sf_sandbox)


def pull(connector: SalesforceConnector, object_type: str, window: Window = FULL) -> list:
    return [record for page in connector.extract(object_type, window) for record in page.records]


@pytest.mark.parametrize("object_type", ["campaigns", "contacts", "opportunities", "cases"])
def test_full_pull_returns_every_record_once_including_deleted(connector, org, object_type):
    records = pull(connector, object_type)
    ids = [r.source_id for r in records]
    assert len(ids) == len(set(ids))
    assert set(ids) == {r["Id"] for r in org[object_type]}
    assert any(r.payload["IsDeleted"] for r in records)
    assert all(r.source_updated_at == parse_timestamp(r.payload["SystemModstamp"]) for r in records)


def test_contacts_span_several_pages_of_the_requested_batch_size(connector, org):
    pages = list(connector.extract("contacts", FULL))
    assert len(org["contacts"]) > 200
    assert [len(p.records) for p in pages] == [200, len(org["contacts"]) - 200]


def test_incremental_pull_returns_only_records_modified_in_the_window(connector, org):
    since, until = ANCHOR - timedelta(days=20), ANCHOR - timedelta(days=2)
    records = pull(connector, "contacts", Window(since, until))
    expected = {c["Id"] for c in org["contacts"] if since <= parse_timestamp(c["SystemModstamp"]) < until}
    assert expected and {r.source_id for r in records} == expected
    stamps = [r.source_updated_at for r in records]
    assert stamps == sorted(stamps)


def test_incremental_soql_filters_on_systemmodstamp_with_unquoted_literals(connector):
    soql = connector.soql("cases", Window(datetime(2026, 10, 1, 8, 0, 0, 500_000, tzinfo=UTC), ANCHOR))
    assert soql.startswith("SELECT Id, ContactId, Subject, Origin, Status, Priority, Type, IsClosed, ")
    assert " FROM Case WHERE SystemModstamp >= 2026-10-01T08:00:00Z AND SystemModstamp < 2026-11-01T00:00:00Z" in soql
    assert soql.endswith(" ORDER BY SystemModstamp, Id")
    assert "WHERE" not in connector.soql("cases", FULL)


def test_merged_and_deleted_contacts_reach_the_canonical_frame(connector, org):
    contacts = connector.to_canonical({"contacts": [r.payload for r in pull(connector, "contacts")]}).contacts
    assert list(contacts.columns) == CONTACT_COLUMNS
    merged = {c["Id"]: c["MasterRecordId"] for c in org["contacts"] if c["MasterRecordId"]}
    rows = contacts.set_index("source_id")
    assert merged and all(rows.loc[loser, "merged_into_source_id"] == winner for loser, winner in merged.items())
    assert all(rows.loc[loser, "is_deleted"] for loser in merged)
    assert all(not rows.loc[winner, "is_deleted"] for winner in merged.values())
    plain = {c["Id"] for c in org["contacts"] if c["IsDeleted"] and not c["MasterRecordId"]}
    assert plain and rows.loc[sorted(plain), "merged_into_source_id"].isna().all()
    assert int(contacts["is_deleted"].sum()) == sum(c["IsDeleted"] for c in org["contacts"])


def test_contacts_map_company_and_social_handle_without_the_at_sign(connector, org):
    contacts = connector.to_canonical({"contacts": [r.payload for r in pull(connector, "contacts")]}).contacts
    handles = contacts.dropna(subset=["social_handle"])
    assert len(handles) == sum(bool(c["Twitter_Handle__c"]) for c in org["contacts"])
    assert not handles["social_handle"].str.startswith("@").any()
    assert set(handles["social_network"]) == {"twitter"}
    with_account = {c["Id"]: c["Account"]["Name"] for c in org["contacts"] if c["Account"]}
    rows = contacts.set_index("source_id")
    assert all(rows.loc[cid, "company"] == name for cid, name in with_account.items())


def test_opportunities_map_contact_campaign_lead_source_and_currency(connector, org):
    frame = connector.to_canonical(
        {"opportunities": [r.payload for r in pull(connector, "opportunities")]}
    ).opportunities
    assert list(frame.columns) == OPPORTUNITY_COLUMNS and len(frame) == len(org["opportunities"])
    won = frame[frame["is_won"]]
    assert won["is_closed"].all() and (won["stage"] == "Closed Won").all() and "EUR" in set(won["currency"])
    social = frame[frame["lead_source"] == "Social Media"]
    social_campaigns = {c["Id"] for c in org["campaigns"] if c["Type"] == "Social Media"}
    assert len(social) and set(social["campaign_source_id"]) <= social_campaigns
    assert set(frame["contact_source_id"]) <= {c["Id"] for c in org["contacts"]}


def test_cases_map_origin_to_channel_and_type_to_complaint(connector, org):
    frame = connector.to_canonical({"cases": [r.payload for r in pull(connector, "cases")]}).cases
    assert list(frame.columns) == CASE_COLUMNS and len(frame) == len(org["cases"])
    assert set(frame["channel"]) == {c["Origin"].lower() for c in org["cases"]} <= {"twitter", "facebook", "email",
                                                                                    "phone", "web"}  # fmt: skip
    assert int(frame["is_complaint"].sum()) == sum(c["Type"] == "Complaint" for c in org["cases"])
    answered = frame.dropna(subset=["first_response_at"])
    assert len(answered) and (answered["first_response_at"] >= answered["created_at"]).all()


def test_campaigns_map_social_media_type_to_the_social_channel(connector, org):
    frame = connector.to_canonical({"campaigns": [r.payload for r in pull(connector, "campaigns")]}).campaigns
    assert list(frame.columns) == CAMPAIGN_COLUMNS
    social = set(frame.loc[frame["channel"] == "social", "name"])
    assert social == {name for name, _ in datagen.CAMPAIGNS}
    assert frame["is_deleted"].sum() == 1


def test_expired_session_is_renewed_once_and_the_pull_completes(connector, sf_sandbox, org):
    sf_sandbox.set_faults("salesforce", expire_token_after=1)
    records = pull(connector, "contacts")
    assert len(records) == len({r.source_id for r in records}) == len(org["contacts"])
    assert connector.session is not None and connector.session.tokens_issued == 2


def test_tokens_never_reach_the_logs(connector, sf_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    sf_sandbox.set_faults("salesforce", expire_token_after=1)
    pull(connector, "campaigns")
    pull(connector, "campaigns")
    tokens = list(sf_sandbox.apps["salesforce"].state.sessions)
    assert len(tokens) >= 2
    assert not any(token in caplog.text or token[:20] in caplog.text for token in tokens)


def test_daily_request_limit_fails_at_once_naming_source_and_limit(connector, sf_sandbox):
    sf_sandbox.apps["salesforce"].state.usage["used"] = 99_999  # the first page uses the last call left
    with pytest.raises(SourceDataError) as raised:
        pull(connector, "contacts")
    message = str(raised.value)
    assert message.startswith(f"{QUERY_MORE}") and "page 2" in message
    assert "daily API request limit exceeded (api-usage 100000/100000): REQUEST_LIMIT_EXCEEDED" in message
    assert connector.http.retries == 0


def test_api_usage_is_logged_after_a_pull_and_warned_above_80_percent(connector, sf_sandbox, caplog):
    caplog.set_level(logging.INFO, logger="crmhub.connectors.salesforce")
    pull(connector, "campaigns")
    assert "salesforce/campaigns: Salesforce API usage 1/100000 (0% of the daily limit)" in caplog.messages
    sf_sandbox.apps["salesforce"].state.usage["used"] = 85_000
    pull(connector, "campaigns")
    warning = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warning] == ["salesforce/campaigns: Salesforce API usage 85001/100000 (85% of "
                                                 "the daily limit)"]  # fmt: skip


def test_wrong_consumer_secret_fails_with_the_oauth_error_and_no_secret(sf_sandbox):
    connector = connect(sf_sandbox, secret="not-the-secret")
    with pytest.raises(SourceDataError) as raised:
        pull(connector, "contacts")
    assert str(raised.value) == (
        "salesforce: POST /services/oauth2/token: client credentials grant refused, HTTP 400: "
        "invalid_client: invalid client credentials"
    )


# -- faults, landed through the ingest stage into a real DuckDB warehouse ----------------------------
@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


def landed_ids(warehouse: Warehouse) -> list[str]:
    frame = warehouse.query(
        "SELECT source_id FROM raw.payloads WHERE source = 'salesforce' AND object_type = 'contacts'"
    )
    return list(frame["source_id"])


@pytest.mark.parametrize(
    "faults",
    [
        {"rate_limit": 3},
        {"server_error_page": 2},
        {"server_error_page": 2, "server_error_status": 503},
        {"duplicate_page": 2},
        {"expire_token_after": 1},
        {"slow_ms": 40},
    ],
    ids=["rate_limit", "server_error_page", "server_error_503", "duplicate_page", "expire_token", "slow"],
)
def test_recoverable_fault_lands_every_contact_exactly_once(connector, sf_sandbox, org, warehouse, faults):
    sf_sandbox.set_faults("salesforce", **faults)
    stats = ingest(connector, "contacts", FULL, warehouse, "run-fault")
    ids = landed_ids(warehouse)
    assert len(ids) == len(set(ids)) == stats.landed
    assert set(ids) == {c["Id"] for c in org["contacts"]}


def test_duplicate_page_is_counted_and_dropped_before_landing(connector, sf_sandbox, warehouse):
    sf_sandbox.set_faults("salesforce", duplicate_page=2)
    stats = ingest(connector, "contacts", FULL, warehouse, "run-dup")
    assert stats.duplicates_in_pull == 1 and stats.records == stats.landed + 1


@pytest.mark.parametrize(
    ("fault", "says"), [("malformed_page", "malformed JSON"), ("html_error_page", "expected JSON, got text/html")]
)
def test_bad_page_fails_naming_source_endpoint_and_page_after_landing_the_pages_before(
    connector, sf_sandbox, warehouse, fault, says
):
    connector.http.policy.base_backoff = 0.01
    sf_sandbox.set_faults("salesforce", **{fault: 2, "page_fault_repeat": 9})  # broken through every retry
    with pytest.raises(SourceDataError) as raised:
        ingest(connector, "contacts", FULL, warehouse, "run-bad")
    assert str(raised.value).startswith(QUERY_MORE) and " page 2: " in str(raised.value)
    assert says in str(raised.value)
    ids = landed_ids(warehouse)  # page 1 landed, nothing twice
    assert ids and len(ids) == len(set(ids))


def test_server_errors_beyond_the_retry_budget_fail_naming_the_page(connector, sf_sandbox, warehouse):
    sf_sandbox.set_faults("salesforce", rate_limit=50)
    connector.http.policy.max_attempts = 3
    with pytest.raises(SourceDataError, match=r"salesforce: GET /services/data/v60.0/queryAll page 1: gave up after 3"):
        ingest(connector, "contacts", FULL, warehouse, "run-503")
    assert landed_ids(warehouse) == []
