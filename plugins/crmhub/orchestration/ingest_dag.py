"""Build one ingest DAG per configured source (the DAG file only loops over the config)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, get_current_context, task

from crmhub.config import SourceConfig
from crmhub.orchestration.assets import raw_asset
from crmhub.orchestration.defaults import START_DATE, default_args

log = logging.getLogger(__name__)

DOC = """\
### Ingest `{name}` ({connector})

Pulls **{objects}** from {origin} and lands every record's raw payload, append-only,
in `raw.payloads` with its load metadata (source, run, extraction time, payload hash). Publishes one
Asset per object; the `crmhub_reconcile` DAG runs when any of them is updated.

* **Window**: the run's data interval, widened back by {overlap} of overlap, and never starting after
  the end of the last successful run's interval (a failed run is pulled again). The first pull of an
  object (nothing landed yet, or no successful run yet) or a run with `full_refresh=true` pulls everything.
* **Rate limits**: {rate_limits}; 429s are waited out page by page, as the vendor's headers say.
  Pool `{pool}` ({pool_size} slots) caps concurrent calls to this API.
* **Safety**: a record that cannot be read is quarantined (`audit.quarantine`) and the rest lands; a
  page that stays unreadable after retries fails the task naming source, endpoint and page, after the
  pages fetched before it have landed. Re-runs land nothing twice.
* **Quality**: before landing, the pull passes the raw Great Expectations suite of the source
  (`include/gx/raw_<source>_<object>.json`); a blocking failure stops the task with nothing landed.
"""


def build_ingest_dag(source: SourceConfig) -> DAG:
    """One DAG with one task per object type, in the configured order."""
    with DAG(
        dag_id=f"crmhub_ingest_{source.name}",
        description=f"Pull {', '.join(source.objects)} from {source.name} into the raw layer",
        doc_md=DOC.format(
            name=source.name,
            connector=source.connector,
            objects=", ".join(source.objects),
            origin=f"the `{source.conn_id}` Connection" if source.conn_id else "its configured folder",
            overlap=source.overlap,
            pool=source.pool,
            pool_size=source.pool_size,
            rate_limits=", ".join(
                f"{r['requests']} requests per {r['per_seconds']:g} s"
                + (f" on {', '.join(r['paths'])}" if r["paths"] else "")
                for r in source.rate_limits
            )
            or "none configured",
        ),
        schedule=CronDataIntervalTimetable(source.schedule, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(source.owner),
        tags=["crmhub", "ingest", *source.tags],
        params={"full_refresh": Param(False, type="boolean", description="Pull everything, not just the interval")},
    ) as dag:
        previous = None
        for object_type in source.objects:
            current = _extract_task(source, object_type)
            if previous is not None:
                previous >> current
            previous = current
    return dag


def _extract_task(source: SourceConfig, object_type: str) -> Any:
    @task(
        task_id=f"extract_{object_type}",
        pool=source.pool,
        pool_slots=source.pool_slots,
        outlets=[raw_asset(source.name, object_type)],
        doc_md=f"Extract `{object_type}` from `{source.name}` and land the raw payloads.",
    )
    def extract() -> dict[str, Any]:
        from crmhub.orchestration.hooks import SourceHook
        from crmhub.orchestration.resources import data_dir, open_warehouse
        from crmhub.stages.ingest import ingest, pull_window

        context = get_current_context()
        connector = SourceHook.for_source(source)
        with open_warehouse() as warehouse:
            landed_before = warehouse.has_raw(source.name, object_type)
            # the watermark is the last successful run: a failed run may have landed part of its pull
            last_success_end = _moment(context.get("prev_data_interval_end_success"))
            has_succeeded = last_success_end is not None or _moment(context.get("prev_start_date_success")) is not None
            full = bool(context["params"].get("full_refresh")) or not landed_before or not has_succeeded
            window = pull_window(
                context["data_interval_start"],
                context["data_interval_end"],
                source.overlap,
                full=full,
                last_success_end=last_success_end,
            )
            log.info(
                "%s/%s: %s pull, window %s .. %s",
                source.name,
                object_type,
                "full" if full else "incremental",
                window.since,
                window.until,
            )
            stats = ingest(
                connector, object_type, window, warehouse, context["run_id"], docs_dir=data_dir() / "data_docs"
            )
        return stats.as_dict()

    return extract()


def _moment(value: Any) -> datetime | None:
    """A context date as a plain datetime (the task SDK hands lazy proxies, also around None)."""
    return value + timedelta(0) if isinstance(value, datetime) else None
