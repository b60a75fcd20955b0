"""Rules-and-lexicon message understanding: language, intent, complaint, sentiment, with evidence.

The lexicons (``include/config/messages/lexicon.yaml``) list cues per language and category; the brand
and competitor names and the vendor tag mapping are in ``include/config/messages/brands.yaml``. A message
is normalized (NFKC, case folding, accents removed, Arabic yeh/kaf -> Persian, ZWNJ removed, Persian
digits -> ASCII), tokenized, and scanned once for the longest lexicon phrase at each position. The hits
are then weighed (:data:`WEIGHTS`) with negation scope, contrast ("maar", "but"), sarcasm (positive cue
with a negative fact, or 🙄), question-as-complaint (why, waiting, "??"), competitor targets, brand
echoes, vendor tags and CRM context, into one score per intent. The explanation holds rule ids, cue
counts and scores only, never text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from crmhub.messages.model import MessageModel, softmax

#: the frozen message model in include/models/ (crmhub.messages.train_model writes it)
MODEL_FILE = "message_model.json"
MODEL_ID = "crmhub.messages/rules-2"
INTENTS: tuple[str, ...] = ("complaint", "service_question", "sales_lead", "praise", "other")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
#: languages the classifier reports; ``mixed`` = Dutch and English together, ``und`` = undetermined
LANGUAGES: tuple[str, ...] = ("nl", "en", "de", "fa", "mixed", "und")
LATIN_LEXICONS: tuple[str, ...] = ("nl", "en", "de", "fa_latin")

#: weight of one cue of each category in each score
WEIGHTS: dict[str, float] = {
    "complaint": 2.0,  # complaint score per complaint cue
    "negative": 1.0,  # complaint score and negative polarity per negative word
    "negated_positive": 1.5,  # "niet tevreden": complaint and negative polarity
    "negated_negative": 1.0,  # "geen probleem": positive polarity
    "positive": 1.0,
    "praise": 1.5,
    "thanks": 1.0,
    "why": 1.5,
    "waiting": 1.0,
    "again": 0.5,
    "emphasis": 1.0,  # "??" or "?!" with a negative or waiting cue
    "sarcasm": 1.5,
    "question": 1.5,
    "service": 0.7,
    "existing": 1.0,
    "lead": 2.5,
    "switch": 2.5,
    "other": 3.0,  # per spam/job/news cue
    "chatter": 1.5,  # per greeting/small-talk cue (for "other")
    "echo": 4.0,
    "notcomplaint": 3.0,
    "outage_check": 2.0,
    "open_case": 0.5,
    "open_deal": 0.75,
    "brand_replied": 0.3,
    "other_floor": 0.8,  # "other" wins unless another intent scores above this
    "after_contrast": 1.5,  # cues after "maar"/"but" count more ...
    "before_contrast": 0.7,  # ... and cues before it less
    "resolved_discount": 0.2,  # problem cues before "opgelost"/"fixed" count this much
    # with the model: a complaint nothing in the rules supports needs at least this probability
    "model_complaint_without_evidence": 0.5,
}

SARCASM_EMOJI = frozenset("🙄🙃😒")
POSITIVE_EMOJI = frozenset("👍🙌😍💪👌😊🙏💜🚀💯😄👏🎉😀🥰❤🤩")
NEGATIVE_EMOJI = frozenset("😡🤬😤😠💩👎😞😢😭")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_TOKEN = re.compile(r"[\w'/$]+")
_URL = re.compile(r"https?://\S+|www\.\S+|\b[\w-]+\.(?:ly|com|nl|de|ir|io)/\S*")
_MENTION = re.compile(r"[@#][\w.]+")
_GERMAN_CHARS = re.compile(r"[äöüß]")
_TRANSLATE = str.maketrans(
    {
        "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
        "\u0649": "\u06cc",  # alef maksura -> Persian yeh
        "\u0643": "\u06a9",  # Arabic kaf -> Persian kaf
        "\u0629": "\u0647",  # teh marbuta -> heh
        "\u200c": "",  # ZWNJ (Persian half-space): joined for matching
        "\u200d": "",
        "\u0640": "",  # tatweel
        "\u061f": "?",
        "\u060c": ",",
        "\u2019": "'",
        "\u2018": "'",
        **{chr(0x06F0 + i): str(i) for i in range(10)},  # Persian digits
        **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    }
)
_PERSIAN_MI = re.compile(r"(?<!\w)(ن?می) (?=\w)")


def normalize(text: str) -> str:
    """NFKC, Persian letter variants and digits unified, ZWNJ joined, case folded, accents removed."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = unicodedata.normalize("NFC", text)
    return _PERSIAN_MI.sub(r"\1", text)  # "می خوام" -> "میخوام"


def tokenize(normalized: str) -> list[str]:
    return [t.strip("'") for t in _TOKEN.findall(normalized) if t.strip("'")]


_TERMINATOR = re.compile(r"[.!?]+")
#: clause punctuation: a comma, semicolon, colon or sentence end followed by a space (not "nu.nl", "3,5")
_CLAUSE_BREAK = re.compile(r"[,;:.!?]+(?=\s|$)|\n|\s[-\u2013\u2014]\s")


def tokenize_with_questions(normalized: str) -> tuple[list[str], list[bool]]:
    """Tokens, and per token whether its sentence ends in a question mark."""
    tokens, flags, _ = tokenize_with_clauses(normalized)
    return tokens, flags


def tokenize_with_clauses(normalized: str) -> tuple[list[str], list[bool], list[int]]:
    """Tokens, per token whether its sentence ends in a question mark, and its clause number.

    The clause number lets negation stop at a comma: in "geen gedoe, gewoon top" the "geen" must not
    reach "top".
    """
    ends = [(m.start(), "?" in m.group()) for m in _TERMINATOR.finditer(normalized)]
    breaks = [m.start() for m in _CLAUSE_BREAK.finditer(normalized)]
    tokens: list[str] = []
    flags: list[bool] = []
    clauses: list[int] = []
    k = b = 0
    for m in _TOKEN.finditer(normalized):
        token = m.group().strip("'")
        if not token:
            continue
        while k < len(ends) and ends[k][0] < m.start():
            k += 1
        while b < len(breaks) and breaks[b] < m.start():
            b += 1
        tokens.append(token)
        flags.append(ends[k][1] if k < len(ends) else False)
        clauses.append(b)
    return tokens, flags, clauses


@dataclass(frozen=True)
class MessageUnderstanding:
    """What one message is: language, intent, complaint, sentiment, and the evidence for it."""

    language: str
    intent: str
    complaint: bool
    sentiment: str
    explanation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TextEvidence:
    """The rules' reading of the text alone, before vendor tags, CRM context and the model."""

    language: str
    lang_evidence: dict[str, Any]
    norm: str
    scores: dict[str, float]
    polarity: float
    rules: list[str]
    cues: dict[str, int]


class _Lexicon:
    """One language's (or a merge of languages') cues, for longest-phrase lookup over tokens."""

    def __init__(self, sections: Iterable[Mapping[str, list[str]]]) -> None:
        self.exact: dict[str, set[str]] = {}
        self.prefix: dict[str, set[str]] = {}
        self.prefix_lengths: dict[int, set[int]] = {}  # n words -> lengths of the last word's prefix
        self.max_n = 1
        for section in sections:
            for category, entries in section.items():
                if category == "words":
                    continue
                for entry in entries or ():
                    self._add(str(entry), category)

    def _add(self, entry: str, category: str) -> None:
        star = entry.endswith("*")
        words = tokenize(normalize(entry.rstrip("*")))
        if not words:
            return
        n = len(words)
        self.max_n = max(self.max_n, n)
        key = " ".join(words)
        if star:
            self.prefix.setdefault(key, set()).add(category)
            self.prefix_lengths.setdefault(n, set()).add(len(words[-1]))
        else:
            self.exact.setdefault(key, set()).add(category)

    def scan(self, tokens: list[str]) -> list[tuple[frozenset[str], int, int]]:
        """Greedy longest match: (categories, start token, end token) per hit."""
        hits: list[tuple[frozenset[str], int, int]] = []
        i, count = 0, len(tokens)
        while i < count:
            matched = False
            for n in range(min(self.max_n, count - i), 0, -1):
                joined = " ".join(tokens[i : i + n])
                cats = self.exact.get(joined)
                if cats is None and n in self.prefix_lengths:
                    stem_len = len(joined) - len(tokens[i + n - 1])
                    for length in sorted(self.prefix_lengths[n], reverse=True):
                        if len(tokens[i + n - 1]) >= length:
                            cats = self.prefix.get(joined[: stem_len + length])
                            if cats is not None:
                                break
                if cats is not None:
                    hits.append((frozenset(cats), i, i + n))
                    i += n
                    matched = True
                    break
            if not matched:
                i += 1
        return hits


class Classifier:
    """Message understanding under one lexicon and one brand configuration (load once, call often)."""

    def __init__(
        self, lexicon: Mapping[str, Any], brands: Mapping[str, Any], model: MessageModel | None = None
    ) -> None:
        self.model = model
        guard = model.complaint_without_evidence if model is not None else None
        self._complaint_guard = WEIGHTS["model_complaint_without_evidence"] if guard is None else guard
        self.model_id = f"{MODEL_ID}+{model.id}" if model is not None else MODEL_ID
        self.sections: dict[str, dict[str, list[str]]] = {k: dict(v) for k, v in lexicon.items()}
        self.vocab: dict[str, dict[str, float]] = {}
        owners: dict[str, set[str]] = {}
        for lang in LATIN_LEXICONS:
            section = self.sections.get(lang, {})
            words: set[str] = set()
            for category, entries in section.items():
                for entry in entries or ():
                    toks = tokenize(normalize(str(entry).rstrip("*")))
                    if category == "words" or len(toks) == 1:
                        words.update(toks)
            for word in words:
                owners.setdefault(word, set()).add(lang)
        for word, langs in owners.items():
            self.vocab[word] = {lang: 1.0 / len(langs) for lang in langs}
        self._lexicons: dict[tuple[str, ...], _Lexicon] = {}
        self.brand = [normalize(n).lstrip("@#") for n in (brands.get("brand") or {}).get("names", [])]
        self.competitors = [normalize(n).lstrip("@#") for n in (brands.get("competitors") or {}).get("names", [])]
        tags = brands.get("vendor_tags") or {}
        self.tag_weight = float(tags.get("weight", 2.0))
        self.tag_map = {normalize(str(k)).strip(): str(v) for k, v in (tags.get("map") or {}).items()}
        for intent in self.tag_map.values():
            if intent not in INTENTS:
                raise ValueError(f"vendor_tags maps to unknown intent {intent!r}")
        brand_alt = "|".join(re.escape(b) for b in self.brand if b) or "(?!)"
        comp_alt = "|".join(re.escape(c) for c in self.competitors if c) or "(?!)"
        self._brand_re = re.compile(rf"(?<!\w)[@#]?(?:{brand_alt})(?!\w)")
        self._competitor_re = re.compile(rf"(?<!\w)[@#]?(?:{comp_alt})(?!\w)")
        self._echo_re = re.compile(
            rf"^\s*rt @|(?<!\w)@(?:{brand_alt})\s*(?:posted|shared|deelde|deelt|schreibt|schrieb|postete)\b"
        )

    @classmethod
    def from_files(
        cls,
        lexicon_path: str | Path | None = None,
        brands_path: str | Path | None = None,
        model_path: str | Path | None | bool = None,
    ) -> Classifier:
        """The configured classifier. ``model_path`` None = the repository's frozen model when it exists,
        False = rules only."""
        from crmhub.paths import CONFIG_DIR, INCLUDE_DIR
        from crmhub.yamlfile import read_yaml

        lex = Path(lexicon_path) if lexicon_path else CONFIG_DIR / "messages" / "lexicon.yaml"
        brd = Path(brands_path) if brands_path else CONFIG_DIR / "messages" / "brands.yaml"
        model = None
        if model_path is not False:
            path = Path(model_path) if model_path else INCLUDE_DIR / "models" / MODEL_FILE
            if model_path or path.exists():
                model = MessageModel.from_file(path)
        return cls(read_yaml(lex), read_yaml(brd), model)

    def _lexicon(self, langs: tuple[str, ...]) -> _Lexicon:
        lex = self._lexicons.get(langs)
        if lex is None:
            lex = self._lexicons[langs] = _Lexicon(self.sections.get(lang, {}) for lang in langs)
        return lex

    # -- language -------------------------------------------------------------------------------------------

    def detect_language(self, norm: str, raw_lower: str) -> tuple[str, str, dict[str, Any]]:
        """(language, lexicon key, evidence). Persian script by letters; Latin languages by word votes."""
        stripped = _MENTION.sub(" ", _URL.sub(" ", norm))
        arabic = len(_ARABIC_LETTER.findall(stripped))
        latin = len(_LATIN_LETTER.findall(stripped))
        if arabic and arabic >= latin:
            return "fa", "fa", {"rule": "script:arabic", "label": "fa", "arabic_letters": arabic}
        scores = dict.fromkeys(LATIN_LEXICONS, 0.0)
        for token in tokenize(stripped):
            for lang, weight in self.vocab.get(token, {}).items():
                scores[lang] += weight
        if _GERMAN_CHARS.search(raw_lower):
            scores["de"] += 1.0
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        (best, top), (second, runner) = ranked[0], ranked[1]
        evidence: dict[str, Any] = {"scores": {k: round(v, 2) for k, v in scores.items() if v}}
        if top < 0.5:
            evidence.update(rule="lexicon:too_few_words", label="und")
            return "und", "und", evidence
        if {best, second} == {"nl", "en"} and runner >= max(1.0, 0.35 * top):
            evidence.update(rule="lexicon:nl+en", label="mixed")
            return "mixed", "mixed", evidence
        if best == "fa_latin":
            evidence.update(rule="lexicon:finglish", label="fa", script="latin")
            return "fa", "fa_latin", evidence
        evidence.update(rule="lexicon:words", label=best)
        return best, best, evidence

    # -- classification -------------------------------------------------------------------------------------

    def text_evidence(self, text: str, lang: str | None = None) -> TextEvidence:
        """What the rules read from the text alone (language, rule scores, fired rules, cues)."""
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        norm = normalize(text)
        raw_lower = text.lower()
        language, key, lang_evidence = self.detect_language(norm, raw_lower)
        if lang:
            given = str(lang).strip().lower()
            if given in LANGUAGES and given != "und":
                lang_evidence = {"rule": "given", "label": given, "detected": language}
                key = ("fa" if _ARABIC_LETTER.search(norm) else "fa_latin") if given == "fa" else given
                language = given
        lex_langs: tuple[str, ...] = {
            "mixed": ("nl", "en"),
            "und": LATIN_LEXICONS,
        }.get(key, (key,))
        tokens, in_question, clauses = tokenize_with_clauses(_URL.sub(" ", norm))
        hits = self._lexicon(lex_langs).scan(tokens)
        scores, polarity, rules, cues = self._score(norm, text, in_question, hits, clauses)
        return TextEvidence(language, lang_evidence, norm, scores, polarity, rules, cues)

    def masked(self, norm: str) -> str:
        """The normalized text with our brand and the competitors as placeholders (the model's input):
        the model learns "a complaint about a competitor", not one company's name."""
        return self._competitor_re.sub(" rivalname ", self._brand_re.sub(" brandname ", _URL.sub(" url ", norm)))

    def classify(
        self,
        text: str,
        *,
        network: str | None = None,
        lang: str | None = None,
        tags: Iterable[str] = (),
        brand_replied: bool | None = None,
        open_case: bool | None = None,
        open_deal: bool | None = None,
    ) -> MessageUnderstanding:
        ev = self.text_evidence(text, lang)
        rules = list(ev.rules)
        text_scores = dict(ev.scores)

        # evidence from outside the text, in score units (added to rule scores and to model logits alike)
        extra = dict.fromkeys(INTENTS, 0.0)
        for tag in tags or ():
            intent = self.tag_map.get(normalize(str(tag)).strip().lstrip("#"))
            if intent:
                extra[intent] += self.tag_weight
                rules.append(f"tag:{intent}")
        if open_case:
            extra["complaint"] += WEIGHTS["open_case"]
            extra["service_question"] += WEIGHTS["open_case"]
            rules.append("crm:open_case")
        if open_deal:
            extra["sales_lead"] += WEIGHTS["open_deal"]
            rules.append("crm:open_deal")
        if brand_replied:
            for intent in ("complaint", "service_question", "sales_lead", "praise"):
                if text_scores[intent] > 0:
                    extra[intent] += WEIGHTS["brand_replied"]
            rules.append("thread:brand_replied")
        rule_scores = {k: v + extra[k] for k, v in text_scores.items()}
        if self.model is not None:
            # the model reads the text and the rules' text-only evidence; outside evidence adds to its logits
            logits = self.model.logits(self.masked(ev.norm), text_scores, ev.rules, ev.cues, ev.language)
            scores = {k: v + extra[k] for k, v in logits.items()}
            rules.append("model")
        else:
            scores = rule_scores

        ranked = sorted(INTENTS, key=lambda name: (scores[name], -INTENTS.index(name)), reverse=True)
        intent = ranked[0]
        if (
            self.model is not None
            and intent == "complaint"
            and rule_scores["complaint"] <= 0
            and softmax(scores)["complaint"] < self._complaint_guard
        ):
            # no complaint cue, sarcasm, why-question, tag or open case: the model alone must be sure
            intent = ranked[1]
            rules.append("model:complaint_without_evidence")
        if self.model is None and intent != "other" and scores[intent] <= WEIGHTS["other_floor"]:
            intent = "other"
            rules.append("below_floor")
        polarity = ev.polarity
        if intent == "complaint":
            sentiment = "negative"
        elif intent == "praise" or polarity > 0.5:
            sentiment = "positive"
        elif polarity < -0.5:
            sentiment = "negative"
        else:
            sentiment = "neutral"
        intent_evidence: dict[str, Any] = {
            "label": intent,
            "rules": rules,
            "scores": {k: round(v, 2) for k, v in rule_scores.items()},
        }
        if self.model is not None:
            intent_evidence["probabilities"] = {k: round(v, 3) for k, v in softmax(scores).items()}
        explanation = {
            "model": self.model_id,
            "language": ev.lang_evidence,
            "intent": intent_evidence,
            "sentiment": {"label": sentiment, "polarity": round(polarity, 2)},
            "cues": ev.cues,
            "network": network,
        }
        return MessageUnderstanding(ev.language, intent, intent == "complaint", sentiment, explanation)

    def _score(
        self,
        norm: str,
        raw: str,
        in_question: list[bool],
        hits: list[tuple[frozenset[str], int, int]],
        clauses: list[int] | None = None,
    ) -> tuple[dict[str, float], float, list[str], dict[str, int]]:
        rules: list[str] = []
        cues: dict[str, int] = {}
        clause = clauses or [0] * len(in_question)
        # "wanneer wordt dit opgelost?" asks for a resolution, it does not report one
        hits = [h for h in hits if not ("resolved" in h[0] and in_question[h[1]])]
        # "thank u so much for the fix": a sarcastic set phrase right after thanks intensifies the thanks
        thanks_ends = {end for cats, _, end in hits if "thanks" in cats}
        hits = [
            h
            for h in hits
            if not ("sarcasm" in h[0] and "thanks" not in h[0] and (h[1] in thanks_ends or h[1] - 1 in thanks_ends))
        ]
        for cats, _, _ in hits:
            for cat in cats:
                cues[cat] = cues.get(cat, 0) + 1
        negator_ends = [end for cats, _, end in hits if "negator" in cats]
        postneg_starts = [start for cats, start, _ in hits if "postneg" in cats]
        contrast_at = max((start for cats, start, _ in hits if "contrast" in cats), default=-1)
        resolved_at = max((start for cats, start, _ in hits if "resolved" in cats), default=-1)

        def negated(start: int, end: int) -> bool:
            """A negator up to 3 words before, or a Persian post-negator right after, in the same clause."""
            here = clause[start]
            before = any(start - 3 <= e <= start and clause[e - 1] == here for e in negator_ends)
            return before or any(end <= s <= end + 1 and clause[s] == clause[end - 1] for s in postneg_starts)

        pos = neg = complaint = 0.0
        praise_strength = 0.0
        negated_pos = negated_neg = 0
        for cats, start, end in hits:
            weight = 1.0
            if contrast_at >= 0:
                weight = WEIGHTS["after_contrast"] if start > contrast_at else WEIGHTS["before_contrast"]
            is_neg = bool(cats & {"complaint", "negative"})
            is_pos = bool(cats & {"positive", "praise", "thanks"})
            if is_neg and resolved_at > start:
                weight *= WEIGHTS["resolved_discount"]
            if (is_neg or is_pos) and "negator" not in cats and negated(start, end):
                if is_pos and not is_neg:
                    negated_pos += 1
                    complaint += WEIGHTS["negated_positive"] * weight
                    neg += WEIGHTS["negated_positive"] * weight
                elif is_neg:
                    negated_neg += 1
                    pos += WEIGHTS["negated_negative"] * weight
                continue
            if "complaint" in cats:
                complaint += WEIGHTS["complaint"] * weight
                neg += weight
            elif "negative" in cats:
                complaint += WEIGHTS["negative"] * weight
                neg += WEIGHTS["negative"] * weight
            if "praise" in cats:
                pos += WEIGHTS["praise"] * weight
                praise_strength += WEIGHTS["praise"] * weight
            elif "positive" in cats:
                pos += WEIGHTS["positive"] * weight
            if "thanks" in cats and "positive" not in cats and "praise" not in cats:
                pos += WEIGHTS["thanks"] * weight
        if negated_pos:
            rules.append("negation:positive")
        if negated_neg:
            rules.append("negation:negative")
        if resolved_at >= 0:
            pos += 1.0
            rules.append("resolved")

        has_q = "?" in norm
        emoji = set(raw)
        sarcasm_emoji = bool(emoji & SARCASM_EMOJI)
        pos_emoji = len(emoji & POSITIVE_EMOJI)
        neg_emoji = len(emoji & NEGATIVE_EMOJI)
        waiting = cues.get("waiting", 0)
        again = cues.get("again", 0)
        why = cues.get("why", 0)
        complaint += WEIGHTS["waiting"] * waiting + WEIGHTS["negative"] * neg_emoji
        neg += neg_emoji
        if why:
            complaint += WEIGHTS["why"] * why
            rules.append("question:why")
        if again and (complaint > 0 or neg > 0):
            complaint += WEIGHTS["again"] * again
        if ("??" in norm or "?!" in norm or "!?" in norm) and (complaint > 0 or waiting):
            complaint += WEIGHTS["emphasis"]
            rules.append("question:emphasis")

        # sarcasm: a set phrase, an eye-roll emoji, or praise next to a negative fact with nothing resolved
        sarcasm = ""
        if cues.get("sarcasm"):
            sarcasm = "phrase"
        elif sarcasm_emoji and (pos > 0 or complaint > 0 or again):
            sarcasm = "emoji"
        elif pos > 0 and resolved_at < 0 and (complaint >= WEIGHTS["complaint"] or (again and neg > 0)):
            sarcasm = "positive+negative_fact"
        if sarcasm:
            complaint += WEIGHTS["sarcasm"] + pos
            neg += pos + 1.0
            pos = 0.0
            praise_strength = 0.0
            rules.append(f"sarcasm:{sarcasm}")
        else:
            pos += 0.5 * pos_emoji

        question = WEIGHTS["question"] * (1 if (has_q or cues.get("question")) else 0)
        service = question + WEIGHTS["service"] * cues.get("service", 0) + WEIGHTS["existing"] * cues.get("existing", 0)
        lead = WEIGHTS["lead"] * cues.get("lead", 0) + WEIGHTS["switch"] * cues.get("switch", 0)
        competitor = bool(self._competitor_re.search(norm))
        if cues.get("existing") and not cues.get("switch") and not competitor:
            lead = max(0.0, lead - WEIGHTS["existing"])
        if cues.get("outage_check"):
            complaint = max(0.0, complaint - WEIGHTS["outage_check"] * cues["outage_check"])
            service += WEIGHTS["outage_check"]
            rules.append("question:outage_check")
        if cues.get("notcomplaint"):
            complaint = max(0.0, complaint - WEIGHTS["notcomplaint"])
            service += 1.0
            rules.append("not_a_complaint")
        praise = pos + praise_strength * 0.5 - 0.5 * complaint
        other = WEIGHTS["other_floor"] + WEIGHTS["other"] * (
            cues.get("spam", 0) + cues.get("job", 0) + cues.get("news", 0)
        )
        other += WEIGHTS["chatter"] * cues.get("chatter", 0)
        for kind in ("spam", "job", "news", "chatter"):
            if cues.get(kind):
                rules.append(f"other:{kind}")
        if self._echo_re.search(norm):
            other += WEIGHTS["echo"]
            rules.append("other:brand_echo")

        # a complaint aimed at a competitor is not about us
        if competitor and complaint > 0:
            if cues.get("switch") or cues.get("lead"):
                lead += 0.5 * complaint + 2.0
                rules.append("competitor:switching")
            else:
                other += complaint + 2.0
                rules.append("competitor:complaint")
            complaint = 0.0
        polarity = pos - neg
        scores = {
            "complaint": complaint,
            "service_question": service,
            "sales_lead": lead,
            "praise": max(praise, 0.0),
            "other": other,
        }
        return scores, polarity, rules, cues


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The classifier under the repository's configuration (loaded once per process)."""
    return Classifier.from_files()


def classify(
    text: str,
    *,
    network: str | None = None,
    lang: str | None = None,
    tags: Iterable[str] = (),
    brand_replied: bool | None = None,
    open_case: bool | None = None,
    open_deal: bool | None = None,
) -> MessageUnderstanding:
    """Understand one message under the repository's configuration (see :class:`Classifier`)."""
    return default_classifier().classify(
        text,
        network=network,
        lang=lang,
        tags=tags,
        brand_replied=brand_replied,
        open_case=open_case,
        open_deal=open_deal,
    )


#: optional input columns of :func:`classify_frame` -> keyword of :meth:`Classifier.classify`
FRAME_INPUTS = {
    "channel": "network",
    "network": "network",
    "lang": "lang",
    "tags": "tags",
    "brand_replied": "brand_replied",
    "open_case": "open_case",
    "open_deal": "open_deal",
}
FRAME_OUTPUTS = ["language", "intent", "complaint", "sentiment", "explanation"]


def classify_frame(df: Any, *, text_column: str = "text", classifier: Classifier | None = None) -> Any:
    """One row of understanding per row of ``df`` (same index): language, intent, complaint, sentiment,
    explanation (a dict). Uses the optional columns in :data:`FRAME_INPUTS` when present (e.g. an
    interactions frame's ``channel``). A row without text is ``und``/``other`` with an ``error`` in its
    explanation; it is never dropped.
    """
    import pandas as pd

    clf = classifier or default_classifier()
    present = {col: kw for col, kw in FRAME_INPUTS.items() if col in df.columns}
    rows = []
    records = df.to_dict("records") if len(df) else []
    for record in records:
        text = record.get(text_column)
        if not isinstance(text, str) or not text.strip():
            rows.append(("und", "other", False, "neutral", {"model": MODEL_ID, "error": "no text"}))
            continue
        kwargs: dict[str, Any] = {}
        for col, kw in present.items():
            value = record.get(col)
            if value is None or (isinstance(value, float) and value != value):
                continue
            if kw == "tags":
                value = [value] if isinstance(value, str) else list(value)
            kwargs.setdefault(kw, value)
        result = clf.classify(text, **kwargs)
        rows.append((result.language, result.intent, result.complaint, result.sentiment, result.explanation))
    return pd.DataFrame(rows, columns=FRAME_OUTPUTS, index=df.index)
