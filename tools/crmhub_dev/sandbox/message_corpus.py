"""Labelled inbound messages the sandbox vendors post (issue 14 item 7): text plus hidden ground truth.

Each entry is ``(text, language, intent, hard)``: the true language (``nl``, ``en``, ``de``, ``fa``,
``mixed`` for Dutch and English together), the true intent (``complaint``, ``service_question``,
``sales_lead``, ``praise``, ``other``) and the kind of hard case (``None`` for a plain one). The labels
never go on the wire: the Sprout sandbox keeps them in ``message_labels`` next to ``message_truth``,
where tests read them. Written for the sandbox, separately from the classifier's evaluation and
development sets (tests/messages), so the sandbox measures nothing the rules were tuned on.

Hard cases: sarcasm, negation, "geen klacht maar een vraag" (not a complaint but a question),
question-as-complaint, praise containing a problem word, mixed Dutch-English, complaints about a
competitor (a switching lead or just other).
"""

from __future__ import annotations

#: Dutch, mixed Dutch-English and German messages (the sandbox's Dutch-speaking pool).
INBOUND_NL: list[tuple[str, str, str, str | None]] = [
    ("Hoi! Mijn bestelling is nog steeds niet binnen 😕 kunnen jullie even kijken?", "nl", "complaint", None),
    ("Top service, pakket was er binnen een dag 👌", "nl", "praise", None),
    ("Kan ik mijn adres nog wijzigen? Ik ben net verhuisd 📦", "nl", "service_question", None),
    ("Wat kost een zakelijk abonnement bij jullie? Wij willen graag een offerte", "nl", "sales_lead", None),
    ("Super hoor, alweer een week zonder bestelling 🙄", "nl", "complaint", "sarcasm"),
    (
        "Geen klacht hoor, maar een vraag: kan ik ook per factuur betalen?",
        "nl",
        "service_question",
        "not_a_complaint",
    ),  # fmt: skip
    ("Waarom duurt het 3 weken voordat mijn retour verwerkt is??", "nl", "complaint", "question_as_complaint"),
    ("Geen enkel probleem gehad met de levering, echt top!", "nl", "praise", "praise_with_problem_word"),
    ("Ik heb niet het gevoel dat jullie iets met mijn klacht doen", "nl", "complaint", "negation"),
    ("ConcurrentX laat me al weken zitten, kunnen jullie mij overzetten?", "nl", "sales_lead", "competitor"),
    ("Fibrix heeft weer storing lol, arme buren", "nl", "other", "competitor"),
    ("My order is nog steeds niet delivered, wat is er aan de hand?", "mixed", "complaint", "mixed"),
    ("Thanks voor de snelle reply, echt top geholpen!", "mixed", "praise", "mixed"),
    ("Meine Bestellung ist immer noch nicht da, sehr ärgerlich", "de", "complaint", None),
    ("Vielen Dank für die schnelle Hilfe!", "de", "praise", None),
    ("Na toll, schon wieder kein Paket. Danke für nichts 🙃", "de", "complaint", "sarcasm"),
    (
        "Keine Beschwerde, nur eine Frage: liefert ihr auch nach Österreich?",
        "de",
        "service_question",
        "not_a_complaint",
    ),  # fmt: skip
]
#: English messages.
INBOUND_EN: list[tuple[str, str, str, str | None]] = [
    ("Hi, my order hasn't arrived yet, can you help? 🙏", "en", "complaint", None),
    ("Love the new collection! ❤️", "en", "praise", None),
    ("Do you ship to Belgium?", "en", "service_question", None),
    ("Great, another week waiting for my refund. Just brilliant 🙄", "en", "complaint", "sarcasm"),
    ("Why does every order take two weeks to arrive??", "en", "complaint", "question_as_complaint"),
    ("No problem at all with the delivery, smooth as ever", "en", "praise", "praise_with_problem_word"),
    (
        "Not a complaint, just wondering how I change my delivery address",
        "en",
        "service_question",
        "not_a_complaint",
    ),  # fmt: skip
    ("Netzo keeps dropping my connection, what would it cost to switch to you?", "en", "sales_lead", "competitor"),
    ("Can someone send me a quote for 20 business licences?", "en", "sales_lead", None),
]
#: Persian messages in Persian script (with Arabic letter variants and ZWNJ) and in Latin letters (Finglish).
INBOUND_FA: list[tuple[str, str, str, str | None]] = [
    ("سلام، سفارش من هنوز نرسیده 😔", "fa", "complaint", None),
    ("ممنون از پاسخ سریع شما 🌹", "fa", "praise", None),
    ("چرا سفارشم بعد از دو هفته هنوز نیومده؟؟", "fa", "complaint", "question_as_complaint"),
    ("هیچ مشکلی با ارسال نداشتم، عالی بود", "fa", "praise", "praise_with_problem_word"),
    ("شکایت ندارم، فقط یک سوال: می‌تونم آدرسم رو عوض کنم؟", "fa", "service_question", "not_a_complaint"),
    ("salam, sefaresh-am hanooz naresideh", "fa", "complaint", None),
    ("kheyli mamnoon az pasokh-e sari", "fa", "praise", None),
]

ALL: list[tuple[str, str, str, str | None]] = [*INBOUND_NL, *INBOUND_EN, *INBOUND_FA]
#: The hard-case kinds the corpus covers (tests check every one is present).
HARD_KINDS: tuple[str, ...] = (
    "sarcasm",
    "negation",
    "not_a_complaint",
    "question_as_complaint",
    "praise_with_problem_word",
    "mixed",
    "competitor",
)


def label(entry: tuple[str, str, str, str | None]) -> dict[str, str | None]:
    """The hidden ground truth of one entry, as the sandbox keeps it."""
    _, language, intent, hard = entry
    return {"language": language, "intent": intent, "hard": hard}


def wire_language(language: str) -> str:
    """What a vendor's own language detection would say: one language, Dutch for mixed Dutch-English."""
    return "nl" if language == "mixed" else language
