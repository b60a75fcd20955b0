"""Defaults every hub DAG shares: owner, retries, the retry policy and the failure log line.

Retries come from the environment so tests and the demo can fail fast; in production the defaults
(2 retries, 5 minutes apart) ride out transient vendor trouble.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

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
        "on_failure_callback": log_failure,
    }
