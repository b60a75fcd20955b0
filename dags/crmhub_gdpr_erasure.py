"""Airflow DAG: GDPR erasure of one person, triggered with a parameter; the logic lives in crmhub.ops."""

from crmhub.config import load_sources
from crmhub.orchestration.ops_dags import build_erasure_dag

crmhub_gdpr_erasure = build_erasure_dag(load_sources())
