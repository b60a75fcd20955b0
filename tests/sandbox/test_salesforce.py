"""The fake Salesforce answers like Salesforce: OAuth token, SOQL paging, queryAll, errors, limits, faults, data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from crmhub.connectors.timestamps import parse_timestamp
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.datagen import generate
from crmhub_dev.sandbox.salesforce import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    parse_soql,
    sf_id,
)
from crmhub_dev.sandbox.server import SandboxServer

API = "/services/data/v60.0"
GRANT = {
    "grant_type": "client_credentials",
    "client_id": DEFAULT_CONSUMER_KEY,
    "client_secret": DEFAULT_CONSUMER_SECRET,
}
CONTACT_FIELDS = "SELECT Id, LastName, Account.Name, SystemModstamp, IsDeleted, MasterRecordId FROM Contact"


@pytest.fixture(scope="module")
def sf() -> Iterator[SandboxServer]:
    with SandboxServer(seed=11, people=650, vendors=("salesforce",), tls=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset(sf: SandboxServer) -> Iterator[None]:
    sf.clear_faults()
    yield
    sf.clear_faults()
    sf.apps["salesforce"].state.usage["used"] = 0


@pytest.fixture
def org(sf: SandboxServer) -> dict[str, list[dict[str, Any]]]:
    return sf.data.vendors["salesforce"]


def token(sf: SandboxServer) -> dict[str, Any]:
    response = requests.post(f"{sf.url('salesforce')}/services/oauth2/token", data=GRANT, verify=sf.verify, timeout=10)
    response.raise_for_status()
    return response.json()


@pytest.fixture
def get(sf: SandboxServer):
    """GET on the instance with a fresh session; ``batch`` sets the Sforce-Query-Options header."""
    grant = token(sf)

    def _get(path: str, batch: int | None = None, **params: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        if batch:
            headers["Sforce-Query-Options"] = f"batchSize={batch}"
        url = path if path.startswith("http") else f"{grant['instance_url']}{path}"
        return requests.get(url, params=params or None, headers=headers, verify=sf.verify, timeout=10)

    return _get


def page_through(get, path: str, soql: str, batch: int | None = None) -> tuple[list[dict], list[dict]]:
    """All records of a query and the page bodies (without their records) on the way."""
    body = get(path, batch, q=soql).json()
    records, pages = list(body["records"]), [body]
    while not body["done"]:
        body = get(body["nextRecordsUrl"], batch).json()
        records += body["records"]
        pages.append(body)
    return records, pages


def test_token_response_has_salesforce_fields_and_no_expiry(sf):
    grant = token(sf)
    assert set(grant) == {"access_token", "instance_url", "id", "token_type", "issued_at", "signature", "scope"}
    assert grant["instance_url"] == sf.url("salesforce") and grant["token_type"] == "Bearer"
    assert grant["issued_at"].isdigit() and grant["id"].endswith("/id/00D5J000000SbX2UAK/0055J000001IxQaQAK")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({**GRANT, "client_secret": "wrong"}, "invalid_client"),
        ({**GRANT, "grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "invalid_client_id"),
    ],
)
def test_token_endpoint_errors_are_oauth_errors_with_status_400(sf, form, error):
    response = requests.post(f"{sf.url('salesforce')}/services/oauth2/token", data=form, verify=sf.verify)
    assert response.status_code == 400 and response.json()["error"] == error


def test_query_pages_with_relative_next_records_url_at_the_requested_batch_size(get, org):
    records, pages = page_through(get, f"{API}/query", "SELECT Id FROM Contact", batch=200)
    live = [c["Id"] for c in org["contacts"] if not c["IsDeleted"]]
    assert len(live) > 200 and len(pages) == 2
    assert pages[0]["totalSize"] == len(live) and pages[0]["done"] is False and len(pages[0]["records"]) == 200
    assert re.fullmatch(r"/services/data/v60\.0/query/01g[0-9A-Za-z]{15}-200", pages[0]["nextRecordsUrl"])
    assert "nextRecordsUrl" not in pages[1] and pages[1]["done"] is True
    assert sorted(r["Id"] for r in records) == sorted(live)


def test_batch_size_is_kept_within_200_and_2000(get, org):
    assert len(get(f"{API}/query", 50, q="SELECT Id FROM Contact").json()["records"]) == 200
    body = get(f"{API}/queryAll", 5000, q="SELECT Id FROM Contact").json()
    assert body["done"] and len(body["records"]) == len(org["contacts"])


def test_query_hides_deleted_records_and_query_all_returns_merges_with_the_winner(get, org):
    live, _ = page_through(get, f"{API}/query", CONTACT_FIELDS)
    everything, _ = page_through(get, f"{API}/queryAll", CONTACT_FIELDS)
    assert not any(r["IsDeleted"] for r in live)
    deleted = [r for r in everything if r["IsDeleted"]]
    merged = [r for r in deleted if r["MasterRecordId"]]
    assert len(everything) == len(org["contacts"]) == len(live) + len(deleted)
    live_ids = {r["Id"] for r in live}
    assert merged and all(r["MasterRecordId"] in live_ids for r in merged)
    assert len(deleted) > len(merged)  # plain deletes too


def test_records_carry_attributes_and_exactly_the_selected_fields_in_order(get):
    record = get(f"{API}/query", q=CONTACT_FIELDS.replace("Id,", "id,") + " LIMIT 1").json()["records"][0]
    assert list(record) == ["attributes", "Id", "LastName", "Account", "SystemModstamp", "IsDeleted", "MasterRecordId"]
    assert record["attributes"] == {"type": "Contact", "url": f"{API}/sobjects/Contact/{record['Id']}"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", record["SystemModstamp"])
    if record["Account"] is not None:
        assert record["Account"]["attributes"]["type"] == "Account" and "Name" in record["Account"]


def test_systemmodstamp_window_and_order_match_the_stored_records(get, org):
    since, until = datagen.DEFAULT_ANCHOR - timedelta(days=30), datagen.DEFAULT_ANCHOR - timedelta(days=3)
    soql = (
        f"SELECT Id, SystemModstamp FROM Case WHERE SystemModstamp >= {since:%Y-%m-%dT%H:%M:%SZ} "
        f"AND SystemModstamp < {until:%Y-%m-%dT%H:%M:%SZ} ORDER BY SystemModstamp, Id"
    )
    records, _ = page_through(get, f"{API}/queryAll", soql)
    expected = {c["Id"] for c in org["cases"] if since <= parse_timestamp(c["SystemModstamp"]) < until}
    assert expected and {r["Id"] for r in records} == expected
    keys = [(r["SystemModstamp"], r["Id"]) for r in records]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("soql", "code", "message"),
    [
        ("SELEC Id FROM Contact", "MALFORMED_QUERY", "unexpected token: 'SELEC'"),
        ("SELECT Id FROM Contact WHERE Email = 'a' OR Email = 'b'", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id, Shoe_Size__c FROM Contact", "INVALID_FIELD", "No such column 'Shoe_Size__c' on entity 'Contact'"),
        ("SELECT Id FROM Lead", "INVALID_TYPE", "sObject type 'Lead' is not supported"),
        (
            "SELECT Id FROM Contact WHERE SystemModstamp >= '2026-10-01T00:00:00Z'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
    ],
)
def test_bad_soql_is_400_with_the_error_array(get, soql, code, message):
    response = get(f"{API}/query", q=soql)
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/json")
    (error,) = response.json()
    assert error["errorCode"] == code and message in error["message"]


def test_missing_or_unknown_session_is_401_invalid_session_id(sf):
    for headers in ({}, {"Authorization": "Bearer 00Dnot-a-session"}):
        response = requests.get(f"{sf.url('salesforce')}{API}/query", params={"q": "SELECT Id FROM Contact"},
                                headers=headers, verify=sf.verify)  # fmt: skip
        assert response.status_code == 401
        assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_every_call_reports_api_usage_and_the_daily_limit_is_403(sf, get):
    first = get(f"{API}/query", q="SELECT Id FROM Campaign")
    second = get(f"{API}/query", q="SELECT Id FROM Campaign")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert second.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    sf.apps["salesforce"].state.usage["used"] = 100_000
    refused = get(f"{API}/query", q="SELECT Id FROM Campaign")
    assert refused.status_code == 403 and refused.headers["Sforce-Limit-Info"] == "api-usage=100000/100000"
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_rate_limit_fault_is_503_server_unavailable_with_retry_after(sf, get):
    sf.set_faults("salesforce", rate_limit=1)
    limited = get(f"{API}/query", q="SELECT Id FROM Campaign")
    assert limited.status_code == 503 and limited.headers["Retry-After"] == "1"
    assert limited.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert get(f"{API}/query", q="SELECT Id FROM Campaign").status_code == 200


def test_expire_token_fault_ends_every_session_issued_so_far(sf, get):
    sf.set_faults("salesforce", expire_token_after=1)
    assert get(f"{API}/query", q="SELECT Id FROM Campaign").status_code == 200
    expired = get(f"{API}/query", q="SELECT Id FROM Campaign")
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    fresh = {"Authorization": f"Bearer {token(sf)['access_token']}"}
    again = requests.get(f"{sf.url('salesforce')}{API}/query", params={"q": "SELECT Id FROM Campaign"},
                         headers=fresh, verify=sf.verify)  # fmt: skip
    assert again.status_code == 200


def test_page_faults_break_the_nth_query_page(sf, get):
    sf.set_faults("salesforce", server_error_page=2)
    first = get(f"{API}/query", 200, q="SELECT Id FROM Contact").json()
    assert get(first["nextRecordsUrl"], 200).status_code == 502
    assert get(first["nextRecordsUrl"], 200).json()["done"] is True  # the same locator page, retried
    sf.set_faults("salesforce", html_error_page=1)
    html = get(f"{API}/query", q="SELECT Id FROM Contact")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    sf.set_faults("salesforce", malformed_page=1)
    with pytest.raises(ValueError):
        json.loads(get(f"{API}/query", q="SELECT Id FROM Contact").text)


def test_duplicate_page_fault_repeats_the_previous_pages_last_record(sf, get):
    sf.set_faults("salesforce", duplicate_page=2)
    first = get(f"{API}/queryAll", 200, q="SELECT Id FROM Contact ORDER BY Id").json()
    second = get(first["nextRecordsUrl"], 200).json()
    assert second["records"][0] == first["records"][-1]


def test_simple_salesforce_reads_every_contact_with_query_all(sf, org, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sf.ca_bundle)
    grant = token(sf)
    client = Salesforce(instance_url=grant["instance_url"], session_id=grant["access_token"], version="60.0")
    result = client.query_all("SELECT Id, Email, SystemModstamp FROM Contact", include_deleted=True)
    assert result["totalSize"] == len(result["records"]) == len(org["contacts"]) > 200
    live = client.query_all("SELECT Id FROM Contact")
    assert live["totalSize"] == sum(not c["IsDeleted"] for c in org["contacts"])


def test_sandbox_connection_describes_the_connected_app(sf):
    fields = sf.airflow_connections()["salesforce"]
    assert fields["conn_type"] == "crmhub_salesforce"
    assert (fields["login"], fields["password"]) == (DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET)
    assert fields["extra"]["api_version"] == "60.0" and fields["extra"]["verify"] == sf.ca_bundle


# -- the derived org -------------------------------------------------------------------------------
def test_org_holds_about_a_third_of_the_people_as_contacts_in_the_ground_truth(sf, org):
    truth = sf.ground_truth["persons"]
    people = {p["person_id"] for p in truth if any(r["source"] == "salesforce" for r in p["source_records"])}
    assert 0.25 <= len(people) / len(truth) <= 0.45
    registered = {
        r["source_id"]: r["archived"] for p in truth for r in p["source_records"] if r["source"] == "salesforce"
    }
    assert registered == {c["Id"]: c["IsDeleted"] for c in org["contacts"]}
    both = [p for p in truth if {r["source"] for r in p["source_records"]} >= {"salesforce", "hubspot"}]
    assert both


def test_duplicates_are_five_to_ten_percent_and_mostly_merged(sf, org):
    merged = [c for c in org["contacts"] if c["MasterRecordId"]]
    people = {p["person_id"]: p for p in sf.ground_truth["persons"]}
    per_person = [
        sum(r["source"] == "salesforce" for r in p["source_records"]) for p in people.values()
    ]  # fmt: skip
    duplicated = sum(n > 1 for n in per_person)
    assert 0.05 <= duplicated / sum(n > 0 for n in per_person) <= 0.10
    assert len(merged) >= duplicated / 2
    by_id = {c["Id"]: c for c in org["contacts"]}
    assert all(c["IsDeleted"] and not by_id[c["MasterRecordId"]]["IsDeleted"] for c in merged)


def test_campaign_names_overlap_the_social_campaigns(org):
    names = {c["Name"] for c in org["campaigns"] if c["Type"] == "Social Media"}
    assert names == {name for name, _ in datagen.CAMPAIGNS} and 8 <= len(org["campaigns"]) <= 10


def test_opportunities_and_cases_have_the_expected_mix(org):
    opportunities, cases = org["opportunities"], org["cases"]
    assert any(o["IsWon"] and o["CurrencyIsoCode"] == "EUR" and o["Amount"] for o in opportunities)
    assert any(not o["IsClosed"] for o in opportunities) and any(
        o["IsClosed"] and not o["IsWon"] for o in opportunities
    )
    assert any(o["LeadSource"] == "Social Media" and o["CampaignId"] for o in opportunities)
    assert {"Twitter", "Email", "Phone", "Web"} <= {c["Origin"] for c in cases}
    assert any(c["Type"] == "Complaint" for c in cases) and any(not c["IsClosed"] for c in cases)


def test_every_timestamp_lies_between_the_start_and_the_anchor(sf, org):
    anchor = sf.data.anchor
    start = anchor - timedelta(days=datagen.HISTORY_DAYS)
    stamps = [
        parse_timestamp(record[name])
        for records in org.values()
        for record in records
        for name in ("CreatedDate", "SystemModstamp", "ClosedDate", "First_Response__c")
        if record.get(name)
    ]
    assert stamps and all(start <= stamp < anchor for stamp in stamps)


def test_the_org_is_the_same_for_the_same_seed():
    assert generate(seed=3, people=80).vendors["salesforce"] == generate(seed=3, people=80).vendors["salesforce"]


def test_ids_are_18_characters_with_the_case_safe_suffix():
    assert sf_id("Contact", 1) == "0035J0000000001QAA"
    assert re.fullmatch(r"003[0-9A-Za-z]{15}", sf_id("Contact", 987_654))


def test_soql_parser_accepts_the_subset_the_connector_sends():
    query = parse_soql(
        "SELECT Id, account.name FROM contact WHERE SystemModstamp >= 2026-10-01T00:00:00Z "
        "AND SystemModstamp < 2026-11-01T00:00:00Z ORDER BY SystemModstamp, Id DESC NULLS LAST LIMIT 5"
    )
    assert (query.sobject, query.fields, query.limit) == ("Contact", ["Id", "Account.Name"], 5)
    assert [op for _, op, _ in query.where] == [">=", "<"]
    assert query.order == [("SystemModstamp", False, None), ("Id", True, True)]
