"""Seeded generator of realistic sandbox data with the ground truth of who-is-who.

The hub's matching and survivorship can only be measured against data whose answer is known, so
every person is generated first (the truth) and the vendor records are then derived from it, with the
noise that real systems show: duplicate CRM records with e-mail case/whitespace differences, typos and
old addresses, Dutch tussenvoegsels and house-number additions, Persian/Arabic letter variants, social
handles written four ways. Pure ``random.Random(seed)``: the same seed always gives the same data.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
HISTORY_DAYS = 120
ORGANIZATION_ID = "626731"
MEMBER_ID = "15240789"

DUTCH_FIRST = [
    "Jan", "Pieter", "Sanne", "Lotte", "Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Bram", "Fleur",
    "Thijs", "Anouk", "Ruben", "Lieke", "Joost", "Marieke", "Koen", "Iris", "Willem", "Femke", "Maarten",
    "Eva", "Niels", "Noor", "Jeroen", "Sophie", "Wouter", "Anne", "Gijs", "Maud", "Hendrik", "Ilse",
    "Sjoerd", "Roos", "Floor", "Stijn", "Marloes", "Bas",
]  # fmt: skip
DUTCH_LAST: list[tuple[str | None, str]] = [
    ("van", "Dijk"), ("van der", "Berg"), ("de", "Vries"), ("van den", "Heuvel"), ("ter", "Horst"),
    (None, "Jansen"), (None, "Bakker"), (None, "Visser"), (None, "Smit"), (None, "Meijer"), ("de", "Boer"),
    (None, "Mulder"), ("de", "Groot"), (None, "Bos"), ("van", "Leeuwen"), ("van der", "Meer"),
    ("van den", "Broek"), (None, "Kok"), ("de", "Jong"), (None, "Peters"), ("van", "Vliet"), ("ter", "Beek"),
    (None, "Hendriks"), ("van der", "Linden"), (None, "Dekker"), ("van", "Beek"), ("de", "Wit"),
    (None, "Willems"), ("van", "Rijn"), ("ter", "Haar"),
]  # fmt: skip
INTL_FIRST = [
    "Emily", "James", "Oliver", "Lukas", "Marie", "Chloé", "Mateo", "Sofía", "Giulia", "Marco", "Anna",
    "Thomas", "Zoë", "Élodie", "Jürgen", "Søren", "Olivia", "Noah",
]  # fmt: skip
INTL_LAST = [
    "Smith", "Müller", "Dubois", "García", "Rossi", "O'Brien", "Schneider", "Martin", "Nowak", "Jensen",
    "Peeters", "Fischer", "Brown", "Moreau",
]  # fmt: skip
#: (latin transliteration, Persian script). The Persian forms use ی and ک; duplicates use ي and ك.
PERSIAN_FIRST = [
    ("Zahra", "زهرا"), ("Mohammad", "محمد"), ("Ali", "علی"), ("Fatemeh", "فاطمه"), ("Reza", "رضا"),
    ("Maryam", "مریم"), ("Hossein", "حسین"), ("Narges", "نرگس"), ("Mehdi", "مهدی"), ("Leila", "لیلا"),
    ("Kaveh", "کاوه"), ("Shirin", "شیرین"), ("Karim", "کریم"), ("Yasaman", "یاسمن"),
]  # fmt: skip
PERSIAN_LAST = [
    ("Mohammadi", "محمدی"), ("Hosseini", "حسینی"), ("Karimi", "کریمی"), ("Rezaei", "رضایی"),
    ("Ahmadi", "احمدی"), ("Kazemi", "کاظمی"), ("Jafari", "جعفری"), ("Rahimi", "رحیمی"),
    ("Sadeghi", "صادقی"), ("Kiani", "کیانی"),
]  # fmt: skip
STREETS = [
    "Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Prinsengracht", "Keizersgracht",
    "Oudegracht", "Hoofdstraat", "Julianalaan", "Beatrixstraat", "Nieuwe Binnenweg", "Lange Voorhout",
    "Vondelstraat", "Marktplein", "Burgemeester de Withstraat", "Wilhelminapark", "Van Speijkstraat",
]  # fmt: skip
#: city, first and last postcode digits, area code without the leading 0.
CITIES: list[tuple[str, int, int, str]] = [
    ("Amsterdam", 1011, 1109, "20"), ("Rotterdam", 3011, 3089, "10"), ("Utrecht", 3511, 3585, "30"),
    ("Den Haag", 2511, 2597, "70"), ("Eindhoven", 5611, 5658, "40"), ("Groningen", 9711, 9747, "50"),
    ("Leiden", 2311, 2334, "71"), ("Haarlem", 2011, 2037, "23"), ("Nijmegen", 6511, 6546, "24"),
    ("Zwolle", 8011, 8043, "38"), ("Maastricht", 6211, 6229, "43"), ("Delft", 2611, 2629, "15"),
]  # fmt: skip
#: Abroad: country, ISO code, city, street, postcode pattern, phone country code and mobile prefix.
ABROAD: list[tuple[str, str, str, str, str, str, str]] = [
    ("Belgium", "BE", "Antwerpen", "Meir", "2000", "32", "47"),
    ("Belgium", "BE", "Gent", "Veldstraat", "9000", "32", "48"),
    ("Germany", "DE", "Köln", "Hauptstraße", "50667", "49", "151"),
    ("Germany", "DE", "Düsseldorf", "Königsallee", "40212", "49", "160"),
    ("United Kingdom", "GB", "London", "Baker Street", "NW1 6XE", "44", "7700"),
]
COMPANIES = [
    "Bakkerij Jansen", "Coolblue", "ASML", "Philips", "Rabobank", "Gemeente Utrecht", "Studio Noord",
    "Van Oord", "Tony's Chocolonely", "Bol.com", "Kapsalon Knip", "De Fietsenmaker", "TU Delft",
]  # fmt: skip
EMAIL_DOMAINS = [
    "gmail.com", "outlook.com", "hotmail.nl", "ziggo.nl", "kpnmail.nl", "xs4all.nl", "icloud.com",
    "proton.me", "planet.nl",
]  # fmt: skip
REPLIES_NL = [
    "Bedankt voor je bericht! We kijken ernaar 🙏",
    "Sorry voor het ongemak, stuur ons even een DM met je ordernummer 📦",
    "Goed om te horen dat alles is aangekomen 😊",
    "Je pakket is onderweg 🚀 Track & trace volgt per mail.",
    "Kun je ons je postcode en huisnummer sturen via DM? 🔒",
    "Fijne dag nog! ☀️ Laat het weten als we nog iets kunnen doen.",
    "Wat vervelend! Onze collega's van de klantenservice nemen vandaag contact op 📞",
]
REPLIES_EN = [
    "Thanks for reaching out! Your order ships tomorrow 🚚",
    "We have passed this on to our service team 👍",
    "So sorry about that 😔 Could you DM us your order number?",
    "Great to hear you love it! ❤️",
    "A refund is on its way, expect it within 3 working days 💶",
]
REPLIES_FA = [
    "ممنون از پیام شما 🌹 همکاران ما به زودی پاسخ می‌دهند",
    "سلام! سفارش شما ارسال شد 📦",
    "Dank je wel! متشکریم 🙏",
]
REPLY_TAGS: list[list[str]] = [[], [], ["service"], ["sales"], ["klacht"], ["service", "retour"]]
CAMPAIGNS: list[tuple[str, str]] = [
    ("Zomeractie2026", "☀️ Zomeractie! 25% korting op de hele zomercollectie. Alleen deze week: https://ow.ly/zmr26"),
    ("Herfstdeals", "🍂 Herfstdeals: tot 40% korting, alleen dit weekend! https://ow.ly/hrfst"),
    ("BlackFriday2026", "🖤 Black Friday early access for our followers — shop now https://ow.ly/bf26"),
    (
        "Nieuwsbrief-Okt",
        "📰 Onze oktober-nieuwsbrief staat online: nieuwe winkels in Utrecht en Gent! https://ow.ly/nb10",
    ),
]
PROFILES: list[dict[str, Any]] = [
    {"id": "115185509", "type": "TWITTER", "socialNetworkId": "1261768027", "socialNetworkUsername": None,
     "avatarUrl": None},
    {"id": "115185512", "type": "INSTAGRAM", "socialNetworkId": "17841400008460056",
     "socialNetworkUsername": "socialcrmhub.nl", "avatarUrl": "https://static.ow.ly/avatars/ig-socialcrmhub.jpg"},
    {"id": "115185517", "type": "FACEBOOK", "socialNetworkId": "177463958820",
     "socialNetworkUsername": "Social CRM Hub", "avatarUrl": "https://static.ow.ly/avatars/fb-socialcrmhub.jpg"},
    {"id": "115185520", "type": "LINKEDIN", "socialNetworkId": "urn:li:organization:5012345",
     "socialNetworkUsername": "Social CRM Hub B.V.", "avatarUrl": "https://static.ow.ly/avatars/li-socialcrmhub.jpg"},
]  # fmt: skip


@dataclass
class SandboxData:
    """Everything both fake vendors serve, plus the truth the hub's output is scored against."""

    seed: int
    people: int
    anchor: datetime
    hubspot_contacts: list[dict[str, Any]]
    hootsuite_profiles: list[dict[str, Any]]
    hootsuite_messages: list[dict[str, Any]]
    hootsuite_member: dict[str, Any]
    organization_id: str
    ground_truth: dict[str, Any] = field(repr=False)
    #: what each further vendor serves (``crmhub_dev.sandbox.vendors`` ``derive``), by vendor name
    vendors: dict[str, Any] = field(default_factory=dict, repr=False)
    #: HubSpot deals, notes (engagements) and marketing campaigns, made after the contacts on their own rng
    hubspot_deals: list[dict[str, Any]] = field(default_factory=list, repr=False)
    hubspot_notes: list[dict[str, Any]] = field(default_factory=list, repr=False)
    hubspot_campaigns: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: duplicate contacts HubSpot merges after the anchor: {"loser", "winner", "mergedAt"}
    hubspot_merges: list[dict[str, Any]] = field(default_factory=list, repr=False)


@dataclass
class DeriveContext:
    """What a vendor's ``derive`` function gets to make its records from the generated people.

    ``persons`` are the generator's full person dicts (name parts, ``address``, ``phone``, ``email``,
    ``handle``/``social_network`` when social, ``person_id``); ``rng`` is the vendor's own seeded
    random source, so adding a vendor never changes another vendor's data. Register every record a
    person has in the vendor with :meth:`add_record` (that is the ground truth matching is scored on).
    """

    vendor: str
    persons: list[dict[str, Any]]
    rng: Random
    anchor: datetime
    start: datetime
    sources: dict[str, list[dict[str, Any]]]

    def add_record(self, person: dict[str, Any], source_id: str, *, archived: bool = False) -> None:
        self.sources[person["person_id"]].append({"source": self.vendor, "source_id": source_id, "archived": archived})

    def when(self, lo: datetime, hi: datetime) -> datetime:
        """A uniformly random instant in [lo, hi], to the millisecond."""
        span = max(0, int((hi - lo).total_seconds() * 1000))
        return lo + timedelta(milliseconds=self.rng.randint(0, span))


def iso_ms(dt: datetime) -> str:
    """HubSpot's timestamp form: UTC, milliseconds, trailing Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    """Hootsuite's timestamp form: UTC, whole seconds, trailing Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _arabic_variant(text: str) -> str:
    return text.replace("ی", "ي").replace("ک", "ك")


def _typo(rng: Random, word: str) -> str:
    """One realistic keying error: two letters swapped or one letter dropped."""
    if len(word) < 4:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


class _Gen:
    """Holds the RNG and the uniqueness sets while one data set is generated."""

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.rng = Random(seed)
        self.anchor = anchor
        self.start = anchor - timedelta(days=HISTORY_DAYS)
        self.emails: set[str] = set()
        self.handles: set[str] = set()

    def when(self, lo: datetime, hi: datetime) -> datetime:
        span = max(int((hi - lo).total_seconds() * 1000), 1)
        return lo + timedelta(milliseconds=self.rng.randrange(span))

    # -- the true person -------------------------------------------------------------------------
    def person(self, index: int) -> dict[str, Any]:
        rng = self.rng
        roll = rng.random()
        kind = "persian" if roll < 0.10 else "intl" if roll < 0.25 else "dutch"
        script_first = script_last = None
        if kind == "dutch":
            first = rng.choice(DUTCH_FIRST)
            prefix, last = rng.choice(DUTCH_LAST)
            latin_first, latin_last = first, f"{prefix or ''}{last}"
        elif kind == "intl":
            first, prefix, last = rng.choice(INTL_FIRST), None, rng.choice(INTL_LAST)
            latin_first, latin_last = first, last
        else:
            (latin_first, script_first), (latin_last, script_last) = (
                rng.choice(PERSIAN_FIRST),
                rng.choice(PERSIAN_LAST),
            )
            first, prefix, last = script_first, None, script_last
        abroad = kind == "intl" and rng.random() < 0.5
        address, phone_e164, phone_local, country_value = self.address_and_phone(abroad)
        email = self.email(latin_first, latin_last)
        return {
            "person_id": f"P{index:05d}",
            "kind": kind,
            "first_name": first,
            "name_prefix": prefix,
            "last_name": last,
            "latin": (latin_first, latin_last),
            "email": email,
            "phone": phone_e164,
            "phone_local": phone_local,
            "address": address,
            "country_value": country_value,
            "company": rng.choice(COMPANIES) if rng.random() < 0.55 else None,
            "social_network": None,
            "handle": None,
            "handle_display": None,
        }

    def address_and_phone(self, abroad: bool) -> tuple[dict[str, Any], str, str, str]:
        rng = self.rng
        if abroad:
            country, code, city, street, postcode, cc, mobile = rng.choice(ABROAD)
            number = str(rng.randint(1, 240))
            addition = rng.choice([None, None, "B"]) if code == "GB" else None
            national_length = {"32": 9, "49": 11, "44": 10}[cc]
            digits = "".join(str(rng.randint(0, 9)) for _ in range(national_length - len(mobile)))
            e164 = f"+{cc}{mobile}{digits}"
            local = rng.choice([f"+{cc} {mobile} {digits[:3]} {digits[3:]}", f"00{cc}{mobile}{digits}"])
            address = {
                "street": street,
                "house_number": number,
                "house_number_addition": addition,
                "postcode": postcode,
                "city": city,
                "country": code,
            }
            return address, e164, local, country
        city, lo, hi, area = rng.choice(CITIES)
        postcode = f"{rng.randint(lo, hi)} {rng.choice('ABCDEGHJKLMNPRSTVWXZ')}{rng.choice('ABCDEGHJKLMNPRSTVWXZ')}"
        number = str(rng.randint(1, 180))
        addition = rng.choice([None] * 6 + ["A", "B", "2", "bis"])
        if rng.random() < 0.75:
            digits = f"{rng.randint(10_000_000, 99_999_999)}"
            e164 = f"+316{digits}"
            local = rng.choice(
                [
                    f"06-{digits}",
                    f"+31 6 {digits[:4]} {digits[4:]}",
                    f"06{digits}",
                    f"06 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}",
                ]
            )
        else:
            sub = f"{rng.randint(1_000_000, 9_999_999)}"[: 9 - len(area)]
            e164 = f"+31{area}{sub}"
            local = rng.choice([f"0{area} {sub[:3]} {sub[3:]}", f"0{area}-{sub}", f"+31 {area} {sub}"])
        address = {
            "street": rng.choice(STREETS),
            "house_number": number,
            "house_number_addition": addition,
            "postcode": postcode,
            "city": city,
            "country": "NL",
        }
        return address, e164, local, rng.choice(["Netherlands", "NL", "Nederland", "Netherlands"])

    def email(self, first: str, last: str) -> str:
        rng = self.rng
        f, last_part = _ascii(first), _ascii(last)
        pattern = rng.randrange(4)
        local = [f"{f}.{last_part}", f"{f[0]}{last_part}", f"{f}{last_part}{rng.randint(70, 99)}", f"{f}_{last_part}"][
            pattern
        ]
        email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        n = 2
        while email in self.emails:
            email = f"{local}{n}@{email.split('@')[1]}"
            n += 1
        self.emails.add(email)
        return email

    def handle(self, person: dict[str, Any]) -> tuple[str, str]:
        """Return (true lower-case handle, display form with the person's own capitalisation)."""
        rng = self.rng
        first, last = person["latin"]
        f, last_part = _ascii(first), _ascii(last)
        options = [
            (f + last_part, first.title() + last.replace(" ", "").title()),
            (f"{f}_{last_part}", f"{first.title()}_{last.replace(' ', '').title()}"),
            (f"{f[0]}{last_part}{rng.randint(1, 99)}", None),
            (f"the{f}", None),
        ]
        base, display = rng.choice(options)
        base = _ascii(base) if "_" not in base else "_".join(_ascii(p) for p in base.split("_"))
        base = base[:15]
        handle, n = base, 2
        while handle in self.handles:
            handle = f"{base[:13]}{n}"
            n += 1
        self.handles.add(handle)
        if display is None or display.lower() != handle:
            display = handle if rng.random() < 0.5 else handle.capitalize()
        return handle, display


def _address_line(rng: Random, address: dict[str, Any]) -> str:
    street, number, add = address["street"], address["house_number"], address["house_number_addition"]
    if address["country"] == "GB":
        return f"{number}{add or ''} {street}"
    if not add:
        return f"{street} {number}"
    if add == "bis":
        return f"{street} {number} bis"
    if add.isdigit():
        return f"{street} {number}-{add}"
    return rng.choice([f"{street} {number}-{add}", f"{street} {number}{add.lower()}", f"{street} {number} {add}"])


def _postcode_variant(rng: Random, postcode: str, country: str) -> str:
    if country != "NL":
        return postcode
    return rng.choice([postcode, postcode, postcode.replace(" ", ""), postcode[:5] + postcode[5:].lower()])


def _handle_variant(rng: Random, display: str) -> str:
    return rng.choice(
        [f"@{display}", display.lower(), f"https://twitter.com/{display}", f"@{display.lower()}", display]
    )


def _hubspot_lastname(person: dict[str, Any], rng: Random) -> str:
    prefix = person["name_prefix"]
    if not prefix:
        return person["last_name"]
    if rng.random() < 0.15:  # some people write the prefix capitalised
        prefix = prefix[0].upper() + prefix[1:]
    return f"{prefix} {person['last_name']}"


def generate(seed: int = 42, people: int = 200, anchor: datetime = DEFAULT_ANCHOR) -> SandboxData:
    """Generate the sandbox data set for ``seed``; identical inputs always give identical output."""
    gen = _Gen(seed, anchor)
    rng = gen.rng
    persons = [gen.person(i + 1) for i in range(people)]

    # Who lives where: ~85% in HubSpot; everyone not in HubSpot is a social-only Hootsuite contact.
    hubspot_records: list[tuple[datetime, dict[str, Any], dict[str, Any]]] = []  # (createdAt, person, draft)
    for person in persons:
        in_hubspot = rng.random() < 0.85
        person["in_hubspot"] = in_hubspot
        social = (not in_hubspot) or rng.random() < 0.53
        if social:
            person["social_network"] = "twitter" if rng.random() < 0.7 else "instagram"
            person["handle"], person["handle_display"] = gen.handle(person)
            person["handle_on_hubspot"] = rng.random() < 0.75
        if not in_hubspot:
            continue
        created = gen.when(gen.start, anchor - timedelta(days=3))
        duplicate = rng.random() < 0.15
        if duplicate:
            old_created = created
            created = gen.when(old_created + timedelta(hours=1), anchor - timedelta(days=1))
            old_updated = gen.when(old_created, created)
            hubspot_records.append((old_created, person, {"role": "old", "updated": old_updated}))
        updated = gen.when(created, anchor - timedelta(minutes=5))
        hubspot_records.append((created, person, {"role": "current", "updated": updated}))

    # HubSpot ids grow with creation time, like the real portal.
    hubspot_records.sort(key=lambda item: item[0])
    next_id = 1001 + rng.randrange(500)
    contacts: list[dict[str, Any]] = []
    sources: dict[str, list[dict[str, Any]]] = {p["person_id"]: [] for p in persons}
    archived_any = False
    for created, person, draft in hubspot_records:
        next_id += rng.randint(1, 60)
        contact_id = str(next_id)
        props = _hubspot_properties(rng, person, old=draft["role"] == "old")
        updated = draft["updated"]
        props.update(hs_object_id=contact_id, createdate=iso_ms(created), lastmodifieddate=iso_ms(updated))
        archived = draft["role"] == "old" and rng.random() < 0.35
        record: dict[str, Any] = {
            "id": contact_id,
            "properties": props,
            "createdAt": iso_ms(created),
            "updatedAt": iso_ms(updated),
            "archived": archived,
        }
        if archived:
            record["archivedAt"] = iso_ms(gen.when(updated, anchor - timedelta(minutes=1)))
            archived_any = True
        contacts.append(record)
        sources[person["person_id"]].append({"source": "hubspot", "source_id": contact_id, "archived": archived})
    if not archived_any and contacts:  # guarantee the archived listing has something to show
        contacts[0]["archived"] = True
        contacts[0]["archivedAt"] = iso_ms(anchor - timedelta(days=1))
        for entries in sources.values():
            for entry in entries:
                if entry["source_id"] == contacts[0]["id"]:
                    entry["archived"] = True

    messages, message_truth, hootsuite_labels = _messages(gen, persons, sources)
    hubspot_crm = _hubspot_crm(seed, anchor, gen.start, persons, contacts, sources)
    vendor_data = _derive_vendors(seed, persons, anchor, gen.start, sources)
    ground_truth = {
        "seed": seed,
        "people": people,
        "anchor": iso_s(anchor),
        "persons": [_truth_person(p, sources[p["person_id"]]) for p in persons],
        "messages": message_truth,
        # issue 14: the hidden true language and intent of every generated message (never on the wire):
        # Hootsuite's are the brand's own (intent other); Sprout's inbound ones come labelled from
        # crmhub_dev.sandbox.message_corpus, with the hard-case kind
        "message_labels": {
            "hootsuite": hootsuite_labels,
            "sprout": dict((vendor_data.get("sprout") or {}).get("message_labels", {})),
        },
        "campaigns": sorted({name for name, _ in CAMPAIGNS}),
        "hubspot_merges": [dict(m) for m in hubspot_crm["merges"]],
    }
    member = {
        "id": MEMBER_ID,
        "email": "social@socialcrmhub.example",
        "isActive": True,
        "createdDate": "2021-03-01T09:00:00Z",
        "modifiedDate": "2026-01-15T10:30:00Z",
        "fullName": "Social Team",
        "companyName": "Social CRM Hub B.V.",
        "bio": "Webcare team",
        "timezone": "Europe/Amsterdam",
        "language": "nl",
    }
    profiles = [dict(p, owner="ORGANIZATION", ownerId=ORGANIZATION_ID, isReauthRequired=0) for p in PROFILES]
    return SandboxData(
        seed=seed,
        people=people,
        anchor=anchor,
        hubspot_contacts=contacts,
        hootsuite_profiles=profiles,
        hootsuite_messages=messages,
        hootsuite_member=member,
        organization_id=ORGANIZATION_ID,
        ground_truth=ground_truth,
        vendors=vendor_data,
        hubspot_deals=hubspot_crm["deals"],
        hubspot_notes=hubspot_crm["notes"],
        hubspot_campaigns=hubspot_crm["campaigns"],
        hubspot_merges=hubspot_crm["merges"],
    )


def _derive_vendors(
    seed: int,
    persons: list[dict[str, Any]],
    anchor: datetime,
    start: datetime,
    sources: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """Let every registered vendor with a ``derive`` function make its records (each on its own rng)."""
    import zlib

    from crmhub_dev.sandbox.vendors import VENDORS

    out: dict[str, Any] = {}
    for name, spec in VENDORS.items():
        if spec.derive is None:
            continue
        rng = Random(seed * 1_000_003 + zlib.crc32(name.encode()))
        out[name] = spec.load("derive")(DeriveContext(name, persons, rng, anchor, start, sources))
    return out


#: HubSpot's default sales pipeline stages (internal ids) with (probability, closed, won)
DEAL_STAGES: dict[str, tuple[float, bool, bool]] = {
    "appointmentscheduled": (0.2, False, False),
    "qualifiedtobuy": (0.4, False, False),
    "presentationscheduled": (0.6, False, False),
    "decisionmakerboughtin": (0.8, False, False),
    "contractsent": (0.9, False, False),
    "closedwon": (1.0, True, True),
    "closedlost": (0.0, True, False),
}
#: HubSpot's ``hs_analytics_source`` values, weighted towards social for a social-CRM demo
DEAL_SOURCES = ["SOCIAL_MEDIA", "SOCIAL_MEDIA", "PAID_SOCIAL", "ORGANIC_SEARCH", "EMAIL_MARKETING",
                "DIRECT_TRAFFIC", "REFERRALS", "OFFLINE"]  # fmt: skip
DEAL_PRODUCTS = ["Jaarabonnement", "Zomercollectie", "Onderhoudscontract", "Starterspakket", "Upgrade Pro",
                 "Team licentie", "Retourservice Plus"]  # fmt: skip
NOTE_BODIES = [
    "<p>Klant belde over de levering: pakket is vertraagd, nieuwe datum doorgegeven.</p>",
    "<p>Offerte besproken, wil eerst intern overleggen. Volgende week terugbellen.</p>",
    "<p>Called back about the invoice; a credit note was sent 👍</p>",
    "<p>Klacht via Twitter doorgezet naar service. Excuses aangeboden en 10% korting gegeven.</p>",
    "<p>Meeting notes: interested in the Pro upgrade, budget approved in Q1.</p>",
    "<p>مشتری درباره ارسال سفارش سؤال داشت؛ کد رهگیری ارسال شد.</p>",
    "<p>Adreswijziging doorgekregen, nog niet verwerkt in het CRM.</p>",
    "",  # a note with an empty body happens (attachment only)
]
#: HubSpot marketing campaigns: the Hootsuite tags' campaigns plus two that only the CRM knows
HUBSPOT_CAMPAIGNS: list[tuple[str, str, str, str]] = [  # (name, start, end, status)
    ("Zomeractie2026", "2026-06-15", "2026-08-31", "completed"),
    ("Herfstdeals", "2026-09-20", "2026-10-31", "completed"),
    ("BlackFriday2026", "2026-11-20", "2026-11-30", "planned"),
    ("Nieuwsbrief-Okt", "2026-10-01", "2026-10-31", "completed"),
    ("Klantendag Utrecht", "2026-10-10", "2026-10-10", "completed"),
    ("Webinar Social Selling", "2026-11-05", None, "in_progress"),
]  # fmt: skip


def _hubspot_crm(
    seed: int,
    anchor: datetime,
    start: datetime,
    persons: list[dict[str, Any]],
    contacts: list[dict[str, Any]],
    sources: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """HubSpot deals, notes, campaigns, merges and the contacts' Twitter follower counts.

    Made after everything else on an rng of their own, so the contacts and messages a seed gave before
    stay the same (only ``followercount`` is added to contacts that carry a Twitter handle). Merges
    happen after the anchor: a pull at the anchor sees both duplicates, a pull after the merge sees
    the winner with ``hs_merged_object_ids`` and no loser, as HubSpot does.
    """
    import uuid
    import zlib

    rng = Random(seed * 1_000_003 + zlib.crc32(b"hubspot-crm"))
    by_id = {c["id"]: c for c in contacts}

    def when(lo: datetime, hi: datetime) -> datetime:
        return lo + timedelta(milliseconds=rng.randrange(max(int((hi - lo).total_seconds() * 1000), 1)))

    for contact in contacts:  # HubSpot's "Twitter followers" social-media property, a string like every number
        if contact["properties"].get("twitterhandle"):
            followers = int(rng.lognormvariate(5.5, 1.6))
            contact["properties"]["followercount"] = str(followers) if rng.random() < 0.85 else None

    campaigns = []
    for name, begin, end, status in HUBSPOT_CAMPAIGNS:
        created = datetime.fromisoformat(begin).replace(tzinfo=UTC) - timedelta(days=rng.randint(7, 30), hours=9)
        created = min(created, anchor - timedelta(days=2))
        updated = when(created, anchor - timedelta(hours=1))
        campaigns.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "properties": {
                    "hs_name": name,
                    "hs_start_date": begin,
                    "hs_end_date": end,
                    "hs_campaign_status": status,
                    "hs_notes": None,
                    "hs_audience": rng.choice(["Bestaande klanten", "Prospects", "Volgers op social", None]),
                    "hs_currency_code": "EUR",
                    "hs_owner": str(rng.randint(70_000_000, 79_999_999)),
                },
                "createdAt": iso_ms(created),
                "updatedAt": iso_ms(updated),
                "businessUnits": [{"id": 0}],
            }
        )
    campaign_ids = [c["id"] for c in campaigns]

    deals: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    merges: list[dict[str, Any]] = []
    next_deal, next_note = 9_000_000_000 + rng.randrange(10**6), 30_000_000_000 + rng.randrange(10**6)
    for person in persons:
        hub = [r["source_id"] for r in sources[person["person_id"]] if r["source"] == "hubspot"]
        if not hub:
            continue
        live = [sid for sid in hub if not by_id[sid]["archived"]]
        owner = (live or hub)[-1]  # the newest live record carries the person's deals and notes
        created = datetime.fromisoformat(by_id[owner]["createdAt"].replace("Z", "+00:00"))
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            next_deal += rng.randint(1, 900)
            stage = rng.choice(list(DEAL_STAGES))
            _, closed, won = DEAL_STAGES[stage]
            opened = when(created, anchor - timedelta(hours=2))
            modified = when(opened, anchor - timedelta(minutes=3))
            close = when(opened, modified) if closed else opened + timedelta(days=rng.randint(14, 90))
            source = rng.choice(DEAL_SOURCES)
            social = source in ("SOCIAL_MEDIA", "PAID_SOCIAL", "EMAIL_MARKETING")
            price = rng.choice([49, 99, 250, 480, 1200, 2500, 7800]) * rng.randint(1, 4)
            amount = None if rng.random() < 0.08 else f"{price}"
            label = person["company"] or f"{person['first_name']} {person['last_name']}"
            deals.append(
                {
                    "id": str(next_deal),
                    "properties": {
                        "dealname": f"{label} – {rng.choice(DEAL_PRODUCTS)}",
                        "amount": amount,
                        "dealstage": stage,
                        "pipeline": "default",
                        "closedate": iso_ms(close),
                        "createdate": iso_ms(opened),
                        "hs_lastmodifieddate": iso_ms(modified),
                        "hs_is_closed": str(closed).lower(),
                        "hs_is_closed_won": str(won).lower(),
                        "deal_currency_code": "EUR" if rng.random() < 0.95 else None,
                        "hs_analytics_source": source if rng.random() < 0.9 else None,
                        "hs_campaign": rng.choice(campaign_ids) if social and rng.random() < 0.7 else None,
                        "hs_object_id": str(next_deal),
                        # the sales rep owning the deal (no rng draw: the generated data stays as it was)
                        "hubspot_owner_id": DEAL_OWNERS[next_deal % len(DEAL_OWNERS)],
                    },
                    "createdAt": iso_ms(opened),
                    "updatedAt": iso_ms(modified),
                    "archived": rng.random() < 0.04,
                    "_contacts": [] if rng.random() < 0.05 else [owner],
                }
            )
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            next_note += rng.randint(1, 5000)
            at = when(created, anchor - timedelta(minutes=30))
            modified = at if rng.random() < 0.7 else when(at, anchor - timedelta(minutes=2))
            body = rng.choice(NOTE_BODIES)
            notes.append(
                {
                    "id": str(next_note),
                    "properties": {
                        "hs_note_body": body or None,
                        "hs_timestamp": iso_ms(at),
                        "hs_createdate": iso_ms(at),
                        "hs_lastmodifieddate": iso_ms(modified),
                        "hs_object_id": str(next_note),
                    },
                    "createdAt": iso_ms(at),
                    "updatedAt": iso_ms(modified),
                    "archived": False,
                    "_contacts": [owner],
                }
            )
        old = [sid for sid in live if sid != owner]
        if old and rng.random() < 0.5:  # a sales rep merges the duplicate some days after the anchor
            merged_at = when(anchor + timedelta(hours=1), anchor + timedelta(days=10))
            merges.append({"loser": old[0], "winner": owner, "mergedAt": iso_ms(merged_at)})
    deals.sort(key=lambda d: int(d["id"]))
    notes.sort(key=lambda n: int(n["id"]))
    return {"deals": deals, "notes": notes, "campaigns": campaigns, "merges": merges}


def _hubspot_properties(rng: Random, person: dict[str, Any], old: bool) -> dict[str, str | None]:
    first, last = person["first_name"], _hubspot_lastname(person, rng)
    address = person["address"]
    email = person["email"]
    if old:
        # The same e-mail written differently; maybe a typo, and maybe the address before the move.
        email = rng.choice([email.upper(), f" {email}", email.capitalize() + " ", email.title()])
        if person["kind"] == "persian":
            first, last = _arabic_variant(first), _arabic_variant(last)
        elif rng.random() < 0.5:
            if rng.random() < 0.5:
                first = _typo(rng, first)
            else:
                last = last.replace(person["last_name"], _typo(rng, person["last_name"]))
        if rng.random() < 0.6:
            city, lo, hi, _area = rng.choice(CITIES)
            address = {
                "street": rng.choice(STREETS),
                "house_number": str(rng.randint(1, 180)),
                "house_number_addition": None,
                "postcode": f"{rng.randint(lo, hi)} {rng.choice('ABDEGHJKLMNPRSTXZ')}{rng.choice('ABDEGHKLMNPRSTZ')}",
                "city": city,
                "country": "NL",
            }
    handles: dict[str, str | None] = {"twitterhandle": None, "instagram_handle": None}
    if person["handle"] and person.get("handle_on_hubspot") and not (old and rng.random() < 0.5):
        # twitterhandle is HubSpot's default property; instagram_handle is a portal custom property
        prop = "twitterhandle" if person["social_network"] == "twitter" else "instagram_handle"
        handles[prop] = _handle_variant(rng, person["handle_display"])
    return {
        "firstname": first,
        "lastname": last,
        "email": email,
        "phone": person["phone_local"] if rng.random() < 0.9 else None,
        "address": _address_line(rng, address),
        "zip": _postcode_variant(rng, address["postcode"], address["country"]),
        "city": address["city"],
        "country": person["country_value"],
        "company": person["company"],
        **handles,
    }


#: HubSpot owner ids of the sandbox's sales reps (deals carry one as ``hubspot_owner_id``).
DEAL_OWNERS = ["71234501", "71234502", "71234503"]


def _messages(
    gen: _Gen, persons: list[dict[str, Any]], sources: dict[str, list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], dict[str, str | None], dict[str, dict[str, str | None]]]:
    rng = gen.rng
    profile_by_network = {"twitter": PROFILES[0], "instagram": PROFILES[1]}
    drafts: list[tuple[datetime, dict[str, Any], str | None]] = []
    for person in persons:
        if not person["handle"]:
            continue
        network = person["social_network"]
        sources[person["person_id"]].append({"source": "hootsuite", "source_id": f"{network}:{person['handle']}"})
        for _ in range(rng.randint(3, 6)):
            at = gen.when(gen.start, gen.anchor - timedelta(minutes=10)).replace(microsecond=0)
            shown = rng.choice([person["handle_display"], person["handle"], person["handle"].upper()])
            pool = (
                REPLIES_FA
                if person["kind"] == "persian" and rng.random() < 0.5
                else (REPLIES_NL if rng.random() < 0.65 else REPLIES_EN)
            )
            draft = {
                "text": f"@{shown} {rng.choice(pool)}",
                "profile": profile_by_network[network],
                "tags": list(rng.choice(REPLY_TAGS)),
                "language": "fa" if pool is REPLIES_FA else "nl" if pool is REPLIES_NL else "en",
            }
            drafts.append((at, draft, person["person_id"]))
    broadcasts = max(1, round(len(drafts) / 9))
    for _ in range(broadcasts):
        at = gen.when(gen.start, gen.anchor - timedelta(minutes=10)).replace(second=0, microsecond=0)
        name, text = rng.choice(CAMPAIGNS)
        drafts.append((at, {"text": text, "profile": rng.choice(PROFILES), "tags": [name], "language": "nl"}, None))
    drafts.sort(key=lambda item: item[0])

    messages: list[dict[str, Any]] = []
    truth: dict[str, str | None] = {}
    labels: dict[str, dict[str, str | None]] = {}  # hidden: the brand's own language; never served
    next_id = 4138476039
    for at, draft, person_id in drafts:
        next_id += rng.randint(1, 5000)
        message_id = str(next_id)
        profile = draft["profile"]
        post_id, post_url = _post_ref(rng, profile)
        messages.append(
            {
                "id": message_id,
                "state": "SENT",
                "text": draft["text"],
                "socialProfile": {"id": profile["id"]},
                "scheduledSendTime": iso_s(at),
                "webhookUrls": [],
                "tags": draft["tags"],
                "targeting": {},
                "privacy": {},
                "location": None,
                "emailNotification": False,
                "mediaUrls": [],
                "media": [],
                "extendedInfo": [],
                "postId": post_id,
                "postUrl": post_url,
                "createdByMember": {"id": MEMBER_ID},
                "lastUpdatedByMember": {"id": MEMBER_ID},
                "sequenceNumber": None,
                "reviewers": [],
            }
        )
        truth[message_id] = person_id
        labels[message_id] = {"language": draft["language"], "intent": "other", "hard": None, "author": "brand"}
    return messages, truth, labels


def _post_ref(rng: Random, profile: dict[str, Any]) -> tuple[str, str | None]:
    """The network's own post id; Hootsuite only documents postUrl for Facebook and LinkedIn."""
    kind = profile["type"]
    if kind == "TWITTER":
        return str(rng.randrange(10**18, 2 * 10**18)), None
    if kind == "INSTAGRAM":
        return str(rng.randrange(10**16, 2 * 10**16)), None
    if kind == "FACEBOOK":
        post = f"{profile['socialNetworkId']}_{rng.randrange(10**16, 2 * 10**16)}"
        return post, f"https://www.facebook.com/{profile['socialNetworkId']}/posts/{post.split('_')[1]}"
    share = f"urn:li:share:{rng.randrange(7 * 10**18, 8 * 10**18)}"
    return share, f"https://www.linkedin.com/feed/update/{share}"


def _truth_person(person: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "person_id": person["person_id"],
        "first_name": person["first_name"],
        "name_prefix": person["name_prefix"],
        "last_name": person["last_name"],
        "email": person["email"].lower(),
        "phone": person["phone"],
        "address": dict(person["address"]),
        "company": person["company"],
        "social_network": person["social_network"],
        "handle": person["handle"],
        "source_records": records,
    }
