"""Build the reconcile DAG: scheduled on the raw Assets of every configured source."""

from __future__ import annotations

from functools import reduce
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from crmhub.config import SourceConfig
from crmhub.orchestration.assets import WAREHOUSE_ASSET, raw_asset
from crmhub.orchestration.defaults import START_DATE, default_args, freshness_deadline

DOC = """\
### Reconcile contacts into the warehouse

Runs whenever a source lands new raw data. Steps, each a task with its files in `data/runs/<run_id>/`:

1. **canonicalize**: newest raw payload per source record → canonical contacts and interactions.
2. **validate_canonical**: Great Expectations gate on the canonical records. Rows failing an
   `on_failure: quarantine` rule go to `audit.quarantine` with the rule and reason and are left out;
   any other blocking failure stops the run here.
3. **match_and_survive**: deterministic links (normalized e-mail, phone, social handle) and fuzzy
   name + address scoring with blocking (auto-link / steward review / no link), guarded clustering,
   stable golden IDs (kept from the warehouse's cross-reference; steward decisions applied),
   survivorship under `include/config/precedence.yaml` with lineage and conflicts.
4. **validate**: golden gate (golden ID unique, every source record in exactly one golden record,
   every interaction attached); a failing *blocking* expectation stops the run before the load.
5. **load**: golden contacts as SCD type 2, cross-reference, interactions, lineage and conflicts, in
   one transaction. Re-running changes nothing. Publishes the warehouse Asset. Marks quarantine
   entries whose records passed this time as resolved.
6. **validate_warehouse**: reads the warehouse back (one current version per contact, no overlapping
   validity, interactions point at contacts, row counts match the load audit); fails loudly.

Every result goes to `audit.quality_results`; Data Docs are built into `data/data_docs/` and linked
under *Browse → Data Docs*. Suites live in `include/gx/`; see `docs/quality.md`.

Sources: {sources}.

**Freshness deadline**: an alert goes to the `crmhub_alerts` Connection when a run is not finished
`CRMHUB_FRESHNESS_MINUTES` after it was queued (see docs/operations.md).
"""


def build_reconcile_dag(sources: dict[str, SourceConfig]) -> DAG:
    assets = [raw_asset(s.name, obj) for s in sources.values() for obj in s.objects]
    with DAG(
        dag_id="crmhub_reconcile",
        description="Canonicalize, match, survive, validate and load golden contacts",
        doc_md=DOC.format(sources=", ".join(f"`{name}`" for name in sources)),
        schedule=reduce(lambda a, b: a | b, assets),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(),
        tags=["crmhub", "reconcile", "warehouse"],
        deadline=freshness_deadline(),
    ) as dag:

        @task(doc_md="Newest raw payload per source record → canonical contacts and interactions.")
        def canonicalize() -> dict[str, Any]:
            from crmhub.config import load_sources
            from crmhub.orchestration.resources import open_warehouse
            from crmhub.stages import reconcile_steps as stage

            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:
                return stage.canonicalize(warehouse, _files(), run_id, sources=load_sources())

        @task(doc_md="Canonical quality gate: quarantine failing rows with their reason, stop on the rest.")
        def validate_canonical() -> dict[str, Any]:
            from crmhub.orchestration.resources import data_dir, open_warehouse
            from crmhub.stages import reconcile_steps as stage

            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:
                return stage.validate_canonical(warehouse, _files(), run_id, docs_dir=data_dir() / "data_docs")

        @task(doc_md="Link records, keep golden IDs stable, survive attributes under the precedence rules.")
        def match_and_survive() -> dict[str, Any]:
            from crmhub.orchestration.resources import data_dir, open_warehouse
            from crmhub.reconcile.rules import load_rules
            from crmhub.stages import reconcile_steps as stage

            rules = load_rules()
            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:  # with the state: a small run reconciles what changed
                return stage.match_and_survive(
                    warehouse, _files(), run_id, rules=rules, state_dir=stage.state_dir(data_dir())
                )

        @task(doc_md="Golden quality gate; blocking failures stop the run before the load.")
        def validate() -> dict[str, Any]:
            from crmhub.orchestration.resources import data_dir, open_warehouse
            from crmhub.stages import reconcile_steps as stage

            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:
                return stage.validate(warehouse, _files(), run_id, docs_dir=data_dir() / "data_docs")

        @task(outlets=[WAREHOUSE_ASSET], doc_md="Atomic, idempotent load into the warehouse.")
        def load() -> dict[str, Any]:
            from crmhub.orchestration.resources import data_dir, open_warehouse
            from crmhub.stages import reconcile_steps as stage

            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:
                return stage.load(warehouse, _files(), run_id, state_dir=stage.state_dir(data_dir()))

        @task(doc_md="Warehouse quality gate after the load; a blocking failure fails the run loudly.")
        def validate_warehouse() -> dict[str, Any]:
            from crmhub.orchestration.resources import data_dir, open_warehouse
            from crmhub.stages import reconcile_steps as stage

            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:
                return stage.validate_warehouse(warehouse, _files(), run_id, docs_dir=data_dir() / "data_docs")

        canonical = canonicalize() >> validate_canonical()
        canonical >> match_and_survive() >> validate() >> load() >> validate_warehouse()
    return dag


def _files():  # type: ignore[no-untyped-def]
    from crmhub.orchestration.resources import data_dir
    from crmhub.stages.reconcile_steps import run_folder

    return run_folder(data_dir(), get_current_context()["run_id"])
