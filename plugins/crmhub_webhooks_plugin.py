"""Airflow plugin: the fast path's webhook receiver in the API server (issue 17).

Mounts :mod:`crmhub.orchestration.webhook_app` at ``/crmhub-webhooks`` (``POST /crmhub-webhooks/hubspot``:
HubSpot signature v3, verified in the core; accepted events are queued in Redis and wake the
``crmhub_fast_push_hubspot`` DAG through an Asset watcher). The plugin manager imports this file as the
top-level module ``crmhub_webhooks_plugin``; the package stays out of the scan (``plugins/.airflowignore``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from crmhub.orchestration.webhook_app import URL_PREFIX, create_app


class CrmHubWebhooksPlugin(AirflowPlugin):
    """The webhook endpoint (no UI entry: vendors call it, people do not)."""

    name = "crmhub_webhooks"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Social CRM Hub webhooks"}]
