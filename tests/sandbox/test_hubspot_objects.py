"""The fake HubSpot's deals, notes, associations, campaigns, merges and new faults answer like HubSpot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from hubspot import HubSpot

from crmhub.connectors.timestamps import parse_timestamp
from crmhub_dev.sandbox import SandboxServer
from crmhub_dev.sandbox.datagen import DEFAULT_ANCHOR
from crmhub_dev.sandbox.hubspot import DEFAULT_TOKEN

HEADERS = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def get(sandbox: SandboxServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sandbox.hubspot_url}{path}", headers=HEADERS, params=params, timeout=10)


def post(sandbox: SandboxServer, path: str, body: Any) -> requests.Response:
    return requests.post(f"{sandbox.hubspot_url}{path}", headers=HEADERS, json=body, timeout=10)


def page_all(sandbox: SandboxServer, path: str, **params: Any) -> list[dict[str, Any]]:
    results, after = [], None
    while True:
        body = get(sandbox, path, **params, **({"after": after} if after else {})).json()
        results.extend(body["results"])
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return results


@pytest.fixture
def clock(sandbox: SandboxServer) -> Iterator[Any]:
    """Move the portal's clock; put it back at the anchor afterwards (the server is shared)."""

    def move(when: Any) -> None:
        requests.post(f"{sandbox.hubspot_url}/_sandbox/clock", json={"now": when.isoformat()}, timeout=10)

    yield move
    move(DEFAULT_ANCHOR)


def test_deals_list_with_associations_names_each_deals_contacts(sandbox: SandboxServer) -> None:
    deals = page_all(sandbox, "/crm/v3/objects/deals", limit=50, associations="contacts",
                     properties="dealname,amount,hs_campaign")  # fmt: skip
    expected = {d["id"]: d for d in sandbox.data.hubspot_deals if not d["archived"]}
    assert {d["id"] for d in deals} == set(expected)
    for deal in deals:
        assert set(deal["properties"]) == {"dealname", "amount", "hs_campaign", "createdate",
                                           "hs_lastmodifieddate", "hs_object_id"}  # fmt: skip
        linked = deal.get("associations", {}).get("contacts", {}).get("results", [])
        assert [(a["id"], a["type"]) for a in linked] == [
            (c, "deal_to_contact") for c in expected[deal["id"]]["_contacts"]
        ]
    assert any("associations" not in d for d in deals)  # HubSpot leaves the block out when empty


def test_search_results_carry_no_associations_and_batch_read_supplies_them(sandbox: SandboxServer) -> None:
    body = {"filterGroups": [], "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["hs_note_body", "hs_timestamp"], "limit": 20}  # fmt: skip
    page = post(sandbox, "/crm/v3/objects/notes/search", body).json()
    assert page["total"] == sum(not n["archived"] for n in sandbox.data.hubspot_notes)
    assert all("associations" not in n for n in page["results"])
    stamps = [n["properties"]["hs_lastmodifieddate"] for n in page["results"]]
    assert stamps == sorted(stamps)
    ids = [n["id"] for n in page["results"]]
    read = post(sandbox, "/crm/v3/associations/notes/contacts/batch/read", {"inputs": [{"id": i} for i in ids]})
    assert read.status_code == 200 and read.json()["status"] == "COMPLETE"
    notes = {n["id"]: n for n in sandbox.data.hubspot_notes}
    got = {r["from"]["id"]: [t["id"] for t in r["to"]] for r in read.json()["results"]}
    assert got == {i: notes[i]["_contacts"] for i in ids if notes[i]["_contacts"]}
    assert {t["type"] for r in read.json()["results"] for t in r["to"]} == {"note_to_contact"}


def test_campaigns_page_with_total_and_only_the_asked_properties(sandbox: SandboxServer) -> None:
    first = get(sandbox, "/marketing/v3/campaigns", limit=4, properties="hs_name,hs_start_date").json()
    assert first["total"] == len(sandbox.data.hubspot_campaigns) and len(first["results"]) == 4
    assert set(first["results"][0]) == {"id", "properties", "createdAt", "updatedAt", "businessUnits"}
    assert set(first["results"][0]["properties"]) == {"hs_name", "hs_start_date"}
    everything = page_all(sandbox, "/marketing/v3/campaigns", limit=4, properties="hs_name")
    assert sorted(c["id"] for c in everything) == sorted(c["id"] for c in sandbox.data.hubspot_campaigns)
    named = get(sandbox, "/marketing/v3/campaigns", name="zomer", properties="hs_name").json()["results"]
    assert [c["properties"]["hs_name"] for c in named] == ["Zomeractie2026"]


def test_unknown_object_type_is_a_400_like_hubspot(sandbox: SandboxServer) -> None:
    response = get(sandbox, "/crm/v3/objects/unicorns")
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


def test_after_a_merge_the_loser_is_gone_and_the_winner_names_it(sandbox: SandboxServer, clock: Any) -> None:
    merge = sandbox.data.hubspot_merges[0]
    merged_at = parse_timestamp(merge["mergedAt"])
    clock(merged_at - timedelta(seconds=1))
    before = {c["id"] for c in page_all(sandbox, "/crm/v3/objects/contacts", limit=100)}
    assert {merge["loser"], merge["winner"]} <= before

    clock(merged_at)
    contacts = page_all(sandbox, "/crm/v3/objects/contacts", limit=100, properties="hs_merged_object_ids")
    by_id = {c["id"]: c for c in contacts}
    assert merge["loser"] not in by_id
    winner = by_id[merge["winner"]]
    assert merge["loser"] in winner["properties"]["hs_merged_object_ids"].split(";")
    assert winner["updatedAt"] == winner["properties"]["lastmodifieddate"] == merge["mergedAt"]
    assert get(sandbox, f"/crm/v3/objects/contacts/{merge['loser']}").status_code == 404
    search = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE",
                                             "value": merge["mergedAt"]}]}], "limit": 100}  # fmt: skip
    found = {c["id"] for c in post(sandbox, "/crm/v3/objects/contacts/search", search).json()["results"]}
    assert merge["winner"] in found and merge["loser"] not in found


def test_merge_endpoint_merges_at_the_portal_clock(sandbox: SandboxServer, clock: Any) -> None:
    later = DEFAULT_ANCHOR + timedelta(days=20)
    clock(later)
    live = [c["id"] for c in page_all(sandbox, "/crm/v3/objects/contacts", limit=100)]
    winner, loser = live[-1], live[-2]
    response = post(sandbox, "/crm/v3/objects/contacts/merge", {"primaryObjectId": winner, "objectIdToMerge": loser})
    assert response.status_code == 200
    assert response.json()["id"] == winner and loser in response.json()["properties"]["hs_merged_object_ids"]
    assert parse_timestamp(response.json()["updatedAt"]) == later
    assert loser not in {c["id"] for c in page_all(sandbox, "/crm/v3/objects/contacts", limit=100)}
    again = post(sandbox, "/crm/v3/objects/contacts/merge", {"primaryObjectId": winner, "objectIdToMerge": loser})
    assert again.status_code == 400  # the loser is gone: nothing left to merge


def test_duplicate_page_fault_repeats_the_last_record_of_the_page_before(sandbox: SandboxServer) -> None:
    sandbox.set_faults("hubspot", duplicate_page=2)
    first = get(sandbox, "/crm/v3/objects/deals", limit=3).json()
    second = get(sandbox, "/crm/v3/objects/deals", limit=3, after=first["paging"]["next"]["after"]).json()
    assert len(second["results"]) == 4 and second["results"][0] == first["results"][-1]
    third = get(sandbox, "/crm/v3/objects/deals", limit=3, after=second["paging"]["next"]["after"]).json()
    assert len(third["results"]) == 3 and third["results"][0]["id"] != second["results"][-1]["id"]


def test_expire_token_after_rotates_the_private_app_token_until_faults_change(sandbox: SandboxServer) -> None:
    sandbox.set_faults("hubspot", expire_token_after=2)
    codes = [get(sandbox, "/crm/v3/objects/deals").status_code for _ in range(4)]
    assert codes == [200, 200, 401, 401]
    body = get(sandbox, "/crm/v3/objects/deals").json()
    assert body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
    sandbox.clear_faults()
    assert get(sandbox, "/crm/v3/objects/deals").status_code == 200


def test_official_sdk_reads_deals_with_their_contacts(sandbox: SandboxServer) -> None:
    client = HubSpot(access_token=DEFAULT_TOKEN, host=sandbox.hubspot_url)
    page = client.crm.deals.basic_api.get_page(limit=5, properties=["dealname", "amount"], associations=["contacts"])
    assert len(page.results) == 5 and page.paging.next.after
    deals = {d["id"]: d for d in sandbox.data.hubspot_deals}
    for deal in page.results:
        assert deal.properties["dealname"] == deals[deal.id]["properties"]["dealname"]
        linked = [a.id for a in deal.associations["contacts"].results] if deal.associations else []
        assert linked == deals[deal.id]["_contacts"]
    everyone = client.crm.deals.get_all(properties=["dealname"])
    assert {d.id for d in everyone} == {d["id"] for d in sandbox.data.hubspot_deals if not d["archived"]}


def test_generated_deals_notes_and_merges_belong_to_the_right_people() -> None:
    from crmhub_dev.sandbox.datagen import generate

    data, again = generate(seed=9, people=120), generate(seed=9, people=120)
    assert (data.hubspot_deals, data.hubspot_notes, data.hubspot_merges) == (
        again.hubspot_deals,
        again.hubspot_notes,
        again.hubspot_merges,
    )
    owner = {
        r["source_id"]: p["person_id"]
        for p in data.ground_truth["persons"]
        for r in p["source_records"]
        if r["source"] == "hubspot"
    }
    contacts = {c["id"]: c for c in data.hubspot_contacts}
    for record in data.hubspot_deals + data.hubspot_notes:
        assert all(cid in owner and not contacts[cid]["archived"] for cid in record["_contacts"])
    assert data.hubspot_merges and data.ground_truth["hubspot_merges"] == data.hubspot_merges
    for merge in data.hubspot_merges:
        assert owner[merge["loser"]] == owner[merge["winner"]]  # a merge joins one person's duplicates
        assert parse_timestamp(merge["mergedAt"]) > DEFAULT_ANCHOR  # so a pull at the anchor sees both
    campaign_ids = {c["id"] for c in data.hubspot_campaigns}
    assert {d["properties"]["hs_campaign"] for d in data.hubspot_deals} - {None} <= campaign_ids
