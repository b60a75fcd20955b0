"""Quality gates: project suite files under ``include/gx`` run with Great Expectations.

Importing this package imports neither GX nor pandas: names resolve on first use (PEP 562), so the
Airflow plugin that serves Data Docs (``crmhub.quality.docs_app``) stays light in every process.
GX itself is imported only inside ``validate``/``check_suite``, on first call.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: Gates of the reconcile DAG before the load, in run order (raw gates run in ingest, warehouse after the load).
STAGES: tuple[str, ...] = (
    "canonical_contacts",
    "canonical_interactions",
    "golden_contacts",
    "golden_xref",
    "interactions",
)

_EXPORTS = {
    "check_suite": "crmhub.quality.gates",
    "validate": "crmhub.quality.gates",
    "RESULT_COLUMNS": "crmhub.quality.report",
    "ExpectationOutcome": "crmhub.quality.report",
    "ValidationReport": "crmhub.quality.report",
    "failing_row_mask": "crmhub.quality.report",
    "summarize": "crmhub.quality.report",
    "ExpectationSpec": "crmhub.quality.suites",
    "SuiteSpec": "crmhub.quality.suites",
    "WhereClause": "crmhub.quality.suites",
    "load_suite": "crmhub.quality.suites",
}

__all__ = ["STAGES", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
