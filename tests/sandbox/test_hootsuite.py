"""The fake Hootsuite answers like Hootsuite: Basic-auth token grants, rotating refresh, message windows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from crmhub_dev.sandbox import HootsuiteSettings, SandboxServer
from crmhub_dev.sandbox.hootsuite import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

CLIENT_AUTH = (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)


def test_organization_app_grant_with_basic_auth_returns_bearer_token(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.hootsuite_url}/oauth2/token", auth=CLIENT_AUTH,
                             data={"grant_type": "organization_app", "organization_id": "626731"})  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and body["refresh_token"]
    me = requests.get(f"{sandbox.hootsuite_url}/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["data"]["id"]


def test_client_credentials_in_the_body_are_rejected(sandbox: SandboxServer) -> None:
    response = requests.post(f"{sandbox.hootsuite_url}/oauth2/token", data={
        "grant_type": "organization_app", "organization_id": "626731",
        "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET})  # fmt: skip
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_refresh_token_rotates_and_the_old_one_is_rejected(
    sandbox: SandboxServer, grant_token: Callable[[str], dict[str, Any]]
) -> None:
    first = grant_token(sandbox.hootsuite_url)
    url = f"{sandbox.hootsuite_url}/oauth2/token"
    refreshed = requests.post(url, auth=CLIENT_AUTH, data={"grant_type": "refresh_token",
                              "refresh_token": first["refresh_token"]})  # fmt: skip
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != first["refresh_token"]
    reused = requests.post(url, auth=CLIENT_AUTH, data={"grant_type": "refresh_token",
                           "refresh_token": first["refresh_token"]})  # fmt: skip
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


@pytest.fixture()
def short_tokens() -> Iterator[SandboxServer]:
    with SandboxServer(people=20, hootsuite_settings=HootsuiteSettings(expires_in=1)) as server:
        yield server


def test_expired_access_token_gets_401_in_the_errors_envelope(
    short_tokens: SandboxServer, grant_token: Callable[[str], dict[str, Any]]
) -> None:
    headers = {"Authorization": f"Bearer {grant_token(short_tokens.hootsuite_url)['access_token']}"}
    assert requests.get(f"{short_tokens.hootsuite_url}/v1/socialProfiles", headers=headers).status_code == 200
    time.sleep(1.2)
    expired = requests.get(f"{short_tokens.hootsuite_url}/v1/socialProfiles", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["errors"][0]["code"] == 1001


def test_social_profiles_have_the_documented_shape(sandbox: SandboxServer, hootsuite_headers: dict) -> None:
    response = requests.get(f"{sandbox.hootsuite_url}/v1/socialProfiles", headers=hootsuite_headers)
    profiles = response.json()["data"]
    assert {p["type"] for p in profiles} == {"TWITTER", "INSTAGRAM", "FACEBOOK", "LINKEDIN"}
    assert all(
        {"id", "type", "socialNetworkId", "socialNetworkUsername", "owner", "ownerId"} <= set(p) for p in profiles
    )
    assert response.headers["X-Account-Quota"] == "100000 per day"
    assert "X-Account-Rate-Limit-Requests-Remaining" in response.headers


def test_messages_window_longer_than_four_weeks_is_400(sandbox: SandboxServer, hootsuite_headers: dict) -> None:
    window = {"startTime": "2026-08-01T00:00:00Z", "endTime": "2026-08-29T00:00:01Z"}
    response = requests.get(f"{sandbox.hootsuite_url}/v1/messages", headers=hootsuite_headers, params=window)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 40020
    missing = requests.get(f"{sandbox.hootsuite_url}/v1/messages", headers=hootsuite_headers)
    assert missing.status_code == 400 and "errors" in missing.json()


def test_cursor_paging_returns_every_message_of_the_window_once_in_send_order(
    sandbox: SandboxServer, hootsuite_headers: dict
) -> None:
    params: dict[str, Any] = {"startTime": "2026-09-01T00:00:00Z", "endTime": "2026-09-29T00:00:00Z", "limit": 7}
    seen: list[dict] = []
    while True:
        body = requests.get(f"{sandbox.hootsuite_url}/v1/messages", headers=hootsuite_headers, params=params).json()
        seen.extend(body["data"])
        cursor = body["metadata"]["cursor"]["next"]
        if cursor is None:
            break
        params["cursor"] = cursor
    expected = [m["id"] for m in sandbox.data.hootsuite_messages
                if "2026-09-01T00:00:00Z" <= m["scheduledSendTime"] < "2026-09-29T00:00:00Z"]  # fmt: skip
    assert [m["id"] for m in seen] == expected and len(expected) > 7
    assert all(m["state"] == "SENT" and m["socialProfile"]["id"] for m in seen)


def test_social_profile_filter_accepts_repeated_ids(sandbox: SandboxServer, hootsuite_headers: dict) -> None:
    params = [("startTime", "2026-09-01T00:00:00Z"), ("endTime", "2026-09-29T00:00:00Z"), ("limit", "100"),
              ("socialProfileIds", "115185517"), ("socialProfileIds", "115185520")]  # fmt: skip
    body = requests.get(f"{sandbox.hootsuite_url}/v1/messages", headers=hootsuite_headers, params=params).json()
    assert {m["socialProfile"]["id"] for m in body["data"]} <= {"115185517", "115185520"}


SEPTEMBER = {"startTime": "2026-09-01T00:00:00Z", "endTime": "2026-09-29T00:00:00Z", "limit": 5}


def test_duplicate_page_fault_repeats_the_last_message_of_the_page_before(
    sandbox: SandboxServer, hootsuite_headers: dict
) -> None:
    sandbox.set_faults("hootsuite", duplicate_page=2)
    url = f"{sandbox.hootsuite_url}/v1/messages"
    first = requests.get(url, headers=hootsuite_headers, params=SEPTEMBER).json()
    cursor = first["metadata"]["cursor"]["next"]
    second = requests.get(url, headers=hootsuite_headers, params={**SEPTEMBER, "cursor": cursor}).json()
    assert len(second["data"]) == 6 and second["data"][0] == first["data"][-1]
    assert second["metadata"]["cursor"]["next"]  # the cursor still walks on from where it was


def test_expire_token_after_revokes_tokens_issued_so_far_and_a_new_grant_works(
    sandbox: SandboxServer, grant_token: Callable[[str], dict[str, Any]]
) -> None:
    granted = grant_token(sandbox.hootsuite_url)
    headers = {"Authorization": f"Bearer {granted['access_token']}"}
    sandbox.set_faults("hootsuite", expire_token_after=2)
    url = f"{sandbox.hootsuite_url}/v1/socialProfiles"
    codes = [requests.get(url, headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 401]
    revoked = requests.get(url, headers=headers)
    assert revoked.status_code == 401 and revoked.json()["errors"][0]["code"] == 1001
    refresh = {"grant_type": "refresh_token", "refresh_token": granted["refresh_token"]}
    refreshed = requests.post(f"{sandbox.hootsuite_url}/oauth2/token", auth=CLIENT_AUTH, data=refresh)
    fresh = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    assert requests.get(url, headers=fresh).status_code == 200
