"""The quality gate on real Great Expectations: what blocks, what warns, what gets stored."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from crmhub import paths
from crmhub.errors import QualityGateFailed
from crmhub.quality import RESULT_COLUMNS, STAGES, check_suite, load_suite, validate


@pytest.mark.parametrize("stage", STAGES)
def test_clean_frame_passes_every_expectation(stage: str, request: pytest.FixtureRequest) -> None:
    frame = request.getfixturevalue(stage)
    report = validate(stage, frame, run_id="run-1")
    assert report.outcomes and all(o.success for o in report.outcomes), [o.summary() for o in report.outcomes]
    report.raise_if_blocking()


def test_duplicate_golden_id_blocks_naming_rule_and_count_without_values(
    golden_contacts: pd.DataFrame,
) -> None:
    golden_contacts.loc[2, "golden_id"] = "g-001"
    report = validate("golden_contacts", golden_contacts, run_id="run-1")
    with pytest.raises(QualityGateFailed) as err:
        report.raise_if_blocking()
    message = str(err.value)
    assert "golden_contacts@2" in message
    assert "expect_column_values_to_be_unique(golden_id)" in message
    assert "2 unexpected of 3 rows" in message and "row positions 0, 2" in message
    cells = {v for v in golden_contacts.to_numpy().ravel() if isinstance(v, str) and len(v) > 2}
    assert "g-001" in cells and not [c for c in cells if c in message]


def test_bad_phone_is_a_warning_and_does_not_raise(golden_contacts: pd.DataFrame) -> None:
    golden_contacts.loc[0, "phone"] = "06-12345678"
    report = validate("golden_contacts", golden_contacts, run_id="run-1")
    (phone,) = [o for o in report.outcomes if o.column == "phone"]
    assert (phone.severity, phone.success, phone.unexpected_count, phone.example_rows) == (
        "warning",
        False,
        1,
        (0,),
    )
    assert report.success and not report.blocking_failures
    report.raise_if_blocking()


def test_nl_postcode_rule_ignores_non_nl_rows(golden_contacts: pd.DataFrame) -> None:
    golden_contacts.loc[1, "postcode"] = "not-a-dutch-postcode"  # country DE
    golden_contacts.loc[2, ["country", "postcode"]] = ["NL", "1234ab"]
    report = validate("golden_contacts", golden_contacts, run_id="run-1")
    nl, be, de = [o for o in report.outcomes if o.column == "postcode"]
    assert "where country == 'NL'" in nl.label
    assert nl.element_count == 2  # only the NL rows are looked at
    assert nl.unexpected_rows == (2,)
    assert de.unexpected_rows == (1,) and be.success and be.element_count == 0


def test_report_frame_has_the_results_table_columns(golden_contacts: pd.DataFrame) -> None:
    golden_contacts.loc[0, "phone"] = "0612"
    frame = validate("golden_contacts", golden_contacts, run_id="run-7").to_frame()
    assert list(frame.columns) == RESULT_COLUMNS
    assert len(frame) == len(load_suite("golden_contacts").expectations) and set(frame["run_id"]) == {"run-7"}
    assert set(frame["severity"]) == {"blocking", "warning"}
    assert str(frame["validated_at"].dt.tz) == "UTC"
    phone = frame[frame["column_name"] == "phone"].iloc[0]
    assert not phone["success"] and phone["unexpected_count"] == 1 and phone["element_count"] == 3
    assert phone["observed_value"] == "1 of 3 unexpected (33.33%)"


def test_data_docs_index_is_written_without_cell_values(tmp_path, golden_contacts: pd.DataFrame) -> None:
    golden_contacts.loc[0, "phone"] = "0612-SECRET"
    docs = tmp_path / "docs"
    first = validate("golden_contacts", golden_contacts, run_id="run-1", docs_dir=docs)
    assert first.docs_index == docs.resolve() / "index.html" and first.docs_index.is_file()
    pages = [p for p in docs.rglob("*") if p.is_file() and p.suffix in (".html", ".json")]
    assert any("validations" in p.parts for p in pages)
    assert not [p for p in pages if "0612-SECRET" in p.read_text(encoding="utf-8", errors="replace")]


def test_data_docs_index_keeps_earlier_stages(
    tmp_path, golden_contacts: pd.DataFrame, interactions: pd.DataFrame
) -> None:
    docs = tmp_path / "docs"
    validate("golden_contacts", golden_contacts, run_id="run-1", docs_dir=docs)
    index = validate("interactions", interactions, run_id="run-1", docs_dir=docs).docs_index
    html = index.read_text(encoding="utf-8")
    assert "golden_contacts%402" in html and "interactions%404" in html


def test_blocking_failed_rows_can_be_quarantined_with_reason(canonical_interactions: pd.DataFrame) -> None:
    frame = canonical_interactions
    frame.index = [10, 11, 12]  # the report speaks positions; the split keeps labels
    frame.loc[11, "channel"] = "fax"
    frame.loc[12, "occurred_at"] = pd.NaT
    report = validate("canonical_interactions", frame, run_id="run-1")
    assert report.failing_row_mask(frame).tolist() == [False, True, True]
    good, bad = report.split(frame)
    assert list(good.index) == [10] and list(bad.index) == [11, 12]
    assert bad.loc[11, "quarantine_reason"] == "expect_column_values_to_be_in_set(channel)"
    assert bad.loc[12, "quarantine_reason"] == "expect_column_values_to_not_be_null(occurred_at)"
    assert not report.unplaceable_failures()


def test_missing_column_is_a_blocking_failure_no_row_can_fix(interactions: pd.DataFrame) -> None:
    report = validate("interactions", interactions.drop(columns=["golden_id"]), run_id="run-1")
    (failure,) = report.unplaceable_failures()
    assert failure.column == "golden_id" and failure.error and "golden_id" in failure.error
    with pytest.raises(QualityGateFailed, match="could not run"):
        report.raise_if_blocking()


@pytest.mark.parametrize("stage", sorted(p.stem for p in paths.GX_DIR.glob("*.json")))
def test_shipped_suites_build_in_gx(stage: str) -> None:
    assert check_suite(stage).expectations


def test_importing_the_package_does_not_import_gx() -> None:
    code = "import sys, crmhub.quality; sys.exit('great_expectations' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(paths.PACKAGE_DIR.parent)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
