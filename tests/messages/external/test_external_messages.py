"""Measuring on messages written by other people, per-language complaint offsets, and CV folds that keep
parallel versions of one message together."""

from __future__ import annotations

import json

from constant_message_model import constant_model

from benchmarks.messages import bench
from crmhub.messages import Classifier
from crmhub.messages.model import MessageModel
from crmhub.messages.train_model import folds, groups

EVEN = {"complaint": 0.3, "service_question": 0.1, "sales_lead": 0.1, "praise": 0.1, "other": 0.4}


def _classifier(model: MessageModel) -> Classifier:
    base = Classifier.from_files(model_path=False)
    return Classifier(base.sections, {"brand": {"names": ["Telvaro"]}}, model)


def test_a_language_offset_moves_only_that_languages_complaint_logit():
    model = constant_model(EVEN, complaint_offset_by_lang={"de": 1.0})
    clf = _classifier(model)
    german = clf.classify("Mein Internet geht seit gestern nicht", lang="de")
    english = clf.classify("My internet has not worked since yesterday", lang="en")
    assert german.explanation["intent"]["probabilities"]["complaint"] > 0.5
    assert english.explanation["intent"]["probabilities"]["complaint"] < 0.35
    assert german.intent == "complaint" and english.intent == "other"


def test_the_model_file_can_set_the_no_evidence_guard():
    probabilities = {"complaint": 0.6, "service_question": 0.1, "sales_lead": 0.1, "praise": 0.1, "other": 0.1}
    text = "Bel me morgen na vijven"  # no complaint evidence in the rules
    assert _classifier(constant_model(probabilities)).classify(text).intent == "complaint"  # default 0.5
    strict = _classifier(constant_model(probabilities, complaint_without_evidence=0.7)).classify(text)
    assert strict.intent != "complaint"
    assert "model:complaint_without_evidence" in strict.explanation["intent"]["rules"]


def test_cv_folds_keep_parallel_versions_of_a_message_together():
    rows = [
        {"text": "Ik betaal voor 500 Mbit en krijg 40", "lang": "nl", "intent": "complaint"},
        {"text": "I pay for 500 Mbit and get 40", "lang": "en", "intent": "complaint"},
        {"text": "Ich zahle für 500 Mbit und bekomme 40", "lang": "de", "intent": "complaint"},
        {"text": "Wat kost glasvezel?", "lang": "nl", "intent": "sales_lead", "group": "g1"},
        {"text": "What does fibre cost?", "lang": "en", "intent": "sales_lead", "group": "g1"},
    ] + [{"text": f"bericht nummer {i}", "lang": "nl", "intent": "other"} for i in range(100, 120)]
    group = groups(rows)
    assert group[0] == group[1] == group[2] and group[3] == group[4] and group[0] != group[3]
    for seed in range(3):
        fold = folds(rows, 5, seed)
        assert fold[0] == fold[1] == fold[2] and fold[3] == fold[4]
        assert len(set(fold)) == 5


def test_the_external_measurement_reports_complaint_precision_and_recall_per_split(tmp_path):
    rows = [
        {"id": "a", "text": "@Acme my internet has been down for three days, nobody helps", "complaint": True},
        {"id": "b", "text": "@Acme thanks so much, the engineer was great", "complaint": False},
        {"id": "c", "text": "@Acme what time does the shop open?", "complaint": False},
        {"id": "d", "text": "lovely weather today", "complaint": None},
    ]
    with (tmp_path / "toy_en.jsonl").open("w", encoding="utf-8") as fh:
        for i, row in enumerate(rows):
            fh.write(json.dumps(row | {"lang": "en", "split": "dev" if i % 2 else "test", "sentiment": None}) + "\n")
    (tmp_path / "toy_en.brands.json").write_text(json.dumps({"brand": {"names": ["Acme"]}}), encoding="utf-8")
    table = bench.external("none", tmp_path, markdown=True)
    lines = [line for line in table.splitlines() if line.startswith("| toy_en")]
    assert [line.split(" | ")[2] for line in lines] == ["dev", "test", "all"]
    everything = lines[-1].split(" | ")
    assert everything[3:5] == ["3", "1"]  # three labelled messages (d has no label), one complaint
    assert everything[5] == "1.000" and everything[6] == "1.000"  # the rules alone get these right


def test_the_external_measurement_says_when_nothing_was_prepared(tmp_path):
    assert "prepare_external_messages" in bench.external(None, tmp_path, markdown=False)
