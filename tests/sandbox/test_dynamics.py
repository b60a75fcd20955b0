"""The Dataverse sandbox speaks the Web API's wire format: Entra tokens, OData paging, errors, limits, data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.dynamics import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_RESOURCE,
    DEFAULT_TENANT_ID,
    DynamicsSettings,
)
from crmhub_dev.sandbox.server import SandboxServer

CONTACTS = "/api/data/v9.2/contacts"


@pytest.fixture(scope="module")
def dynamics() -> Iterator[SandboxServer]:
    settings = {"dynamics": DynamicsSettings(throttle_retry_after=7)}
    with SandboxServer(seed=42, people=200, vendors=("dynamics",), settings=settings, tls=True) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean(dynamics: SandboxServer) -> Iterator[None]:
    dynamics.clear_faults()
    yield
    dynamics.clear_faults()


def grant(sandbox: SandboxServer, **form: str) -> requests.Response:
    tenant = form.pop("tenant", DEFAULT_TENANT_ID)
    body = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": f"{DEFAULT_RESOURCE}/.default", **form}  # fmt: skip
    url = f"{sandbox.url('dynamics')}/{tenant}/oauth2/v2.0/token"
    return requests.post(url, data=body, verify=sandbox.verify, timeout=10)


def get(sandbox: SandboxServer, path_or_url: str, prefer: str | None = None, token: str | None = None,
        **params: Any) -> requests.Response:  # fmt: skip
    headers = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
    if prefer:
        headers["Prefer"] = prefer
    headers["Authorization"] = f"Bearer {token or grant(sandbox).json()['access_token']}"
    url = path_or_url if path_or_url.startswith("https://") else sandbox.url("dynamics") + path_or_url
    return requests.get(url, params=params or None, headers=headers, verify=sandbox.verify, timeout=10)


def contacts(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return sandbox.data.vendors["dynamics"]["contacts"]


def test_client_credentials_grant_returns_a_bearer_token(dynamics):
    response = grant(dynamics)
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["access_token"]
    assert "refresh_token" not in body  # client credentials get no refresh token


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client", 700016),
        ({"scope": f"{DEFAULT_RESOURCE}/user_impersonation"}, 400, "invalid_scope", 1002012),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
        ({"tenant": "00000000-1111-2222-3333-444444444444"}, 400, "invalid_tenant", 90002),
    ],
    ids=["secret", "client", "scope", "grant", "tenant"],
)
def test_token_endpoint_refuses_like_entra_id(dynamics, form, status, error, code):
    response = grant(dynamics, **form)
    body = response.json()
    assert response.status_code == status and body["error"] == error and body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ") and body["trace_id"] and body["correlation_id"]


def test_missing_or_unknown_token_is_401_with_a_bearer_challenge(dynamics):
    response = get(dynamics, CONTACTS, token="not-a-token")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith(
        "Bearer authorization_uri=https://login.microsoftonline.com/"
    )


def test_page_size_preference_pages_with_an_absolute_next_link(dynamics):
    first = get(dynamics, CONTACTS, prefer="odata.maxpagesize=10", **{"$select": "fullname"})
    body = first.json()
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=10"
    assert first.headers["OData-Version"] == "4.0"
    assert body["@odata.context"].endswith("/api/data/v9.2/$metadata#contacts(fullname)")
    assert len(body["value"]) == 10
    assert set(body["value"][0]) == {"@odata.etag", "fullname", "contactid"}
    link = body["@odata.nextLink"]
    assert link.startswith(f"{dynamics.url('dynamics')}{CONTACTS}?")
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    assert token.startswith('<cookie pagenumber="2" pagingcookie="') and 'istracking="False"' in token


def test_following_next_links_returns_every_contact_once(dynamics):
    seen: list[str] = []
    response = get(dynamics, CONTACTS, prefer="odata.maxpagesize=13", **{"$select": "contactid"})
    while True:
        body = response.json()
        seen += [r["contactid"] for r in body["value"]]
        if "@odata.nextLink" not in body:
            break
        response = get(dynamics, body["@odata.nextLink"], prefer="odata.maxpagesize=13")
    assert sorted(seen) == sorted(c["contactid"] for c in contacts(dynamics))


def test_page_size_above_5000_is_capped_and_default_is_5000(dynamics):
    assert len(get(dynamics, CONTACTS, prefer="odata.maxpagesize=9000").json()["value"]) == len(contacts(dynamics))
    assert "Preference-Applied" not in get(dynamics, CONTACTS).headers


def test_modifiedon_filter_and_orderby(dynamics):
    since, until = "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"
    body = get(dynamics, CONTACTS, **{"$filter": f"modifiedon ge {since} and modifiedon lt {until}",
                                      "$orderby": "modifiedon desc", "$select": "modifiedon"}).json()  # fmt: skip
    got = [r["modifiedon"] for r in body["value"]]
    expected = sorted((c["modifiedon"] for c in contacts(dynamics) if since <= c["modifiedon"] < until), reverse=True)
    assert got and got == expected


def test_formatted_values_only_when_asked_for(dynamics):
    plain = get(dynamics, CONTACTS, **{"$select": "statecode,_parentcustomerid_value"}).json()["value"][0]
    annotated = get(dynamics, CONTACTS, prefer='odata.include-annotations="*"',
                    **{"$select": "statecode,_parentcustomerid_value"}).json()["value"]  # fmt: skip
    assert not any("@" in key[1:] for key in plain)
    assert annotated[0]["statecode@OData.Community.Display.V1.FormattedValue"] in ("Active", "Inactive")
    with_company = next(r for r in annotated if r["_parentcustomerid_value"])
    assert with_company["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"$search": "jansen"}, "The query parameter $search is not supported"),
        ({"$select": "twitterhandle"}, "Could not find a property named 'twitterhandle'"),
        ({"$filter": "modifiedon gt yesterday"}, "DateTimeOffset"),
        ({"$skip": "10"}, "The query parameter $skip is not supported"),
    ],
    ids=["unknown_option", "unknown_column", "bad_datetime", "no_skip"],
)
def test_bad_query_is_400_in_the_web_api_error_shape(dynamics, params, says):
    response = get(dynamics, CONTACTS, **params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["code"] == "0x80060888" and says in error["message"]


def test_throttling_is_429_with_retry_after_and_the_service_protection_code(dynamics):
    token = grant(dynamics).json()["access_token"]
    dynamics.set_faults("dynamics", rate_limit=1)
    throttled = get(dynamics, CONTACTS, token=token)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "0x80072322"
    assert get(dynamics, CONTACTS, token=token).status_code == 200


def test_sliding_window_limit_names_the_seconds_to_wait():
    settings = {"dynamics": DynamicsSettings(rate_limit_max=2, rate_limit_interval_ms=60_000)}
    with SandboxServer(seed=1, people=20, vendors=("dynamics",), settings=settings) as server:
        token = grant(server).json()["access_token"]
        statuses = [get(server, CONTACTS, token=token) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert 50 <= int(statuses[2].headers["Retry-After"]) <= 60


def test_expired_token_after_n_requests_is_401_until_a_new_token(dynamics):
    token = grant(dynamics).json()["access_token"]
    dynamics.set_faults("dynamics", expire_token_after=1)
    assert get(dynamics, CONTACTS, token=token).status_code == 200
    assert get(dynamics, CONTACTS, token=token).status_code == 401
    assert get(dynamics, CONTACTS).status_code == 200  # a fresh grant works


def test_duplicate_page_repeats_the_previous_pages_last_record(dynamics):
    token = grant(dynamics).json()["access_token"]
    dynamics.set_faults("dynamics", duplicate_page=2)
    first = get(dynamics, CONTACTS, prefer="odata.maxpagesize=5", token=token).json()
    second = get(dynamics, first["@odata.nextLink"], prefer="odata.maxpagesize=5", token=token).json()
    assert second["value"][0] == first["value"][-1] and len(second["value"]) == 6


def test_entity_definitions_resolve_the_contacts_entity_set(dynamics):
    query = {"$select": "LogicalName,EntitySetName,PrimaryIdAttribute", "$filter": "LogicalName eq 'contact'"}
    body = get(dynamics, "/api/data/v9.2/EntityDefinitions", **query).json()
    assert [(v["LogicalName"], v["EntitySetName"], v["PrimaryIdAttribute"]) for v in body["value"]] == [
        ("contact", "contacts", "contactid")
    ]


def test_single_contact_by_key_and_missing_key_error(dynamics):
    contact = contacts(dynamics)[0]
    found = get(dynamics, f"{CONTACTS}({contact['contactid']})", **{"$select": "fullname"}).json()
    assert found["fullname"] == contact["fullname"]
    missing = get(dynamics, f"{CONTACTS}(00000000-0000-0000-0000-000000000000)")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"


# -- derived data -----------------------------------------------------------------------------------
def test_about_a_quarter_of_people_are_dynamics_contacts_deterministically(dynamics):
    people_with_record = {
        p["person_id"]
        for p in dynamics.ground_truth["persons"]
        if any(r["source"] == "dynamics" for r in p["source_records"])
    }
    assert 0.17 <= len(people_with_record) / 200 <= 0.33
    again = datagen.generate(seed=42, people=200).vendors["dynamics"]
    assert again == dynamics.data.vendors["dynamics"]


def test_every_contact_is_in_the_ground_truth_and_merges_point_to_the_same_person(dynamics):
    person_of = {
        r["source_id"]: (p["person_id"], r["archived"])
        for p in dynamics.ground_truth["persons"]
        for r in p["source_records"]
        if r["source"] == "dynamics"
    }
    assert set(person_of) == {c["contactid"] for c in contacts(dynamics)}
    merged = [c for c in contacts(dynamics) if c["merged"]]
    assert merged and any(c["statecode"] == 1 and not c["merged"] for c in contacts(dynamics))
    for loser in merged:
        assert (loser["statecode"], loser["statuscode"]) == (1, 2)
        assert person_of[loser["_masterid_value"]][0] == person_of[loser["contactid"]][0]
        assert person_of[loser["contactid"]][1] is True


def test_timestamps_lie_between_history_start_and_anchor(dynamics):
    anchor = datagen.iso_s(dynamics.data.anchor)
    for contact in contacts(dynamics):
        assert contact["createdon"] <= contact["modifiedon"] < anchor


def test_connection_reaches_the_sandbox_token_endpoint(dynamics):
    fields = dynamics.airflow_connections()["dynamics"]
    assert fields["conn_type"] == "crmhub_dynamics" and fields["login"] == DEFAULT_CLIENT_ID
    extra = fields["extra"]
    assert extra["token_url"].startswith(dynamics.url("dynamics")) and extra["verify"] == dynamics.ca_bundle
    form = {"grant_type": "client_credentials", "client_id": fields["login"], "client_secret": fields["password"],
            "scope": extra["scope"]}  # fmt: skip
    assert requests.post(extra["token_url"], data=form, verify=dynamics.verify, timeout=10).status_code == 200
