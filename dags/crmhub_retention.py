"""Airflow DAG: daily retention of raw payloads and run folders; the logic lives in crmhub.ops."""

from crmhub.orchestration.ops_dags import build_retention_dag

crmhub_retention = build_retention_dag()
