"""Airflow DAG: reconcile, scheduled on the raw Assets of every configured source."""

from crmhub.config import load_sources
from crmhub.orchestration.reconcile_dag import build_reconcile_dag

crmhub_reconcile = build_reconcile_dag(load_sources())
