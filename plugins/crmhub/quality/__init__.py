"""Quality gates: project suite files under ``include/gx`` run with Great Expectations.

Importing this package does not import GX; only ``validate``/``check_suite`` do, on first call.
"""

from crmhub.quality.gates import check_suite, validate
from crmhub.quality.report import (
    RESULT_COLUMNS,
    ExpectationOutcome,
    ValidationReport,
    failing_row_mask,
    summarize,
)
from crmhub.quality.suites import ExpectationSpec, SuiteSpec, WhereClause, load_suite

STAGES: tuple[str, ...] = ("canonical_contacts", "golden_contacts", "interactions")

__all__ = [
    "RESULT_COLUMNS",
    "STAGES",
    "ExpectationOutcome",
    "ExpectationSpec",
    "SuiteSpec",
    "ValidationReport",
    "WhereClause",
    "check_suite",
    "failing_row_mask",
    "load_suite",
    "summarize",
    "validate",
]
