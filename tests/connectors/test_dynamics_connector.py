"""Dynamics 365 connector against the Dataverse sandbox over HTTPS: paging, windows, merges, tokens, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.dynamics import DynamicsConnector
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.stages.ingest import ingest, pull_window
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.dynamics import DynamicsSettings
from crmhub_dev.sandbox.server import SandboxServer

ANCHOR = datagen.DEFAULT_ANCHOR
PAGE_SIZE = 7


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    settings = {"dynamics": DynamicsSettings(throttle_retry_after=1)}
    with SandboxServer(seed=11, people=120, vendors=("dynamics",), settings=settings, tls=True) as server:
        yield server


@pytest.fixture(autouse=True)
def no_faults(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.clear_faults()
    yield
    sandbox.clear_faults()


def make_session(sandbox: SandboxServer) -> requests.Session:
    """The session the hook would give: the sandbox CA trusted. ``trust_env`` off because requests lets
    ``REQUESTS_CA_BUNDLE`` (set on this machine) override a session's own ``verify``."""
    session = requests.Session()
    session.verify = sandbox.verify
    session.trust_env = False
    return session


def make_connector(sandbox: SandboxServer, session: requests.Session | None = None, **overrides: Any):
    fields = sandbox.airflow_connections()["dynamics"]
    extra = {**fields["extra"], **overrides.pop("extra", {})}
    credentials = Credentials(
        login=fields["login"], password=overrides.pop("password", fields["password"]), extra=extra
    )
    options = {"page_size": PAGE_SIZE, **overrides}
    connector = DynamicsConnector.connect(
        "dynamics", session or make_session(sandbox), sandbox.url("dynamics"), credentials, options
    )
    assert isinstance(connector, DynamicsConnector)
    return connector


@pytest.fixture
def connector(sandbox: SandboxServer) -> DynamicsConnector:
    return make_connector(sandbox)


def served(sandbox: SandboxServer, object_type: str = "contacts") -> list[dict[str, Any]]:
    return sandbox.data.vendors["dynamics"][object_type]


def pull(connector: DynamicsConnector, window: Window, object_type: str = "contacts") -> list[Any]:
    return [record for page in connector.extract(object_type, window) for record in page.records]


def test_full_pull_returns_every_contact_once_including_inactive_and_merged(connector, sandbox):
    records = pull(connector, Window(None, ANCHOR))
    ids = [r.source_id for r in records]
    assert sorted(ids) == sorted(c["contactid"] for c in served(sandbox))
    assert len(ids) == len(set(ids))
    assert any(r.payload["merged"] for r in records) and any(r.payload["statecode"] == 1 for r in records)


def test_incremental_pull_returns_only_contacts_modified_in_the_window(connector, sandbox):
    since = ANCHOR - timedelta(days=30)
    records = pull(connector, Window(since, ANCHOR))
    expected = {c["contactid"] for c in served(sandbox) if since <= parse_timestamp(c["modifiedon"]) < ANCHOR}
    assert expected and len(expected) < len(served(sandbox))
    assert sorted(r.source_id for r in records) == sorted(expected)


def test_pages_follow_the_absolute_next_link_exactly_as_served(sandbox):
    session = make_session(sandbox)
    exchanges: list[tuple[str, str | None]] = []

    def observe(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "/api/data/" in response.url:
            exchanges.append((response.request.url, response.json().get("@odata.nextLink")))

    session.hooks["response"].append(observe)
    pages = list(make_connector(sandbox, session).extract("contacts", Window(None, ANCHOR)))
    assert len(pages) == -(-len(served(sandbox)) // PAGE_SIZE) > 2
    assert all(len(p.records) == PAGE_SIZE for p in pages[:-1])
    links = [link for _, link in exchanges]
    assert links[-1] is None and all(link.startswith(sandbox.url("dynamics")) for link in links[:-1])
    assert all("$skiptoken=" in link for link in links[:-1])
    assert [url for url, _ in exchanges[1:]] == links[:-1]  # each next request is the nextLink, unchanged


def test_requests_carry_the_odata_headers_and_page_size_preference(sandbox):
    session = make_session(sandbox)
    sent: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda r, *a, **k: sent.append(r.request) if "/api/data/" in r.url else None)
    pull(make_connector(sandbox, session), Window(None, ANCHOR))
    headers = sent[-1].headers
    assert headers["OData-MaxVersion"] == "4.0" and headers["OData-Version"] == "4.0"
    assert headers["Accept"] == "application/json"
    assert f"odata.maxpagesize={PAGE_SIZE}" in headers["Prefer"]


def test_merged_and_deactivated_contacts_reach_the_canonical_frame_as_deleted(connector, sandbox):
    records = pull(connector, Window(None, ANCHOR))
    frame = connector.to_canonical({"contacts": [r.payload for r in records]}).contacts
    by_id = frame.set_index("source_id")
    for contact in served(sandbox):
        row = by_id.loc[contact["contactid"]]
        assert bool(row["is_deleted"]) is (contact["statecode"] == 1)
        if contact["merged"]:
            assert row["merged_into_source_id"] == contact["_masterid_value"]
            assert not by_id.loc[row["merged_into_source_id"]]["is_deleted"]  # the winner is live
        else:
            assert row["merged_into_source_id"] is None


def test_tussenvoegsel_in_middlename_becomes_the_name_prefix(connector, sandbox):
    with_prefix = [c for c in served(sandbox) if c["middlename"]]
    assert with_prefix
    frame = connector.to_canonical({"contacts": with_prefix}).contacts
    assert list(frame["name_prefix"]) == [c["middlename"] for c in with_prefix]
    assert list(frame["last_name"]) == [c["lastname"] for c in with_prefix]


def test_company_comes_from_the_parent_account_formatted_value(connector, sandbox):
    frame = connector.to_canonical({"contacts": [r.payload for r in pull(connector, Window(None, ANCHOR))]}).contacts
    expected = {c["contactid"]: c["_company_name"] for c in served(sandbox)}
    assert frame["company"].notna().any()
    assert all(expected[sid] == company for sid, company in zip(frame["source_id"], frame["company"], strict=True))


def test_cases_map_channel_complaint_state_and_first_response(connector, sandbox):
    records = pull(connector, Window(None, ANCHOR), "incidents")
    assert sorted(r.source_id for r in records) == sorted(i["incidentid"] for i in served(sandbox, "incidents"))
    cases = connector.to_canonical({"incidents": [r.payload for r in records]}).cases.set_index("source_id")
    channels = {1: "phone", 2: "email", 3: "web", 2483: "facebook", 3986: "twitter"}
    for incident in served(sandbox, "incidents"):
        row = cases.loc[incident["incidentid"]]
        assert row["channel"] == channels[incident["caseorigincode"]]
        assert bool(row["is_complaint"]) is (incident["casetypecode"] == 2)
        assert bool(row["is_closed"]) is (incident["statecode"] != 0)
        assert row["contact_source_id"] == incident["_customerid_value"]
        kpi = incident["firstresponsebykpiid"]
        if kpi:
            assert row["first_response_at"] == parse_timestamp(kpi["succeededon"])


def test_token_is_fetched_once_and_reused_across_pages(connector):
    pull(connector, Window(None, ANCHOR))
    assert connector.tokens is not None and connector.tokens.tokens_issued == 1
    assert connector.http.requests_made > 2


def test_token_revoked_mid_run_is_renewed_and_the_pull_completes(connector, sandbox):
    sandbox.set_faults("dynamics", expire_token_after=2)
    records = pull(connector, Window(None, ANCHOR))
    assert sorted(r.source_id for r in records) == sorted(c["contactid"] for c in served(sandbox))
    assert connector.tokens is not None and connector.tokens.tokens_issued == 2


def test_refused_client_secret_fails_with_the_entra_code_and_without_the_secret(sandbox):
    connector = make_connector(sandbox, password="not-the-secret")
    with pytest.raises(SourceDataError) as raised:
        pull(connector, Window(None, ANCHOR))
    message = str(raised.value)
    assert "dynamics" in message and "token endpoint" in message and "AADSTS7000215" in message
    assert "not-the-secret" not in message


def test_throttling_waits_the_retry_after_the_service_asks_for(connector, sandbox):
    sandbox.set_faults("dynamics", rate_limit=2)
    started = time.monotonic()
    records = pull(connector, Window(None, ANCHOR))
    assert len(records) == len(served(sandbox))
    assert connector.http.retries == 2
    assert time.monotonic() - started >= 2.0  # Retry-After: 1, twice


def test_vendor_error_is_reported_with_its_code(connector):
    with pytest.raises(SourceDataError) as raised:
        connector.http.request_json("GET", "/api/data/v9.2/contacts?$search=jansen", page=1)
    message = str(raised.value)
    assert "HTTP 400" in message and "0x80060888" in message and "/api/data/v9.2/contacts page 1" in message


def test_next_link_to_another_host_is_refused_before_the_token_leaves(sandbox):
    """The server builds nextLink from the Host it was asked for; announce another host than we dial."""
    port = sandbox.url("dynamics").rsplit(":", 1)[1]
    session = make_session(sandbox)
    session.headers["Host"] = f"localhost:{port}"
    connector = make_connector(sandbox, session)
    connector.http.base_url = f"https://127.0.0.1:{port}"
    with pytest.raises(SourceDataError, match="page 1: @odata.nextLink leaves https://127.0.0.1"):
        pull(connector, Window(None, ANCHOR))


# -- faults through the ingest stage into a real DuckDB warehouse ------------------------------------
@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


def landed_ids(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query("SELECT source_id FROM raw.payloads WHERE source = 'dynamics'")
    return sorted(rows["source_id"])


FULL = pull_window(ANCHOR, ANCHOR, timedelta(0), full=True)


@pytest.mark.parametrize(
    "faults",
    [
        {"rate_limit": 3},
        {"server_error_page": 3},
        {"duplicate_page": 3},
        {"expire_token_after": 4},
        {"slow_ms": 150},
    ],
    ids=["throttled", "server_error", "duplicate_page", "token_expired", "slow"],
)
def test_recoverable_fault_lands_every_contact_exactly_once(connector, sandbox, warehouse, faults):
    sandbox.set_faults("dynamics", **faults)
    stats = ingest(connector, "contacts", FULL, warehouse, "run-1")
    assert landed_ids(warehouse) == sorted(c["contactid"] for c in served(sandbox))
    assert stats.landed == len(served(sandbox))


def test_duplicate_record_on_two_pages_is_counted_not_landed_twice(connector, sandbox, warehouse):
    sandbox.set_faults("dynamics", duplicate_page=2)
    stats = ingest(connector, "contacts", FULL, warehouse, "run-1")
    assert stats.duplicates_in_pull == 1 and stats.records == len(served(sandbox)) + 1


@pytest.mark.parametrize(
    ("fault", "says"),
    [("malformed_page", "malformed JSON"), ("html_error_page", "expected JSON, got text/html")],
)
def test_bad_page_fails_naming_source_endpoint_and_page_after_landing_the_pages_before(
    connector, sandbox, warehouse, fault, says
):
    connector.http.policy.base_backoff = 0.01
    sandbox.set_faults("dynamics", **{fault: 3, "page_fault_repeat": 9})  # broken through every retry
    with pytest.raises(SourceDataError) as raised:
        ingest(connector, "contacts", FULL, warehouse, "run-1")
    message = str(raised.value)
    assert message.startswith("dynamics: GET ") and "/api/data/v9.2/contacts page 3" in message and says in message
    ids = landed_ids(warehouse)  # pages 1 and 2 landed, nothing twice
    assert ids and len(ids) == len(set(ids)) and set(ids) < {c["contactid"] for c in served(sandbox)}


def test_rerun_after_a_bad_page_lands_everything_once(connector, sandbox, warehouse):
    connector.http.policy.base_backoff = 0.01
    sandbox.set_faults("dynamics", malformed_page=2, page_fault_repeat=9)
    with pytest.raises(SourceDataError):
        ingest(connector, "contacts", FULL, warehouse, "run-1")
    sandbox.clear_faults()
    ingest(connector, "contacts", FULL, warehouse, "run-2")
    again = ingest(connector, "contacts", FULL, warehouse, "run-3")
    assert landed_ids(warehouse) == sorted(c["contactid"] for c in served(sandbox)) and again.landed == 0


def test_persistent_throttling_fails_naming_source_endpoint_and_page(sandbox, warehouse):
    connector = make_connector(sandbox)
    connector.http.policy.max_attempts = 2
    sandbox.set_faults("dynamics", rate_limit=50)
    with pytest.raises(SourceDataError, match=r"dynamics: GET /api/data/v9.2/contacts page 1: gave up after 2"):
        ingest(connector, "contacts", FULL, warehouse, "run-1")
    assert landed_ids(warehouse) == []


def test_cases_land_through_their_raw_gate(connector, sandbox, warehouse):
    stats = ingest(connector, "incidents", FULL, warehouse, "run-1")
    assert stats.landed == len(served(sandbox, "incidents")) and stats.quality_warnings == 0


def test_clean_pulls_pass_the_raw_contact_gate_without_warnings(connector, sandbox, warehouse):
    full = ingest(connector, "contacts", FULL, warehouse, "run-1")
    incremental = ingest(connector, "contacts", pull_window(ANCHOR - timedelta(days=14), ANCHOR, timedelta(hours=1),
                                                           full=False), warehouse, "run-2")  # fmt: skip
    assert full.quality_warnings == 0 and incremental.quality_warnings == 0
    assert incremental.records > 0 and incremental.landed == 0  # already landed by the full pull
