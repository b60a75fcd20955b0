"""Build the operations DAGs: GDPR erasure (triggered with a parameter) and retention (daily)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, CronTriggerTimetable, Param, get_current_context, task

from crmhub.config import SourceConfig
from crmhub.orchestration.defaults import START_DATE, default_args

ERASURE_DOC = """\
### GDPR erasure of one person

Trigger with **exactly one** of `request_id` (from `python -m crmhub.ops.erasure_requests email|phone`,
which stores the identifier in a request file this DAG deletes) or `golden_id`. An `email` or `phone`
in the conf is refused: Airflow would keep it in plain text with the DAG run.

1. **erase_from_hub**: notes the person's vendor record IDs, then erases the person from the warehouse
   (every table in `crmhub.ops.personal_tables`), the run files, Data Docs and the file-drop folders; adds keyed
   hashes to the suppression list; searches every table and file for their e-mail and phone and fails
   if anything is left; writes one `audit.erasure_log` row with counts only; deletes the request file.
2. **request_vendor_deletion** (runs even if step 1 failed): asks each source to delete the noted
   records where its API allows (HubSpot: GDPR delete), through the same Connection and TLS settings as
   ingest. A vendor failure fails this task loudly; the records stay noted and are retried.
3. **erasure_complete**: succeeds only if both did, so the run's state says whether the erasure is done.

Task logs and XComs carry counts, never the identifier. See docs/operations.md.
"""

RETENTION_DOC = """\
### Retention

Daily. Deletes raw payloads extracted more than `raw_days` ago **except the newest version of every
source record** (so reconcile replays exactly what it loaded, and history in the core SCD2 tables is
untouched), removes run folders (`data/runs/<run_id>`) older than `run_days`, deletes processed and
rejected file-drop exports older than `drop_days`, and retries vendor deletions that an erasure could
not complete. Defaults from `CRMHUB_RAW_RETENTION_DAYS` / `CRMHUB_RUN_RETENTION_DAYS` /
`CRMHUB_DROP_RETENTION_DAYS`.
"""


def build_erasure_dag(sources: dict[str, SourceConfig]) -> DAG:
    with DAG(
        dag_id="crmhub_gdpr_erasure",
        description="Erase one person (e-mail, phone or golden ID) everywhere; audit without personal data",
        doc_md=ERASURE_DOC,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["crmhub", "ops", "gdpr"],
        params={
            "request_id": Param(
                "", type="string", description="Request id from `python -m crmhub.ops.erasure_requests`"
            ),
            "golden_id": Param("", type="string", description="Golden ID of the person (instead of a request id)"),
        },
        render_template_as_native_obj=False,
    ) as dag:

        @task(doc_md="Erase the person from the warehouse, run files and drop folders; prove it; audit.")
        def erase_from_hub() -> dict[str, Any]:
            from crmhub.ops.erasure_flow import erase_from_hub as run
            from crmhub.orchestration.resources import data_dir, open_warehouse

            context = get_current_context()
            params = {**dict(context["dag_run"].conf or {}), **dict(context["params"])}
            with open_warehouse() as warehouse:
                return run(warehouse, params, sources, data_dir(), run_id=context["run_id"])

        @task(
            doc_md="Ask the source systems to delete the person's noted records where their API allows it.",
            trigger_rule="all_done",
        )
        def request_vendor_deletion() -> dict[str, Any]:
            from crmhub.ops.erasure_flow import delete_at_vendors
            from crmhub.orchestration.hooks import SourceHook
            from crmhub.orchestration.resources import data_dir, open_warehouse

            with open_warehouse() as warehouse:  # vendors reached exactly as ingest reaches them
                return delete_at_vendors(warehouse, sources, data_dir(), connect=SourceHook.for_source)

        @task(doc_md="Succeeds only when the hub erasure and every vendor deletion succeeded (the run's state).")
        def erasure_complete(erased: dict[str, Any], vendor_requests: dict[str, Any]) -> dict[str, Any]:
            return {"erasure_id": erased["erasure_id"], "status": erased["status"], "vendors": len(vendor_requests)}

        erased = erase_from_hub()
        vendor_requests = request_vendor_deletion()
        erased >> vendor_requests
        erasure_complete(erased, vendor_requests)
    return dag


def build_retention_dag() -> DAG:
    from crmhub.ops.drop_files import DEFAULT_DROP_DAYS, DROP_DAYS_ENV
    from crmhub.ops.retention import DEFAULT_RAW_DAYS, DEFAULT_RUN_DAYS, RAW_DAYS_ENV, RUN_DAYS_ENV

    def days(env: str, default: float, description: str) -> Param:
        return Param(float(os.environ.get(env, default)), type="number", minimum=0, description=description)

    with DAG(
        dag_id="crmhub_retention",
        description="Prune superseded raw payloads, old run folders and old drop files; retry vendor deletions",
        doc_md=RETENTION_DOC,
        schedule=CronTriggerTimetable("30 4 * * *", timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["crmhub", "ops", "gdpr"],
        params={
            "raw_days": days(RAW_DAYS_ENV, DEFAULT_RAW_DAYS, "Prune raw payloads extracted longer ago (newest kept)"),
            "run_days": days(RUN_DAYS_ENV, DEFAULT_RUN_DAYS, "Remove run folders older than this"),
            "drop_days": days(DROP_DAYS_ENV, DEFAULT_DROP_DAYS, "Delete processed/rejected drop files older than this"),
        },
    ) as dag:

        @task(doc_md="Delete raw payloads past retention, keeping the newest version of every record.")
        def prune_raw_payloads() -> int:
            from crmhub.ops.retention import prune_raw
            from crmhub.orchestration.resources import open_warehouse

            context = get_current_context()
            with open_warehouse() as warehouse:
                return prune_raw(
                    warehouse, timedelta(days=float(context["params"]["raw_days"])), run_id=context["run_id"]
                )

        @task(doc_md="Remove run folders (Parquet hand-over files) past retention.")
        def prune_run_folders() -> int:
            from crmhub.ops.retention import prune_runs
            from crmhub.orchestration.resources import data_dir

            context = get_current_context()
            return prune_runs(data_dir(), timedelta(days=float(context["params"]["run_days"])))

        @task(doc_md="Delete processed and rejected file-drop exports past retention.")
        def prune_drop_files() -> int:
            from crmhub.ops.retention import prune_drop_files as prune
            from crmhub.orchestration.resources import data_dir

            context = get_current_context()
            return prune(data_dir(), timedelta(days=float(context["params"]["drop_days"])))

        @task(doc_md="Retry vendor deletions an erasure could not complete (fails loudly while a vendor refuses).")
        def retry_vendor_deletions() -> dict[str, Any]:
            from crmhub.config import load_sources
            from crmhub.ops.erasure_flow import delete_at_vendors
            from crmhub.orchestration.hooks import SourceHook
            from crmhub.orchestration.resources import data_dir, open_warehouse

            with open_warehouse() as warehouse:
                return delete_at_vendors(warehouse, load_sources(), data_dir(), connect=SourceHook.for_source)

        prune_raw_payloads() >> prune_run_folders() >> prune_drop_files()
        retry_vendor_deletions()
    return dag
