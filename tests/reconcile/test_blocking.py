"""Typo-tolerant blocking keys (crmhub.reconcile.blocking): pairs whose every shared field has a typo."""

from __future__ import annotations

from crmhub.reconcile.address import parse_line
from crmhub.reconcile.blocking import soundex
from crmhub.reconcile.fuzzy import score_pairs
from crmhub.reconcile.match import FuzzyConfig
from crmhub.reconcile.normalize import normalize_contacts


def _pair(contacts, contact, left: dict, right: dict):
    return normalize_contacts(contacts(contact("crm", "a", **left), contact("crm", "b", **right)))


def test_soundex_keeps_the_sound_of_a_misspelt_surname() -> None:
    assert soundex("smith") == soundex("smyth") == "s530"
    assert soundex("robert") == soundex("rupert") == "r163"
    assert soundex("") == ""


def test_soundex_name_blocks_typos_in_both_names_even_swapped(contacts, contact) -> None:
    frame = _pair(
        contacts,
        contact,
        {"first_name": "William", "last_name": "Lazavroff", "postcode": "7256", "city": "Forbes"},
        {"first_name": "Lazaroff", "last_name": "Wiliam", "postcode": "7257", "city": "Forbqes"},
    )
    default, _ = score_pairs(frame, FuzzyConfig())
    assert default.empty
    pairs, _ = score_pairs(frame, FuzzyConfig(blocking=("soundex_name",)))
    assert len(pairs) == 1


def test_postcode_initial_blocks_typos_in_both_names_and_the_street(contacts, contact) -> None:
    frame = _pair(
        contacts,
        contact,
        {"first_name": "Katelyn", "last_name": "Colegate", "address_line": "5 Fiveash Street", "postcode": "2195"},
        {"first_name": "Katel Byn", "last_name": "Colegte", "address_line": "55 Fiveas hstreet", "postcode": "2195"},
    )
    assert score_pairs(frame, FuzzyConfig())[0].empty
    assert len(score_pairs(frame, FuzzyConfig(blocking=("postcode_initial",)))[0]) == 1


def test_oversized_typo_tolerant_blocks_are_skipped(contacts, contact) -> None:
    people = [contact("crm", str(i), first_name="Anna", last_name=f"Smit{i}", postcode="2195") for i in range(6)]
    pairs, report = score_pairs(
        normalize_contacts(contacts(*people)), FuzzyConfig(blocking=("postcode_initial",), max_block_size=5)
    )
    assert pairs.empty
    assert report.blocks_skipped >= 1


def test_a_number_alone_before_a_comma_is_the_house_number() -> None:
    assert parse_line("244, Markool")[:2] == ("Markool", "244")
    assert parse_line("Kerkstraat, 12")[:2] == ("Kerkstraat", "12")


def test_a_run_that_keeps_keys_with_typo_tolerant_blocking_reports_them_unverified(
    contacts, contact, default_rules
) -> None:
    """The incremental path has no stable form for these keys: the key check says no, the run completes."""
    import dataclasses

    from crmhub.reconcile import reconcile

    fuzzy = dataclasses.replace(default_rules.matching.fuzzy, blocking=("name", "soundex_name"))
    rules = dataclasses.replace(default_rules, matching=dataclasses.replace(default_rules.matching, fuzzy=fuzzy))
    frame = contacts(
        contact("hubspot", "a", first_name="William", last_name="Lazavroff", postcode="7256"),
        contact("hubspot", "b", first_name="Lazaroff", last_name="Wiliam", postcode="7257"),
    )
    result = reconcile(frame, rules, with_keys=True)
    assert len(result.pairs) == 1
    assert result.keys_verified[0] is False
