"""Airflow DAG: write routed messages back to the CRMs after every reconcile load."""

from crmhub.orchestration.writeback_dag import build_writeback_dag

crmhub_writeback = build_writeback_dag()
