"""Provider metadata, so the hub's connection types appear in the Airflow UI's connection form.

Registered through the ``apache_airflow_provider`` entry point in ``pyproject.toml``; it imports
nothing heavy because Airflow reads it in every process.

Since Airflow 3.2 the connection form is built from this metadata, not from the hooks: each
connection type declares ``ui-field-behaviour`` (hidden standard fields, their labels and
placeholders) and ``conn-fields`` (the extras a connector reads, each with a label, help text and a
JSON schema; the UI stores them in the Connection's extra under the field's name). The field names
are the keys the connectors read (``crmhub/connectors/<vendor>.py``, docs/sources.md);
tests/deploy/test_provider_forms.py checks them against the connectors and Airflow's schema.
"""

from __future__ import annotations

from typing import Any

#: The extras every source Connection understands (read by the HTTP hook the source hooks extend).
#: TLS verification can only be switched off in the raw Extra JSON (``{"verify": false}``), never here:
#: an empty string would switch it off in ``requests``, so the field takes absolute paths only.
#: Extras read with a non-empty default (Hootsuite's ``grant_type``/``token_path``) are not form fields:
#: a form may store an untouched field as null, which would replace the default; set them in the Extra JSON.
_VERIFY: dict[str, Any] = {
    "label": "CA bundle (verify)",
    "description": (
        "Path of a PEM CA bundle to trust instead of the system CAs, e.g. /opt/crmhub/tls/ca.pem for the "
        "sandbox. Leave empty for the system CAs (real vendors). TLS verification is always on."
    ),
    "schema": {"type": ["string", "null"], "pattern": "^/", "minLength": 2},
}


def _behaviour(login: str | None, password: str, host: str) -> dict[str, Any]:
    hidden = ["login"] if login is None else []
    relabeling = {"host": "API host", "schema": "Scheme", "password": password}
    if login is not None:
        relabeling["login"] = login
    return {
        "hidden-fields": hidden,
        "relabeling": relabeling,
        "placeholders": {"host": host, "schema": "https", "port": "443 (empty for the scheme's default)"},
    }


def _connection_type(
    conn_type: str,
    hook: str,
    name: str,
    behaviour: dict[str, Any],
    fields: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    return {
        "connection-type": conn_type,
        "hook-class-name": f"crmhub.orchestration.hooks.{hook}",
        "hook-name": name,
        "ui-field-behaviour": behaviour,
        "conn-fields": {**fields, "verify": _VERIFY},
    }


def _text(label: str, description: str, *, secret: bool = False, url: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if secret:
        schema["format"] = "password"
    elif url:
        schema["format"] = "url"
    return {"label": label, "description": description, "schema": schema}


CONNECTION_TYPES: list[dict[str, Any]] = [
    _connection_type(
        "crmhub_hubspot",
        "HubSpotHook",
        "HubSpot CRM (Social CRM Hub)",
        _behaviour(None, "Private app access token", "api.hubapi.com"),
        {},
    ),
    _connection_type(
        "crmhub_hootsuite",
        "HootsuiteHook",
        "Hootsuite (Social CRM Hub)",
        _behaviour("Client ID", "Client secret", "platform.hootsuite.com"),
        {
            "organization_id": _text(
                "Organization ID",
                "Hootsuite organization the app acts for (grant organization_app).",
            ),
            "refresh_token": _text(
                "Refresh token",
                "Instead of the organization: an OAuth2 refresh token (grant refresh_token).",
                secret=True,
            ),
        },
    ),
    _connection_type(
        "crmhub_salesforce",
        "SalesforceHook",
        "Salesforce (Social CRM Hub)",
        _behaviour("Consumer key", "Consumer secret", "yourorg.my.salesforce.com"),
        {
            "api_version": {
                "label": "API version",
                "description": "REST API version, e.g. 60.0; empty: the connector's default.",
                "schema": {"type": ["string", "null"], "pattern": "^[0-9]+\\.[0-9]+$"},
            },
            "token_url": _text(
                "Token URL",
                "OAuth2 token endpoint (client credentials flow); empty: /services/oauth2/token on the host.",
                url=True,
            ),
        },
    ),
    _connection_type(
        "crmhub_dynamics",
        "DynamicsHook",
        "Dynamics 365 Dataverse (Social CRM Hub)",
        _behaviour("Client ID (app registration)", "Client secret", "yourorg.crm4.dynamics.com"),
        {
            "tenant_id": _text(
                "Tenant ID",
                "Microsoft Entra tenant (directory) ID of the app registration; required unless Token URL is set.",
            ),
            "token_url": _text(
                "Token URL",
                "OAuth2 token endpoint; empty: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token.",
                url=True,
            ),
            "scope": _text("Scope", "OAuth2 scope; empty: https://<host>/.default."),
        },
    ),
    _connection_type(
        "crmhub_sprout",
        "SproutSocialHook",
        "Sprout Social (Social CRM Hub)",
        _behaviour(None, "API token", "api.sproutsocial.com"),
        {
            "customer_id": _text(
                "Customer ID",
                "Sprout Social customer id; empty: read from /v1/metadata/client.",
            ),
        },
    ),
]


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "social-crm-hub",
        "name": "Social CRM Hub",
        "description": "Connection types for the Social CRM Hub's source connectors.",
        "versions": ["0.1.0"],
        "connection-types": CONNECTION_TYPES,
    }
