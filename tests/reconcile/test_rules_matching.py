"""Rules-file validation of the fuzzy-matching section and the trust-decay option."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crmhub.errors import ConfigError
from crmhub.reconcile.rules import DEFAULT_RULES_FILE, load_rules


def _error(tmp_path: Path, change) -> ConfigError:
    doc = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    change(doc)
    path = tmp_path / "precedence.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    return caught.value


def test_default_file_enables_fuzzy_with_link_and_review_thresholds() -> None:
    fuzzy = load_rules().matching.fuzzy
    assert (fuzzy.enabled, fuzzy.link, fuzzy.review) == (True, 12.0, 5.0)


def test_review_above_link_is_named(tmp_path: Path) -> None:
    error = _error(tmp_path, lambda d: d["matching"]["fuzzy"].update(review=20))
    assert "matching.fuzzy.review" in str(error)


def test_unknown_weight_level_is_named(tmp_path: Path) -> None:
    error = _error(tmp_path, lambda d: d["matching"]["fuzzy"].update(weights={"name": {"exakt": 3}}))
    assert "matching.fuzzy.weights.name.exakt" in str(error)


def test_trust_decay_needs_a_positive_half_life(tmp_path: Path) -> None:
    error = _error(tmp_path, lambda d: d["attributes"]["name"].update(trust_decay={"half_life_days": 0}))
    assert "attributes.name.trust_decay.half_life_days" in str(error)


def test_trust_of_an_unknown_source_is_named(tmp_path: Path) -> None:
    decay = {"half_life_days": 30, "trust": {"zendesk": 0.5}}
    error = _error(tmp_path, lambda d: d["attributes"]["name"].update(trust_decay=decay))
    assert "attributes.name.trust_decay.trust.zendesk" in str(error)


def test_new_rule_types_are_accepted(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    doc["attributes"]["company"] = {"rule": "most_frequent"}
    doc["attributes"]["address"] = {"rule": "most_complete"}
    path = tmp_path / "precedence.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    rules = load_rules(path)
    assert (rules.attributes["company"].rule, rules.attributes["address"].rule) == ("most_frequent", "most_complete")


def test_blocking_keys_default_and_unknown_key_named(tmp_path: Path) -> None:
    from crmhub.reconcile.fuzzy import BLOCKING_KEYS, DEFAULT_BLOCKING

    assert load_rules().matching.fuzzy.blocking is None  # the default set
    assert set(DEFAULT_BLOCKING) <= set(BLOCKING_KEYS) and "street_number" not in DEFAULT_BLOCKING
    error = _error(tmp_path, lambda d: d["matching"]["fuzzy"].update(blocking=["name", "surname_soundex"]))
    assert "matching.fuzzy.blocking[1]" in str(error) and "surname_soundex" in str(error)


def test_blocking_keys_from_the_rules_file(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    doc["matching"]["fuzzy"]["blocking"] = ["address", "street_number", "first_name_last_initial"]
    path = tmp_path / "precedence.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert load_rules(path).matching.fuzzy.blocking == ("address", "street_number", "first_name_last_initial")
