"""Broken suite files fail with ConfigError naming the file and the key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from crmhub import paths
from crmhub.errors import ConfigError, QualityGateFailed
from crmhub.quality import load_suite, validate


def _write_suite(folder: Path, expectations: list[dict]) -> Path:
    path = folder / "golden_contacts.json"
    path.write_text(json.dumps({"name": "golden_contacts", "version": 1, "expectations": expectations}))
    return path


def test_unknown_expectation_type_raises_config_error_naming_file_and_key(
    tmp_path: Path, golden_contacts: pd.DataFrame
) -> None:
    path = _write_suite(
        tmp_path,
        [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "golden_id"}, "severity": "blocking"},
            {"type": "expect_column_values_to_be_shiny", "kwargs": {"column": "golden_id"}, "severity": "warning"},
        ],
    )
    with pytest.raises(ConfigError) as err:
        validate("golden_contacts", golden_contacts, run_id="r", suite_dir=tmp_path)
    assert (err.value.file, err.value.key) == (str(path), "expectations[1].type")
    assert "expect_column_values_to_be_shiny" in err.value.reason


def test_missing_severity_raises_config_error_naming_file_and_key(tmp_path: Path) -> None:
    path = _write_suite(tmp_path, [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}}])
    with pytest.raises(ConfigError) as err:
        load_suite("golden_contacts", tmp_path)
    assert (err.value.file, err.value.key) == (str(path), "expectations[0].severity")
    assert "blocking" in err.value.reason


def test_kwargs_gx_rejects_raise_config_error(tmp_path: Path, golden_contacts: pd.DataFrame) -> None:
    _write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "x", "mostly": 2},
                "severity": "warning",
            }
        ],
    )
    with pytest.raises(ConfigError, match=r"expectations\[0\]\.kwargs"):
        validate("golden_contacts", golden_contacts, run_id="r", suite_dir=tmp_path)


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ({"column": "country", "op": "=~", "value": "NL"}, "expectations[0].where[0].op"),
        ({"column": "country", "op": "=="}, "expectations[0].where[0].value"),
        ({"column": "country", "op": "in", "value": "NL"}, "expectations[0].where[0].value"),
    ],
)
def test_bad_where_clause_names_its_key(tmp_path: Path, where: dict, key: str) -> None:
    _write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "x"},
                "where": [where],
                "severity": "warning",
            }
        ],
    )
    with pytest.raises(ConfigError) as err:
        load_suite("golden_contacts", tmp_path)
    assert err.value.key == key


def test_string_row_condition_is_refused_in_favour_of_where(tmp_path: Path) -> None:
    _write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "x", "row_condition": 'country=="NL"'},
                "severity": "warning",
            }
        ],
    )
    with pytest.raises(ConfigError, match=r"expectations\[0\]\.kwargs\.row_condition"):
        load_suite("golden_contacts", tmp_path)


def test_missing_suite_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no suite file for stage 'nope'"):
        load_suite("nope", tmp_path)


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    shutil.copy(paths.GX_DIR / "golden_contacts.json", tmp_path / "golden_contacts.json")
    (tmp_path / "golden_contacts.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_suite("golden_contacts", tmp_path)


@pytest.mark.parametrize(
    ("severity", "on_failure", "reason"),
    [
        ("blocking", "skip", "'skip' is not allowed; must be one of stop, quarantine"),
        ("warning", "quarantine", "only blocking expectations quarantine"),
    ],
)
def test_bad_on_failure_names_its_key(tmp_path: Path, severity: str, on_failure: str, reason: str) -> None:
    exp = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}, "severity": severity}
    path = _write_suite(tmp_path, [{**exp, "on_failure": on_failure}])
    with pytest.raises(ConfigError) as err:
        load_suite("golden_contacts", tmp_path)
    assert (err.value.file, err.value.key) == (str(path), "expectations[0].on_failure")
    assert reason in err.value.reason


def test_on_failure_defaults_to_stop(tmp_path: Path) -> None:
    _write_suite(
        tmp_path, [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}, "severity": "blocking"}]
    )
    assert load_suite("golden_contacts", tmp_path).expectations[0].on_failure == "stop"


def test_a_table_level_rule_marked_quarantine_still_stops(tmp_path: Path, golden_contacts: pd.DataFrame) -> None:
    """Quarantine needs rows to set aside; a table-level failure has none, so the run stops."""
    exp = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 10}, "severity": "blocking"}
    _write_suite(tmp_path, [{**exp, "on_failure": "quarantine"}])
    report = validate("golden_contacts", golden_contacts, run_id="r", suite_dir=tmp_path)
    assert not report.quarantine_failures and len(report.stopping_failures) == 1
    with pytest.raises(QualityGateFailed, match="expect_table_row_count_to_be_between"):
        report.raise_if_blocking(allow_quarantine=True)
