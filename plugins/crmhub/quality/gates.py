"""Run a stage's suite with real Great Expectations on a pandas frame and report what failed.

GX is imported inside the functions: the import costs ~3 s and would slow every DAG parse and
every caller that never validates. Each ``validate`` call builds its own ephemeral context (a few
milliseconds), so calls are independent and safe to run in parallel tasks.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmhub import paths
from crmhub.errors import ConfigError
from crmhub.quality.report import ExpectationOutcome, ValidationReport
from crmhub.quality.suites import ExpectationSpec, SuiteSpec, WhereClause, load_suite

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context import AbstractDataContext
    from great_expectations.expectations import Expectation

log = logging.getLogger(__name__)

DOCS_SITE = "crmhub"
_GX_SEVERITY = {"blocking": "critical", "warning": "warning"}
#: Row positions, never values: COMPLETE lists every failing row (quarantine needs them all),
#: SUMMARY the first 20 (enough for three examples in a message).
_RESULT_FORMATS: dict[str, dict[str, Any]] = {
    "rows": {"result_format": "COMPLETE", "exclude_unexpected_values": True},
    "summary": {"result_format": "SUMMARY", "exclude_unexpected_values": True, "partial_unexpected_count": 20},
}
#: Result keys that hold cell values; dropped before results reach Data Docs (no personal data).
_VALUE_KEYS = ("unexpected_list", "partial_unexpected_list", "partial_unexpected_counts", "details")


def validate(
    stage: str,
    frame: pd.DataFrame,
    *,
    run_id: str,
    suite_dir: Path | str = paths.GX_DIR,
    docs_dir: Path | str | None = None,
) -> ValidationReport:
    """Validate ``frame`` against ``<suite_dir>/<stage>.json`` and return the report.

    Row positions in the report are 0-based positions in ``frame`` (its index is ignored).
    With ``docs_dir``, Data Docs (a static HTML site) are built there and
    ``report.docs_index`` points at its ``index.html``. Raises ``ConfigError`` for a broken suite
    file; never raises for bad data (call ``report.raise_if_blocking()`` for that).
    """
    spec = load_suite(stage, suite_dir)
    gx = _import_gx()
    from great_expectations.core.run_identifier import RunIdentifier

    data = frame.reset_index(drop=True)
    validated_at = dt.datetime.now(dt.UTC)
    context = _ephemeral_context()

    batch = (
        context.data_sources.add_pandas(f"crmhub_{stage}")
        .add_dataframe_asset(stage)
        .add_batch_definition_whole_dataframe("whole_frame")
    )
    by_id: dict[str, int] = {}  # GX id -> position in the suite file, to keep the file's order
    runs = []
    groups = _result_groups(spec)
    for group, positions in groups.items():
        # The main group carries the suite's own name: its result is the page Data Docs show.
        name = spec.qualified_name if group == next(iter(groups)) else f"{spec.qualified_name}#{group}"
        suite = context.suites.add(gx.ExpectationSuite(name=name, meta={"stage": stage}))
        for i in positions:
            added = suite.add_expectation(_build_expectation(spec.expectations[i], spec))
            by_id[str(added.id)] = i
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{stage}_gate_{group}", data=batch, suite=suite)
        )
        runs.append(
            definition.run(
                batch_parameters={"dataframe": _columns_for(data, [spec.expectations[i] for i in positions])},
                result_format=_RESULT_FORMATS[group],
                run_id=RunIdentifier(run_name=run_id, run_time=validated_at),
            )
        )
    result = _merge(runs)

    ranked = sorted(((by_id[str(r.expectation_config.id)], r) for r in result.results), key=lambda x: x[0])
    outcomes = [_outcome(r, spec.expectations[i], spec, stage) for i, r in ranked]
    report = ValidationReport(
        stage=stage,
        suite=spec.qualified_name,
        run_id=run_id,
        validated_at=validated_at,
        row_count=len(data),
        outcomes=outcomes,
    )
    if docs_dir is not None:
        report.docs_index = _build_docs(spec, context, result, Path(docs_dir))
    log.info(
        "quality gate %s on %d rows: %d blocking failed, %d warnings",
        spec.qualified_name,
        len(data),
        len(report.blocking_failures),
        len(report.warnings),
    )
    return report


def _result_groups(spec: SuiteSpec) -> dict[str, list[int]]:
    """Suite positions per result format, main group first; empty groups left out.

    Only quarantining rules need every failing row; the others need counts and three examples.
    Asking GX for complete row lists everywhere made validation as slow as matching at 100k rows
    (GX deep-copies and serializes every list), so the rest run with GX's SUMMARY (20 positions).
    """
    rows = [i for i, e in enumerate(spec.expectations) if e.severity == "blocking" and e.on_failure == "quarantine"]
    summary = [i for i in range(len(spec.expectations)) if i not in set(rows)]
    groups = {"summary": summary, "rows": rows}
    return {k: v for k, v in groups.items() if v}


def _columns_for(data: pd.DataFrame, expectations: list[ExpectationSpec]) -> pd.DataFrame:
    """Only the columns the rules read: GX fingerprints every column of the batch, which at
    millions of rows cost more than the rules. Table-level rules keep the whole frame; a missing
    column stays missing, so the rule reports it."""
    if any(not e.reads or e.type.startswith("expect_table_column") for e in expectations):
        return data
    wanted = {c for e in expectations for c in e.reads}
    return data[[c for c in data.columns if c in wanted]]


def _merge(runs: list[ExpectationSuiteValidationResult]) -> ExpectationSuiteValidationResult:
    """Fold the groups' results into the main one, so Data Docs show one page per suite and run."""
    main = runs[0]
    for other in runs[1:]:
        main.results.extend(other.results)
    evaluated = len(main.results)
    passed = sum(1 for r in main.results if r.success)
    main.success = passed == evaluated
    main.statistics.update(
        {
            "evaluated_expectations": evaluated,
            "successful_expectations": passed,
            "unsuccessful_expectations": evaluated - passed,
            "success_percent": 100.0 * passed / evaluated if evaluated else None,
        }
    )
    return main


def check_suite(stage: str, suite_dir: Path | str = paths.GX_DIR) -> SuiteSpec:
    """Load a suite and build every expectation in GX, so CI can reject a broken file without data."""
    spec = load_suite(stage, suite_dir)
    _import_gx()
    for exp_spec in spec.expectations:
        _build_expectation(exp_spec, spec)
    return spec


def _import_gx() -> Any:
    # Analytics off before the first import: GX would otherwise phone home from every worker.
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations as gx

    return gx


def _ephemeral_context() -> AbstractDataContext:
    """An in-memory context for the run itself: raw results (with cell values) never touch disk."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _docs_context(docs_dir: Path) -> AbstractDataContext:
    """A context whose suite/result stores live in ``docs_dir/.gx_store``.

    GX's index builder deletes pages whose result is not in the context's store, so a purely
    in-memory context would wipe earlier stages' and runs' pages; keeping scrubbed results on disk
    next to the site lets every ``validate`` call add to one growing site.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        FilesystemStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
    }
    config = DataContextConfig(
        store_backend_defaults=FilesystemStoreBackendDefaults(root_directory=str(docs_dir / ".gx_store")),
        data_docs_sites={DOCS_SITE: site},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _build_expectation(exp_spec: ExpectationSpec, spec: SuiteSpec) -> Expectation:
    """Turn a suite-file entry into a GX expectation; GX's own checks become ``ConfigError``."""
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    kwargs = dict(exp_spec.kwargs)
    if exp_spec.where:
        kwargs["row_condition"] = _row_condition(exp_spec.where)
    config = ExpectationConfiguration(
        type=exp_spec.type,
        kwargs=kwargs,
        meta={"crmhub_severity": exp_spec.severity, "crmhub_key": exp_spec.key},
        notes=exp_spec.description or None,
        severity=_GX_SEVERITY[exp_spec.severity],
    )
    try:
        return config.to_domain_obj()
    except ExpectationNotFoundError as exc:
        raise ConfigError(
            str(spec.path), f"{exp_spec.key}.type", f"unknown GX expectation type {exp_spec.type!r}"
        ) from exc
    except Exception as exc:  # pydantic/GX validation of kwargs; the message says which kwarg
        reason = " ".join(str(exc).split())[:300]
        raise ConfigError(str(spec.path), f"{exp_spec.key}.kwargs", f"rejected by GX: {reason}") from exc


def _row_condition(where: tuple[WhereClause, ...]) -> Any:
    """AND the clauses into GX Condition objects (string row conditions are deprecated in GX 1.9+)."""
    from great_expectations.expectations.row_conditions import Column

    conditions = []
    for clause in where:
        col = Column(clause.column)
        value = clause.value
        condition = {
            "==": lambda c=col, v=value: c == v,
            "!=": lambda c=col, v=value: c != v,
            "<": lambda c=col, v=value: c < v,
            "<=": lambda c=col, v=value: c <= v,
            ">": lambda c=col, v=value: c > v,
            ">=": lambda c=col, v=value: c >= v,
            "in": lambda c=col, v=value: c.is_in(v),
            "not_in": lambda c=col, v=value: c.is_not_in(v),
            "is_null": lambda c=col: c.is_null(),
            "is_not_null": lambda c=col: c.is_not_null(),
        }[clause.op]()
        conditions.append(condition)
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def _outcome(
    res: ExpectationValidationResult, exp_spec: ExpectationSpec, spec: SuiteSpec, stage: str
) -> ExpectationOutcome:
    """Keep counts and row positions from a GX result; drop every cell value."""
    result: dict[str, Any] = dict(res.result or {})
    error = _exception_message(res)
    positions = result.get("unexpected_index_list", result.get("partial_unexpected_index_list"))
    row_level = isinstance(positions, list)
    rows = tuple(sorted(int(p) for p in positions if isinstance(p, int | float))) if row_level else ()
    unexpected = result.get("unexpected_count")
    element = result.get("element_count")
    return ExpectationOutcome(
        stage=stage,
        suite=spec.qualified_name,
        expectation=exp_spec.type,
        label=exp_spec.label,
        column=exp_spec.column,
        severity=exp_spec.severity,
        success=bool(res.success) and error is None,
        observed_value=_observed_text(result, error),
        unexpected_count=int(unexpected) if unexpected is not None else None,
        element_count=int(element) if element is not None else None,
        unexpected_rows=rows,
        row_level=row_level,
        error=error,
        on_failure=exp_spec.on_failure,
        description=exp_spec.description,
    )


def _exception_message(res: ExpectationValidationResult) -> str | None:
    """GX catches exceptions per expectation; the shape differs by where it was raised."""
    info = res.exception_info or {}
    candidates = [info] + [v for v in info.values() if isinstance(v, dict)]
    for item in candidates:
        if item.get("raised_exception"):
            message = str(item.get("exception_message") or "exception").strip().removeprefix("Error: ")
            return message.splitlines()[0][:300] if message else "exception"
    return None


def _observed_text(result: dict[str, Any], error: str | None) -> str | None:
    """Text for the results table: numbers and percentages only, never a string cell value."""
    if error is not None:
        return f"error: {error}"
    if "observed_value" in result:
        value = result["observed_value"]
        if value is None or isinstance(value, bool | int | float | dt.date | dt.datetime | pd.Timestamp):
            return str(value)
        return f"<{type(value).__name__} not stored>"
    unexpected, element = result.get("unexpected_count"), result.get("element_count")
    if unexpected is None or element is None:
        return None
    percent = 100.0 * unexpected / element if element else 0.0
    return f"{unexpected} of {element} unexpected ({percent:.2f}%)"


def _build_docs(
    spec: SuiteSpec,
    run_context: AbstractDataContext,
    result: ExpectationSuiteValidationResult,
    docs_dir: Path,
) -> Path:
    """Scrub cell values from the results (outcomes are already taken), render Data Docs, return index."""
    import great_expectations as gx

    for res in result.results:
        if res.result:
            for key in _VALUE_KEYS:
                if key in res.result:
                    res.result[key] = []
    docs_dir = docs_dir.resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    context = _docs_context(docs_dir)
    suite = gx.ExpectationSuite(name=spec.qualified_name, meta={"file": spec.path.name})
    for exp_spec in spec.expectations:
        suite.expectations.append(_build_expectation(exp_spec, spec))
    context.suites.add_or_update(suite)
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    new_pages: list[Any] = [ExpectationSuiteIdentifier(name=spec.qualified_name)]
    for key in run_context.validation_results_store.list_keys():  # one per result group; the main one has the name
        if key.expectation_suite_identifier.name == spec.qualified_name:
            context.validation_results_store.set(key, result)
            new_pages.append(key)
    # Render only this run's pages (older ones are already HTML); the index still lists them all.
    rendering_since = time.time() - 1.0
    context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=new_pages)
    index = docs_dir / "index.html"
    if not index.is_file():
        raise RuntimeError(f"GX did not write Data Docs to {index}")
    # Offline: the pages just written load the assets the hub ships, not CDNs, and no S3 logo beacon.
    from crmhub.quality.offline import localize_site

    rendered = [p for p in docs_dir.rglob("*.html") if p.stat().st_mtime >= rendering_since]
    localize_site(docs_dir, [index, *rendered], once_all=True)
    return index
