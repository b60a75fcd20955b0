"""Defaults every hub DAG shares: owner, retries, the retry policy, failure alerts, the deadline.

Retries come from the environment so tests and the demo can fail fast; in production the defaults
(2 retries, 5 minutes apart) ride out transient vendor trouble.
"""

from __future__ import annotations

import logging
import os
import sys
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


def default_args(owner: str = "crmhub") -> dict[str, Any]:
    return {
        "owner": owner,
        "retries": int(os.environ.get("CRMHUB_RETRIES", "2")),
        "retry_delay": timedelta(seconds=int(os.environ.get("CRMHUB_RETRY_DELAY_SECONDS", "300"))),
        "retry_exponential_backoff": True,
        "retry_policy": RETRY_POLICY,
        "on_failure_callback": [log_failure, CrmhubAlertNotifier(ALERTS_CONN_ID)],
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
