"""Labelled benchmark data for the reconcile engine: canonical contacts plus the true person per record.

People are generated first (the truth), then 1–4 source records per person are derived with the noise
real CRM and social exports show. The noise levels are parameters so the benchmark can report an
easy and a hard setting; ``hard`` is the one the F1 target refers to.

Noise modelled (per record unless said otherwise):

* typos in first or last name (insert/delete/substitute/transpose), first and last name swapped,
  a first name reduced to an initial, tussenvoegsel in the last-name field or in its own field;
* Dutch names (with ``van der``, ``de``, ...), and Persian names in Latin transliteration or in
  Persian script with Arabic-keyboard letter variants (ي/ی, ك/ک);
* missing e-mail, phone, address; e-mail and phone formatting variants; an old or second e-mail;
* moved people: an older record carries the previous address;
* households: people sharing an address and last name (family members are different people),
  some sharing a family e-mail address or a landline — the values that chain strangers together;
* frequent names (Zipf-distributed pools), so different people share a full name.

Pure ``random.Random(seed)``: the same arguments always give the same data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

DUTCH_FIRST = [
    "Jan",
    "Piet",
    "Kees",
    "Henk",
    "Willem",
    "Johannes",
    "Cornelis",
    "Hendrik",
    "Gerrit",
    "Pieter",
    "Dirk",
    "Jacobus",
    "Thomas",
    "Daan",
    "Sem",
    "Lucas",
    "Bram",
    "Lars",
    "Jesse",
    "Thijs",
    "Ruben",
    "Tim",
    "Niels",
    "Bas",
    "Joost",
    "Maarten",
    "Sander",
    "Rutger",
    "Wouter",
    "Freek",
    "Maria",
    "Anna",
    "Johanna",
    "Elisabeth",
    "Cornelia",
    "Sophie",
    "Emma",
    "Julia",
    "Tess",
    "Sanne",
    "Lisa",
    "Eva",
    "Fleur",
    "Anouk",
    "Iris",
    "Lotte",
    "Femke",
    "Ilse",
    "Marieke",
    "Inge",
    "Esther",
    "Petra",
    "Monique",
    "Saskia",
    "Yvonne",
    "Wilma",
    "Ingrid",
    "Marloes",
    "Noor",
    "Roos",
    "Mila",
    "Zoë",
    "Chloë",
    "Renée",
    "Anaïs",
    "José",
    "Loïs",
]
DUTCH_LAST = [
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "de Bruin",
    "van der Heijden",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "van Dam",
    "van der Wal",
    "Prins",
    "Blom",
    "Huisman",
    "Peeters",
    "de Lange",
    "Kuipers",
    "van Wijk",
    "Postma",
    "Kramer",
    "van den Bosch",
    "Schipper",
    "Vink",
    "Kuiper",
    "van 't Hof",
    "in 't Veld",
    "ter Horst",
    "Groenewegen",
    "Çelik",
    "Yılmaz",
]
PERSIAN = (
    ("Mohammad", "محمد"),
    ("Ali", "علی"),
    ("Hossein", "حسین"),
    ("Reza", "رضا"),
    ("Mehdi", "مهدی"),
    ("Amir", "امیر"),
    ("Fatemeh", "فاطمه"),
    ("Zahra", "زهرا"),
    ("Maryam", "مریم"),
    ("Narges", "نرگس"),
    ("Yasaman", "یاسمن"),
    ("Kimia", "کیمیا"),
    ("Parisa", "پریسا"),
    ("Shirin", "شیرین"),
    ("Dariush", "داریوش"),
    ("Kaveh", "کاوه"),
)
PERSIAN_LAST = (
    ("Hosseini", "حسینی"),
    ("Ahmadi", "احمدی"),
    ("Mohammadi", "محمدی"),
    ("Rezaei", "رضایی"),
    ("Karimi", "کریمی"),
    ("Moradi", "مرادی"),
    ("Jafari", "جعفری"),
    ("Kazemi", "کاظمی"),
    ("Rahimi", "رحیمی"),
    ("Sadeghi", "صادقی"),
    ("Tehrani", "تهرانی"),
    ("Kiani", "کیانی"),
)
STREETS = [
    "Kerkstraat",
    "Schoolstraat",
    "Molenweg",
    "Dorpsstraat",
    "Stationsweg",
    "Hoofdstraat",
    "Julianastraat",
    "Beatrixlaan",
    "Wilhelminastraat",
    "Nieuwstraat",
    "Kastanjelaan",
    "Eikenlaan",
    "Prins Hendrikkade",
    "Herengracht",
    "Keizersgracht",
    "Oranjestraat",
    "Marktplein",
    "Parkweg",
    "Lindenlaan",
    "Sportlaan",
    "Burgemeester de Withstraat",
    "Van Goghstraat",
]
CITIES = [
    "Amsterdam",
    "Rotterdam",
    "Den-Haag",
    "Utrecht",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Nijmegen",
    "Apeldoorn",
    "Haarlem",
    "Arnhem",
    "Enschede",
    "Amersfoort",
    "Zaanstad",
    "Zwolle",
    "Leiden",
    "Maastricht",
    "Dordrecht",
    "Delft",
    "Alkmaar",
    "Deventer",
    "Venlo",
]
DOMAINS = ("gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "xs4all.nl", "live.nl", "yahoo.com")
SOURCES = ("crm", "erp", "legacy", "social")
ARABIC_VARIANT = str.maketrans({"ی": "ي", "ک": "ك"})


@dataclass(frozen=True)
class Noise:
    """Probabilities of each kind of noise; see the module docstring."""

    typo: float
    swap: float
    initial: float
    missing_email: float
    missing_phone: float
    missing_address: float
    other_email: float
    moved: float
    household: float
    family_email: float
    shared_landline: float


NOISE: dict[str, Noise] = {
    "easy": Noise(0.02, 0.0, 0.0, 0.2, 0.3, 0.1, 0.05, 0.03, 0.15, 0.05, 0.1),
    "hard": Noise(0.12, 0.03, 0.03, 0.35, 0.45, 0.15, 0.2, 0.12, 0.3, 0.2, 0.3),
}


def _zipf(rng: random.Random, items: tuple[Any, ...] | list[Any], s: float = 0.6) -> Any:
    """Pick with Zipf weights so the first items are much more common (Jan, de Jong, ...)."""
    n = len(items)
    idx = min(int(n * rng.random() ** (1 + s)), n - 1)
    return items[idx]


def _typo(rng: random.Random, word: str) -> str:
    """One slip: a letter dropped, added, replaced or two letters swapped (in the word's own script)."""
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    letters = "aeioulnrst" if word.isascii() else word.replace(" ", "")
    if kind < 0.3:
        return word[:i] + word[i + 1 :]
    if kind < 0.55:
        return word[:i] + rng.choice(letters) + word[i:]
    if kind < 0.8:
        return word[:i] + rng.choice(letters) + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _address(rng: random.Random) -> dict[str, str]:
    number = rng.randint(1, 250)
    addition = rng.choice(["", "", "", "", "", "A", "B", "bis", "2"])
    return {
        "street": rng.choice(STREETS),
        "number": str(number),
        "addition": addition,
        "postcode": f"{rng.randint(1000, 9999)}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLNPRSTVWXZ')}",
        "city": rng.choice(CITIES).replace("-", " "),
    }


def _address_line(rng: random.Random, a: dict[str, str]) -> str:
    if not a["addition"]:
        return f"{a['street']} {a['number']}"
    sep = rng.choice(["", "-", " ", " - "])
    return f"{a['street']} {a['number']}{sep}{a['addition'] if rng.random() < 0.5 else a['addition'].lower()}"


def _postcode(rng: random.Random, pc: str) -> str:
    form = rng.random()
    if form < 0.5:
        return f"{pc[:4]} {pc[4:]}"
    if form < 0.8:
        return pc
    return f"{pc[:4]}  {pc[4:].lower()}"


def _phone(rng: random.Random, digits: str) -> str:
    form = rng.random()
    if form < 0.3:
        return f"0{digits}"
    if form < 0.55:
        return f"+31 {digits[0]} {digits[1:5]} {digits[5:]}"
    if form < 0.8:
        return f"0{digits[0]}-{digits[1:]}"
    return f"0031{digits}"


def _email_local(rng: random.Random, first: str, last: str) -> str:
    f, last_part = _ascii(first).lower(), _ascii(last).lower().replace(" ", "").replace("'", "")
    return rng.choice(
        [f"{f}.{last_part}", f"{f[0]}{last_part}", f"{f}{last_part}{rng.randint(1, 99)}", f"{f}_{last_part}"]
    )


class _People:
    def __init__(self, rng: random.Random, noise: Noise) -> None:
        self.rng, self.noise = rng, noise
        self.emails: set[str] = set()

    def email(self, first: str, last: str) -> str:
        base = _email_local(self.rng, first, last)
        domain = self.rng.choice(DOMAINS)
        email, n = f"{base}@{domain}", 2
        while email in self.emails:
            email, n = f"{base}{n}@{domain}", n + 1
        self.emails.add(email)
        return email

    def mobile(self) -> str:
        return "6" + str(self.rng.randint(1, 5)) + "".join(str(self.rng.randint(0, 9)) for _ in range(7))

    def person(self, pid: int, household: dict[str, Any] | None) -> dict[str, Any]:
        rng = self.rng
        persian = rng.random() < 0.12
        if household is not None:
            persian = household["last"][1] is not None
        if persian:
            first, first_fa = _zipf(rng, PERSIAN)
            while household is not None and first in household.setdefault("firsts", set()):
                first, first_fa = rng.choice(PERSIAN)
            last, last_fa = household["last"] if household else _zipf(rng, PERSIAN_LAST)
            names = {"first": first, "last": last, "first_fa": first_fa, "last_fa": last_fa}
        else:
            first = _zipf(rng, DUTCH_FIRST)
            while household is not None and first in household.setdefault("firsts", set()):
                first = rng.choice(DUTCH_FIRST)  # siblings and partners do not share a first name
            last = household["last"][0] if household else _zipf(rng, DUTCH_LAST)
            names = {"first": first, "last": last, "first_fa": None, "last_fa": None}
        if household is not None:
            household["firsts"].add(first)
        address = household["address"] if household else _address(rng)
        person = {
            "pid": pid,
            **names,
            "email": self.email(first, names["last"]),
            "email2": self.email(first, names["last"]) if rng.random() < 0.5 else None,
            "mobile": self.mobile(),
            "address": address,
            "old_address": _address(rng),
            # a network guarantees unique handles: name stem + the person number
            "handle": (_ascii(first) + _ascii(names["last"]).replace(" ", "")).lower()[:12] + str(pid),
            "family_email": household.get("family_email") if household else None,
            "landline": household.get("landline") if household else None,
        }
        return person


def generate(n_records: int, noise_level: str = "hard", seed: int = 7) -> pd.DataFrame:
    """``n_records`` canonical contacts (about) with a ``person_id`` column holding the truth."""
    noise = NOISE[noise_level]
    rng = random.Random(seed)
    people = _People(rng, noise)
    anchor = datetime(2026, 1, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    pid = 0
    record_no = 0
    while len(rows) < n_records:
        household: dict[str, Any] | None = None
        members = 1
        if rng.random() < noise.household:
            members = rng.choice([2, 2, 3, 4])
            if rng.random() < 0.12:
                seed_last, seed_fa = _zipf(rng, PERSIAN_LAST)
            else:
                seed_last, seed_fa = _zipf(rng, DUTCH_LAST), None
            household = {"address": _address(rng), "last": (seed_last, seed_fa)}
            if rng.random() < noise.family_email:
                household["family_email"] = people.email("fam", seed_last)
            if rng.random() < noise.shared_landline:
                household["landline"] = "20" + "".join(str(rng.randint(0, 9)) for _ in range(7))
        for _ in range(members):
            person = people.person(pid, household)
            pid += 1
            n = rng.choices([1, 2, 3, 4], weights=[40, 32, 19, 9])[0]
            sources = rng.sample(SOURCES, n)
            for k, source in enumerate(sources):
                record_no += 1
                rows.append(_record(rng, noise, person, source, k, record_no, anchor))
    frame = pd.DataFrame(rows[:n_records])
    frame["source_updated_at"] = pd.to_datetime(frame["source_updated_at"], utc=True)
    frame["source_created_at"] = frame["source_updated_at"]
    frame["is_deleted"] = False
    return frame


def _record(
    rng: random.Random, noise: Noise, p: dict[str, Any], source: str, k: int, record_no: int, anchor: datetime
) -> dict[str, Any]:
    first, last = p["first"], p["last"]
    if p["first_fa"] is not None and rng.random() < 0.4:
        first, last = p["first_fa"], p["last_fa"]
        if rng.random() < 0.5:
            first, last = first.translate(ARABIC_VARIANT), last.translate(ARABIC_VARIANT)
    if rng.random() < noise.typo:
        first = _typo(rng, first)
    if rng.random() < noise.typo:
        last = _typo(rng, last)
    if rng.random() < noise.initial:
        first = first[0] + "."
    prefix = None
    if " " in last and last.split(" ")[0].islower() and rng.random() < 0.5:
        prefix, last = last.rsplit(" ", 1)
    if rng.random() < noise.swap:
        first, last = last, first
    address = p["address"]
    moved = k > 0 and rng.random() < noise.moved
    if moved:
        address = p["old_address"]
    email: str | None = p["email"]
    if rng.random() < noise.other_email:
        email = p["email2"] or p["family_email"] or email
    elif p["family_email"] and rng.random() < 0.5:
        email = p["family_email"]
    if email and rng.random() < 0.2:
        email = email.capitalize() if rng.random() < 0.5 else email.upper()
    phone_digits = p["landline"] if p["landline"] and rng.random() < 0.5 else p["mobile"]
    has_address = rng.random() >= noise.missing_address
    handle = p["handle"] if source == "social" or rng.random() < 0.1 else None
    return {
        "source": source,
        "source_id": f"{source}-{record_no}",
        "source_updated_at": anchor - timedelta(days=rng.randint(0, 900) + (400 if moved else 0)),
        "first_name": first,
        "name_prefix": prefix,
        "last_name": last,
        "email": None if rng.random() < noise.missing_email else email,
        "phone": None if rng.random() < noise.missing_phone else _phone(rng, phone_digits),
        "address_line": _address_line(rng, address) if has_address else None,
        "postcode": _postcode(rng, address["postcode"]) if has_address else None,
        "city": address["city"] if has_address else None,
        "country": rng.choice([None, "NL", "Nederland", "Netherlands"]),
        "social_network": "twitter" if handle else None,
        "social_handle": handle,
        "company": None,
        "person_id": p["pid"],
    }
