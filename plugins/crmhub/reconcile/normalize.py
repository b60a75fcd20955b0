"""Normalization: turn source values into comparable match keys and clean presentation values.

Two kinds of output per field, because they serve different ends:

* presentation values (``n_<golden column>``): what a golden record shows — E.164 phone, lower-case
  e-mail, ``1234 AB`` postcode, ISO country, handle without ``@``; original casing of names kept.
* match keys (``key_*``): aggressively folded (NFKC, case folding, diacritics removed, Persian/Arabic
  letters unified) so that the same person written two ways yields the same key.

Parsing that libraries do well (e-mail syntax, phone numbers) is delegated to them; Dutch NAW rules
(tussenvoegsels, postcode, house-number additions) are encoded here. Every per-value function is pure
and is applied once per *distinct* value, so 100k records cost as much as their distinct values.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import os
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crmhub.model import CONTACT_COLUMNS
from crmhub.reconcile.address import address_key, city_key, country_from_postcode, line_key, parse_line, postcode_key
from crmhub.reconcile.address import street_key as _street_key

DEFAULT_PHONE_REGION = "NL"
log = logging.getLogger(__name__)

#: Columns ``normalize_contacts`` adds; survivorship reads ``n_*``, matching reads ``key_*``.
NORMALIZED_COLUMNS: list[str] = [
    "n_first_name",
    "n_name_prefix",
    "n_last_name",
    "n_email",
    "email_valid",  # True/False; null when the record has no e-mail
    "n_phone",
    "phone_valid",  # True/False; null when the record has no phone
    "n_street",
    "n_house_number",
    "n_house_number_addition",
    "n_postcode",
    "n_city",
    "n_country",
    "n_social_network",
    "n_social_handle",
    "n_company",
    "key_email",  # valid normalized e-mail, else null
    "key_phone",  # E.164, else null
    "key_social",  # "<network>:<handle>", else null
    "key_name",  # folded "first last" (without tussenvoegsel), for fuzzy matching later
    "key_address",  # one text per physical address, any country (crmhub.reconcile.address.address_key)
    "key_country",  # the record's country, else its source's default, else its postcode's shape (matching only)
    "key_street",  # folded street, type word written out, no spaces ("Hauptstr." = "Haupt Straße")
    "key_postcode",  # postcode without spaces
    "key_city",  # folded city without spaces or punctuation
    "key_line",  # sorted folded words of an address line that holds no house number (fallback comparison)
]

# --------------------------------------------------------------------------------------------- text


def _blank_to_none(value: Any) -> str | None:
    """Nulls, NaN and whitespace-only strings all mean 'no value'."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


#: Invisible characters removed from every presentation value: NUL (PostgreSQL rejects it in text) and
#: the bidi controls (embeddings, overrides, isolates, LRM/RLM) that can reorder what a steward sees.
#: ZERO WIDTH NON-JOINER (U+200C) is kept: Persian spelling needs it.
_INVISIBLE = (
    "\x00\u200e\u200f" + "".join(chr(c) for c in range(0x202A, 0x202F)) + "".join(chr(c) for c in range(0x2066, 0x206A))
)
_DROP_INVISIBLE = str.maketrans(dict.fromkeys(_INVISIBLE))
_HAS_INVISIBLE = re.compile(f"[{re.escape(_INVISIBLE)}]")


def has_invisible(value: Any) -> bool:
    """Whether a value holds a NUL or a bidi control character (counted as a warning, never logged)."""
    return isinstance(value, str) and _HAS_INVISIBLE.search(value) is not None


def clean_text(value: Any) -> str | None:
    """Presentation clean-up: NFKC, no NUL/bidi controls, collapse whitespace, keep casing (names as given)."""
    text = _blank_to_none(value)
    if text is None:
        return None
    if not text.isascii() or "\x00" in text:
        text = unicodedata.normalize("NFKC", text).translate(_DROP_INVISIBLE)
    return " ".join(text.split()) or None


# Persian and Arabic keyboards produce different code points for the same letter; Arabic-Indic and
# extended (Persian) digits are mapped to ASCII because NFKC leaves them alone.
_SCRIPT_FOLD = str.maketrans(
    {
        "\u064a": "\u06cc",  # ARABIC YEH -> FARSI YEH
        "\u0649": "\u06cc",  # ALEF MAKSURA -> FARSI YEH
        "\u0643": "\u06a9",  # ARABIC KAF -> KEHEH
        "\u0640": None,  # TATWEEL (elongation) carries no meaning
        "\u200c": None,  # ZERO WIDTH NON-JOINER
        "\u200d": None,  # ZERO WIDTH JOINER
        "\u200f": None,  # RIGHT-TO-LEFT MARK
        "\u200e": None,  # LEFT-TO-RIGHT MARK
        **{chr(0x0660 + d): str(d) for d in range(10)},
        **{chr(0x06F0 + d): str(d) for d in range(10)},
    }
)


def fold_text(value: Any) -> str | None:
    """Match-key folding: NFKC, Persian/Arabic letter unification, case folding, no diacritics."""
    text = _blank_to_none(value)
    if text is None:
        return None
    if text.isascii():  # every step below is the identity on ASCII except case folding: same result
        return " ".join(text.lower().split()) or None
    text = unicodedata.normalize("NFKC", text).translate(_SCRIPT_FOLD).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFC", text).split()) or None


# -------------------------------------------------------------------------------------------- e-mail


#: Plain ASCII addresses on common public TLDs: valid by construction, so the library is skipped. The
#: TLD list keeps special-use names (``.local``, ``.test``, ``localhost``) on the library's path.
_SIMPLE_EMAIL = re.compile(
    r"[a-z0-9_%+\-]+(?:\.[a-z0-9_%+\-]+)*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+"
    r"(?:com|nl|net|org|be|de|eu|info|io|fr|uk|biz|me|email)"
)


def normalize_email(value: Any) -> tuple[str | None, bool | None]:
    """Return ``(email, valid)``: stripped and lower-cased, validated for syntax only.

    Deliverability is not checked (no DNS from a batch job). An invalid address is kept (lower-cased)
    so a steward can see it, but flagged so it is never a match key and loses to a valid one.
    """
    text = _blank_to_none(value)
    if text is None:
        return None, None
    text = unicodedata.normalize("NFKC", text).translate(_DROP_INVISIBLE).strip()
    if "<" in text and not text.startswith("<"):  # "Jan Jansen <jan.jansen@example.nl>": the address
        _, address = parseaddr(text)
        text = address or text
    text = text.strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    lowered = text.lower()
    if len(lowered) <= 254 and _SIMPLE_EMAIL.fullmatch(lowered) and len(lowered.partition("@")[0]) <= 64:
        return lowered, True  # what email-validator returns for a plain ASCII address, 20x cheaper
    try:
        return validate_email(text, check_deliverability=False).normalized.lower(), True
    except EmailNotValidError:
        return lowered, False


# --------------------------------------------------------------------------------------------- phone


def normalize_phone(value: Any, region: str | None = DEFAULT_PHONE_REGION) -> tuple[str | None, bool | None]:
    """Return ``(e164, valid)``; numbers without a country code are read in ``region``.

    An unparseable or invalid number gives ``(None, False)``: a wrong number is worse than none.
    """
    text = _blank_to_none(value)
    if text is None:
        return None, None
    try:
        parsed = _parse_phone(text, (region or DEFAULT_PHONE_REGION).upper())
    except phonenumbers.NumberParseException:
        return None, False
    if not phonenumbers.is_valid_number(parsed):
        return None, False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), True


#: A Dutch number already in E.164 form ("+31" and nine ASCII digits, no trunk 0).
_NL_E164 = re.compile(r"\+31[1-9][0-9]{8}")


@lru_cache(maxsize=1)
def _nl_prefix_is_plain() -> bool:
    """The metadata strips only a leading "0" from Dutch national numbers (true for every release so
    far); checked rather than assumed, since the shortcut below depends on it."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region("NL")
    return meta is not None and meta.national_prefix_for_parsing == "0" and meta.national_prefix_transform_rule is None


def _parse_phone(text: str, region: str) -> phonenumbers.PhoneNumber:
    """``phonenumbers.parse``, without its generic text handling for "+31" plus nine digits.

    For such a text parse takes the country code 31, finds no extension, trunk prefix or leading
    zero to strip, and keeps the digits as the national number: the result is this same object, at
    half the cost of the most common number shape (validation still runs in the library).
    """
    if _NL_E164.fullmatch(text) and _nl_prefix_is_plain():
        return phonenumbers.PhoneNumber(country_code=31, national_number=int(text[3:]))
    return phonenumbers.parse(text, region)


# -------------------------------------------------------------------------------------------- social

_NETWORK_ALIASES = {
    "twitter": "twitter",
    "x": "twitter",
    "x.com": "twitter",
    "twitter.com": "twitter",
    "facebook": "facebook",
    "fb": "facebook",
    "instagram": "instagram",
    "ig": "instagram",
    "insta": "instagram",
    "linkedin": "linkedin",
    "li": "linkedin",
}

_HOST_NETWORK = {
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "instagram.com": "instagram",
    "linkedin.com": "linkedin",
}

_PROFILE_URL = re.compile(
    r"^(?:https?://)?(?:(?:www|mobile|m|nl|web)\.)?(?P<host>[a-z0-9.-]+\.[a-z]+)/+(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?",
    re.IGNORECASE,
)


def normalize_network(value: Any) -> str | None:
    """Canonical network name (``x`` → ``twitter``); unknown names are kept lower-cased."""
    text = fold_text(value)
    if text is None:
        return None
    return _NETWORK_ALIASES.get(text, text)


def parse_handle(value: Any) -> tuple[str | None, str | None]:
    """Return ``(network_from_url, handle)`` from ``@Jan``, ``jan`` or a profile URL.

    Profile URLs (``https://twitter.com/jan``, ``x.com/jan``, ``linkedin.com/in/jan``) are reduced to the
    handle; the network is returned when the URL names one, so a bare URL still yields a usable key.
    """
    text = _blank_to_none(value)
    if text is None:
        return None, None
    text = unicodedata.normalize("NFKC", text).strip()
    network = None
    match = _PROFILE_URL.match(text)
    if match and "/" in text:
        host = match.group("host").lower()
        network = _HOST_NETWORK.get(host)
        parts = [p for p in match.group("path").split("/") if p]
        if network == "linkedin" and len(parts) >= 2 and parts[0].lower() in {"in", "company", "pub"}:
            parts = parts[1:]
        if network == "facebook" and parts[:1] == ["profile.php"] and match.group("query"):
            ident = re.search(r"(?:^|&)id=(\d+)", match.group("query"))
            parts = [ident.group(1)] if ident else []
        text = parts[0] if parts else ""
    handle = text.lstrip("@").strip().lower()
    return network, (handle or None)


def normalize_handle(value: Any) -> str | None:
    """The handle alone: no ``@``, no URL, lower-case (handles are case-insensitive on every network)."""
    return parse_handle(value)[1]


# --------------------------------------------------------------------------------------------- names

# Dutch (and a few Belgian/German/French) name particles. Longest match wins, so "van der" is tried
# before "van". Apostrophe variants are unified to ASCII before matching.
TUSSENVOEGSELS: tuple[str, ...] = tuple(
    sorted(
        {
            "van",
            "van der",
            "van den",
            "van de",
            "van het",
            "van 't",
            "van de l'",
            "vander",
            "vanden",
            "de",
            "den",
            "der",
            "het",
            "'t",
            "'s",
            "te",
            "ten",
            "ter",
            "toe",
            "tot",
            "in",
            "in 't",
            "in de",
            "in den",
            "in het",
            "in der",
            "op",
            "op de",
            "op den",
            "op het",
            "op 't",
            "op ten",
            "onder",
            "onder de",
            "onder den",
            "onder het",
            "over",
            "over de",
            "over het",
            "uit",
            "uit de",
            "uit den",
            "uit het",
            "uijt de",
            "uyt den",
            "aan",
            "aan de",
            "aan den",
            "aan het",
            "aan 't",
            "bij",
            "bij de",
            "bij den",
            "bij het",
            "voor",
            "voor de",
            "voor den",
            "voor het",
            "voor 't",
            "achter de",
            "boven de",
            "tot de",
            "von",
            "von der",
            "zu",
            "zum",
            "zur",
            "le",
            "la",
            "les",
            "du",
            "des",
            "d'",
            "l'",
            "di",
            "da",
            "dos",
            "del",
            "della",
        },
        key=lambda p: (-len(p.split()), -len(p), p),
    )
)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_PREFIX_SET = frozenset(TUSSENVOEGSELS)


def split_tussenvoegsel(last_name: Any, name_prefix: Any = None) -> tuple[str | None, str | None]:
    """Return ``(name_prefix, last_name)`` with the tussenvoegsel split off the last name.

    Sources that have no prefix field put it in the last name ("van der Berg", or "Berg, van der" in
    sorted lists). The prefix is returned lower-case (its spelling after a first name); the rest keeps
    its original casing. A prefix the source gave separately is kept and not repeated in the last name.
    """
    last = clean_text(last_name)
    given = clean_text(name_prefix)
    if given is not None:
        given = given.translate(_APOSTROPHES).lower()
        if last and last.lower().startswith(given + " ") and len(last) > len(given) + 1:
            last = last[len(given) + 1 :].strip()
        return given, last
    if last is None:
        return None, None
    text = last.translate(_APOSTROPHES)
    if "," in text:  # "Berg, van der"
        head, _, tail = text.partition(",")
        if tail.strip().lower() in _PREFIX_SET and head.strip():
            return tail.strip().lower(), head.strip()
    words = text.split(" ")
    for prefix in TUSSENVOEGSELS:
        n = len(prefix.split(" "))
        if len(words) > n and " ".join(words[:n]).lower() == prefix:
            return prefix, " ".join(words[n:])
        if prefix.endswith("'") and n == 1 and text.lower().startswith(prefix) and len(text) > len(prefix):
            return prefix, text[len(prefix) :]  # "d'Artagnan"
    return None, last


# ------------------------------------------------------------------------------------------- address


def parse_address_line(value: Any, country: str | None = None) -> tuple[str | None, str | None, str | None]:
    """Split ``"Kerkstraat 12-A"`` into ``("Kerkstraat", "12", "A")`` (any country: :mod:`.address`).

    Additions are upper-case without separators ("12a", "12 A", "12-A" → "A"; "12 bis" → "BIS") so the
    same address from two sources compares equal. What else the line holds (a building or locality after
    a comma) stays in the street after a comma; a line that does not parse stays whole in ``street``.
    """
    street, number, addition, extra = parse_line(clean_text(value), country)
    if extra:
        street = f"{street}, {extra}" if street else extra
    return street, number, addition


_NL_POSTCODE = re.compile(r"^([1-9]\d{3})\s*([a-zA-Z]{2})$")


#: Postcode formats (after :func:`normalize_postcode`) per ISO country. A country without an entry takes
#: :data:`_GENERIC_POSTCODE`; a record without a country must match one of these formats.
POSTCODE_FORMATS: dict[str, re.Pattern[str]] = {
    code: re.compile(pattern)
    for code, pattern in {
        "NL": r"[1-9]\d{3} [A-Z]{2}",
        "BE": r"\d{4}",
        "DE": r"\d{5}",
        "FR": r"\d{5}",
        "LU": r"(?:L-?)?\d{4}",
        "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
        "IE": r"[A-Z]\d[\dW] ?[A-Z\d]{4}",
        "US": r"\d{5}(?:-\d{4})?",
        "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
        "ES": r"\d{5}",
        "PT": r"\d{4}(?:-\d{3})?",
        "IT": r"\d{5}",
        "CH": r"\d{4}",
        "AT": r"\d{4}",
        "DK": r"\d{4}",
        "SE": r"\d{3} ?\d{2}",
        "NO": r"\d{4}",
        "FI": r"\d{5}",
        "PL": r"\d{2}-\d{3}",
        "TR": r"\d{5}",
        "MA": r"\d{5}",
        "ID": r"\d{5}",
        "IR": r"\d{5}-?\d{5}",
        "SA": r"\d{5}(?:-\d{4})?",
        "EG": r"\d{5}",
        "IN": r"\d{6}",
        "CN": r"\d{6}",
        "JP": r"\d{3}-?\d{4}",
        "AU": r"\d{4}",
        "BR": r"\d{5}-?\d{3}",
        "ZA": r"\d{4}",
    }.items()
}
_GENERIC_POSTCODE = re.compile(r"(?=.*\d)[A-Z0-9][A-Z0-9 -]{1,9}")


def postcode_is_valid(postcode: str | None, country: str | None = None) -> bool | None:
    """Whether a normalized postcode has its country's format (None without a postcode).

    Without a country it must have one of the known formats; a country without a known format only
    needs to look like a postcode (2-10 letters/digits with a digit).
    """
    if postcode is None:
        return None
    if country is None:
        return any(p.fullmatch(postcode) for p in POSTCODE_FORMATS.values())
    return (POSTCODE_FORMATS.get(country) or _GENERIC_POSTCODE).fullmatch(postcode) is not None


def _valid_postcode_or_none(postcode: Any, country: Any) -> str | None:
    return postcode if postcode_is_valid(postcode, country) else None


def normalize_postcode(value: Any, country: str | None = None) -> str | None:
    """Dutch postcodes become ``1234 AB``; others are upper-cased with single spaces.

    A value that looks Dutch is formatted as Dutch when the country is unknown, since most records
    without a country are Dutch in this hub's data; an explicit other country is respected.
    """
    text = clean_text(value)
    if text is None:
        return None
    match = _NL_POSTCODE.match(text)
    if match and country in (None, "NL"):
        return f"{match.group(1)} {match.group(2).upper()}"
    return text.upper()


# ------------------------------------------------------------------------------------------- country

# Names in English, Dutch, German, French and the country's own language/script, folded. Extend as
# sources bring new spellings; alpha-2 and alpha-3 codes are recognised as well.
_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "NL": (
        "netherlands",
        "the netherlands",
        "nederland",
        "holland",
        "niederlande",
        "pays-bas",
        "pays bas",
        "kingdom of the netherlands",
        "koninkrijk der nederlanden",
        "nld",
        "هلند",
    ),
    "BE": ("belgium", "belgie", "belgique", "belgien", "bel"),
    "DE": ("germany", "duitsland", "deutschland", "allemagne", "deu", "ger"),
    "FR": ("france", "frankrijk", "frankreich", "fra"),
    "LU": ("luxembourg", "luxemburg", "lux"),
    "GB": (
        "united kingdom",
        "uk",
        "great britain",
        "britain",
        "england",
        "scotland",
        "wales",
        "verenigd koninkrijk",
        "engeland",
        "groot-brittannie",
        "gbr",
    ),
    "IE": ("ireland", "ierland", "irl"),
    "US": ("united states", "united states of america", "usa", "us", "america", "verenigde staten", "vs"),
    "CA": ("canada", "can"),
    "ES": ("spain", "spanje", "espana", "esp"),
    "PT": ("portugal", "prt"),
    "IT": ("italy", "italie", "italia", "ita"),
    "CH": ("switzerland", "zwitserland", "schweiz", "suisse", "che"),
    "AT": ("austria", "oostenrijk", "osterreich", "aut"),
    "DK": ("denmark", "denemarken", "danmark", "dnk"),
    "SE": ("sweden", "zweden", "sverige", "swe"),
    "NO": ("norway", "noorwegen", "norge", "nor"),
    "FI": ("finland", "suomi", "fin"),
    "PL": ("poland", "polen", "polska", "pol"),
    "TR": ("turkey", "turkiye", "turkije", "tur"),
    "MA": ("morocco", "marokko", "maroc", "mar", "المغرب"),
    "SR": ("suriname", "sur"),
    "CW": ("curacao", "cuw"),
    "AW": ("aruba", "abw"),
    "ID": ("indonesia", "indonesie", "idn"),
    "IR": ("iran", "iran, islamic republic of", "islamic republic of iran", "irn", "ایران"),
    "AF": ("afghanistan", "afg", "افغانستان"),
    "SA": ("saudi arabia", "saoedi-arabie", "sau", "السعودية"),
    "AE": ("united arab emirates", "uae", "verenigde arabische emiraten", "are", "الإمارات"),
    "EG": ("egypt", "egypte", "egy", "مصر"),
    "SY": ("syria", "syrie", "syr", "سوريا"),
    "IQ": ("iraq", "irak", "irq", "العراق"),
    "CN": ("china", "chn"),
    "IN": ("india", "ind"),
    "JP": ("japan", "jpn"),
    "AU": ("australia", "australie", "aus"),
    "BR": ("brazil", "brazilie", "brasil", "bra"),
    "ZA": ("south africa", "zuid-afrika", "zaf"),
}
_COUNTRY_LOOKUP: dict[str, str] = {}
for _code, _names in _COUNTRY_NAMES.items():
    for _name in _names:
        _COUNTRY_LOOKUP[fold_text(_name) or _name] = _code
_ALPHA2 = frozenset(phonenumbers.SUPPORTED_REGIONS) | {"GB", "UK"}


def normalize_country(value: Any) -> str | None:
    """ISO 3166 alpha-2 from a code or a (Dutch, English, native) name; unknown values are kept.

    Unknown values are returned as cleaned text rather than dropped, so a quality check can flag them
    instead of the country silently disappearing.
    """
    text = clean_text(value)
    if text is None:
        return None
    folded = fold_text(text) or ""
    folded = folded.removeprefix("the ").strip(" .")
    if folded in _COUNTRY_LOOKUP and not (len(folded) == 2 and folded.upper() in _ALPHA2):
        return _COUNTRY_LOOKUP[folded]
    if len(folded) == 2 and folded.isascii() and folded.upper() in _ALPHA2:
        return "GB" if folded.upper() == "UK" else folded.upper()
    return _COUNTRY_LOOKUP.get(folded, text)


# --------------------------------------------------------------------------------------- frame level


def _map_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """Apply ``func`` once per distinct value: sources repeat values a lot and parsing is costly.

    Values are factorized (in C) and results gathered by code, so the per-record cost is a take.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = _object_array([*(func(v) for v in uniques), func(None)])  # code -1 (null) takes the last
    return pd.Series(table[codes], index=series.index, dtype=object)


def _map_pairs(a: pd.Series, b: pd.Series, func: Callable[[Any, Any], Any]) -> list[Any]:
    """Like :func:`_map_unique` for a function of two columns (once per distinct pair)."""
    pair_codes, args = _distinct_pairs(a, b)
    return _object_array([func(x, y) for x, y in args])[pair_codes].tolist()


def _distinct_pairs(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, list[tuple[Any, Any]]]:
    """``(codes, pairs)``: the distinct ``(a, b)`` value pairs (null as None) and each row's pair."""
    codes_a, uniques_a = pd.factorize(a, use_na_sentinel=True)
    codes_b, uniques_b = pd.factorize(b, use_na_sentinel=True)
    values_a, values_b = _object_array([None, *uniques_a]), _object_array([None, *uniques_b])  # null → 0
    width = len(values_b)
    pair_codes, pairs = pd.factorize((codes_a.astype(np.int64) + 1) * width + (codes_b + 1))
    keys = np.asarray(pairs, dtype=np.int64)  # each distinct pair's two value indexes, gathered at once
    return pair_codes, list(zip(values_a[keys // width].tolist(), values_b[keys % width].tolist(), strict=True))


#: Below this many distinct values a worker process costs more than it saves.
BACKGROUND_MIN_VALUES = 20_000


def _apply_all(func: Callable[..., Any], args: list[tuple[Any, ...]]) -> list[Any]:
    return [func(*a) for a in args]


@contextmanager
def _background_map(func: Callable[..., Any], args: list[tuple[Any, ...]]) -> Iterator[Callable[[], list[Any]]]:
    """Run ``func`` over ``args`` in one forked worker process while this one normalizes other fields.

    Phone parsing is pure Python (~25 µs per distinct number, most of a million-record run's
    normalization) and independent of the other fields, so on two cores it overlaps with them.
    Yields a getter for the results (in ``args`` order). Small inputs, one core, no ``fork``, a
    daemonic host process (no children allowed) or a failing worker: the same calls run inline.
    """
    usable = (
        len(args) >= BACKGROUND_MIN_VALUES
        and (os.cpu_count() or 1) >= 2
        and "fork" in mp.get_all_start_methods()
        and not mp.current_process().daemon
    )
    if not usable:
        yield lambda: _apply_all(func, args)
        return
    # The worker needs no garbage collection: a collection would touch (and copy) the parent's pages.
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"), initializer=gc.disable) as pool:
        future = pool.submit(_apply_all, func, args)

        def result() -> list[Any]:
            try:
                return future.result()
            except (BrokenProcessPool, OSError):
                return _apply_all(func, args)

        yield result


def _object_array(values: list[Any]) -> np.ndarray:
    """A 1-d object array of ``values`` (tuples stay elements, not rows)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


_PHONE_PUNCTUATION = re.compile(r"[\s\-().\u00a0/]")


def _phone_cache_key(value: Any) -> str | None:
    """Strip pure formatting from a phone text (only when what is left is + and digits)."""
    text = _blank_to_none(value)
    if text is None:
        return None
    compact = _PHONE_PUNCTUATION.sub("", text)
    return compact if compact and compact.lstrip("+").isdigit() else text


def _nl_international(text: Any, region: str) -> Any:
    """Write a Dutch number read in region NL in international form, so its spellings parse once.

    ``0612345678``, ``0031612345678`` and ``+31612345678`` are the same number in NL (trunk prefix 0,
    international prefix 00); rewriting them to ``+31...`` before the per-value cache means
    phonenumbers parses each number once instead of once per spelling. The result is unchanged.
    """
    if not isinstance(text, str) or region != "NL" or not text.isdigit():
        return text
    if text.startswith("0031"):
        return "+31" + text[4:]
    if text.startswith("0") and not text.startswith("00") and len(text) == 10:
        return "+31" + text[1:]
    return text


@lru_cache(maxsize=1)
def _phone_regions() -> frozenset[str]:
    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _none(values: list[Any] | pd.Series) -> pd.Series:
    """An object column whose missing values are ``None`` (the canonical model's null)."""
    series = pd.Series(values, dtype="object")
    return series.where(series.notna(), None)


def _social_key(network: str | None, handle: str | None) -> str | None:
    return None if network is None or handle is None else f"{network}:{handle}"


def _name_key(first: str | None, last: str | None) -> str | None:
    return f"{fold_text(first) or ''} {fold_text(last) or ''}".strip() or None


def _house_number(number: str | None, addition: str | None) -> str | None:
    return None if number is None else number + (addition or "")


def _map_rows(func: Callable[..., Any], *columns: pd.Series) -> list[Any]:
    """``func`` applied once per distinct combination of several columns' values (null as None)."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    values = []
    for col in columns:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        key, _ = pd.factorize(key * (len(uniques) + 1) + (codes + 1))
        values.append(np.asarray([*uniques, None], dtype=object))  # code -1 takes the last
    _, first_row = np.unique(key, return_index=True)
    col_codes = [pd.factorize(col, use_na_sentinel=True)[0] for col in columns]
    table = _object_array([func(*(v[c[row]] for v, c in zip(values, col_codes, strict=True))) for row in first_row])
    return table[key].tolist()


def _address_key(postcode: str | None, number: str | None) -> str | None:
    """``1234AB:12A`` for a Dutch postcode with a house number, else None (kept for callers; see
    :func:`crmhub.reconcile.address.address_key` for every country)."""
    return address_key("NL", None, number, None, postcode, None) if postcode and number else None


def normalize_contacts(
    contacts: pd.DataFrame,
    phone_regions: Mapping[str, str] | None = None,
    default_region: str = DEFAULT_PHONE_REGION,
    source_countries: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Return ``contacts`` (canonical columns kept) plus :data:`NORMALIZED_COLUMNS`.

    ``phone_regions`` maps source name → region for numbers written without a country code. A record's
    own country wins over its source's region (a Belgian address with a local Belgian number).
    ``source_countries`` maps source name → the country of its addresses when a record names none; the
    matching country (``key_country``) is the record's, else that default, else the postcode's shape.
    """
    out = contacts.reset_index(drop=True).copy()
    for col in CONTACT_COLUMNS:  # optional canonical columns may be absent: treat as all-null
        if col not in out.columns:
            out[col] = False if col == "is_deleted" else None
    if "display_name" in out.columns:  # a profile's display name is its name where it has no other
        _fill_names_from_display(out)
    regions = {k: v.upper() for k, v in (phone_regions or {}).items()}

    country = _none(_map_unique(out["country"], normalize_country))
    supported = _phone_regions()
    source_region = _map_unique(out["source"], lambda s: regions.get(s, default_region))
    record_region = country.where(country.isin(list(supported)), source_region)
    # Formatting characters do not change a number, so "06-1234 5678" and "0612345678" parse once.
    phone_text = pd.Series(
        _map_pairs(_map_unique(out["phone"], _phone_cache_key), record_region, _nl_international), dtype=object
    )
    phone_codes, phone_args = _distinct_pairs(phone_text, record_region)
    with _background_map(normalize_phone, phone_args) as parsed_phones:
        out["n_first_name"] = _none(_map_unique(out["first_name"], clean_text))
        split = _map_pairs(out["last_name"], out["name_prefix"], split_tussenvoegsel)
        out["n_name_prefix"] = _none([p for p, _ in split])
        out["n_last_name"] = _none([last for _, last in split])

        emails = _map_unique(out["email"], normalize_email)
        out["n_email"] = _none([e for e, _ in emails])
        out["email_valid"] = pd.array([v for _, v in emails], dtype="boolean")
        out["n_country"] = country

        defaults = {k: v.upper() for k, v in (source_countries or {}).items()}
        known = country.where(country.isin(list(supported)), None)
        if defaults:
            known = known.where(known.notna(), _map_unique(out["source"], lambda s: defaults.get(s)))
        shape = _map_unique(out["postcode"], lambda v: country_from_postcode(_blank_to_none(v)))
        match_country = _none(known.where(known.notna(), shape))
        parsed_lines = _map_pairs(out["address_line"], match_country, lambda v, c: parse_line(clean_text(v), c))
        address = [(s if not x else (f"{s}, {x}" if s else x), n, a) for s, n, a, x in parsed_lines]
        formatted = pd.Series(_map_pairs(out["postcode"], country, normalize_postcode), dtype=object)
        postcode = _none(_map_pairs(formatted, country, _valid_postcode_or_none))
        city = _none(_map_unique(out["city"], clean_text))
        handles = _map_unique(out["social_handle"], parse_handle)
        networks = _map_unique(out["social_network"], normalize_network)
        phones = _object_array(parsed_phones())[phone_codes].tolist()
    out["n_phone"] = _none([p for p, _ in phones])
    out["phone_valid"] = pd.array([v for _, v in phones], dtype="boolean")
    out["n_street"] = _none([a[0] for a in address])
    out["n_house_number"] = _none([a[1] for a in address])
    out["n_house_number_addition"] = _none([a[2] for a in address])
    out["n_postcode"] = postcode
    out["n_city"] = city

    out["n_social_network"] = _none(
        [n if n is not None else h[0] for n, h in zip(networks.tolist(), handles.tolist(), strict=True)]
    )
    out["n_social_handle"] = _none([h[1] for h in handles])
    out["n_company"] = _none(_map_unique(out["company"], clean_text))

    valid = out["email_valid"].fillna(False).to_numpy(dtype=bool)
    out["key_email"] = _none(out["n_email"].where(valid, None))
    out["key_phone"] = _none(out["n_phone"])
    out["key_social"] = _none(_map_pairs(out["n_social_network"], out["n_social_handle"], _social_key))
    out["key_name"] = _none(_map_pairs(out["n_first_name"], out["n_last_name"], _name_key))
    out["key_country"] = match_country
    street_only = _none([p[0] for p in parsed_lines])
    out["key_street"] = _none(_map_unique(street_only, _street_key))
    out["key_postcode"] = _none(_map_unique(out["n_postcode"], postcode_key))
    out["key_city"] = _none(_map_unique(out["n_city"], city_key))
    out["key_line"] = _none(
        _map_pairs(out["n_street"], out["n_house_number"], lambda st, nr: line_key(st) if nr is None else None)
    )
    out["key_address"] = _none(
        _map_rows(
            address_key,
            match_country,
            street_only,
            out["n_house_number"],
            out["n_house_number_addition"],
            out["n_postcode"],
            out["n_city"],
        )
    )
    del parsed_lines
    _profile_keys(out, record_region)
    warnings = {
        "names_with_invisible_characters": int(
            sum(_map_unique(out[c], has_invisible).to_numpy(dtype=bool) for c in NAME_FIELDS).astype(bool).sum()
        ),
        "invalid_postcodes": int((formatted.notna() & postcode.isna()).sum()),
    }
    out.attrs["normalize_warnings"] = warnings
    if any(warnings.values()):
        log.warning("normalize: %s (counts of records; values stay in raw)", warnings)
    return out


def _blank(series: pd.Series) -> np.ndarray:
    """Per row, whether a text column is null or whitespace only."""
    text = series.astype(object)
    return (text.isna() | text.map(lambda v: not str(v).strip())).to_numpy(dtype=bool)


def _fill_names_from_display(out: pd.DataFrame) -> None:
    """First and last name from ``display_name`` where a record has neither (:mod:`.profile`)."""
    from crmhub.reconcile.profile import split_display_name

    todo = _blank(out["first_name"]) & _blank(out["last_name"]) & ~_blank(out["display_name"])
    if not todo.any():
        return
    split = _map_unique(out.loc[todo, "display_name"], split_display_name)
    out["first_name"] = out["first_name"].astype(object)
    out["last_name"] = out["last_name"].astype(object)
    out.loc[todo, "first_name"] = [f for f, _ in split]
    out.loc[todo, "last_name"] = [la for _, la in split]


def _profile_keys(out: pd.DataFrame, region: pd.Series) -> None:
    """Fill empty match keys from a profile's ``location`` (city) and ``bio`` (e-mail, phone, profile URL).

    Match keys only (:mod:`.profile`): the presentation values survivorship reads stay the record's own.
    """
    from crmhub.reconcile.profile import bio_identifiers, location_city_key

    if "location" in out.columns:
        todo = out["key_city"].isna().to_numpy() & ~_blank(out["location"])
        if todo.any():
            out.loc[todo, "key_city"] = _map_unique(out.loc[todo, "location"], location_city_key).to_numpy()
    if "bio" in out.columns:
        todo = ~_blank(out["bio"])
        if todo.any():
            found = _map_pairs(out.loc[todo, "bio"], region[todo], bio_identifiers)
            for i, column in enumerate(("key_email", "key_phone", "key_social")):
                values = pd.Series([f[i] for f in found], index=out.index[todo], dtype=object)
                empty = out.loc[todo, column].isna()
                out.loc[values.index[empty.to_numpy()], column] = values[empty.to_numpy()]


#: Name fields cleaned of NUL and bidi control characters (counted in ``normalize_warnings``).
NAME_FIELDS: tuple[str, ...] = ("first_name", "name_prefix", "last_name")
