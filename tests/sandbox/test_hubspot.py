"""The fake HubSpot answers like HubSpot: paging, properties, archived, search, limits, the official SDK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from hubspot import HubSpot

from crmhub_dev.sandbox import HubSpotSettings, SandboxServer
from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN

CONTACTS = "/crm/v3/objects/contacts"
HUBSPOT_HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def _page_all(base: str, **params: object) -> list[dict]:
    results, after = [], None
    while True:
        query = {"limit": 100, **params, **({"after": after} if after else {})}
        body = requests.get(f"{base}{CONTACTS}", headers=HUBSPOT_HEADERS, params=query, timeout=10).json()
        results.extend(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return results


def test_paging_through_all_contacts_yields_each_live_id_once(sandbox: SandboxServer) -> None:
    ids = [c["id"] for c in _page_all(sandbox.hubspot_url, limit=7)]
    expected = {c["id"] for c in sandbox.data.hubspot_contacts if not c["archived"]}
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected


def test_last_page_has_no_paging_and_next_link_points_at_the_next_page(sandbox: SandboxServer) -> None:
    first = requests.get(f"{sandbox.hubspot_url}{CONTACTS}", headers=HUBSPOT_HEADERS, params={"limit": 3}).json()
    link = first["paging"]["next"]["link"]
    assert f"after={first['paging']['next']['after']}" in link
    second = requests.get(link, headers=HUBSPOT_HEADERS).json()
    assert second["results"][0]["id"] == first["paging"]["next"]["after"]
    last = requests.get(f"{sandbox.hubspot_url}{CONTACTS}", headers=HUBSPOT_HEADERS, params={"limit": 100,
                        "after": sandbox.data.hubspot_contacts[-1]["id"]}).json()  # fmt: skip
    assert "paging" not in last


def test_properties_as_repeated_keys_and_as_comma_list_return_the_same_properties(sandbox: SandboxServer) -> None:
    url = f"{sandbox.hubspot_url}{CONTACTS}"
    repeated = requests.get(f"{url}?limit=5&properties=city&properties=twitterhandle", headers=HUBSPOT_HEADERS)
    comma = requests.get(f"{url}?limit=5&properties=city,twitterhandle", headers=HUBSPOT_HEADERS)
    assert repeated.json() == comma.json()
    props = repeated.json()["results"][0]["properties"]
    assert set(props) == {"city", "twitterhandle", "createdate", "hs_object_id", "lastmodifieddate"}
    default = requests.get(url, headers=HUBSPOT_HEADERS, params={"limit": 1}).json()["results"][0]["properties"]
    assert set(default) == {"firstname", "lastname", "email", "createdate", "lastmodifieddate", "hs_object_id"}


def test_unset_requested_property_is_null(sandbox: SandboxServer) -> None:
    contacts = _page_all(sandbox.hubspot_url, properties="twitterhandle")
    values = [c["properties"]["twitterhandle"] for c in contacts]
    assert None in values and any(v for v in values)


def test_archived_true_lists_only_archived_records_and_hides_them_by_default(sandbox: SandboxServer) -> None:
    archived = _page_all(sandbox.hubspot_url, archived="true")
    expected = {c["id"] for c in sandbox.data.hubspot_contacts if c["archived"]}
    assert {c["id"] for c in archived} == expected and expected
    assert all(c["archived"] and c["archivedAt"] for c in archived)
    live = _page_all(sandbox.hubspot_url, archived="False")  # the SDK's spelling
    assert not expected & {c["id"] for c in live}


def test_get_contact_by_id_and_unknown_id_is_404(sandbox: SandboxServer) -> None:
    contact = next(c for c in sandbox.data.hubspot_contacts if not c["archived"])
    got = requests.get(f"{sandbox.hubspot_url}{CONTACTS}/{contact['id']}", headers=HUBSPOT_HEADERS,
                       params={"properties": "email"}).json()  # fmt: skip
    assert got["properties"]["email"] == contact["properties"]["email"]
    missing = requests.get(f"{sandbox.hubspot_url}{CONTACTS}/1", headers=HUBSPOT_HEADERS)
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"


def test_missing_or_wrong_token_is_401_with_hubspot_error_body(sandbox: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.get(f"{sandbox.hubspot_url}{CONTACTS}", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]


def test_search_gte_lastmodifieddate_returns_exactly_the_newer_live_contacts(sandbox: SandboxServer) -> None:
    since = datetime(2026, 10, 1, tzinfo=UTC)
    expected = {
        c["id"] for c in sandbox.data.hubspot_contacts
        if not c["archived"] and c["properties"]["lastmodifieddate"] >= "2026-10-01T00:00:00.000Z"
    }  # fmt: skip
    for value in (str(int(since.timestamp() * 1000)), "2026-10-01T00:00:00Z"):
        found, after, total = [], None, None
        while True:
            body = {
                "filterGroups": [
                    {"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": value}]}
                ],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": ["email", "lastmodifieddate"],
                "limit": 20,
                **({"after": after} if after else {}),
            }
            page = requests.post(f"{sandbox.hubspot_url}{CONTACTS}/search", headers=HUBSPOT_HEADERS, json=body).json()
            total = page["total"]
            found.extend(page["results"])
            after = page.get("paging", {}).get("next", {}).get("after")
            if not after:
                break
        assert total == len(expected) and {c["id"] for c in found} == expected
        stamps = [c["properties"]["lastmodifieddate"] for c in found]
        assert stamps == sorted(stamps)


def test_search_after_10000_is_a_400_error(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.hubspot_url}{CONTACTS}/search", headers=HUBSPOT_HEADERS,
                             json={"after": "10000", "limit": 10})  # fmt: skip
    assert response.status_code == 400
    assert response.json()["status"] == "error" and response.json()["category"] == "VALIDATION_ERROR"


@pytest.fixture()
def tight_hubspot() -> Iterator[SandboxServer]:
    settings = HubSpotSettings(rate_limit_max=5, rate_limit_interval_ms=10_000, search_rate_limit_max=2)
    with SandboxServer(people=20, hubspot_settings=settings) as server:
        yield server


def test_exceeding_the_window_gives_429_with_hubspot_body_and_headers(tight_hubspot: SandboxServer) -> None:
    url = f"{tight_hubspot.hubspot_url}{CONTACTS}"
    responses = [requests.get(url, headers=HUBSPOT_HEADERS) for _ in range(6)]
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in responses[:5]] == ["4", "3", "2", "1", "0"]
    limited = responses[-1]
    body = limited.json()
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING" and body["correlationId"]
    assert limited.headers["X-HubSpot-RateLimit-Max"] == "5"
    assert limited.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert int(limited.headers["X-HubSpot-RateLimit-Daily-Remaining"]) > 0
    assert "Retry-After" not in limited.headers


def test_search_has_its_own_secondly_limit(tight_hubspot: SandboxServer) -> None:
    url = f"{tight_hubspot.hubspot_url}{CONTACTS}/search"
    codes = [requests.post(url, headers=HUBSPOT_HEADERS, json={}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = requests.post(url, headers=HUBSPOT_HEADERS, json={})
    assert limited.json()["policyName"] == "SECONDLY"
    assert limited.json()["message"] == "You have reached your secondly limit."


def test_official_sdk_reads_pages_and_get_all_returns_every_contact(sandbox: SandboxServer) -> None:
    client = HubSpot(access_token=DEFAULT_TOKEN, host=sandbox.hubspot_url)
    page = client.crm.contacts.basic_api.get_page(limit=10, properties=["email", "city"])
    assert len(page.results) == 10 and page.paging.next.after
    assert set(page.results[0].properties) >= {"email", "city"}
    everyone = client.crm.contacts.get_all(properties=["email"])
    expected = {c["id"] for c in sandbox.data.hubspot_contacts if not c["archived"]}
    assert {c.id for c in everyone} == expected and len(everyone) == len(expected)
