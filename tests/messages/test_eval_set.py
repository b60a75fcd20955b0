"""The labelled evaluation set: shape, required counts, and a regression floor for the classifier.

The floors sit a little below what the shipped classifier (rules + frozen model) measured (BENCHMARKS.md,
"Message understanding"); they guard against regressions and are not targets. Neither the rules nor the
model are tuned or trained on this set (docs/messages.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmhub.messages import INTENTS, LANGUAGES, SENTIMENTS, Classifier

HERE = Path(__file__).resolve().parent
EVAL = HERE / "eval" / "messages.jsonl"
DEV = HERE / "dev" / "messages.jsonl"
TRAIN = HERE / "train" / "messages.jsonl"
FIELDS = {"id", "text", "lang", "intent", "complaint", "sentiment", "hard", "note"}


def _load(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def rows():
    return _load(EVAL)


def test_every_line_is_complete_and_valid(rows):
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) >= FIELDS, r["id"]
        assert r["lang"] in LANGUAGES and r["intent"] in INTENTS and r["sentiment"] in SENTIMENTS
        assert r["complaint"] == (r["intent"] == "complaint")
        assert isinstance(r["hard"], bool) and r["note"].strip() and r["text"].strip()


def test_required_counts_per_language(rows):
    count = {lang: sum(r["lang"] == lang for r in rows) for lang in ("nl", "en", "fa", "de", "mixed")}
    assert len(rows) >= 320
    assert count["nl"] >= 90 and count["en"] >= 80 and count["fa"] >= 60 and count["de"] >= 50
    assert count["mixed"] >= 30
    fa = [r for r in rows if r["lang"] == "fa"]
    latin = [r for r in fa if r["script"] == "latin"]
    assert len(latin) >= 20 and all(not any("\u0600" <= ch <= "\u06ff" for ch in r["text"]) for r in latin)
    persian = [r for r in fa if r["script"] == "persian"]
    assert any("\u064a" in r["text"] or "\u0643" in r["text"] for r in persian)  # Arabic letter variants
    assert any("\u200c" in r["text"] for r in persian)  # ZWNJ


def test_at_least_a_third_are_hard_cases_covering_each_kind(rows):
    hard = [r for r in rows if r["hard"]]
    assert len(hard) * 3 >= len(rows)
    notes = " ".join(r["note"] for r in hard)
    for kind in ("sarcasm", "negation", "question-as-complaint", "competitor", "brand echo", "spam", "job post"):
        assert kind in notes, kind


def test_eval_and_dev_sets_share_no_text(rows):
    dev = {r["text"] for r in _load(DEV)}
    assert not dev & {r["text"] for r in rows}


def test_scores_stay_above_the_regression_floor(rows):
    from benchmarks.messages.bench import evaluate

    result = evaluate(rows, Classifier.from_files())
    overall = result["overall"]
    assert overall["macro_f1"] >= 0.89
    assert overall["complaint_precision"] >= 0.92 and overall["complaint_recall"] >= 0.90
    for lang in ("nl", "en", "fa", "de", "mixed"):
        assert result[lang]["complaint_precision"] >= 0.80, lang
        assert result[lang]["complaint_recall"] >= 0.84, lang


def test_training_corpus_shares_no_text_with_the_evaluation_set(rows):
    train = _load(TRAIN)
    assert not {r["text"] for r in train} & {r["text"] for r in rows}
    assert len({r["id"] for r in train}) == len(train)
    for r in train:
        assert set(r) >= FIELDS, r["id"]
        assert r["lang"] in LANGUAGES and r["intent"] in INTENTS and r["sentiment"] in SENTIMENTS
        assert r["complaint"] == (r["intent"] == "complaint")
