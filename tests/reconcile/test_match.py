from __future__ import annotations

import pandas as pd

from crmhub.reconcile.match import (
    LINK_COLUMNS,
    Blocklist,
    MatchConfig,
    cluster,
    explain_records,
    find_links,
    hash_key,
)
from crmhub.reconcile.normalize import normalize_contacts


def _clusters(frame: pd.DataFrame, config: MatchConfig | None = None) -> list[set[str]]:
    """Clusters as sets of source_ids (only the multi-record ones), plus the links."""
    records = normalize_contacts(frame)
    links, _ = find_links(records, config or MatchConfig())
    labels = cluster(len(records), links)
    groups: dict[int, set[str]] = {}
    for label, sid in zip(labels, records["source_id"], strict=True):
        groups.setdefault(int(label), set()).add(sid)
    return sorted((g for g in groups.values() if len(g) > 1), key=sorted)


def test_email_links_records_across_case_and_whitespace(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="Jan.DeVries@Example.nl"),
        contact("hootsuite", "t1", email="  jan.devries@EXAMPLE.NL "),
        contact("hubspot", "h2", email="piet@example.nl"),
    )
    assert _clusters(frame) == [{"h1", "t1"}]


def test_handle_links_records_across_url_and_at_forms(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", social_network="twitter", social_handle="https://twitter.com/JanDV"),
        contact("hootsuite", "twitter:jandv", social_network="x", social_handle="@jandv"),
    )
    assert _clusters(frame) == [{"h1", "twitter:jandv"}]


def test_same_handle_on_different_networks_does_not_link(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", social_network="twitter", social_handle="jan"),
        contact("hootsuite", "t1", social_network="instagram", social_handle="jan"),
    )
    assert _clusters(frame) == []


def test_email_and_handle_links_chain_into_one_person(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl", social_network="twitter", social_handle="jandv"),
        contact("hootsuite", "t1", social_network="twitter", social_handle="@JanDV"),
        contact("hubspot", "h2", email="JAN@example.nl"),
    )
    assert _clusters(frame) == [{"h1", "h2", "t1"}]


def test_does_not_chain_through_info_address(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="info@bakkerij.nl", first_name="Jan"),
        contact("hubspot", "h2", email="Info@Bakkerij.nl", first_name="Piet"),
    )
    assert _clusters(frame) == []


def test_does_not_chain_through_plus_addressed_noreply(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="noreply+nl@shop.nl"),
        contact("hootsuite", "t1", email="noreply+nl@shop.nl"),
    )
    assert _clusters(frame) == []


def test_does_not_chain_through_an_overshared_key(contacts, contact) -> None:
    shared = [contact("hubspot", f"h{i}", email="familie@jansen.nl") for i in range(6)]
    assert _clusters(contacts(*shared), MatchConfig(max_records_per_key=5)) == []


def test_key_at_the_sharing_limit_still_links(contacts, contact) -> None:
    shared = [contact("hubspot", f"h{i}", email="familie@jansen.nl") for i in range(5)]
    assert _clusters(contacts(*shared), MatchConfig(max_records_per_key=5)) == [{f"h{i}" for i in range(5)}]


def test_configured_blocklist_entries_block_domain_address_and_handle(contacts, contact) -> None:
    config = MatchConfig(blocklist=Blocklist.from_entries(["@mailinator.com", "jan@x.nl", "twitter:@placeholder"]))
    frame = contacts(
        contact("hubspot", "h1", email="a@mailinator.com"),
        contact("hootsuite", "t1", email="a@mailinator.com"),
        contact("hubspot", "h2", email="jan@x.nl"),
        contact("hootsuite", "t2", email="jan@x.nl"),
        contact("hubspot", "h3", social_network="twitter", social_handle="placeholder"),
        contact("hootsuite", "t3", social_network="twitter", social_handle="placeholder"),
    )
    assert _clusters(frame, config) == []


def test_blocked_and_overshared_keys_are_counted(contacts, contact) -> None:
    frame = contacts(
        *[contact("hubspot", f"h{i}", email="shared@x.nl") for i in range(6)],
        contact("hubspot", "i1", email="info@x.nl"),
        contact("hootsuite", "i2", email="info@x.nl"),
    )
    _, reports = find_links(normalize_contacts(frame), MatchConfig())
    assert (reports["email"].keys_overshared, reports["email"].keys_blocklisted, reports["email"].links) == (1, 1, 0)


def test_invalid_email_never_links(contacts, contact) -> None:
    frame = contacts(contact("hubspot", "h1", email="jan@@x.nl"), contact("hootsuite", "t1", email="jan@@x.nl"))
    assert _clusters(frame) == []


def test_links_explain_rule_with_hashed_key_not_the_email(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl"), contact("hootsuite", "t1", email="jan@example.nl")
    )
    records = normalize_contacts(frame)
    links, _ = find_links(records, MatchConfig())
    assert list(links.columns) == LINK_COLUMNS
    explained = explain_records(len(records), links, ("email", "social"))
    assert explained["match_rule"].tolist() == ["email", "email"]
    assert explained["match_key"].tolist() == [hash_key("email", "jan@example.nl")] * 2
    assert "jan" not in explained["match_key"].iloc[0]


def test_record_linked_by_two_rules_lists_both(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl", social_network="twitter", social_handle="jan"),
        contact("hootsuite", "t1", email="jan@example.nl", social_network="twitter", social_handle="jan"),
    )
    records = normalize_contacts(frame)
    links, _ = find_links(records, MatchConfig())
    explained = explain_records(len(records), links, ("email", "social"))
    assert explained.loc[0, "match_rule"] == "email+social"


def test_cluster_label_does_not_depend_on_link_order() -> None:
    links = pd.DataFrame({"left": [3, 0], "right": [1, 3], "rule": "email", "match_key": "k", "score": 1.0})
    assert cluster(5, links).tolist() == cluster(5, links.iloc[::-1]).tolist() == [0, 0, 2, 0, 4]
