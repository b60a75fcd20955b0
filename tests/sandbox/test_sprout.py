"""The fake Sprout answers like Sprout: customer-scoped POST queries, cursor paging, bare 429s, 202s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from crmhub_dev.sandbox import SandboxServer, datagen, sprout

AUTH = {"Authorization": f"Bearer {sprout.DEFAULT_TOKEN}"}
CID = sprout.CUSTOMER_ID
IDS = ", ".join(str(p["customer_profile_id"]) for p in sprout.PROFILES)
EVERYTHING = [f"customer_profile_id.eq({IDS})", "created_time.in(2026-01-01T00:00:00..2026-12-31T00:00:00)"]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    settings = sprout.SproutSettings(rate_limit_per_minute=100_000)
    with SandboxServer(seed=11, people=80, vendors=("sprout",), settings={"sprout": settings}) as running:
        yield running


def post(server: SandboxServer, path: str, body: dict, headers: dict | None = None) -> requests.Response:
    return requests.post(
        f"{server.url('sprout')}{path}", json=body, headers=AUTH if headers is None else headers, timeout=10
    )


def test_client_metadata_names_the_customer_every_other_path_is_scoped_to(server):
    response = requests.get(f"{server.url('sprout')}/v1/metadata/client", headers=AUTH, timeout=10)
    assert response.status_code == 200 and response.json()["data"][0]["customer_id"] == CID
    assert all(
        h in response.headers for h in ("X-Sprout-Request-ID", "X-Sprout-API-Version", "X-Sprout-Server-Version")
    )


def test_profiles_have_the_documented_fields(server):
    profiles = requests.get(f"{server.url('sprout')}/v1/{CID}/metadata/customer", headers=AUTH, timeout=10).json()
    fields = {"customer_profile_id", "network_type", "name", "native_name", "native_id", "link", "groups"}
    assert all(fields <= set(p) for p in profiles["data"])
    assert {p["network_type"] for p in profiles["data"]} == {"twitter", "fb_instagram_account", "facebook",
                                                               "linkedin_company"}  # fmt: skip


def test_a_missing_token_is_401_in_the_error_envelope(server):
    response = post(server, f"/v1/{CID}/messages", {"filters": EVERYTHING}, headers={})
    assert response.status_code == 401 and response.json()["error"]


def test_another_customer_is_403(server):
    response = requests.get(f"{server.url('sprout')}/v1/999/metadata/customer", headers=AUTH, timeout=10)
    assert response.status_code == 403


def test_a_body_that_is_not_json_is_415(server):
    form = {**AUTH, "Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(f"{server.url('sprout')}/v1/{CID}/messages", data="filters=x", headers=form, timeout=10)
    assert response.status_code == 415


@pytest.mark.parametrize(
    "body",
    [
        {"filters": ["created_time.in(2026-01-01T00:00:00..2026-02-01T00:00:00)"]},
        {"filters": [f"customer_profile_id.eq({IDS})"]},
        {"filters": [f"customer_profile_id.eq({IDS})", "created_time.in(2026-01-01T00:00:00Z..2026-02-01T00:00:00Z)"]},
        {"filters": EVERYTHING, "limit": 101},
        {"filters": EVERYTHING, "fields": ["guid", "followers_count"]},
        {"filters": EVERYTHING, "page_cursor": "not-a-cursor"},
    ],
    ids=["no-profiles", "no-time", "zulu-time", "limit-over-100", "unknown-field", "bad-cursor"],
)
def test_malformed_message_queries_are_400_with_a_reason(server, body):
    response = post(server, f"/v1/{CID}/messages", body)
    assert response.status_code == 400 and response.json()["error"]


def test_message_pages_follow_next_cursor_until_paging_is_absent(server):
    body, seen, pages = {"filters": EVERYTHING, "fields": ["created_time"], "limit": 25}, [], 0
    while True:
        answer = post(server, f"/v1/{CID}/messages", body).json()
        pages += 1
        seen += [m["guid"] for m in answer["data"]]
        if "paging" not in answer:
            break
        body = {**body, "page_cursor": answer["paging"]["next_cursor"]}
    assert sorted(seen) == sorted(m["guid"] for m in server.data.vendors["sprout"]["messages"])
    assert pages == -(-len(seen) // 25)


def test_only_the_requested_fields_come_back(server):
    answer = post(server, f"/v1/{CID}/messages", {"filters": EVERYTHING, "fields": ["created_time", "from.name"],
                                                  "limit": 5}).json()  # fmt: skip
    assert all(set(m) == {"guid", "created_time", "from"} and set(m["from"]) == {"name"} for m in answer["data"])


def test_end_exclusive_range_leaves_out_a_message_at_its_end(server):
    message = server.data.vendors["sprout"]["messages"][0]
    at = message["created_time"].rstrip("Z")
    pid = message["customer_profile_id"]
    inclusive = post(server, f"/v1/{CID}/messages", {"filters": [f"customer_profile_id.eq({pid})",
                     f"created_time.in(2026-01-01T00:00:00..{at})"]}).json()["data"]  # fmt: skip
    exclusive = post(server, f"/v1/{CID}/messages", {"filters": [f"customer_profile_id.eq({pid})",
                     f"created_time.in(2026-01-01T00:00:00...{at})"]}).json()["data"]  # fmt: skip
    assert message["guid"] in {m["guid"] for m in inclusive} - {m["guid"] for m in exclusive}


def test_profile_analytics_pages_by_index_and_a_page_past_the_end_is_400(server):
    body = {"filters": [f"customer_profile_id.eq({IDS})", "reporting_period.in(2026-10-01..2026-10-31)"],
            "metrics": ["lifetime_snapshot.followers_count"], "limit": 50}  # fmt: skip
    first = post(server, f"/v1/{CID}/analytics/profiles", body).json()
    assert first["paging"] == {"current_page": 1, "total_pages": 3}  # 4 profiles x 31 days
    row = first["data"][0]
    assert set(row["dimensions"]) == {"customer_profile_id", "reporting_period.by(day)"}
    assert set(row["metrics"]) == {"lifetime_snapshot.followers_count"}
    assert post(server, f"/v1/{CID}/analytics/profiles", {**body, "page": 4}).status_code == 400


def test_not_ready_setting_answers_202_once_per_page(server):
    settings = sprout.SproutSettings(not_ready_once_per_page=True)
    with SandboxServer(data=server.data, vendors=("sprout",), settings={"sprout": settings}) as slow:
        body = {"filters": EVERYTHING, "limit": 10}
        assert post(slow, f"/v1/{CID}/messages", body).status_code == 202
        assert post(slow, f"/v1/{CID}/messages", body).status_code == 200


def test_forced_rate_limit_is_a_bare_429_without_retry_after(server):
    server.set_faults("sprout", rate_limit=1)
    response = post(server, f"/v1/{CID}/messages", {"filters": EVERYTHING})
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert post(server, f"/v1/{CID}/messages", {"filters": EVERYTHING}).status_code == 200


def test_derived_data_is_deterministic_for_a_seed():
    one, two = datagen.generate(seed=7, people=50), datagen.generate(seed=7, people=50)
    assert one.vendors["sprout"]["messages"] == two.vendors["sprout"]["messages"]
    assert one.vendors["sprout"]["messages"] != datagen.generate(seed=8, people=50).vendors["sprout"]["messages"]


def test_sprout_writers_overlap_hootsuite_and_some_are_only_on_sprout(server):
    persons = server.ground_truth["persons"]
    on = {name: {p["person_id"] for p in persons if any(r["source"] == name for r in p["source_records"])}
          for name in ("sprout", "hootsuite")}  # fmt: skip
    assert on["sprout"] & on["hootsuite"] and on["sprout"] - on["hootsuite"]


def test_messages_are_realistic_and_campaign_tags_are_the_datagen_campaigns(server):
    served = server.data.vendors["sprout"]
    texts = " ".join(m["text"] for m in served["messages"])
    assert "bestelling" in texts and "order" in texts  # Dutch and English
    tag_names = {t["tag_id"]: t["text"] for t in served["tags"]}
    used = {tag_names[t["id"]] for m in served["messages"] for t in m["internal"]["tags"]}
    assert {name for name, _ in datagen.CAMPAIGNS} & used and "klacht" in used
    inbound = [m for m in served["messages"] if served["message_truth"][m["guid"]] and "MENTION" in m["post_type"]]
    assert inbound and all(m["from"]["screen_name"] for m in inbound)
