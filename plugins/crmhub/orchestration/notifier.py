"""The hub's alerting in Airflow terms: a failure notifier on every task, a deadline-miss callback.

Both read the ``crmhub_alerts`` Connection at send time (so it can be added or changed without a
redeploy) and build the message in :mod:`crmhub.ops.notify`, which puts no personal data in it.
Without the Connection, alerts are only logged: a development setup needs no mail server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

from airflow.sdk import BaseNotifier

from crmhub.ops.notify import Alert, Channel, send

log = logging.getLogger(__name__)

ALERTS_CONN_ID = "crmhub_alerts"


def alert_channel(conn_id: str = ALERTS_CONN_ID) -> Channel | None:
    """The channel the Connection describes, or ``None`` when it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return Channel.from_connection(
        conn.conn_type, conn.host, conn.port, conn.schema, conn.login, conn.password, conn.extra_dejson
    )


def deliver(alert: Alert, conn_id: str = ALERTS_CONN_ID) -> bool:
    """Send ``alert`` if a channel is configured; a delivery failure is logged, never raised."""
    try:
        channel = alert_channel(conn_id)
        if channel is None:
            log.warning("%s (no %s Connection, alert only logged)", alert.subject, conn_id)
            return False
        send(alert, channel)
    except Exception as exc:  # an alert must never turn into a second failure
        log.error("could not deliver alert %r via %s: %s", alert.subject, conn_id, type(exc).__name__)
        return False
    log.info("alert sent via %s: %s", conn_id, alert.subject)
    return True


class CrmhubAlertNotifier(BaseNotifier):
    """``on_failure_callback`` for every hub task: DAG, task, run, try number and log link."""

    def __init__(self, conn_id: str = ALERTS_CONN_ID) -> None:
        super().__init__()
        self.conn_id = conn_id

    def notify(self, context: Any) -> None:
        ti = context.get("ti") or context.get("task_instance")
        exception = context.get("exception")
        alert = Alert(
            kind="task_failed",
            dag_id=str(getattr(ti, "dag_id", "?")),
            run_id=str(getattr(ti, "run_id", "?")),
            task_id=str(getattr(ti, "task_id", "?")),
            try_number=getattr(ti, "try_number", None),
            log_url=getattr(ti, "log_url", None),
            error_type=type(exception).__name__ if exception is not None else None,
        )
        deliver(alert, self.conn_id)


def _run_url(dag_id: str, run_id: str) -> str:
    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return f"{base.rstrip('/')}/dags/{quote(dag_id)}/runs/{quote(run_id)}"


async def deadline_missed(context: dict[str, Any] | None = None, conn_id: str = ALERTS_CONN_ID) -> None:
    """Deadline-alert callback (runs in the triggerer): the run was not done in time."""
    dag_run = (context or {}).get("dag_run") or {}
    deadline = (context or {}).get("deadline") or {}
    dag_id = str(dag_run.get("dag_id", "?"))
    run_id = str(dag_run.get("dag_run_id") or dag_run.get("run_id") or "?")
    alert = Alert(
        kind="deadline_missed",
        dag_id=dag_id,
        run_id=run_id,
        log_url=_run_url(dag_id, run_id),
        deadline=str(deadline.get("deadline_time", "?")),
    )
    await asyncio.to_thread(deliver, alert, conn_id)
