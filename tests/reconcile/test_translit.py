"""Persian names in Latin letters and in Persian script (issue 15, item 5): the table-based
transliterator in both directions, the skeleton both forms share, and the matcher using it."""

from __future__ import annotations

import pytest

from crmhub.reconcile import reconcile
from crmhub.reconcile.translit import is_persian, skeleton, to_latin, to_persian

#: (Latin spelling, Persian spelling) as people write them — written by hand, not generated.
NAMES = [
    ("Mohammad", "محمد"),
    ("Ali", "علی"),
    ("Hossein", "حسین"),
    ("Reza", "رضا"),
    ("Fatemeh", "فاطمه"),
    ("Maryam", "مریم"),
    ("Shirin", "شیرین"),
    ("Dariush", "داریوش"),
    ("Kaveh", "کاوه"),
    ("Rezaei", "رضایی"),
    ("Sadeghi", "صادقی"),
    ("Jafari", "جعفری"),
    ("Khosravi", "خسروی"),
    ("Ghasemi", "قاسمی"),
]


@pytest.mark.parametrize(("persian", "latin"), [
    ("کاوه", "kaveh"),
    ("شیرین", "shirin"),
    ("داریوش", "dariush"),
    ("فاطمه", "fatmeh"),  # the short e between t and m is not written in Persian
    ("محمد", "mhmd"),  # neither are the short vowels of Mohammad
    ("خسروی", "khsrvi"),
    ("ژاله", "zhaleh"),
    ("كيوان", "kivan"),  # Arabic-keyboard kaf and yeh read as the Persian letters
])  # fmt: skip
def test_persian_to_latin(persian: str, latin: str) -> None:
    assert to_latin(persian) == latin


@pytest.mark.parametrize(("latin", "persian"), [
    ("Shirin", "شیرین"),
    ("Kaveh", "کاوه"),
    ("Dariush", "داریوش"),
    ("Mehdi", "مهدی"),
    ("Amir", "امیر"),
    ("Kimia", "کیمیا"),
    ("Tehrani", "تهرانی"),
    ("Khosravi", "خسراوی"),  # the table writes every inner a as alef; the name is spelled خسروی
    ("Reza", "رزا"),  # z is always ز; the name is spelled with ض, which only the skeleton forgives
])  # fmt: skip
def test_latin_to_persian(latin: str, persian: str) -> None:
    assert to_persian(latin) == persian


@pytest.mark.parametrize(("latin", "persian"), NAMES)
def test_both_spellings_share_one_skeleton(latin: str, persian: str) -> None:
    assert skeleton(latin) == skeleton(persian) != ""
    assert skeleton(to_persian(latin)) == skeleton(latin)  # there and back keep the consonants
    assert skeleton(to_latin(persian)) == skeleton(persian) or "ق" in persian or "ژ" in persian


def test_skeleton_examples_and_script_detection() -> None:
    assert skeleton("Mohammad") == skeleton("محمد") == "mhmd"
    assert skeleton("Hossein") == skeleton("Hosein") == skeleton("حسین") == "hsn"
    assert skeleton("Ali") != skeleton("Amir")
    assert skeleton(None) == skeleton("") == ""
    assert is_persian("علی") and not is_persian("Ali") and not is_persian(None)


def test_latin_and_persian_spellings_of_one_person_link(contacts, contact, default_rules) -> None:
    address = {"address_line": "Kerkstraat 5", "postcode": "1234 AB", "city": "Utrecht"}
    frame = contacts(
        contact("hubspot", "h1", first_name="Mohammad", last_name="Rezaei", **address),
        contact("hootsuite", "s1", first_name="محمد", last_name="رضایی", **address),
    )
    result = reconcile(frame, default_rules)
    assert result.pairs.loc[0, "name"] == "transliterated"
    assert result.xref["golden_id"].nunique() == 1


def test_another_first_name_in_persian_script_does_not_link(contacts, contact, default_rules) -> None:
    address = {"address_line": "Kerkstraat 5", "postcode": "1234 AB", "city": "Utrecht"}
    frame = contacts(
        contact("hubspot", "h1", first_name="Mohammad", last_name="Rezaei", **address),
        contact("hootsuite", "s1", first_name="علی", last_name="رضایی", **address),  # Ali Rezaei: the brother
    )
    result = reconcile(frame, default_rules)
    assert result.pairs.loc[0, "name"] == "missing"
    assert result.xref["golden_id"].nunique() == 2
