"""Unattended operations without Airflow imports: GDPR erasure, suppression, retention, alerts.

The DAG builders in ``crmhub.orchestration`` call these; tests call them directly too.
"""
