"""Provider metadata, so the hub's connection types appear in the Airflow UI's connection form.

Registered through the ``apache_airflow_provider`` entry point in ``pyproject.toml``; it imports
nothing heavy because Airflow reads it in every process.
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "social-crm-hub",
        "name": "Social CRM Hub",
        "description": "Connection types for the Social CRM Hub's source connectors.",
        "versions": ["0.1.0"],
        "connection-types": [
            {
                "connection-type": "crmhub_hubspot",
                "hook-class-name": "crmhub.orchestration.hooks.HubSpotHook",
                "hook-name": "HubSpot CRM (Social CRM Hub)",
            },
            {
                "connection-type": "crmhub_hootsuite",
                "hook-class-name": "crmhub.orchestration.hooks.HootsuiteHook",
                "hook-name": "Hootsuite (Social CRM Hub)",
            },
            {
                "connection-type": "crmhub_salesforce",
                "hook-class-name": "crmhub.orchestration.hooks.SalesforceHook",
                "hook-name": "Salesforce (Social CRM Hub)",
            },
            {
                "connection-type": "crmhub_dynamics",
                "hook-class-name": "crmhub.orchestration.hooks.DynamicsHook",
                "hook-name": "Dynamics 365 Dataverse (Social CRM Hub)",
            },
            {
                "connection-type": "crmhub_sprout",
                "hook-class-name": "crmhub.orchestration.hooks.SproutSocialHook",
                "hook-name": "Sprout Social (Social CRM Hub)",
            },
        ],
    }
