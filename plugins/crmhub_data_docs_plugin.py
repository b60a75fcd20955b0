"""Airflow plugin: Great Expectations Data Docs of the hub, reachable from the Airflow UI.

Mounts the static Data Docs site in the API server (``/crmhub-data-docs``) and adds two external
views: *Browse → Data Docs* (every run) and a *Data Docs* tab on each DAG run (that run's suites).
The plugin manager imports this file as the top-level module ``crmhub_data_docs_plugin``; the
package itself stays out of the plugin scan (``plugins/.airflowignore``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from crmhub.quality.docs_app import URL_PREFIX, create_app


class CrmHubDataDocsPlugin(AirflowPlugin):
    """Data Docs site + links to it in the navigation and on every DAG run."""

    name = "crmhub_data_docs"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Social CRM Hub Data Docs"}]
    external_views = [
        {
            "name": "Data Docs",
            "href": f"{URL_PREFIX}/index.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "crmhub-data-docs",
        },
        {
            "name": "Data Docs",
            "href": f"{URL_PREFIX}/runs/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "crmhub-data-docs-run",
        },
    ]
