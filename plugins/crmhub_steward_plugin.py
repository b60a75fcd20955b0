"""Airflow plugin: the steward review of the hub, worked from the Airflow UI (issue 16).

Mounts the steward app in the API server (``/crmhub-steward``, :mod:`crmhub.orchestration.steward_app`)
and lists it under *Browse → Steward review*. The app authenticates every request through Airflow
(the UI's login) and shows record values only to stewards (``CRMHUB_STEWARD_ROLES``, default admin/op,
or ``CRMHUB_STEWARD_USERS``). The plugin manager imports this file as the top-level module
``crmhub_steward_plugin``; the package itself stays out of the plugin scan (``plugins/.airflowignore``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from crmhub.orchestration.steward_app import URL_PREFIX, create_app


class CrmHubStewardPlugin(AirflowPlugin):
    """The steward review page + its entry in the navigation."""

    name = "crmhub_steward"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Social CRM Hub steward review"}]
    external_views = [
        {
            "name": "Steward review",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "crmhub-steward",
        },
    ]
