"""Social-profile fields as match evidence: display name, location and bio.

A Hootsuite or Sprout profile shows a display name, a free-text location and a bio, not the split
name, address, e-mail and phone a CRM record holds. When an input frame carries the optional
:data:`crmhub.model.PROFILE_COLUMNS`, normalization (:func:`crmhub.reconcile.normalize.normalize_contacts`)
reads them so that they count like the CRM fields they stand for:

* ``display_name`` → first and last name, where the record has neither (``Jan de Vries`` → ``Jan`` +
  ``de Vries``, the tussenvoegsel split as for any last name; words without a letter, such as emoji, are
  left out). It then is the record's name everywhere, survivorship included (the social source's place
  in the rules file's ``name`` order decides whether it ever shows);
* ``location`` → the city *match key* (``key_city``), where the record has no city: the text before the
  first comma, folded like a city. Not a presentation value: a free-text location never becomes a
  golden address;
* ``bio`` → an e-mail address, a phone number and a profile URL of a known network found in the text
  fill the record's empty ``key_email`` / ``key_phone`` / ``key_social``: a bio e-mail links like the
  same e-mail on a CRM record (deterministic rule, blocking, fuzzy comparison), under the same caps and
  blocklist. Match keys only; the golden e-mail is never taken from a bio.

Every function is pure and runs once per distinct value.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from crmhub.reconcile.address import city_key

#: Candidate e-mail addresses in free text (validated by ``normalize_email`` afterwards).
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9_%+\-.]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
#: Profile URLs in free text (``twitter.com/jan``, ``https://www.instagram.com/jan.dv``).
_URL_IN_TEXT = re.compile(
    r"(?:https?://)?(?:(?:www|mobile|m|nl|web)\.)?"
    r"(?:twitter\.com|x\.com|facebook\.com|fb\.com|instagram\.com|linkedin\.com)/[^\s,;)]+",
    re.IGNORECASE,
)
_HAS_LETTER = re.compile(r"[^\W\d_]")


def split_display_name(value: Any) -> tuple[str | None, str | None]:
    """``(first, last)`` from a display name: the first word and the rest (``None`` when there is none).

    A profile name has no fields; the first word is the given name in the Dutch, Persian and most
    Western orders the hub sees, and a swapped order is what the matcher's ``exact (swapped)`` level is
    for. Words without a letter (emoji, ``|``, ``🇳🇱``) are dropped.
    """
    if value is None or not isinstance(value, str):
        return None, None
    words = [w for w in value.split() if _HAS_LETTER.search(w)]
    if not words:
        return None, None
    return words[0], (" ".join(words[1:]) or None)


def location_city_key(value: Any) -> str | None:
    """The city match key of a free-text location: the part before the first comma, folded."""
    if value is None or not isinstance(value, str):
        return None
    head = value.split(",", 1)[0].strip()
    if not _HAS_LETTER.search(head):
        return None
    return city_key(" ".join(w for w in head.split() if _HAS_LETTER.search(w)))


def bio_identifiers(bio: Any, region: str | None = "NL") -> tuple[str | None, str | None, str | None]:
    """``(email, phone, social_key)`` found in a bio: the first valid one of each, else ``None``.

    E-mail: validated as any e-mail (``normalize_email``); phone: ``phonenumbers``' matcher in
    ``region`` (numbers with a country code in any region), E.164; social key: ``network:handle`` of
    the first profile URL of a known network. A bare ``@name`` names no network (it is often an
    employer), so it is not used.
    """
    from crmhub.reconcile.normalize import normalize_email, parse_handle

    if bio is None or not isinstance(bio, str) or not bio.strip():
        return None, None, None
    email = None
    for candidate in _EMAIL_IN_TEXT.findall(bio):
        address, valid = normalize_email(candidate.strip("."))
        if valid:
            email = address
            break
    phone = None
    for match in phonenumbers.PhoneNumberMatcher(bio, (region or "NL").upper()):
        if phonenumbers.is_valid_number(match.number):
            phone = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            break
    social = None
    for url in _URL_IN_TEXT.findall(bio):
        network, handle = parse_handle(url.rstrip("."))
        if network and handle:
            social = f"{network}:{handle}"
            break
    return email, phone, social
