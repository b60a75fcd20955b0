from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crmhub.errors import ConfigError
from crmhub.reconcile.rules import ATTRIBUTE_GROUPS, DEFAULT_RULES_FILE, load_rules


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "precedence.yaml"
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return path


def _valid() -> dict:
    return yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))


def test_default_rules_file_loads_with_the_agreed_rules() -> None:
    rules = load_rules()
    crm = ("hubspot", "salesforce", "dynamics", "legacy")
    assert rules.sources == (*crm, "hootsuite", "sprout")
    assert set(rules.attributes) == set(ATTRIBUTE_GROUPS)
    email = rules.attributes["email"]
    assert (email.rule, email.sources, email.valid_beats_invalid) == ("source_priority", crm, True)
    assert rules.attributes["name"].sources == (*crm, "hootsuite", "sprout")
    assert (rules.attributes["address"].rule, rules.attributes["address"].sources) == ("most_recent", crm)
    assert rules.attributes["social"].sources == ("hootsuite", "sprout", "hubspot", "salesforce")
    assert rules.attributes["address"].columns == (
        "street",
        "house_number",
        "house_number_addition",
        "postcode",
        "city",
        "country",
    )
    assert rules.matching.max_records_per_key == 5


def _error(tmp_path: Path, doc: object) -> ConfigError:
    path = _write(tmp_path, doc)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert caught.value.file == str(path)
    assert str(path) in str(caught.value)
    return caught.value


def test_unknown_source_in_attribute_names_the_list_item(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["email"]["sources"] = ["hubspot", "zendesk"]
    assert _error(tmp_path, doc).key == "attributes.email.sources[1]"


def test_unknown_rule_type_names_the_rule_key(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["phone"]["rule"] = "loudest"
    err = _error(tmp_path, doc)
    assert err.key == "attributes.phone.rule" and "source_priority" in err.reason


def test_misspelt_option_is_an_error_not_ignored(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["email"]["valid_beats_invalids"] = True
    assert _error(tmp_path, doc).key == "attributes.email.valid_beats_invalids"


def test_missing_attribute_group_is_named(tmp_path: Path) -> None:
    doc = _valid()
    del doc["attributes"]["address"]
    assert _error(tmp_path, doc).key == "attributes.address"


def test_unknown_attribute_group_is_named(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["shoe_size"] = {"rule": "most_recent"}
    assert _error(tmp_path, doc).key == "attributes.shoe_size"


def test_source_priority_without_sources_is_an_error(tmp_path: Path) -> None:
    doc = _valid()
    del doc["attributes"]["company"]["sources"]
    assert _error(tmp_path, doc).key == "attributes.company.sources"


def test_valid_beats_invalid_on_an_attribute_without_validation_is_an_error(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["company"]["valid_beats_invalid"] = True
    assert _error(tmp_path, doc).key == "attributes.company.valid_beats_invalid"


def test_valid_beats_invalid_must_be_a_boolean(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["email"]["valid_beats_invalid"] = "yes"
    assert _error(tmp_path, doc).key == "attributes.email.valid_beats_invalid"


def test_duplicate_source_in_priority_list_is_an_error(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["name"]["sources"] = ["hubspot", "hubspot"]
    assert _error(tmp_path, doc).key == "attributes.name.sources[1]"


def test_bad_matching_limit_is_named(tmp_path: Path) -> None:
    doc = _valid()
    doc["matching"]["max_records_per_key"] = 1
    assert _error(tmp_path, doc).key == "matching.max_records_per_key"


def test_unknown_match_rule_is_named(tmp_path: Path) -> None:
    doc = _valid()
    doc["matching"]["rules"] = ["email", "shoe_size"]
    assert _error(tmp_path, doc).key == "matching.rules[1]"


def test_missing_sources_is_named(tmp_path: Path) -> None:
    doc = _valid()
    del doc["sources"]
    assert _error(tmp_path, doc).key == "sources"


def test_attributes_not_a_mapping_is_named(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"] = ["email"]
    assert _error(tmp_path, doc).key == "attributes"


def test_invalid_yaml_reports_file_and_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "sources: [hubspot\nattributes: {")
    assert err.key == "(file)" and "line" in err.reason


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    assert _error(tmp_path, "").key == "(root)"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(tmp_path / "nope.yaml")
    assert caught.value.key == "(file)"


def test_most_recent_without_sources_means_all_sources(tmp_path: Path) -> None:
    doc = _valid()
    doc["attributes"]["address"] = {"rule": "most_recent"}
    assert load_rules(_write(tmp_path, doc)).attributes["address"].sources == tuple(doc["sources"])
