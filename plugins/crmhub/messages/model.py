"""A small frozen model next to the rules: multinomial logistic regression over character n-grams, words
and the rules' own scores (stacking), read from a versioned JSON file and scored with numpy only.

Why: the rules miss complaints that carry no cue the lexicon knows ("contract extended without my
consent", "signal bars: zero"); character n-grams generalise over spelling, inflection, Finglish and
Persian letter variants, and the rules' scores and fired rules (sarcasm, negation, why-question,
competitor) are features, so the model learns how far to trust each rule. Trained in the repository by
:mod:`crmhub.messages.train_model` on the hand-labelled corpora named in the file; no network, no new
dependency at run time.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

INTENTS: tuple[str, ...] = ("complaint", "service_question", "sales_lead", "praise", "other")
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[\w'/$]+|[?!]{2,}|[^\w\s]")
#: rule prefixes turned into binary features (the part before ":" of a fired rule id)
RULE_FEATURES: tuple[str, ...] = (
    "sarcasm",
    "negation",
    "question",
    "competitor",
    "not_a_complaint",
    "resolved",
    "other",
    "below_floor",
)
NGRAMS: tuple[int, ...] = (2, 3, 4, 5)
RULE_SCORE_CAP = 6.0
_MISSING = object()


def words_of(masked: str) -> list[str]:
    """The model's words: digits folded to 0, "??"/"!!" runs and single symbols/emoji kept as words."""
    return _WORD.findall(_DIGIT.sub("0", masked))


def word_features(word: str) -> list[str]:
    """The word itself and the character n-grams of the word padded with spaces."""
    feats = [f"w:{word}"]
    if len(word) == 1 and not word.isalnum():
        return feats
    padded = f" {word} "
    size = len(padded)
    for n in NGRAMS:
        if n > size:
            break
        feats += [padded[i : i + n] for i in range(size - n + 1)]
    return feats


def text_features(masked: str) -> list[str]:
    """Feature names of one normalized, brand-masked text: words with their char n-grams, word pairs."""
    words = words_of(masked)
    feats = [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for w in words:
        feats += word_features(w)
    return feats


def rule_features(
    scores: Mapping[str, float], rules: Iterable[str], cues: Mapping[str, int] | None = None
) -> dict[str, float]:
    """The rules' evidence as real-valued features: each intent's score (capped, scaled), the intent the
    rules alone would pick, which rules fired, and how many cues of each lexicon category matched."""
    feats = {f"r:{k}": min(float(v), RULE_SCORE_CAP) / 3.0 for k, v in scores.items()}
    for category, count in (cues or {}).items():
        feats[f"c:{category}"] = min(count, 3) / 2.0
    best = max(INTENTS, key=lambda name: (scores.get(name, 0.0), -INTENTS.index(name)))
    feats[f"ri:{best}"] = 1.0
    for rule in rules:
        family = rule.split(":", 1)[0]
        if family in RULE_FEATURES:
            feats[f"rr:{rule}"] = 1.0
    return feats


class MessageModel:
    """Frozen weights: one row per feature, one column per intent, plus a bias per intent."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if data.get("format") != 1:
            raise ValueError(f"unsupported message model format {data.get('format')!r}")
        self.version: str = str(data["version"])
        self.id = f"crmhub.messages/{data.get('name', 'logreg')}-{self.version}"
        self.classes: tuple[str, ...] = tuple(data["classes"])
        if set(self.classes) != set(INTENTS):
            raise ValueError("message model classes must be the five intents")
        self.use_rules = bool(data.get("use_rules", True))
        self.index: dict[str, int] = {name: i for i, name in enumerate(data["features"])}
        self.weights = np.asarray(data["weights"], dtype=np.float64)
        self.bias = np.asarray(data["bias"], dtype=np.float64)
        self.complaint_offset = float(data.get("complaint_offset", 0.0))
        #: per detected language, added to the complaint logit (chosen by grouped cross-validation on the
        #: training corpus, never on the evaluation set); languages not named get 0
        self.complaint_offset_by_lang: dict[str, float] = {
            str(k): float(v) for k, v in (data.get("complaint_offset_by_lang") or {}).items()
        }
        #: a complaint nothing in the rules supports needs at least this probability (None = the default
        #: in crmhub.messages.core.WEIGHTS)
        guard = data.get("complaint_without_evidence")
        self.complaint_without_evidence: float | None = None if guard is None else float(guard)
        self._word_cache: dict[str, Any] = {}  # word -> summed weights of its features (or None)
        self.info: dict[str, Any] = {k: data[k] for k in ("trained_on", "trained_at", "cv") if k in data}
        if self.weights.shape != (len(self.index), len(self.classes)):
            raise ValueError("message model weights do not match its features and classes")

    @classmethod
    def from_file(cls, path: str | Path) -> MessageModel:
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def logits(
        self,
        masked: str,
        scores: Mapping[str, float],
        rules: Iterable[str],
        cues: Mapping[str, int] | None = None,
        lang: str | None = None,
    ) -> dict[str, float]:
        """Per-intent logit of one message: text features counted as often as they occur (so each word's
        share is cached), plus the rule features; the complaint logit gets the offset of ``lang``."""
        words = words_of(masked)
        cache = self._word_cache
        rows: list[int] = []
        values: list[float] = []
        vectors = []
        for w in words:
            vector = cache.get(w, _MISSING)
            if vector is _MISSING:
                if len(cache) > 100_000:  # bounded: a stream of unique tokens cannot grow it forever
                    cache.clear()
                known = [self.index[f] for f in word_features(w) if f in self.index]
                vector = cache[w] = self.weights[known].sum(axis=0) if known else None
            if vector is not None:
                vectors.append(vector)
        for a, b in zip(words, words[1:], strict=False):
            i = self.index.get(f"b:{a} {b}")
            if i is not None:
                rows.append(i)
                values.append(1.0)
        if self.use_rules:
            for name, value in rule_features(scores, rules, cues).items():
                i = self.index.get(name)
                if i is not None:
                    rows.append(i)
                    values.append(value)
        out = self.bias.copy()
        if vectors:
            out += np.sum(vectors, axis=0)
        if rows:
            out += np.asarray(values) @ self.weights[rows]
        logits = dict(zip(self.classes, out.tolist(), strict=True))
        logits["complaint"] += self.complaint_offset + self.complaint_offset_by_lang.get(lang or "", 0.0)
        return logits


def softmax(logits: Mapping[str, float]) -> dict[str, float]:
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}
