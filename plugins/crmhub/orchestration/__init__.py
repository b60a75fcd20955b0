"""The Airflow side of the hub: hooks and connection types, the DAG factory, shared DAG defaults.

This is the only part of ``crmhub`` that imports Airflow.
"""
