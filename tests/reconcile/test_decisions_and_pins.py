"""Steward decisions (link / split, merge undo), pins and trust decay, each applied on the next run."""

from __future__ import annotations

import dataclasses

import pandas as pd

from crmhub.reconcile import reconcile
from crmhub.reconcile.rules import AttributeRule


def _golden(result, source_id: str) -> str:
    return result.xref.set_index("source_id")["golden_id"][source_id]


def _decision(left: str, right: str, decision: str, restore: str | None = None) -> dict:
    return {
        "left_source": "hubspot",
        "left_source_id": left,
        "right_source": "hubspot",
        "right_source_id": right,
        "decision": decision,
        "restore_golden_id": restore,
    }


def test_steward_link_joins_records_nothing_else_links(contacts, contact, default_rules) -> None:
    frame = contacts(contact("hubspot", "h1", first_name="Jan"), contact("hubspot", "h2", first_name="Piet"))
    result = reconcile(frame, default_rules, decisions=pd.DataFrame([_decision("h1", "h2", "link")]))
    assert _golden(result, "h1") == _golden(result, "h2")
    assert set(result.xref["match_rule"]) == {"steward"}


def test_steward_split_beats_a_shared_email(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", email="jan@x.nl"),
        contact("hubspot", "h2", first_name="Jan", email="jan@x.nl"),
    )
    result = reconcile(frame, default_rules, decisions=pd.DataFrame([_decision("h1", "h2", "split")]))
    assert _golden(result, "h1") != _golden(result, "h2")
    assert result.review.empty  # decided pairs are not queued again


def test_merge_is_logged_with_winner_loser_rule_and_records(contacts, contact, default_rules) -> None:
    first = reconcile(
        contacts(contact("hubspot", "h1", email="jan@x.nl"), contact("hubspot", "h2", email="other@x.nl")),
        default_rules,
    )
    second = reconcile(
        contacts(contact("hubspot", "h1", email="jan@x.nl"), contact("hubspot", "h2", email="jan@x.nl")),
        default_rules,
        previous_xref=first.xref,
    )
    (merge,) = [m for m in second.merges if m["event"] == "merge"]
    assert merge["rule"] == "email"
    assert merge["into_golden_id"] == _golden(second, "h1")
    assert merge["loser_records"] == [["hubspot", "h2"]]


def test_undo_restores_the_losers_golden_id(contacts, contact, default_rules) -> None:
    before = reconcile(
        contacts(contact("hubspot", "h1", email="jan@x.nl"), contact("hubspot", "h2", email="other@x.nl")),
        default_rules,
    )
    loser_id = _golden(before, "h2")
    merged_frame = contacts(contact("hubspot", "h1", email="jan@x.nl"), contact("hubspot", "h2", email="jan@x.nl"))
    merged = reconcile(merged_frame, default_rules, previous_xref=before.xref)
    undo = pd.DataFrame([_decision("h2", "h1", "split", restore=loser_id)])
    after = reconcile(merged_frame, default_rules, previous_xref=merged.xref, decisions=undo)
    assert _golden(after, "h2") == loser_id
    assert _golden(after, "h1") == _golden(before, "h1")


def test_pin_overrides_every_rule_with_lineage_and_a_conflict(contacts, contact, default_rules) -> None:
    frame = contacts(contact("hubspot", "h1", first_name="Jan", last_name="Berg", email="jan@x.nl"))
    gid = _golden(reconcile(frame, default_rules), "h1")
    pins = pd.DataFrame(
        [
            {"golden_id": gid, "attribute": "name", "field": "first_name", "value": "Johannes"},
            {"golden_id": gid, "attribute": "name", "field": "last_name", "value": "Berg"},
        ]
    )
    result = reconcile(frame, default_rules, pins=pins)
    assert result.golden.loc[0, "first_name"] == "Johannes"
    lineage = result.lineage.set_index("attribute").loc["name"]
    assert (lineage["source"], lineage["rule"]) == ("steward", "steward_pin")
    (conflict,) = result.conflicts.itertuples()
    assert (conflict.chosen_source, conflict.other_value) == ("steward", "Jan |  | Berg")


def _rule(rules, group: str, **changes):
    attrs = dict(rules.attributes)
    attrs[group] = dataclasses.replace(attrs[group], **changes)
    return dataclasses.replace(rules, attributes=attrs)


def test_most_complete_takes_the_fullest_address(contacts, contact, default_rules) -> None:
    rules = _rule(default_rules, "address", rule="most_complete", sources=("hubspot", "hootsuite"))
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", email="jan@x.nl", city="Utrecht"),
        contact("hootsuite", "t1", "2024-01-01", email="jan@x.nl", address_line="Kerkstraat 1", postcode="1234AB"),
    )
    lineage = reconcile(frame, rules).lineage.set_index("attribute")
    assert lineage.loc["address", "source_id"] == "t1"


def test_most_frequent_takes_the_value_most_records_agree_on(contacts, contact, default_rules) -> None:
    rules = dataclasses.replace(default_rules, sources=("hubspot", "hootsuite", "erp"))
    rules = _rule(rules, "phone", rule="most_frequent", sources=("hubspot", "hootsuite", "erp"))
    frame = contacts(
        contact("hubspot", "h1", "2024-05-01", email="jan@x.nl", phone="0612345678"),
        contact("hootsuite", "t1", "2024-01-01", email="jan@x.nl", phone="0687654321"),
        contact("erp", "e1", "2024-01-02", email="jan@x.nl", phone="+31687654321"),
    )
    golden = reconcile(frame, rules).golden
    assert golden.loc[0, "phone"] == "+31687654321"


def test_trust_decay_lets_a_fresh_lower_trust_value_beat_a_stale_one(contacts, contact, default_rules) -> None:
    decay = {"half_life_days": 180.0, "trust": {"hubspot": 1.0, "hootsuite": 0.6}}
    rules = _rule(default_rules, "name", **decay)
    frame = contacts(
        contact("hubspot", "h1", "2022-01-01", email="jan@x.nl", first_name="Jan", last_name="Berg"),
        contact("hootsuite", "t1", "2024-01-01", email="jan@x.nl", first_name="Jantje", last_name="Berg"),
    )
    result = reconcile(frame, rules)
    assert result.golden.loc[0, "first_name"] == "Jantje"
    assert result.lineage.set_index("attribute").loc["name", "rule"] == "trust_decay+source_priority"


def test_without_decay_source_priority_keeps_the_stale_value(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2022-01-01", email="jan@x.nl", first_name="Jan", last_name="Berg"),
        contact("hootsuite", "t1", "2024-01-01", email="jan@x.nl", first_name="Jantje", last_name="Berg"),
    )
    assert reconcile(frame, default_rules).golden.loc[0, "first_name"] == "Jan"
    assert isinstance(default_rules.attributes["name"], AttributeRule)


def test_a_steward_split_in_a_run_where_nothing_links_keeps_both_apart(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="Smit", email="jan@x.nl"),
        contact("hubspot", "h2", first_name="Anouk", last_name="Verbeek", email="anouk@y.nl"),
    )
    result = reconcile(frame, default_rules, decisions=pd.DataFrame([_decision("h1", "h2", "split")]))
    assert _golden(result, "h1") != _golden(result, "h2")
