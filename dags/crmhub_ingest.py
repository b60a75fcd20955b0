"""Airflow DAGs: one ingest DAG per source in include/config/sources.yaml; the logic lives in crmhub."""

from crmhub.config import load_sources
from crmhub.orchestration.ingest_dag import build_ingest_dag

for _source in load_sources().values():
    globals()[f"crmhub_ingest_{_source.name}"] = build_ingest_dag(_source)
