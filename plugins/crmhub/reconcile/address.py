"""Addresses of any country: parse a street line, infer the country, build comparable keys.

Three things the matcher needs from an address, whatever the country:

* the parts — street, house number, addition (unit, flat, ``bis``), and what else the line holds
  (a building or locality after a comma) — from one line as sources give it. Countries write the
  number after the street (NL, BE, DE, AT, CH, the Nordics, ...) or before it (US, AU, GB, IE, CA,
  FR, ...); Iran writes it after a marker (``پلاک ۱۲``, ``No. 12``). :func:`parse_line` tries the
  country's order first and the other one next, so a line of an unknown country still parses;
* the country — from the record, else the source's configured default, else the postcode's shape
  when only one country writes postcodes that way (``1234 AB`` NL, ``SW1A 1AA`` GB, ``12345-67890``
  IR, ``K1A 0B1`` CA, ``12345-6789`` US, ...). A four- or five-digit postcode says nothing;
* keys — the street folded, with its type word expanded (``St``/``Str.``/``Rd``/``خ``) and without
  spaces (``pridhamstreet`` = ``Pridham Street``), the city folded, the postcode without spaces.

Every function is pure and runs once per distinct value (:mod:`crmhub.reconcile.normalize`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Countries that write the house number before the street ("10 Downing Street").
NUMBER_FIRST: frozenset[str] = frozenset({"US", "AU", "GB", "IE", "CA", "NZ", "FR", "LU", "ZA", "IN", "SG", "MY"})

#: Countries whose postcode (with a house number) names one building: postcode + number is an address.
FINE_POSTCODE: frozenset[str] = frozenset({"NL", "GB", "IR", "CA", "IE", "PT", "JP"})

_DIGITS = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}}
)

#: Postcode shapes that only one country uses (upper case, single spaces), checked in order.
_POSTCODE_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        ("NL", r"[1-9]\d{3} ?[A-Z]{2}"),
        ("GB", r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[A-Z]{2}"),
        ("CA", r"[A-Z]\d[A-Z] ?\d[A-Z]\d"),
        ("IR", r"\d{5}-?\d{5}"),
        ("US", r"\d{5}-\d{4}"),
        ("PL", r"\d{2}-\d{3}"),
        ("PT", r"\d{4}-\d{3}"),
        ("BR", r"\d{5}-\d{3}"),
        ("JP", r"\d{3}-\d{4}"),
        ("IE", r"[AC-FHKNPRTV-Y]\d{2}|D6W ?[0-9AC-FHKNPRTV-Y]{4}"),
    )
)


def country_from_postcode(postcode: str | None) -> str | None:
    """The one country whose postcodes have this shape, else None (``2119`` or ``10115`` say nothing)."""
    if not postcode:
        return None
    text = " ".join(postcode.translate(_DIGITS).upper().split())
    for code, shape in _POSTCODE_SHAPES:
        if shape.fullmatch(text):
            return code
    return None


# ----------------------------------------------------------------------------------------- parsing

_UNIT_WORDS = (
    r"apt|apartment|appt|app|unit|flat|suite|ste|fl|floor|level|lvl|bus|boite|bte|box|postbus|"
    r"wohnung|whg|etage|stock|rm|room|vahed|واحد|طبقه"
)
_UNIT = re.compile(rf"^(?:{_UNIT_WORDS})\.?\s*#?\s*(?P<unit>[^\W_]{{1,6}})$", re.IGNORECASE)
_UNIT_TAIL = re.compile(rf"\s+(?:{_UNIT_WORDS}|#)\.?\s*#?\s*(?P<unit>[^\W_]{{1,6}})$", re.IGNORECASE)
_MARKER = re.compile(
    r"(?:^|[\s,،])(?:no|nr|number|plak|pelak|پلاک)\.?\s*:?\s*(?P<number>\d{1,6})(?P<addition>[a-z]?)\b", re.I
)
_NUMBER_LAST = re.compile(
    r"^(?P<street>.*?[^\W\d_].*?)[\s,]+(?P<number>\d{1,5})"
    r"(?:\s*[-/]?\s*(?P<addition>[^\W_]{1,6}(?:[-/ ][^\W_]{1,4})?))?\s*$"
)
_NUMBER_FIRST = re.compile(
    r"^(?:(?P<unit>[^\W_]{1,4})\s*/\s*)?(?P<number>\d{1,5})(?:\s*-\s*\d{1,5})?(?P<addition>[a-zA-Z])?[\s,]+"
    r"(?P<street>.*[^\W\d_].*)$"
)


def _addition(text: str | None) -> str | None:
    if not text:
        return None
    return re.sub(r"[\s\-/]+", "-", text).upper() or None


def _split_number(part: str, number_first: bool) -> tuple[str, str, str | None] | None:
    """``(street, number, addition)`` of one comma-separated part, or None when it holds no number."""
    tail_unit = None
    unit_match = _UNIT_TAIL.search(part)
    if unit_match and unit_match.start() > 0:  # "123 Main St Apt 4B": the unit is the addition
        tail_unit, part = unit_match.group("unit"), part[: unit_match.start()]
    orders = (_NUMBER_FIRST, _NUMBER_LAST) if number_first else (_NUMBER_LAST, _NUMBER_FIRST)
    for pattern in orders:
        match = pattern.match(part)
        if match is None:
            continue
        groups = match.groupdict()
        street = match.group("street").strip(" ,.")
        addition = groups.get("addition") or groups.get("unit") or tail_unit
        if pattern is _NUMBER_LAST and addition and not number_first and len(addition) > 4 and addition.isalpha():
            continue  # "Laan 5 Oost"? a word after the number is rather part of the street: try the other order
        return street, str(int(match.group("number"))), _addition(addition)
    return None


def parse_line(value: str | None, country: str | None = None) -> tuple[str | None, str | None, str | None, str | None]:
    """``(street, house_number, addition, extra)`` from one address line of any country.

    ``Kerkstraat 12-A`` → ``(Kerkstraat, 12, A, None)``; ``7 Wallaby Place, Delmar`` →
    ``(Wallaby Place, 7, None, Delmar)``; ``Flat 2, 10 Downing Street`` → ``(Downing Street, 10, 2,
    None)``; ``2/15 Smith St`` → ``(Smith St, 15, 2, None)``; ``خیابان ولیعصر، پلاک ۱۲`` →
    ``(خیابان ولیعصر, 12, None, None)``. A line without a number stays whole in ``street``.
    """
    if value is None:
        return None, None, None, None
    line = " ".join(value.translate(_DIGITS).split())
    if not line:
        return None, None, None, None
    number_first = country in NUMBER_FIRST
    parts = [p.strip() for p in re.split(r"[,،;\n]", line) if p.strip()]
    marker = _MARKER.search(line)
    if marker and (country in (None, "IR") or not _split_number(parts[0], number_first)):
        before = line[: marker.start()].strip(" ,،")
        after = line[marker.end() :].strip(" ,،")
        street_parts = [p.strip() for p in re.split(r"[,،]", before) if p.strip()]
        street = street_parts[0] if street_parts else None
        extra = [*street_parts[1:], *([after] if after else [])]
        return street, str(int(marker.group("number"))), _addition(marker.group("addition")), ", ".join(extra) or None
    unit: str | None = None
    for i, part in enumerate(parts):
        unit_only = _UNIT.match(part)
        if unit_only:  # "Flat 2, 10 Downing Street"
            unit = unit_only.group("unit")
            continue
        split = _split_number(part, number_first)
        if split is None:
            continue
        street, number, addition = split
        extra = [p for j, p in enumerate(parts) if j != i and not _UNIT.match(p)]
        return street or None, number, addition or _addition(unit), ", ".join(extra) or None
    # A part that is only a number ("244, Markool", "Kerkstraat, 12"): the number of the part beside it
    # (the next one when the number comes first, else the one before).
    for i, part in enumerate(parts):
        bare = _BARE_NUMBER.match(part)
        if bare is None or len(parts) < 2:
            continue
        j = i + 1 if i + 1 < len(parts) and (i == 0 or number_first) else i - 1
        if _UNIT.match(parts[j]):
            continue
        extra = [p for k, p in enumerate(parts) if k not in (i, j) and not _UNIT.match(p)]
        number = str(int(bare.group("number")))
        return parts[j], number, _addition(bare.group("addition")) or _addition(unit), ", ".join(extra) or None
    return line, None, _addition(unit), None


_BARE_NUMBER = re.compile(r"^(?P<number>\d{1,5})\s*(?P<addition>[a-zA-Z])?$")


# -------------------------------------------------------------------------------------------- keys

#: Street-type words and their abbreviations, folded; the key uses the full word so ``St`` = ``Street``.
_STREET_WORDS: dict[str, str] = {
    "st": "street",
    "str": "street",
    "strt": "street",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "avn": "avenue",
    "pl": "place",
    "plc": "place",
    "dr": "drive",
    "drv": "drive",
    "ln": "lane",
    "ct": "court",
    "crt": "court",
    "cres": "crescent",
    "cr": "crescent",
    "crs": "crescent",
    "blvd": "boulevard",
    "bvd": "boulevard",
    "hwy": "highway",
    "tce": "terrace",
    "ter": "terrace",
    "terr": "terrace",
    "cct": "circuit",
    "cl": "close",
    "pde": "parade",
    "sq": "square",
    "pkwy": "parkway",
    "gr": "grove",
    "gdns": "gardens",
    "mt": "mount",
    "hts": "heights",
    "cir": "circle",
    "wy": "way",
    "esp": "esplanade",
    # Dutch, German, French (the suffix forms are handled in _street_fold)
    "strasse": "street",
    "straße": "street",
    "straat": "street",
    "weg": "road",
    "ln.": "lane",
    "bd": "boulevard",
    "rue": "street",
    "chaussee": "road",
    "chee": "road",
    "stwg": "road",
    "steenweg": "road",
    # Persian: street, alley, square, avenue (Latin and Persian script)
    "kh": "street",
    "khiaban": "street",
    "khiyaban": "street",
    "khiabane": "street",
    "خیابان": "street",
    "خ": "street",
    "kuche": "alley",
    "kucheh": "alley",
    "koocheh": "alley",
    "کوچه": "alley",
    "k": "alley",
    "meydan": "square",
    "maidan": "square",
    "میدان": "square",
    "bolvar": "boulevard",
    "بلوار": "boulevard",
}
#: Glued suffixes: "Hauptstr." / "Hauptstrasse" / "Kerkstr" → "haupt street" (German and Dutch compounds).
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("strasse", "street"),
    ("straße", "street"),
    ("str", "street"),
    ("straat", "street"),
    ("laan", "lane"),
    ("weg", "road"),
    ("gracht", "canal"),
    ("plein", "square"),
    ("platz", "square"),
    ("street", "street"),
)
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


@lru_cache(maxsize=1)
def _fold():
    from crmhub.reconcile.normalize import fold_text  # normalize imports this module

    return fold_text


def _street_fold(value: str) -> list[str]:
    folded = _fold()(value.replace("ß", "ss")) or ""
    words = _PUNCT.sub(" ", folded.replace("'", "")).split()
    out: list[str] = []
    for word in words:
        if word in _STREET_WORDS:
            out.append(_STREET_WORDS[word])
            continue
        for suffix, full in _SUFFIXES:
            if word.endswith(suffix) and len(word) > len(suffix) + 2:
                out.extend([word[: -len(suffix)], full])
                break
        else:
            out.append(word)
    return out


def street_key(street: str | None) -> str | None:
    """Folded street without spaces and with its type word written out: ``Hauptstr.`` = ``Haupt Straße``."""
    if not street:
        return None
    return "".join(_street_fold(street)) or None


def line_key(line: str | None) -> str | None:
    """A whole line's folded words, sorted (the fallback comparison when a line does not parse)."""
    if not line:
        return None
    return " ".join(sorted(_street_fold(line.translate(_DIGITS)))) or None


def city_key(city: str | None) -> str | None:
    """Folded city without punctuation or spaces: ``Den-Haag`` = ``den haag``, ``Köln`` = ``Koln``."""
    if not city:
        return None
    folded = _fold()(city) or ""
    return _PUNCT.sub("", folded).replace(" ", "").replace("_", "") or None


def postcode_key(postcode: str | None) -> str | None:
    """Postcode without spaces and dashes, upper case."""
    if not postcode:
        return None
    out = re.sub(r"[\s\-]", "", postcode.translate(_DIGITS).upper())
    return out or None


def address_key(
    country: str | None,
    street: str | None,
    number: str | None,
    addition: str | None,
    postcode: str | None,
    city: str | None,
) -> str | None:
    """One text per physical address, equal for the same address written two ways.

    Where a postcode names a building's street (:data:`FINE_POSTCODE`), postcode + number + addition;
    elsewhere street + number + addition + postcode (or city when there is no postcode). Without a
    number, or without street and a fine postcode, there is no key.
    """
    if number is None:
        return None
    house = number + (addition or "")
    pc = postcode_key(postcode)
    if pc and (country in FINE_POSTCODE or (country is None and country_from_postcode(postcode) in FINE_POSTCODE)):
        return f"{pc}:{house}"
    st = street_key(street)
    place = pc or city_key(city)
    if st is None or place is None:
        return None
    return f"{place}:{st}:{house}"


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
