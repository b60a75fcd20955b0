"""Social profiles as match evidence (issue 15, item 3): display name, location and bio of a Hootsuite or
Sprout profile, and a same-city name weighed by how many people share it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crmhub.errors import ConfigError
from crmhub.model import CONTACT_COLUMNS, PROFILE_COLUMNS, conform
from crmhub.reconcile import reconcile
from crmhub.reconcile.files import read_contacts_file
from crmhub.reconcile.fuzzy import DEFAULT_BLOCKING
from crmhub.reconcile.profile import bio_identifiers, location_city_key, split_display_name
from crmhub.reconcile.rules import DEFAULT_RULES_FILE, PrecedenceRules, parse_rules
from crmhub.reconcile.translit import skeleton, to_latin, to_persian
from crmhub.yamlfile import read_yaml

# Filler people: 32 distinct names in 16 towns (two each), so Utrecht, where the tests' people live, holds
# a small share of the population (at most 1/16 of the people: a name no one else has links there).
_FIRST = ["Bram", "Daan", "Femke", "Gijs", "Hugo", "Joris", "Koen", "Lotte", "Mirthe", "Noor", "Pim", "Roel",
          "Sofie", "Tijn", "Wout", "Zeger"]  # fmt: skip
_LAST = ["Bakker", "Claessens", "Dekker", "Evers", "Fokker", "Gerritsen", "Hulst", "Jonker", "Kramer", "Lambers",
         "Molenaar", "Nauta", "Pronk", "Rutten", "Smulders", "Timmer"]  # fmt: skip
_TOWNS = ["Zwolle", "Delft", "Leiden", "Breda", "Haarlem", "Arnhem", "Venlo", "Assen", "Emmen", "Hoorn", "Gouda",
          "Sneek", "Tiel", "Weert", "Oss", "Ede"]  # fmt: skip


def _crm(source_id: str, first: str, last: str, line: str, postcode: str, city: str, **fields: Any) -> dict[str, Any]:
    return {"source": "hubspot", "source_id": source_id, "source_updated_at": pd.Timestamp("2025-01-01", tz="UTC"),
            "first_name": first, "last_name": last, "address_line": line, "postcode": postcode, "city": city,
            "country": "NL", **fields}  # fmt: skip


def _profile(handle: str, display_name: str | None, location: str | None = None, bio: str | None = None) -> dict:
    return {"source": "hootsuite", "source_id": f"twitter:{handle}", "source_updated_at": pd.Timestamp("2025-06-01",
            tz="UTC"), "social_network": "twitter", "social_handle": handle, "display_name": display_name,
            "location": location, "bio": bio}  # fmt: skip


def _population() -> list[dict[str, Any]]:
    rows = []
    for i in range(32):
        first, last, town = _FIRST[i % 16], _LAST[(i * 5 + i // 16) % 16], _TOWNS[i // 2]
        rows.append(_crm(f"f{i}", first, last, f"Dorpsstraat {i + 1}", f"{1000 + i * 100} AB", town))
    return rows


def _frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """Canonical contacts plus the profile columns."""
    table = pd.DataFrame(list(rows))
    frame = conform(table.reindex(columns=CONTACT_COLUMNS), CONTACT_COLUMNS)
    for column in PROFILE_COLUMNS:
        frame[column] = table[column].astype(object).where(table[column].notna(), None) if column in table else None
    return frame


@pytest.fixture
def frequency_rules() -> PrecedenceRules:
    """The shipped rules with the name + city evidence switched on, as a rules file would say it."""
    doc = read_yaml(DEFAULT_RULES_FILE)
    doc["matching"]["fuzzy"]["name_frequency"] = True
    doc["matching"]["fuzzy"]["blocking"] = [*DEFAULT_BLOCKING, "name_skeleton"]
    return parse_rules(doc, "precedence.yaml")


def _golden(result: Any, source_id: str) -> str:
    xref = result.xref
    return str(xref.loc[xref["source_id"] == source_id, "golden_id"].iloc[0])


def _queued(result: Any, profile_id: str) -> pd.DataFrame:
    review = result.review
    return review[(review["left_source_id"] == profile_id) | (review["right_source_id"] == profile_id)]


def test_a_unique_name_in_the_same_city_links(frequency_rules: PrecedenceRules) -> None:
    rows = [*_population(), _crm("x1", "Xerxes", "Zandvliet", "Kerkstraat 1", "3511 AA", "Utrecht")]
    result = reconcile(_frame(*rows, _profile("xz", "Xerxes Zandvliet", "Utrecht, NL")), frequency_rules)
    assert _golden(result, "twitter:xz") == _golden(result, "x1")
    assert result.xref.loc[result.xref["source_id"] == "twitter:xz", "match_rule"].iloc[0] == "fuzzy"


def test_without_the_frequency_evidence_a_unique_name_in_the_same_city_waits_for_review(
    default_rules: PrecedenceRules,
) -> None:
    rows = [*_population(), _crm("x1", "Xerxes", "Zandvliet", "Kerkstraat 1", "3511 AA", "Utrecht")]
    result = reconcile(_frame(*rows, _profile("xz", "Xerxes Zandvliet", "Utrecht")), default_rules)
    assert _golden(result, "twitter:xz") != _golden(result, "x1")
    assert len(_queued(result, "twitter:xz")) == 1


def test_a_common_name_in_the_same_city_goes_to_review_ranked_below_a_rarer_one(
    frequency_rules: PrecedenceRules,
) -> None:
    rows = _population()
    rows += [_crm(f"j{i}", "Jan", "Jansen", f"Kerkstraat {i + 1}", f"351{i} AA", "Utrecht") for i in range(3)]
    rows += [_crm(f"p{i}", "Piet", "Pietersen", f"Molenweg {i + 1}", f"352{i} BB", "Utrecht") for i in range(2)]
    profiles = [_profile("jj", "Jan Jansen", "Utrecht"), _profile("pp", "Piet Pietersen", "Utrecht")]
    result = reconcile(_frame(*rows, *profiles), frequency_rules)
    common, rarer = _queued(result, "twitter:jj"), _queued(result, "twitter:pp")
    assert (len(common), len(rarer)) == (3, 2)  # every namesake in the queue, none linked
    assert common["score"].max() < rarer["score"].min()
    assert set(common["explanation"].str.extract(r"name_city=(\w+)")[0]) == {"shared"}


def test_a_namesake_in_another_city_ranks_below_the_one_in_the_profiles_city(frequency_rules: PrecedenceRules) -> None:
    rows = [
        *_population(),
        _crm("u1", "Xerxes", "Zandvliet", "Kerkstraat 1", "3511 AA", "Utrecht"),
        _crm("z1", "Xerxes", "Zandvliet", "Kerkstraat 1", "8011 AA", "Zwolle"),
    ]
    result = reconcile(_frame(*rows, _profile("xz", "Xerxes Zandvliet", "Utrecht")), frequency_rules)
    queued = _queued(result, "twitter:xz")
    same_city = queued[(queued["left_source_id"] == "u1") | (queued["right_source_id"] == "u1")]
    other = queued[(queued["left_source_id"] == "z1") | (queued["right_source_id"] == "z1")]
    assert other["explanation"].str.contains("name_city=other_city").all()
    assert other["score"].max() < same_city["score"].min()  # both wait for a steward, Utrecht first


def test_a_persian_script_profile_links_to_the_latin_letter_crm_record(frequency_rules: PrecedenceRules) -> None:
    rows = [*_population(), _crm("m1", "Mohammad", "Rezaei", "Kerkstraat 1", "3511 AA", "Utrecht")]
    result = reconcile(_frame(*rows, _profile("mr", "محمد رضایی", "Utrecht")), frequency_rules)
    assert _golden(result, "twitter:mr") == _golden(result, "m1")


def test_a_latin_letter_profile_links_to_the_persian_script_crm_record(frequency_rules: PrecedenceRules) -> None:
    rows = [*_population(), _crm("k1", "کاوه", "تهرانی", "Kerkstraat 1", "3511 AA", "Utrecht")]
    result = reconcile(_frame(*rows, _profile("kt", "Kaveh Tehrani", "Utrecht")), frequency_rules)
    assert _golden(result, "twitter:kt") == _golden(result, "k1")


def test_a_bio_email_links_to_the_crm_record_with_that_email(default_rules: PrecedenceRules) -> None:
    crm = _crm("s1", "Sanne", "Bakker", "Kerkstraat 1", "3511 AA", "Utrecht", email="sanne.bakker@example.nl")
    profile = _profile("sanne", "sanne 🌷", bio="Fietsen en koffie. Mail: Sanne.Bakker@example.nl!")
    result = reconcile(_frame(crm, profile), default_rules)
    assert _golden(result, "twitter:sanne") == _golden(result, "s1")
    assert "email" in result.xref.loc[result.xref["source_id"] == "twitter:sanne", "match_rule"].iloc[0]


def test_a_profile_does_not_join_a_household_that_shares_its_name_skeleton(frequency_rules: PrecedenceRules) -> None:
    household = [
        _crm("t1", "Tim", "Jansen", "Kerkstraat 1", "3511 AA", "Utrecht"),
        _crm("t2", "Tom", "Jansen", "Kerkstraat 1", "3511 AA", "Utrecht"),
    ]
    result = reconcile(_frame(*_population(), *household, _profile("tj", "Tim Jansen", "Utrecht")), frequency_rules)
    goldens = {_golden(result, "t1"), _golden(result, "t2"), _golden(result, "twitter:tj")}
    assert len(goldens) == 3  # Tim, Tom and the profile stay three people; the steward decides
    assert len(_queued(result, "twitter:tj")) >= 1


def test_name_frequency_needs_the_name_skeleton_blocking_key() -> None:
    doc = read_yaml(DEFAULT_RULES_FILE)
    doc["matching"]["fuzzy"]["name_frequency"] = True
    with pytest.raises(ConfigError, match="name_frequency"):
        parse_rules(doc, "precedence.yaml")


def test_a_contact_file_keeps_the_profile_columns(tmp_path: Path) -> None:
    file = tmp_path / "hootsuite.csv"
    file.write_text(
        "source,source_id,source_updated_at,display_name,location,bio\n"
        'hootsuite,twitter:xz,2025-06-01T00:00:00Z,Xerxes Zandvliet,"Utrecht, NL",\n',
        encoding="utf-8",
    )
    frame = read_contacts_file(file)
    assert frame.loc[0, ["display_name", "location", "bio"]].tolist() == ["Xerxes Zandvliet", "Utrecht, NL", None]


def test_a_display_name_splits_into_first_name_and_the_rest() -> None:
    assert split_display_name("Jan de Vries 🚲") == ("Jan", "de Vries")


def test_a_location_gives_the_city_before_the_comma() -> None:
    assert location_city_key("Den Haag, Nederland") == location_city_key("den-haag")


def test_a_bio_yields_its_email_phone_and_profile_url() -> None:
    bio = "Bel 06-12345678 of mail jan@example.nl — ook op https://www.instagram.com/jan.dv/"
    assert bio_identifiers(bio, "NL") == ("jan@example.nl", "+31612345678", "instagram:jan.dv")


@pytest.mark.parametrize(
    ("latin", "persian"),
    [("Mohammad", "محمد"), ("Zahra", "زهرا"), ("Kaveh", "کاوه"), ("Hossein", "حسین"), ("Rezaei", "رضایی"),
     ("Sadeghi", "صادقی"), ("Tehrani", "تهرانی"), ("Es'haq", "اسحاق")],
)  # fmt: skip
def test_transliteration_keeps_the_skeleton_both_ways(latin: str, persian: str) -> None:
    assert skeleton(to_persian(latin)) == skeleton(persian)
    assert skeleton(to_latin(persian)) == skeleton(latin)
