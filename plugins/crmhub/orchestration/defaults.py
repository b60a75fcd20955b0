"""Defaults every hub DAG shares: owner, retries, the retry policy, failure alerts, the deadline,
and what every task writes to its log besides its own lines.

Retries come from the environment so tests and the demo can fail fast; in production the defaults
(2 retries, 5 minutes apart) ride out transient vendor trouble.

Task logs: when a hub task starts, chatty libraries (Great Expectations, urllib3, httpx, ...) are
turned down to WARNING in that task's process (:func:`quiet_libraries`; the rest of Airflow is left
as configured), and every task's log ends with one summary line of counts, never values:
``crmhub summary: dag=... task=... status=success records=120 pages=2 landed=118 quarantined=0 seconds=4.2``
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import (
    AsyncCallback,
    DeadlineAlert,
    DeadlineReference,
    ExceptionRetryPolicy,
    RetryAction,
    RetryRule,
)

from crmhub.orchestration.notifier import ALERTS_CONN_ID, CrmhubAlertNotifier, deadline_missed

log = logging.getLogger(__name__)

START_DATE = datetime(2026, 1, 1)

# Bad configuration and failed quality gates do not get better by trying again.
RETRY_POLICY = ExceptionRetryPolicy(
    rules=[
        RetryRule(exception="crmhub.errors.ConfigError", action=RetryAction.FAIL, reason="bad config"),
        RetryRule(exception="crmhub.errors.QualityGateFailed", action=RetryAction.FAIL, reason="gate"),
    ]
)


def log_failure(context: dict[str, Any]) -> None:
    """Say which task of which run failed, never what data it held."""
    ti = context.get("ti") or context.get("task_instance")
    log.error(
        "crmhub task failed: dag=%s task=%s run=%s try=%s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        getattr(ti, "run_id", "?"),
        getattr(ti, "try_number", "?"),
    )


#: Libraries whose INFO lines drown a task's own (GX alone logs ~200 "Skipping registering function"
#: lines on import); in hub tasks they log from WARNING up.
CHATTY_LOGGERS: tuple[str, ...] = (
    "great_expectations",
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "filelock",
    "fsspec",
    "numexpr",
    "msal",
    "azure",
    "simple_salesforce",
    "hubspot",
    "PowerPlatform",
    "tzlocal",
    "asyncio",
)

#: Counts a summary line shows first (others follow in name order); anything not a number is left out.
SUMMARY_FIRST: tuple[str, ...] = ("records", "pages", "landed", "quarantined")
SUMMARY_MAX_FIELDS = 8

_started: dict[tuple[str, ...], float] = {}
_results: dict[tuple[str, ...], Any] = {}


def quiet_libraries(level: int = logging.WARNING) -> None:
    """Raise the threshold of :data:`CHATTY_LOGGERS` (only ever up: a WARNING-only setup stays so)."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < level:
            logger.setLevel(level)


def _ti_key(context: Any) -> tuple[str, ...]:
    ti = context.get("ti") or context.get("task_instance")
    return tuple(str(getattr(ti, name, "?")) for name in ("dag_id", "task_id", "run_id", "map_index", "try_number"))


def task_started(context: Any) -> None:
    """``on_execute_callback`` of every hub task: quiet the libraries, start the task's clock."""
    quiet_libraries()
    _started[_ti_key(context)] = time.monotonic()


def keep_result(context: Any, result: Any = None) -> None:
    """``post_execute`` hook: keep the return value for the summary line (nothing is logged here)."""
    _results[_ti_key(context)] = result


def summary_fields(result: Any) -> dict[str, int | float]:
    """The numbers of a task's return value: top-level ints and floats only (no text, no nesting).

    :data:`SUMMARY_FIRST` counts come first whenever present; other counts only when not zero, in name
    order, up to :data:`SUMMARY_MAX_FIELDS` in all. The task's own ``seconds`` is added by the caller.
    """
    if isinstance(result, bool):
        return {}
    if isinstance(result, int | float):
        return {"result": result}
    if not isinstance(result, dict):
        return {}
    numbers = {
        str(k): v
        for k, v in result.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and str(k) != "seconds"
    }
    ordered = [k for k in SUMMARY_FIRST if k in numbers]
    ordered += sorted(k for k, v in numbers.items() if k not in SUMMARY_FIRST and v)
    return {k: numbers[k] for k in ordered[:SUMMARY_MAX_FIELDS]}


def summary_line(dag_id: str, task_id: str, status: str, fields: dict[str, int | float], seconds: float | None) -> str:
    parts = [f"crmhub summary: dag={dag_id} task={task_id} status={status}"]
    parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()]
    if seconds is not None:
        parts.append(f"seconds={seconds:.1f}")
    return " ".join(parts)


def _log_summary(context: Any, status: str) -> None:
    key = _ti_key(context)
    started = _started.pop(key, None)
    result = _results.pop(key, None)
    fields = summary_fields(result) if status == "success" else {}
    exception = context.get("exception")
    if status != "success" and exception is not None:
        status = f"{status} error={type(exception).__name__}"
    seconds = time.monotonic() - started if started is not None else None
    log.info(summary_line(key[0], key[1], status, fields, seconds))


def log_success_summary(context: Any) -> None:
    """``on_success_callback``: the task log's last line, the counts of what the task did."""
    _log_summary(context, "success")


def log_failure_summary(context: Any) -> None:
    """Last ``on_failure_callback``: the summary of a failed task (its error type, its seconds)."""
    _log_summary(context, "failed")


def log_retry_summary(context: Any) -> None:
    """``on_retry_callback``: the summary of a try that will be retried."""
    _log_summary(context, "up_for_retry")


def default_args(owner: str = "crmhub") -> dict[str, Any]:
    return {
        "owner": owner,
        "retries": int(os.environ.get("CRMHUB_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("CRMHUB_RETRY_DELAY_SECONDS", "300"))),
        "retry_exponential_backoff": True,
        "retry_policy": RETRY_POLICY,
        "on_execute_callback": [task_started],
        "post_execute": keep_result,
        "on_success_callback": [log_success_summary],
        "on_retry_callback": [log_retry_summary],
        "on_failure_callback": [log_failure, CrmhubAlertNotifier(ALERTS_CONN_ID), log_failure_summary],
    }


#: How long after new data lands (the reconcile run is queued) the warehouse must be fresh.
FRESHNESS_ENV = "CRMHUB_FRESHNESS_MINUTES"
DEFAULT_FRESHNESS_MINUTES = 120.0


def _under_dags_test() -> bool:
    """``airflow dags test`` runs without a scheduler (so no deadline could fire) and Airflow 3.3.2
    crashes finishing such a run when the DAG has a deadline (``DeadlineAlert.get_by_id`` is handed the
    unserialized alert): leave deadlines out in that one command."""
    return sys.argv[1:3] == ["dags", "test"]


def freshness_deadline() -> DeadlineAlert | None:
    """Deadline alert for the reconcile DAG: alert when a run is not done N minutes after queueing.

    The reconcile DAG runs on Assets, so "fresh by 06:00" is expressed relative to the data landing
    (ingest runs at 02:00 + 240 minutes = 06:00). Set ``CRMHUB_FRESHNESS_MINUTES`` (fractions allowed).
    """
    if _under_dags_test():
        return None
    minutes = float(os.environ.get(FRESHNESS_ENV, DEFAULT_FRESHNESS_MINUTES))
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(deadline_missed, kwargs={"conn_id": ALERTS_CONN_ID}),
        name="crmhub_warehouse_freshness",
    )
