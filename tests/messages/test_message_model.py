"""The frozen message model next to the rules: provenance, evidence, and how it combines with the rules."""

from __future__ import annotations

import hashlib
import json

import pytest
from constant_message_model import constant_model

from crmhub.messages import Classifier
from crmhub.messages.core import MODEL_FILE
from crmhub.messages.model import MessageModel, text_features
from crmhub.paths import INCLUDE_DIR, PROJECT_DIR

MODEL_PATH = INCLUDE_DIR / "models" / MODEL_FILE


@pytest.fixture(scope="module")
def model_data():
    return json.loads(MODEL_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def with_model():
    return Classifier.from_files()


def test_the_model_was_trained_on_the_committed_corpora_and_never_on_the_evaluation_set(model_data):
    files = [entry["file"] for entry in model_data["trained_on"]]
    assert files and not any("eval" in f for f in files)
    for entry in model_data["trained_on"]:
        digest = hashlib.sha256((PROJECT_DIR / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{entry['file']} changed since training: retrain the model"


def test_the_repository_classifier_uses_the_model_and_names_its_version(with_model, model_data):
    result = with_model.classify("Waarom duurt het 3 weken??")
    assert model_data["version"] in result.explanation["model"]
    probabilities = result.explanation["intent"]["probabilities"]
    assert result.intent == max(probabilities, key=probabilities.get) == "complaint"
    assert abs(sum(probabilities.values()) - 1.0) < 0.01


def test_rules_only_mode_has_no_model_evidence():
    result = Classifier.from_files(model_path=False).classify("Waarom duurt het 3 weken??")
    assert "probabilities" not in result.explanation["intent"]
    assert "logreg" not in result.explanation["model"]


@pytest.mark.parametrize(("complaint", "expected"), [(0.45, "other"), (0.60, "complaint")])
def test_a_complaint_without_any_rule_evidence_needs_a_sure_model(complaint, expected):
    rest = (1.0 - complaint) / 4
    probabilities = {"complaint": complaint, "service_question": rest * 0.5, "sales_lead": rest * 0.5}
    probabilities |= {"praise": rest, "other": 1.0 - complaint - rest * 2}
    base = Classifier.from_files(model_path=False)
    clf = Classifier(base.sections, {"brand": {"names": ["Telvaro"]}}, constant_model(probabilities))
    result = clf.classify("Bel me morgen na vijven")
    assert result.explanation["intent"]["scores"]["complaint"] == 0
    assert result.intent == expected


def test_a_vendor_complaint_tag_adds_to_the_model_logit(with_model):
    result = with_model.classify("Bel me even terug aub", tags=["klacht"])
    assert result.intent == "complaint" and "tag:complaint" in result.explanation["intent"]["rules"]


def test_a_model_file_of_another_format_is_refused(model_data):
    with pytest.raises(ValueError, match="format"):
        MessageModel({**model_data, "format": 99})


def test_text_features_fold_digits_and_do_not_depend_on_the_brand_name(with_model):
    a = with_model.masked(with_model.text_evidence("@Telvaro al 3 weken geen tv").norm)
    b = with_model.masked(with_model.text_evidence("@telvaro_care al 5 weken geen tv").norm)
    assert text_features(a) == text_features(b)
