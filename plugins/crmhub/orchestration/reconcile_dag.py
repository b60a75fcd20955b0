"""Build the reconcile DAG: scheduled on the raw Assets of every configured source."""

from __future__ import annotations

from functools import reduce
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from crmhub.config import SourceConfig
from crmhub.orchestration.assets import WAREHOUSE_ASSET, raw_asset
from crmhub.orchestration.defaults import START_DATE, default_args

DOC = """\
### Reconcile contacts into the warehouse

Runs whenever a source lands new raw data. Steps, each a task with its files in `data/runs/<run_id>/`:

1. **canonicalize**: newest raw payload per source record → canonical contacts and interactions.
2. **match_and_survive**: deterministic links (normalized e-mail, social handle), stable golden IDs
   (kept from the warehouse's cross-reference), survivorship under `include/config/precedence.yaml`
   with lineage and conflicts.
3. **validate**: Great Expectations suites from `include/gx/`; a failing *blocking* expectation stops
   the run here, before anything is loaded. Data Docs are built into `data/data_docs/`.
4. **load**: golden contacts as SCD type 2, cross-reference, interactions, lineage and conflicts, in
   one transaction. Re-running changes nothing. Publishes the warehouse Asset.

Sources: {sources}.
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
    ) as dag:

        @task(doc_md="Newest raw payload per source record → canonical contacts and interactions.")
        def canonicalize() -> dict[str, Any]:
            from crmhub.config import load_sources
            from crmhub.orchestration.resources import open_warehouse
            from crmhub.stages import reconcile as stage

            with open_warehouse() as warehouse:
                return stage.canonicalize(warehouse, load_sources(), _files())

        @task(doc_md="Link records, keep golden IDs stable, survive attributes under the precedence rules.")
        def match_and_survive() -> dict[str, Any]:
            from crmhub.orchestration.resources import open_warehouse
            from crmhub.reconcile.rules import load_rules
            from crmhub.stages import reconcile as stage

            rules = load_rules()
            with open_warehouse() as warehouse:
                return stage.match_and_survive(warehouse, rules, _files())

        @task(doc_md="Great Expectations quality gate; blocking failures stop the run before the load.")
        def validate() -> dict[str, Any]:
            from crmhub.orchestration.resources import data_dir, open_warehouse
            from crmhub.stages import reconcile as stage

            run_id = get_current_context()["run_id"]
            with open_warehouse() as warehouse:
                return stage.validate(_files(), run_id, data_dir() / "data_docs", warehouse)

        @task(outlets=[WAREHOUSE_ASSET], doc_md="Atomic, idempotent load into the warehouse.")
        def load() -> dict[str, Any]:
            from crmhub.orchestration.resources import open_warehouse
            from crmhub.stages import reconcile as stage

            with open_warehouse() as warehouse:
                return stage.load(warehouse, _files(), get_current_context()["run_id"])

        canonicalize() >> match_and_survive() >> validate() >> load()
    return dag


def _files():  # type: ignore[no-untyped-def]
    from crmhub.orchestration.resources import data_dir
    from crmhub.stages.reconcile import run_folder

    return run_folder(data_dir(), get_current_context()["run_id"])
