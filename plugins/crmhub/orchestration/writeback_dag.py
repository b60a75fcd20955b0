"""Build the write-back DAG: after every reconcile load, routed messages go back to the CRMs."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task

from crmhub.orchestration.assets import WAREHOUSE_ASSET
from crmhub.orchestration.defaults import START_DATE, default_args

log = logging.getLogger(__name__)

DAG_ID = "crmhub_writeback"
DOC = """\
### Write back to the CRMs

Runs after every reconcile load (the warehouse Asset) and on demand. For each routed social message
(`core.routing_queue`) not written yet: a follow-up (task, or case for service where the CRM has
them) in the CRM of the person's leading CRM record, and the person's social handle and followers on
that contact where `include/config/precedence.yaml` lets the social source lead, or the CRM's field
is empty. A CRM-leading value is never overwritten.

Idempotent: one key per message; a rerun, a retry or a run killed after the vendor's answer never
writes a second record. Every attempt is a row of `audit.writeback_attempts` (created, updated,
skipped_already_written, skipped_by_precedence, failed with reason, dry_run); the log ends with the
counts per status.

**Params**: `dry_run` stores and prints what would be written and calls no CRM; `retry_failed`
tries again the failures a steward has fixed (a restored contact). Turn write-back off in
`include/config/writeback.yaml` (`enabled: false`, or per CRM). See docs/operations.md.
"""


def build_writeback_dag() -> DAG:
    with DAG(
        dag_id=DAG_ID,
        description="Follow-ups and social fields back to the CRMs, once per routed message",
        doc_md=DOC,
        schedule=[WAREHOUSE_ASSET],
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        params={
            "dry_run": Param(False, type="boolean", description="print and store what would be written only"),
            "retry_failed": Param(False, type="boolean", description="retry failures a steward has fixed"),
        },
        tags=["crmhub", "writeback", "crm"],
    ) as dag:

        @task(doc_md="Write routed messages back to the CRMs; one row per attempt in audit.writeback_attempts.")
        def write_back() -> dict[str, Any]:
            from crmhub.config import load_sources
            from crmhub.orchestration.hooks import SourceHook
            from crmhub.orchestration.resources import warehouse_url
            from crmhub.stages.writeback import run_writeback
            from crmhub.warehouse import connect_warehouse

            context = get_current_context()
            params = context["params"]
            url = warehouse_url()
            with connect_warehouse(url) as warehouse:  # migrated once; closed so a load can take a DuckDB file
                warehouse.migrate()
            report = run_writeback(
                lambda: connect_warehouse(url),
                load_sources(),
                SourceHook.for_source,
                run_id=context["run_id"],
                dry_run=bool(params.get("dry_run")),
                retry_failed=bool(params.get("retry_failed")),
                echo=log.info,
            )
            return report.as_dict()

        write_back()
    return dag
