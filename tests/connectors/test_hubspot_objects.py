"""HubSpot deals, notes, campaigns, merges and social value, against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.model import CAMPAIGN_COLUMNS, INTERACTION_COLUMNS, OPPORTUNITY_COLUMNS

from .conftest import ANCHOR


def pull(connector, object_type, window):
    return [record for page in connector.extract(object_type, window) for record in page.records]


@pytest.fixture
def clock(sandbox) -> Iterator[None]:
    """Tests that move the portal's clock put it back at the anchor for the next test."""
    yield
    requests.post(f"{sandbox.hubspot_url}/_sandbox/clock", json={"now": ANCHOR.isoformat()}, timeout=10)


def move_clock(sandbox, when) -> None:
    response = requests.post(f"{sandbox.hubspot_url}/_sandbox/clock", json={"now": when.isoformat()}, timeout=10)
    response.raise_for_status()


def test_objects_are_pulled_campaigns_first_so_deals_can_point_at_them(hubspot_connector):
    assert hubspot_connector.objects == ("campaigns", "contacts", "deals", "notes")


def test_full_pull_of_deals_returns_every_deal_once_with_its_contact(hubspot_connector, sandbox):
    records = pull(hubspot_connector, "deals", Window(None, ANCHOR))
    ids = [r.source_id for r in records]
    assert sorted(ids) == sorted(d["id"] for d in sandbox.data.hubspot_deals)
    assert len(ids) == len(set(ids))
    by_id = {d["id"]: d for d in sandbox.data.hubspot_deals}
    for record in records:
        linked = record.payload.get("associations", {}).get("contacts", {}).get("results", [])
        assert [a["id"] for a in linked] == by_id[record.source_id]["_contacts"]


def test_incremental_pull_of_notes_searches_the_window_and_keeps_their_contacts(hubspot_connector, sandbox):
    since = ANCHOR - timedelta(days=30)
    records = pull(hubspot_connector, "notes", Window(since, ANCHOR))
    expected = {
        n["id"]: n["_contacts"]
        for n in sandbox.data.hubspot_notes
        if not n["archived"] and since <= parse_timestamp(n["properties"]["hs_lastmodifieddate"]) < ANCHOR
    }
    assert expected and {r.source_id for r in records} == set(expected)
    for record in records:
        assert [a["id"] for a in record.payload["associations"]["contacts"]["results"]] == expected[record.source_id]


def test_a_deal_lands_the_same_payload_from_the_list_and_from_search(hubspot_connector):
    listed = {r.source_id: r.payload_hash for r in pull(hubspot_connector, "deals", Window(None, ANCHOR))}
    searched = pull(hubspot_connector, "deals", Window(ANCHOR - timedelta(days=120), ANCHOR))
    assert searched and all(listed[r.source_id] == r.payload_hash for r in searched)


def test_deals_map_to_opportunities_with_stage_amount_source_and_campaign(hubspot_connector, sandbox):
    raw = {"deals": [r.payload for r in pull(hubspot_connector, "deals", Window(None, ANCHOR))]}
    frame = hubspot_connector.to_canonical(raw).opportunities
    assert list(frame.columns) == OPPORTUNITY_COLUMNS
    opportunities = frame.set_index("source_id")
    assert len(opportunities) == len(sandbox.data.hubspot_deals)
    for deal in sandbox.data.hubspot_deals:
        row, props = opportunities.loc[deal["id"]], deal["properties"]
        assert row["stage"] == props["dealstage"] and row["name"] == props["dealname"]
        assert row["is_closed"] == (props["hs_is_closed"] == "true")
        assert row["is_won"] == (props["hs_is_closed_won"] == "true")
        assert row["is_deleted"] == deal["archived"]
        assert row["campaign_source_id"] == props["hs_campaign"]
        assert row["contact_source_id"] == (deal["_contacts"][0] if deal["_contacts"] else None)
        if props["amount"] is None:
            assert row["amount"] != row["amount"]  # NaN: no amount is not zero revenue
        else:
            assert row["amount"] == float(props["amount"])
    social = opportunities[opportunities["lead_source"] == "Social Media"]
    assert len(social) == sum(
        d["properties"]["hs_analytics_source"] == "SOCIAL_MEDIA" for d in sandbox.data.hubspot_deals
    )


def test_notes_map_to_crm_note_interactions_with_plain_text(hubspot_connector, sandbox):
    raw = {"notes": [r.payload for r in pull(hubspot_connector, "notes", Window(None, ANCHOR))]}
    interactions = hubspot_connector.to_canonical(raw).interactions
    assert list(interactions.columns) == INTERACTION_COLUMNS
    assert len(interactions) == len(sandbox.data.hubspot_notes)
    assert set(interactions["interaction_type"]) == {"note"} and set(interactions["channel"]) == {"crm"}
    texts = interactions["text"].dropna()
    assert not texts.str.contains("<p>").any() and texts.str.contains("levering").any()
    first = sandbox.data.hubspot_notes[0]
    row = interactions.set_index("source_id").loc[first["id"]]
    assert row["occurred_at"] == parse_timestamp(first["properties"]["hs_timestamp"])
    assert row["contact_source_id"] == first["_contacts"][0]


def test_campaigns_are_listed_with_their_names_and_map_to_campaigns(hubspot_connector, sandbox):
    records = pull(hubspot_connector, "campaigns", Window(ANCHOR - timedelta(days=1), ANCHOR))
    assert sorted(r.source_id for r in records) == sorted(c["id"] for c in sandbox.data.hubspot_campaigns)
    campaigns = hubspot_connector.to_canonical({"campaigns": [r.payload for r in records]}).campaigns
    assert list(campaigns.columns) == CAMPAIGN_COLUMNS
    assert set(campaigns["name"]) == {c["properties"]["hs_name"] for c in sandbox.data.hubspot_campaigns}
    assert {"Zomeractie2026", "BlackFriday2026"} <= set(campaigns["name"])  # the names Hootsuite tags use
    assert campaigns["started_at"].notna().all() and campaigns["source_updated_at"].notna().all()


def test_twitter_follower_count_becomes_social_followers(hubspot_connector, sandbox):
    raw = {"contacts": [r.payload for r in pull(hubspot_connector, "contacts", Window(None, ANCHOR))]}
    contacts = hubspot_connector.to_canonical(raw).contacts.set_index("source_id")
    counted = {c["id"]: c["properties"].get("followercount") for c in sandbox.data.hubspot_contacts}
    assert any(counted.values())
    for source_id, followers in counted.items():
        value = contacts.loc[source_id, "social_followers"]
        assert (value != value) if followers is None else value == float(followers)


def test_merged_away_contact_is_marked_deleted_and_merged_into_its_winner(hubspot_connector, sandbox, clock):
    merges = sandbox.data.hubspot_merges
    assert merges, "the sandbox data should hold merges"
    landed = {r.source_id: r.payload for r in pull(hubspot_connector, "contacts", Window(None, ANCHOR))}
    assert {m["loser"] for m in merges} <= set(landed)  # before the merges both duplicates are there

    after = max(parse_timestamp(m["mergedAt"]) for m in merges) + timedelta(hours=1)
    move_clock(sandbox, after)
    changed = pull(hubspot_connector, "contacts", Window(ANCHOR - timedelta(hours=1), after))
    assert {m["winner"] for m in merges} <= {r.source_id for r in changed}
    assert not {m["loser"] for m in merges} & {r.source_id for r in changed}
    landed.update({r.source_id: r.payload for r in changed})  # the latest version of each landed record

    contacts = hubspot_connector.to_canonical({"contacts": list(landed.values())}).contacts.set_index("source_id")
    for merge in merges:
        assert contacts.loc[merge["loser"], "is_deleted"]
        assert contacts.loc[merge["loser"], "merged_into_source_id"] == merge["winner"]
        assert not contacts.loc[merge["winner"], "is_deleted"]
    assert contacts["merged_into_source_id"].notna().sum() == len(merges)


def test_full_pull_after_the_merges_no_longer_lists_the_losers(hubspot_connector, sandbox, clock):
    after = max(parse_timestamp(m["mergedAt"]) for m in sandbox.data.hubspot_merges) + timedelta(hours=1)
    move_clock(sandbox, after)
    ids = {r.source_id for r in pull(hubspot_connector, "contacts", Window(None, after))}
    losers = {m["loser"] for m in sandbox.data.hubspot_merges}
    assert not ids & losers and len(ids) == len(sandbox.data.hubspot_contacts) - len(losers)


def test_chained_merges_point_at_the_last_survivor(hubspot_connector):
    raw = {
        "contacts": [
            {"id": "1", "properties": {}, "updatedAt": "2026-11-01T00:00:00Z", "archived": False},
            {"id": "2", "properties": {"hs_merged_object_ids": "1"}, "updatedAt": "2026-11-02T00:00:00Z"},
            {"id": "3", "properties": {"hs_merged_object_ids": "1;2"}, "updatedAt": "2026-11-03T00:00:00Z"},
        ]
    }
    contacts = hubspot_connector.to_canonical(raw).contacts.set_index("source_id")
    assert contacts.loc["1", "merged_into_source_id"] == "3" and contacts.loc["2", "merged_into_source_id"] == "3"
    assert contacts["is_deleted"].tolist() == [True, True, False]
