from __future__ import annotations

import pandas as pd
import pytest

from crmhub.reconcile.normalize import (
    NORMALIZED_COLUMNS,
    clean_text,
    fold_text,
    normalize_contacts,
    normalize_country,
    normalize_email,
    normalize_handle,
    normalize_phone,
    normalize_postcode,
    parse_address_line,
    parse_handle,
    postcode_is_valid,
    split_tussenvoegsel,
)


@pytest.mark.parametrize(
    ("last_name", "expected"),
    [
        ("van der Berg", ("van der", "Berg")),
        ("Van Den Heuvel", ("van den", "Heuvel")),
        ("de Vries", ("de", "Vries")),
        ("in 't Veld", ("in 't", "Veld")),
        ("in \u2019t Veld", ("in 't", "Veld")),
        ("ter Horst", ("ter", "Horst")),
        ("op de Beek", ("op de", "Beek")),
        ("Berg, van der", ("van der", "Berg")),
        ("Jansen", (None, "Jansen")),
        ("van der Berg-de Wit", ("van der", "Berg-de Wit")),
    ],
)
def test_tussenvoegsel_is_split_from_last_name(last_name: str, expected: tuple) -> None:
    assert split_tussenvoegsel(last_name) == expected


def test_tussenvoegsel_given_separately_is_kept_and_not_repeated() -> None:
    assert split_tussenvoegsel("van Dijk", "van") == ("van", "Dijk")
    assert split_tussenvoegsel("Dijk", "Van") == ("van", "Dijk")


def test_a_lone_particle_is_a_last_name_not_a_prefix() -> None:
    assert split_tussenvoegsel("Ter") == (None, "Ter")


@pytest.mark.parametrize("raw", ["1234ab", "1234 AB", "1234AB", " 1234  ab "])
def test_dutch_postcode_gets_one_space_and_capitals(raw: str) -> None:
    assert normalize_postcode(raw) == "1234 AB"


def test_foreign_postcode_is_not_forced_into_dutch_format() -> None:
    assert normalize_postcode("sw1a 1aa", "GB") == "SW1A 1AA"
    assert normalize_postcode("1234ab", "BE") == "1234AB"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Kerkstraat 12-A", ("Kerkstraat", "12", "A")),
        ("Kerkstraat 12a", ("Kerkstraat", "12", "A")),
        ("Kerkstraat 12 A", ("Kerkstraat", "12", "A")),
        ("Kerkstraat 12 bis", ("Kerkstraat", "12", "BIS")),
        ("Kerkstraat 12", ("Kerkstraat", "12", None)),
        ("2e Helmersstraat 7-III", ("2e Helmersstraat", "7", "III")),
        ("Laan van Meerdervoort 1001", ("Laan van Meerdervoort", "1001", None)),
    ],
)
def test_house_number_and_addition_are_split_from_street(line: str, expected: tuple) -> None:
    assert parse_address_line(line) == expected


def test_address_line_without_number_stays_whole_in_street() -> None:
    assert parse_address_line("Postbus") == ("Postbus", None, None)


def test_persian_and_arabic_letters_fold_to_the_same_key() -> None:
    assert fold_text("علي") == fold_text("علی")  # Arabic yeh vs Farsi yeh
    assert fold_text("كريم") == fold_text("کریم")  # Arabic kaf vs keheh
    assert fold_text("مهر\u200cانگیز") == fold_text("مهرانگیز")  # zero-width non-joiner


def test_match_key_folds_case_width_and_diacritics() -> None:
    assert fold_text("Zoë  ÇELİK") == "zoe celik"
    assert fold_text("Ｊａｎ") == "jan"  # full-width (NFKC)


@pytest.mark.parametrize(
    "raw",
    [
        "@Jan_DeVries",
        "jan_devries",
        "https://twitter.com/Jan_DeVries",
        "https://x.com/jan_devries/",
        "x.com/jan_devries",
        "http://www.twitter.com/jan_devries?lang=nl",
    ],
)
def test_handle_is_bare_and_lower_case_in_every_form(raw: str) -> None:
    assert normalize_handle(raw) == "jan_devries"


def test_profile_url_names_the_network() -> None:
    assert parse_handle("https://x.com/jan") == ("twitter", "jan")
    assert parse_handle("https://www.linkedin.com/in/jan-devries/") == ("linkedin", "jan-devries")
    assert parse_handle("https://www.instagram.com/jan.dv/") == ("instagram", "jan.dv")


@pytest.mark.parametrize("raw", ["06-12345678", "06 1234 5678", "+31 6 12345678", "0031612345678", "(06) 12345678"])
def test_dutch_phone_formats_become_e164(raw: str) -> None:
    assert normalize_phone(raw) == ("+31612345678", True)


def test_phone_uses_the_given_default_region() -> None:
    assert normalize_phone("0470 12 34 56", "BE") == ("+32470123456", True)


@pytest.mark.parametrize("raw", ["12", "not a number", "+31 6 123"])
def test_invalid_phone_becomes_none_and_is_flagged(raw: str) -> None:
    assert normalize_phone(raw) == (None, False)


def test_email_is_stripped_and_lower_cased() -> None:
    assert normalize_email("  Jan.DeVries@Example.COM ") == ("jan.devries@example.com", True)


@pytest.mark.parametrize("raw", ["jan@@example.com", "jan.example.com", "jan@localhost", "jan @example.com"])
def test_invalid_email_is_kept_but_flagged(raw: str) -> None:
    value, valid = normalize_email(raw)
    assert valid is False
    assert value == raw.strip().lower()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Netherlands", "NL"),
        ("Nederland", "NL"),
        ("NL", "NL"),
        ("nl", "NL"),
        ("the Netherlands", "NL"),
        ("Belgique", "BE"),
        ("België", "BE"),
        ("UK", "GB"),
        ("ایران", "IR"),
    ],
)
def test_country_names_and_codes_become_iso_alpha2(raw: str, code: str) -> None:
    assert normalize_country(raw) == code


def test_unknown_country_is_kept_for_quality_checks() -> None:
    assert normalize_country("Atlantis") == "Atlantis"


def test_normalize_contacts_keeps_canonical_columns_and_adds_normalized_ones(contacts, contact) -> None:
    frame = contacts(
        contact(
            first_name=" Jan ",
            last_name="van der Berg",
            email="Jan@Example.NL",
            phone="06-12345678",
            address_line="Kerkstraat 12-a",
            postcode="1234ab",
            city="Amsterdam",
            country="Nederland",
            social_network="X",
            social_handle="https://x.com/JanB",
        ),
    )
    out = normalize_contacts(frame)
    assert list(out.columns[: len(frame.columns)]) == list(frame.columns)
    assert set(NORMALIZED_COLUMNS) <= set(out.columns)
    row = out.iloc[0]
    assert (row.n_first_name, row.n_name_prefix, row.n_last_name) == ("Jan", "van der", "Berg")
    assert (row.n_email, bool(row.email_valid), row.key_email) == ("jan@example.nl", True, "jan@example.nl")
    assert row.n_phone == "+31612345678"
    assert (row.n_street, row.n_house_number, row.n_house_number_addition) == ("Kerkstraat", "12", "A")
    assert (row.n_postcode, row.n_country) == ("1234 AB", "NL")
    assert (row.n_social_network, row.n_social_handle, row.key_social) == ("twitter", "janb", "twitter:janb")
    assert row.key_address == "1234AB:12A"
    assert row.key_name == "jan berg"


def test_invalid_email_is_not_a_match_key(contacts, contact) -> None:
    out = normalize_contacts(contacts(contact(email="jan@@example.nl")))
    assert out.loc[0, "n_email"] == "jan@@example.nl"
    assert not out.loc[0, "email_valid"]
    assert out.loc[0, "key_email"] is None


def test_contact_country_decides_the_phone_region(contacts, contact) -> None:
    out = normalize_contacts(contacts(contact(phone="0470 12 34 56", country="Belgium")))
    assert out.loc[0, "n_phone"] == "+32470123456"


def test_source_phone_region_applies_without_country(contacts, contact) -> None:
    out = normalize_contacts(contacts(contact(source="crm_be", phone="0470 12 34 56")), phone_regions={"crm_be": "BE"})
    assert out.loc[0, "n_phone"] == "+32470123456"


def test_normalize_contacts_accepts_an_empty_frame(contacts, contact) -> None:
    out = normalize_contacts(contacts())
    assert len(out) == 0 and "key_email" in out.columns


def test_normalize_contacts_maps_missing_values_to_none(contacts, contact) -> None:
    out = normalize_contacts(contacts(contact()))
    assert out.loc[0, "n_email"] is None and pd.isna(out.loc[0, "email_valid"])


def test_phones_parsed_in_a_worker_process_give_the_same_frame(contacts, contact, monkeypatch) -> None:
    """Large inputs parse phones in a forked worker; the result must not depend on where they ran."""
    import crmhub.reconcile.normalize as normalize

    frame = contacts(
        *(
            contact(source_id=str(i), phone=phone, country=country, email=f"p{i}@example.nl", last_name="van Dijk")
            for i, (phone, country) in enumerate(
                [("06-12345678", None), ("+32 470 12 34 56", "BE"), ("0031612345678", "NL"), ("12", None), (None, None)]
            )
        )
    )
    inline = normalize_contacts(frame)
    monkeypatch.setattr(normalize, "BACKGROUND_MIN_VALUES", 1)
    pd.testing.assert_frame_equal(normalize_contacts(frame), inline)
    assert inline["n_phone"].tolist() == ["+31612345678", "+32470123456", "+31612345678", None, None]


@pytest.mark.parametrize(
    "text",
    ["+31612345678", "+31201234567", "+31123456789", "+31999999999", "+310612345678", "+3161234567", "+32470123456"],
)
def test_dutch_e164_shortcut_gives_what_phonenumbers_parse_gives(text: str) -> None:
    import phonenumbers

    from crmhub.reconcile.normalize import _parse_phone

    for region in ("NL", "BE"):
        assert _parse_phone(text, region) == phonenumbers.parse(text, region)


# ----------------------------------------------------------------- issue 12: hostile input in names etc.


def test_a_display_name_address_is_reduced_to_the_address_and_is_a_match_key() -> None:
    assert normalize_email("Jan Jansen <jan.jansen@example.nl>") == ("jan.jansen@example.nl", True)
    frame = pd.DataFrame({"source": ["hubspot"], "source_id": ["1"], "email": ["Jan Jansen <Jan.Jansen@example.nl>"]})
    row = normalize_contacts(frame).iloc[0]
    assert (row.n_email, row.key_email) == ("jan.jansen@example.nl", "jan.jansen@example.nl")


def test_nul_and_bidi_controls_are_removed_from_names_and_counted() -> None:
    frame = pd.DataFrame(
        {
            "source": ["hubspot"] * 3,
            "source_id": ["1", "2", "3"],
            "first_name": ["Ja\x00n", "\u202eAnna\u202c", "Piet"],
            "last_name": ["Jansen\u2066", "Bakker", "Smit"],
        }
    )
    out = normalize_contacts(frame)
    assert out["n_first_name"].tolist() == ["Jan", "Anna", "Piet"]
    assert out["n_last_name"].tolist()[0] == "Jansen"
    assert out.attrs["normalize_warnings"]["names_with_invisible_characters"] == 2


def test_zero_width_non_joiner_is_kept_in_persian_names() -> None:
    assert clean_text("\u0645\u06cc\u200c\u0631\u0636\u0627") == "\u0645\u06cc\u200c\u0631\u0636\u0627"


def test_an_invalid_postcode_is_left_out_of_the_normalized_record_and_counted() -> None:
    frame = pd.DataFrame(
        {
            "source": ["hubspot"] * 3,
            "source_id": ["1", "2", "3"],
            "postcode": ["12345-ABCD", "1234ab", "50667"],
            "country": ["NL", None, "DE"],
        }
    )
    out = normalize_contacts(frame)
    assert out["n_postcode"].tolist() == [None, "1234 AB", "50667"]
    assert out["postcode"].tolist()[0] == "12345-ABCD"  # the canonical column (and raw) keep what the source wrote
    assert out.attrs["normalize_warnings"]["invalid_postcodes"] == 1


@pytest.mark.parametrize(
    ("postcode", "country", "valid"),
    [("1234 AB", "NL", True), ("12345-ABCD", None, False), ("SW1A 1AA", "GB", True), ("2000", "BE", True),
     ("1234AB", "BE", False), ("ABC", "SR", False), ("PO 1234", "SR", True)],
)  # fmt: skip
def test_postcodes_are_checked_against_their_countrys_format(postcode, country, valid) -> None:
    assert postcode_is_valid(postcode, country) is valid
