"""Issue 15: addresses of any country, a frozen trained model, and what retraining may change."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from crmhub.reconcile import reconcile
from crmhub.reconcile.address import country_from_postcode, parse_line, street_key
from crmhub.reconcile.fuzzy import score_pairs
from crmhub.reconcile.match_model import MatchModel, load_model
from crmhub.reconcile.normalize import normalize_contacts
from crmhub.reconcile.train import model_diff, train, with_model

#: Hand-written addresses, one per country, as a CRM export would hold them (no country column).
ADDRESSES = {
    "AU": {"address_line": "7 Wallaby Place, Delmar", "postcode": "2119", "city": "Cleveland"},
    "US": {"address_line": "1600 Pennsylvania Avenue NW Apt 2", "postcode": "20500", "city": "Washington"},
    "GB": {"address_line": "Flat 2, 10 Downing Street", "postcode": "SW1A 2AA", "city": "London"},
    "DE": {"address_line": "Hauptstraße 5a", "postcode": "10115", "city": "Berlin"},
    "BE": {"address_line": "Wetstraat 16 bus 3", "postcode": "1040", "city": "Brussel"},
    "IR": {"address_line": "خیابان ولیعصر، پلاک ۱۲", "postcode": "1516745811", "city": "تهران"},
}
NAMES = {
    "AU": ("Mitchell", "Green"),
    "US": ("Mary", "Johnson"),
    "GB": ("Oliver", "Smith"),
    "DE": ("Jürgen", "Müller"),
    "BE": ("Lotte", "Peeters"),
    "IR": ("علی", "رضایی"),
}


@pytest.mark.parametrize("country", list(ADDRESSES))
def test_identical_records_link_in_any_country(country, contacts, contact, default_rules) -> None:
    first, last = NAMES[country]
    frame = contacts(
        contact("hubspot", "h1", first_name=first, last_name=last, **ADDRESSES[country]),
        contact("salesforce", "s1", first_name=first, last_name=last, **ADDRESSES[country]),
    )
    result = reconcile(frame, default_rules)
    assert result.xref["golden_id"].nunique() == 1
    assert result.pairs.loc[0, "address"] == "same"  # identical addresses are always "same"


def test_other_street_at_the_same_postcode_and_number_is_not_the_same_building(contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "h1", first_name="Mary", last_name="Johnson", **ADDRESSES["US"]),
        contact("hubspot", "h2", first_name="Mary", last_name="Johnson",
                **{**ADDRESSES["US"], "address_line": "1600 Maple Street Apt 2"}),
    )  # fmt: skip
    pairs, _ = score_pairs(normalize_contacts(frame), _config())
    assert (pairs.loc[0, "address"], pairs.loc[0, "street"]) == ("same_postcode", "different")


def test_street_spellings_compare_equal() -> None:
    assert street_key("Hauptstr.") == street_key("Haupt Straße") == street_key("hauptstrasse")
    assert street_key("Pridham St") == street_key("pridhamstreet")
    assert parse_line("2/15 Smith St", "AU") == ("Smith St", "15", "2", None)
    assert parse_line("Valiasr St, No. 12", "IR")[:2] == ("Valiasr St", "12")


def test_country_comes_from_record_source_default_or_postcode_shape(contacts, contact) -> None:
    assert (country_from_postcode("1234 ab"), country_from_postcode("SW1A 2AA"), country_from_postcode("2119")) == (
        "NL",
        "GB",
        None,
    )
    frame = contacts(
        contact("hubspot", "h1", country="Belgium", postcode="1040"),
        contact("febrl", "f1", postcode="2119"),
        contact("hubspot", "h2", postcode="1234AB"),
    )
    out = normalize_contacts(frame, source_countries={"febrl": "AU"})
    assert out["key_country"].tolist() == ["BE", "AU", "NL"]


# ------------------------------------------------------------------------------------------ model


def _config(model: MatchModel | None = None):
    from crmhub.reconcile.match import FuzzyConfig

    return FuzzyConfig(model=model)


def _population(n_common: int = 40) -> pd.DataFrame:
    """Many "Jan de Vries" and one "Xerxes Zandvliet", each twice (two sources), different towns."""
    rows = []
    for i in range(n_common):
        for source in ("hubspot", "salesforce"):
            rows.append({"source": source, "source_id": f"c{i}", "first_name": "Jan", "last_name": "de Vries",
                         "city": f"Town{i}", "email": f"jan{i}@x.nl" if source == "hubspot" else None})  # fmt: skip
    for i in range(n_common):
        for source in ("hubspot", "salesforce"):
            home = {"city": f"Town{i}", "address_line": f"Dorpsstraat {i + 1}", "postcode": f"{1000 + i} AB"}
            rows.append({"source": source, "source_id": f"p{i}", "first_name": f"Piet{i}", "last_name": f"Bakker{i}",
                         **home})  # fmt: skip
    for source in ("hubspot", "salesforce"):
        rows.append(
            {"source": source, "source_id": "x", "first_name": "Xerxes", "last_name": "Zandvliet", "city": "Ede"}
        )
    frame = pd.DataFrame(rows)
    frame["source_updated_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    return frame


@pytest.fixture(scope="module")
def trained(request) -> MatchModel:
    from crmhub.reconcile.rules import load_rules

    return train(_population(), load_rules(), random_pairs=20_000, min_count=5)


def test_a_rare_name_match_outweighs_a_common_name_match(trained, contacts, contact) -> None:
    frame = contacts(
        contact("hubspot", "a1", first_name="Jan", last_name="de Vries", city="Zwolle"),
        contact("salesforce", "a2", first_name="Jan", last_name="de Vries", city="Zwolle"),
        contact("hubspot", "b1", first_name="Xerxes", last_name="Zandvliet", city="Zwolle"),
        contact("salesforce", "b2", first_name="Xerxes", last_name="Zandvliet", city="Zwolle"),
    )
    pairs, _ = score_pairs(normalize_contacts(frame), _config(trained))
    by_pair = {(int(r.left), int(r.right)): r for r in pairs.itertuples()}
    common, rare = by_pair[(0, 1)], by_pair[(2, 3)]
    assert common.name == rare.name == "exact"
    assert rare.score > common.score + 2
    assert "tf=" in rare.explanation


def test_the_model_is_a_file_every_run_reuses(trained, tmp_path) -> None:
    path = trained.save(tmp_path / "model.json")
    again = load_model(path)
    assert again.weights() == trained.weights() and again.version == trained.version
    assert (again.link, again.review) == (trained.link, trained.review)
    assert trained.link > trained.review


def test_a_retrained_model_changes_no_golden_id_unless_its_diff_says_so(trained, default_rules) -> None:
    contacts = _population()
    rules = with_model(default_rules, trained)
    first = reconcile(contacts, rules)
    retrained = train(contacts, default_rules, random_pairs=20_000, min_count=5, seed=2)
    diff = model_diff(contacts, rules, retrained, previous_xref=first.xref)
    second = reconcile(contacts, with_model(default_rules, retrained), previous_xref=first.xref)
    before = first.xref.set_index(["source", "source_id"])["golden_id"]
    after = second.xref.set_index(["source", "source_id"])["golden_id"]
    moved = set(before.index[(before != after.reindex(before.index)).to_numpy()])
    announced = {(r.source, r.source_id) for r in diff[diff["kind"] == "moved"].itertuples()}
    assert moved == announced


def test_the_household_guard_holds_with_a_trained_model(trained, contacts, contact, default_rules) -> None:
    home = {"address_line": "Kerkstraat 12", "postcode": "1234 AB", "city": "Utrecht"}
    frame = contacts(
        contact("hubspot", "h1", first_name="Jan", last_name="de Vries", email="fam@x.nl", **home),
        contact("hubspot", "h2", first_name="Anna", last_name="de Vries", email="fam@x.nl", **home),
    )
    result = reconcile(frame, with_model(default_rules, trained))
    assert result.xref["golden_id"].nunique() == 2
    assert dataclasses.replace(default_rules.matching.fuzzy).cannot_link is None  # default: same_last, different


def test_street_number_blocking_is_a_setting(contacts, contact) -> None:
    """A postcode typo and a name typo: only street + number brings the two records together, and that
    key is off by default (it is expensive on CRM data) and on in the FEBRL rules."""
    from crmhub.reconcile.match import FuzzyConfig

    frame = normalize_contacts(
        contacts(
            contact("hubspot", "h1", first_name="Mitchell", last_name="Green", **ADDRESSES["AU"]),
            contact(
                "hubspot",
                "h2",
                first_name="Mitchel",
                last_name="Greene",
                **{**ADDRESSES["AU"], "postcode": "2191", "city": "Clevland"},
            ),
        )  # fmt: skip
    )
    default, _ = score_pairs(frame, FuzzyConfig())
    assert default.empty
    pairs, _ = score_pairs(frame, FuzzyConfig(blocking=("street_number",)))
    assert (pairs.loc[0, "street"], pairs.loc[0, "number"]) == ("exact", "same")


def test_a_trained_model_counts_one_address_once(trained, contacts, contact) -> None:
    """The address is one comparison (``place``): street, number, postcode and city agreeing on one
    physical address add one weight, not four."""
    home = {"address_line": "Kerkstraat 12", "postcode": "1234 AB", "city": "Utrecht"}
    frame = normalize_contacts(
        contacts(
            contact("hubspot", "h1", first_name="Tim", last_name="Smit", **home),
            contact("hubspot", "h2", first_name="Tom", last_name="Smit", **home),
        )
    )
    pairs, _ = score_pairs(frame, _config(trained))
    explanation = str(pairs.loc[0, "explanation"])
    assert "place=same(" in explanation
    assert not any(f"{field}=" in explanation for field in ("street", "number", "postcode", "city"))


def test_the_same_address_name_level_is_kept_apart_for_the_household_correction(contacts, contact) -> None:
    """``home_name`` repeats the name level only where the whole address is the same (else missing)."""
    home = {"address_line": "Kerkstraat 12", "postcode": "1234 AB", "city": "Utrecht"}
    frame = normalize_contacts(
        contacts(
            contact("hubspot", "h1", first_name="Tim", last_name="Smit", **home),
            contact("hubspot", "h2", first_name="Tom", last_name="Smit", **home),
            contact("hubspot", "h3", first_name="Tim", last_name="Smit", postcode="1234 AB", city="Utrecht"),
        )
    )
    pairs, _ = score_pairs(frame, _config())
    levels = {(int(r.left), int(r.right)): (str(r.name), str(r.place), str(r.home_name)) for r in pairs.itertuples()}
    assert levels[(0, 1)] == ("similar_first", "same", "similar_first")
    assert levels[(0, 2)] == ("exact", "postcode", "missing")


def test_households_lower_a_related_first_name_at_the_same_address() -> None:
    """Trained with ``household=True`` on people whose address is shared by a relative (other e-mail and
    phone), a related first name (Tim/Tom: ``similar_first``) counts less at the same address than elsewhere."""
    from crmhub.reconcile.rules import load_rules

    rows = []
    for i in range(60):
        home = {"address_line": f"Dorpsstraat {i + 1}", "postcode": f"{1000 + i} AB", "city": f"Town{i}"}
        for source, first, email, phone in (
            ("hubspot", "Tim", f"tim{i}@x.nl", f"+3161000{i:04d}"),
            ("salesforce", "Tom", f"tom{i}@x.nl", f"+3162000{i:04d}"),
            ("salesforce", "Tim", f"tim{i}@x.nl", None),
        ):
            rows.append({"source": source, "source_id": f"{first}{i}-{source}", "first_name": first,
                         "last_name": f"Smit{i}", "email": email, "phone": phone, **home})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["source_updated_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    model = train(frame, load_rules(), random_pairs=20_000, min_count=5, household=True)
    assert "home_name" in model.comparisons
    assert model.weights()["home_name"]["similar_first"] < 0


def test_enough_steward_decisions_set_the_link_threshold_above_the_pairs_they_split() -> None:
    """With >= 50 links and >= 50 splits the link threshold is the lowest score at which the decided
    pairs reach the target precision: the split Tim/Tom pairs stay below it."""
    from crmhub.reconcile.rules import load_rules

    rows, decisions = [], []
    for i in range(60):
        home = {"address_line": f"Dorpsstraat {i + 1}", "postcode": f"{1000 + i} AB", "city": f"Town{i}"}
        for source, first in (("hubspot", "Tim"), ("salesforce", "Tim"), ("salesforce", "Tom")):
            rows.append({"source": source, "source_id": f"{first}{i}", "first_name": first, "last_name": f"Smit{i}",
                         "email": f"{first.lower()}{i}@x.nl", **home})  # fmt: skip
        decisions.append(("hubspot", f"Tim{i}", "salesforce", f"Tim{i}", "link"))
        decisions.append(("hubspot", f"Tim{i}", "salesforce", f"Tom{i}", "split"))
    frame = pd.DataFrame(rows)
    frame["source_updated_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    decided = pd.DataFrame(decisions, columns=["left_source", "left_source_id", "right_source", "right_source_id",
                                               "decision"])  # fmt: skip
    model = train(frame, load_rules(), decisions=decided, random_pairs=20_000, min_count=5)
    assert model.trained["link_threshold_from"] == "steward_decisions"
    normalized = normalize_contacts(frame)
    pairs, _ = score_pairs(normalized, _config(model))
    names = normalized["first_name"].to_numpy()
    household = names[pairs["left"].to_numpy()] != names[pairs["right"].to_numpy()]
    assert (pairs.loc[household, "score"] < model.link).all()
    assert (pairs.loc[~household, "score"] >= model.link).all()
