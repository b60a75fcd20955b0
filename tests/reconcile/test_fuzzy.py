"""Fuzzy name + address matching: blocking, levels, scores, thresholds and the chaining guard."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from crmhub.reconcile import reconcile
from crmhub.reconcile.fuzzy import score_pairs
from crmhub.reconcile.normalize import normalize_contacts


def _golden(result, source_id: str) -> str:
    xref = result.xref.set_index("source_id")["golden_id"]
    return xref[source_id]


def _home(**fields):
    return {"address_line": "Kerkstraat 12", "postcode": "1234 AB", "city": "Utrecht", **fields}


def test_name_typo_at_the_same_address_is_linked(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", **_home()),
        contact("hubspot", "h2", first_name="Jan", last_name="de Vris", **_home(postcode="1234ab")),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") == _golden(result, "h2")
    assert result.xref["match_rule"].eq("fuzzy").all()


def test_swapped_first_and_last_name_count_as_the_same_name(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="Visser", **_home()),
        contact("hubspot", "h2", first_name="Visser", last_name="Jan", **_home()),
    )
    pairs, _ = score_pairs(normalize_contacts(frame), _fuzzy())
    assert pairs.loc[0, "name"] == "exact"


def test_family_member_at_the_same_address_is_not_linked(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", **_home()),
        contact("hubspot", "h2", first_name="Anna", last_name="de Vries", **_home()),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") != _golden(result, "h2")
    assert result.pairs.loc[0, "name"] == "same_last"


def test_every_scored_pair_is_explained_per_field_without_values(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", email="jan@x.nl", **_home()),
        contact("hubspot", "h2", first_name="Jan", last_name="de Vries", **_home()),
    )
    pairs, _ = score_pairs(normalize_contacts(frame), _fuzzy())
    explanation = pairs.loc[0, "explanation"]
    assert explanation.startswith("name=exact(+9) address=same(+7) email=missing(+0)")
    assert "jan" not in explanation.lower().replace("name=", "")
    assert pairs.loc[0, "score"] == 16


def test_same_name_elsewhere_goes_to_review_not_auto_link(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", **_home()),
        contact("hubspot", "h2", first_name="Jan", last_name="de Vries", **_home(postcode="1234 AC")),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") != _golden(result, "h2")
    (row,) = result.review.itertuples()
    assert (row.reason, row.rule, row.left_source_id, row.right_source_id) == ("review_band", "fuzzy", "h1", "h2")
    assert 5 <= row.score < 12


def test_thresholds_come_from_the_rules_file(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", **_home()),
        contact("hubspot", "h2", first_name="Jan", last_name="de Vries", **_home(postcode="1234 AC")),
    )
    lenient = _with_fuzzy(default_rules, link=6.0, review=3.0)
    result = reconcile(frame, lenient)
    assert _golden(result, "h1") == _golden(result, "h2")


def test_shared_family_email_does_not_merge_two_first_names(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", email="fam.devries@ziggo.nl"),
        contact("hubspot", "h2", first_name="Anna", last_name="de Vries", email="fam.devries@ziggo.nl"),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") != _golden(result, "h2")
    (row,) = result.review.itertuples()
    assert (row.reason, row.rule) == ("refused_link", "email")


def test_one_weak_link_cannot_chain_two_people_together(contacts, contact, default_rules) -> None:
    # h2 ("J. de Vries", no first name detail) is linked to both Jan and Anna by a family e-mail;
    # Jan and Anna contradict each other, so they must not end up in one golden record.
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", email="jan@x.nl", **_home()),
        contact("crm2", "c1", first_name="Jan", last_name="de Vries", email="jan@x.nl"),
        contact("crm2", "c2", first_name="Anna", last_name="de Vries", email="anna@x.nl", **_home()),
        contact("crm2", "c3", last_name="de Vries", email="anna@x.nl"),
        contact("crm2", "c4", last_name="de Vries", email="jan@x.nl"),
    )
    rules = dataclasses.replace(default_rules, sources=(*default_rules.sources, "crm2"))
    result = reconcile(frame, rules)
    assert _golden(result, "h1") == _golden(result, "c1") == _golden(result, "c4")
    assert _golden(result, "c2") == _golden(result, "c3")
    assert _golden(result, "h1") != _golden(result, "c2")


def test_names_in_different_scripts_are_not_a_contradiction(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="علی", last_name="حسینی", email="ali@x.nl"),
        contact("hubspot", "h2", first_name="Ali", last_name="Hosseini", email="ali@x.nl"),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") == _golden(result, "h2")


def test_persian_and_arabic_letter_variants_match_exactly(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="کیمیا", last_name="حسینی", **_home()),
        contact("hubspot", "h2", first_name="كيميا", last_name="حسيني", **_home()),
    )
    pairs, _ = score_pairs(normalize_contacts(frame), _fuzzy())
    assert pairs.loc[0, "name"] == "exact"


def test_handle_that_spells_the_name_is_queued_for_review(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="van Dijk", email="jan@x.nl"),
        contact("hootsuite", "twitter:jan_vandijk42", social_network="twitter", social_handle="jan_vandijk42"),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") != _golden(result, "twitter:jan_vandijk42")
    (row,) = result.review.itertuples()
    assert "handle_name=full(+8)" in row.explanation


def test_oversized_blocks_are_skipped_and_counted(contacts, contact) -> None:
    rows = [contact("hubspot", f"h{i}", first_name=f"P{i}", last_name="Jansen", **_home()) for i in range(6)]
    _, report = score_pairs(normalize_contacts(contacts(*rows)), _fuzzy(max_block_size=5))
    assert report.blocks_skipped >= 1 and report.records_in_skipped_blocks >= 6


def _fuzzy(**changes):
    from crmhub.reconcile.match import FuzzyConfig

    return dataclasses.replace(FuzzyConfig(), **changes)


def _with_fuzzy(rules, **changes):
    matching = dataclasses.replace(rules.matching, fuzzy=_fuzzy(**changes))
    return dataclasses.replace(rules, matching=matching)


def test_no_pairs_for_empty_input(contacts) -> None:
    pairs, report = score_pairs(normalize_contacts(contacts()), _fuzzy())
    assert pairs.empty and report.candidate_pairs == 0
    assert isinstance(pairs, pd.DataFrame)


def test_one_dropped_letter_is_a_typo_but_one_changed_letter_is_another_name(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Tim", last_name="de Vries", **_home()),
        contact("hubspot", "h2", first_name="Tm", last_name="de Vries", **_home()),
        contact("hubspot", "h3", first_name="Tom", last_name="de Vries", **_home()),
    )
    pairs, _ = score_pairs(normalize_contacts(frame), _fuzzy())
    level = {(a, b): name for a, b, name in zip(pairs["left"], pairs["right"], pairs["name"], strict=True)}
    assert level[(0, 1)] == "close"  # Tim / Tm
    assert level[(0, 2)] == "similar_first"  # Tim / Tom: maybe two people of one household, never "close"


def test_male_and_female_forms_of_a_name_at_one_address_are_not_linked(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Cornelis", last_name="de Vries", **_home()),
        contact("hubspot", "h2", first_name="Cornelia", last_name="de Vries", **_home()),
    )
    result = reconcile(frame, default_rules)
    assert _golden(result, "h1") != _golden(result, "h2")


def test_cluster_guard_refuses_the_link_that_would_join_a_cannot_link_pair() -> None:
    from crmhub.reconcile.match import cluster_guarded

    links = pd.DataFrame(
        {
            "left": [0, 1],
            "right": [1, 2],
            "rule": "fuzzy",
            "match_key": "k",
            "score": [14.0, 13.0],
            "priority": [14.0, 13.0],
        }
    )
    labels, refused = cluster_guarded(3, links, np.array([0]), np.array([2]))
    assert labels.tolist() == [0, 0, 2]
    assert refused[["left", "right"]].values.tolist() == [[1, 2]]
