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

Trigger with **exactly one** of `email`, `phone` (any format; read as E.164) or `golden_id`.

1. **request_vendor_deletion**: asks each source to delete the person's records where its API allows
   (HubSpot: GDPR delete, permanent); sources without such an API are recorded as *not supported*.
2. **erase_from_hub**: in one transaction, deletes the person from raw payloads, every golden version,
   the cross-reference, interactions, lineage and conflicts, plus every table registered in
   `crmhub.ops.registry` (quarantine, steward review); redacts mentions in other rows; adds keyed hashes
   of their identifiers to the suppression list so the next ingest does not bring them back; scrubs
   the run files in `data/runs/` and Data Docs; writes one `audit.erasure_log` row with counts only.

Task logs and XComs carry counts, never the identifier. The trigger's conf itself stays in Airflow's
metadata DB: prefer the golden ID, and clear old DAG runs (`airflow db clean`) per your policy.
"""

RETENTION_DOC = """\
### Retention

Daily. Deletes raw payloads extracted more than `raw_days` ago **except the newest version of every
source record** (so reconcile replays exactly what it loaded, and history in the core SCD2 tables is
untouched), and removes run folders (`data/runs/<run_id>`) older than `run_days`.
Defaults from `CRMHUB_RAW_RETENTION_DAYS` / `CRMHUB_RUN_RETENTION_DAYS`.
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
            "email": Param("", type="string", description="E-mail address of the person"),
            "phone": Param("", type="string", description="Phone number of the person"),
            "golden_id": Param("", type="string", description="Golden ID of the person"),
        },
        render_template_as_native_obj=False,
    ) as dag:

        @task(doc_md="Ask the source systems to delete the person where their API allows it.")
        def request_vendor_deletion() -> dict[str, Any]:
            from crmhub.ops.erasure import ErasureRequest, find_subject
            from crmhub.ops.vendors import request_deletion
            from crmhub.orchestration.hooks import SourceHook
            from crmhub.orchestration.resources import open_warehouse

            request = ErasureRequest.from_params(dict(get_current_context()["params"]))
            with open_warehouse() as warehouse:
                subject = find_subject(warehouse, request)
            results: dict[str, Any] = {}
            for source in sources.values():
                ids = subject.source_ids(source.name)
                if not ids:
                    continue
                hook = SourceHook(http_conn_id=source.conn_id)
                session, credentials = hook.session_and_credentials()
                results[source.name] = request_deletion(
                    source.connector, session, hook.base_url, credentials.password, ids
                )
            return results

        @task(doc_md="Erase the person from the warehouse and run files; suppress; audit.")
        def erase_from_hub(vendor_requests: dict[str, Any]) -> dict[str, Any]:
            from crmhub.ops.erasure import ErasureRequest, erase
            from crmhub.orchestration.resources import data_dir, open_warehouse

            context = get_current_context()
            request = ErasureRequest.from_params(dict(context["params"]))
            with open_warehouse() as warehouse:
                return erase(warehouse, request, data_dir(), run_id=context["run_id"], vendor_requests=vendor_requests)

        erase_from_hub(request_vendor_deletion())
    return dag


def build_retention_dag() -> DAG:
    from crmhub.ops.retention import DEFAULT_RAW_DAYS, DEFAULT_RUN_DAYS, RAW_DAYS_ENV, RUN_DAYS_ENV

    with DAG(
        dag_id="crmhub_retention",
        description="Prune superseded raw payloads and old run folders",
        doc_md=RETENTION_DOC,
        schedule=CronTriggerTimetable("30 4 * * *", timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["crmhub", "ops", "gdpr"],
        params={
            "raw_days": Param(
                float(os.environ.get(RAW_DAYS_ENV, DEFAULT_RAW_DAYS)),
                type="number",
                minimum=0,
                description="Prune raw payloads extracted longer ago than this (newest per record kept)",
            ),
            "run_days": Param(
                float(os.environ.get(RUN_DAYS_ENV, DEFAULT_RUN_DAYS)),
                type="number",
                minimum=0,
                description="Remove run folders older than this",
            ),
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

        prune_raw_payloads() >> prune_run_folders()
    return dag
