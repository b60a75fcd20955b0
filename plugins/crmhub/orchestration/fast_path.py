"""Build the fast-path DAGs (issue 17): small social pulls every few minutes, webhook-driven pulls.

- ``crmhub_fast_pull_<source>``: every ``every_minutes`` (``fast_path.pull`` in sources.yaml), an
  incremental pull of the configured objects (messages). A pull that lands nothing new is *skipped*,
  so it publishes no Asset event and starts no reconcile: only new data costs a reconcile run.
- ``crmhub_fast_push_<source>``: scheduled on an Asset whose AssetWatcher listens on a Redis pub/sub
  channel (``MessageQueueTrigger``, scheme ``redis+pubsub``, run by the triggerer) or, as a backstop,
  every ``backstop_minutes``. It drains the event batches the webhook endpoint queued
  (:mod:`crmhub.orchestration.webhook_app`), pulls the objects they name since the earliest event
  (minus the source's overlap) and publishes their raw Assets, which start ``crmhub_reconcile``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import (
    DAG,
    Asset,
    AssetOrTimeSchedule,
    AssetWatcher,
    CronDataIntervalTimetable,
    CronTriggerTimetable,
    get_current_context,
    task,
)

from crmhub.config import SourceConfig
from crmhub.ops.fast_path import PullSpec, PushSpec
from crmhub.orchestration.assets import raw_asset
from crmhub.orchestration.defaults import START_DATE, default_args

log = logging.getLogger(__name__)

#: Airflow Connection of the Redis that carries webhook events (e.g. ``redis://redis:6379/2``);
#: the API server, the triggerer and the workers all need it
REDIS_CONN_ID = "crmhub_redis"
#: how often the watcher asks Redis for a message (seconds); the default of the provider is 60
WATCH_POLL_SECONDS = 1.0

PULL_DOC = """\
### Fast pull `{name}` (every {every} min)

Part of the fast path (docs/operations.md, "Fast path"): pulls **{objects}** from `{name}` since the
last successful pull (minus {overlap} of overlap), every {every} minute(s), using at most a share of the
source's rate limits (checked when `include/config/sources.yaml` is loaded). A pull that lands nothing
new is **skipped**: no Asset event, no reconcile. New messages publish the raw Asset and
`crmhub_reconcile` follows, so a complaint reaches `mart.marketing_suppression` within minutes.
The daily `crmhub_ingest_{name}` still pulls everything else; the first (full) pull is its job.
Turn off: `fast_path.enabled: false` or `CRMHUB_FAST_PATH=off`.
"""

PUSH_DOC = """\
### Fast push `{name}` (webhooks)

Triggered by the `{asset}` Asset, whose watcher (run by the triggerer) listens on the Redis pub/sub
channel `{channel}`; the API server's `/crmhub-webhooks/{name}` endpoint publishes there after it
verified a webhook's signature (HubSpot v3) and queued the event batch in the Redis list. Also runs every
{backstop} minutes as a backstop (a wake-up published while the watcher restarted is not kept by pub/sub;
the list is). Drains the queue, pulls **{objects}** (those the events name) since the earliest event
minus the overlap, publishes their raw Assets (`crmhub_reconcile` follows). Nothing queued and nothing
new: skipped. A failing pull puts the batches back. Turn off: `CRMHUB_FAST_PATH=off`.
"""


def build_fast_pull_dag(source: SourceConfig, pull: PullSpec) -> DAG:
    """One small, frequent pull of a social source's messages."""
    with DAG(
        dag_id=f"crmhub_fast_pull_{source.name}",
        description=f"Fast path: pull new {', '.join(pull.objects)} from {source.name} every {pull.every_minutes} min",
        doc_md=PULL_DOC.format(
            name=source.name, every=pull.every_minutes, objects=", ".join(pull.objects), overlap=source.overlap
        ),
        schedule=CronDataIntervalTimetable(pull.cron, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(source.owner),
        tags=["crmhub", "fast_path", *source.tags],
    ) as dag:
        previous = None
        for object_type in pull.objects:
            current = _pull_task(source, object_type)
            if previous is not None:
                previous >> current
            previous = current
    return dag


def _pull_task(source: SourceConfig, object_type: str) -> Any:
    @task(
        task_id=f"pull_{object_type}",
        pool=source.pool,
        pool_slots=source.pool_slots,
        outlets=[raw_asset(source.name, object_type)],
        trigger_rule="none_failed",  # a skipped (empty) pull of one object does not skip the next
        doc_md=f"Incremental pull of `{object_type}` from `{source.name}`; skipped when nothing new landed.",
    )
    def pull() -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from crmhub.orchestration.hooks import SourceHook
        from crmhub.orchestration.resources import data_dir, open_warehouse
        from crmhub.stages.ingest import ingest, pull_window

        context = get_current_context()
        with open_warehouse() as warehouse:
            if not warehouse.has_raw(source.name, object_type):
                raise AirflowSkipException("nothing landed yet: the first (full) pull is the daily ingest's")
            last = context.get("prev_data_interval_end_success")
            last_success_end = last + timedelta(0) if isinstance(last, datetime) else None
            window = pull_window(
                context["data_interval_start"],
                context["data_interval_end"],
                source.overlap,
                full=False,
                last_success_end=last_success_end,
            )
            stats = ingest(
                SourceHook.for_source(source),
                object_type,
                window,
                warehouse,
                context["run_id"],
                docs_dir=data_dir() / "data_docs",
            )
        if stats.landed == 0:
            raise AirflowSkipException(f"{source.name}/{object_type}: nothing new ({stats.records} records seen)")
        return stats.as_dict()

    return pull()


def webhook_asset(push: PushSpec) -> Asset:
    """The Asset a webhook event updates: watched on the source's Redis pub/sub channel."""
    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    trigger = MessageQueueTrigger(
        scheme="redis+pubsub",
        channels=[push.channel],
        redis_conn_id=REDIS_CONN_ID,
        poll_interval=WATCH_POLL_SECONDS,
    )
    return Asset(
        name=f"crmhub_webhooks_{push.source}",
        uri=f"crmhub://webhooks/{push.source}",
        watchers=[AssetWatcher(name=f"crmhub_webhooks_{push.source}_watcher", trigger=trigger)],
    )


def build_fast_push_dag(source: SourceConfig, push: PushSpec) -> DAG:
    """The DAG a webhook wakes: drain the queue, pull what the events name."""
    asset = webhook_asset(push)
    backstop = "* * * * *" if push.backstop_minutes == 1 else f"*/{push.backstop_minutes} * * * *"
    with DAG(
        dag_id=f"crmhub_fast_push_{source.name}",
        description=f"Fast path: pull what {source.name}'s webhooks say changed",
        doc_md=PUSH_DOC.format(
            name=source.name,
            asset=asset.name,
            channel=push.channel,
            backstop=push.backstop_minutes,
            objects=", ".join(push.objects),
        ),
        schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(backstop, timezone="UTC"), assets=asset),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(source.owner),
        tags=["crmhub", "fast_path", "webhooks", *source.tags],
    ) as dag:

        @task(
            task_id="pull_changes",
            pool=source.pool,
            pool_slots=source.pool_slots,
            outlets=[raw_asset(source.name, obj) for obj in push.objects],
            doc_md="Drain the webhook queue and pull the objects the events name; skipped when nothing is new.",
        )
        def pull_changes() -> dict[str, Any]:
            from airflow.sdk.exceptions import AirflowSkipException

            from crmhub.ops import fast_path

            redis = redis_client()
            batches = fast_path.drain(redis, push)
            try:
                result = _pull_changes(source, push, batches)
            except Exception:
                fast_path.requeue(redis, push, batches)
                raise
            if result["landed"] == 0:
                raise AirflowSkipException(f"{len(batches)} queued batches, nothing new landed")
            return result

        pull_changes()
    return dag


def _pull_changes(source: SourceConfig, push: PushSpec, batches: list[dict[str, Any]]) -> dict[str, Any]:
    from crmhub.connectors.base import Window
    from crmhub.orchestration.hooks import SourceHook
    from crmhub.orchestration.resources import data_dir, open_warehouse
    from crmhub.stages.ingest import ingest

    context = get_current_context()
    now = datetime.now(UTC)
    named = {obj for b in batches for obj in b.get("objects", [])}
    objects = [obj for obj in push.objects if obj in named] if batches else []
    stamps = [b["earliest_ms"] for b in batches if isinstance(b.get("earliest_ms"), int)]
    received = [b["received_ms"] for b in batches if isinstance(b.get("received_ms"), int)]
    earliest = min(stamps + received, default=None)
    since = datetime.fromtimestamp(earliest / 1000, UTC) if earliest is not None else now
    window = Window(since=since - source.overlap, until=now)
    landed = records = 0
    connector = SourceHook.for_source(source)
    with open_warehouse() as warehouse:
        for object_type in objects:
            if not warehouse.has_raw(source.name, object_type):
                continue  # the first (full) pull is the daily ingest's
            stats = ingest(
                connector, object_type, window, warehouse, context["run_id"], docs_dir=data_dir() / "data_docs"
            )
            landed += stats.landed
            records += stats.records
    log.info(
        "%s webhooks: %d batches (%d events), pulled %s: %d records, %d new",
        source.name, len(batches), sum(int(b.get("events", 0)) for b in batches), objects or "nothing", records, landed,
    )  # fmt: skip
    return {"records": records, "landed": landed, "batches": len(batches), "objects": len(objects)}


def redis_client() -> Any:
    """A redis-py client for the ``crmhub_redis`` Connection (tasks and the API server alike)."""
    import redis

    from crmhub.orchestration.webhook_app import connection

    conn = connection(REDIS_CONN_ID)
    extra = conn.extra_dejson or {}
    db = extra.get("db", conn.schema or 0)
    return redis.Redis(
        host=conn.host or "127.0.0.1",
        port=int(conn.port or 6379),
        db=int(db or 0),
        username=conn.login or None,
        password=conn.password or None,
        ssl=bool(extra.get("ssl", False)),
        socket_timeout=5,
    )
