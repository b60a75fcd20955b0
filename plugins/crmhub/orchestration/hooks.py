"""Airflow hooks for the hub's sources: HTTP provider hooks with their own connection types.

The hook reads the Connection (host, credentials, TLS settings in extras) and hands the connector a
configured ``requests.Session``; the connector does the vendor's auth, paging and back-off. TLS
verification stays on unless the Connection's extra says ``"verify": false`` (or names a CA bundle).
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests
from airflow.providers.http.hooks.http import HttpHook

from crmhub.config import SourceConfig
from crmhub.connectors.base import Connector
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.registry import connector_class


class SourceHook(HttpHook):
    """Base of the hub's source hooks: builds the connector for a configured source."""

    conn_name_attr = "http_conn_id"
    _password_label: ClassVar[str] = "Password"
    _login_label: ClassVar[str] = "Login"

    def __init__(self, http_conn_id: str, **kwargs: Any) -> None:
        super().__init__(method="GET", http_conn_id=http_conn_id, **kwargs)

    def session_and_credentials(self) -> tuple[requests.Session, Credentials]:
        """The Connection's configured session (TLS, headers; ``base_url`` set) and its credentials.

        The session carries no auth: callers authenticate each request the vendor's way.
        """
        session = self.get_conn()
        session.auth = None
        conn = self.get_connection(self.http_conn_id)
        return session, Credentials(login=conn.login, password=conn.password, extra=conn.extra_dejson)

    @staticmethod
    def for_source(source: SourceConfig) -> Connector:
        """The connector for ``source``: through its Connection, or bare for sources that need none."""
        if source.conn_id is None:
            cls = connector_class(source.connector)
            connector = cls.connect(source.name, requests.Session(), "", Credentials(), source.options)
        else:
            connector = SourceHook(http_conn_id=source.conn_id).connector(source)
        connector.apply_rate_limits(source.rate_limits)
        return connector

    def connector(self, source: SourceConfig) -> Connector:
        """A ready connector for ``source``, authenticated with this hook's Connection."""
        session, credentials = self.session_and_credentials()
        cls = connector_class(source.connector)
        return cls.connect(source.name, session, self.base_url, credentials, source.options)

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden-fields": [],
            "relabeling": {"login": cls._login_label, "password": cls._password_label},
            "placeholders": {
                "host": "api.example.com (or 127.0.0.1 for the sandbox)",
                "schema": "https",
                "extra": '{"verify": true}',
            },
        }


class HubSpotHook(SourceHook):
    """HubSpot CRM v3; the private app's access token goes in the password field."""

    conn_type = "crmhub_hubspot"
    default_conn_name = "crmhub_hubspot"
    hook_name = "HubSpot CRM (Social CRM Hub)"
    _login_label = "Login (unused)"
    _password_label = "Private app access token"


class HootsuiteHook(SourceHook):
    """Hootsuite REST API; OAuth2 client id/secret, organization_id (or refresh_token) in extras."""

    conn_type = "crmhub_hootsuite"
    default_conn_name = "crmhub_hootsuite"
    hook_name = "Hootsuite (Social CRM Hub)"
    _login_label = "Client ID"
    _password_label = "Client secret"


class SalesforceHook(SourceHook):
    """Salesforce REST API; connected app consumer key/secret, ``token_url``/``api_version`` in extras."""

    conn_type = "crmhub_salesforce"
    default_conn_name = "crmhub_salesforce"
    hook_name = "Salesforce (Social CRM Hub)"
    _login_label = "Consumer key"
    _password_label = "Consumer secret"


class DynamicsHook(SourceHook):
    """Dynamics 365 / Dataverse Web API; app registration client id/secret, ``token_url`` in extras."""

    conn_type = "crmhub_dynamics"
    default_conn_name = "crmhub_dynamics"
    hook_name = "Dynamics 365 Dataverse (Social CRM Hub)"
    _login_label = "Client ID"
    _password_label = "Client secret"


class SproutSocialHook(SourceHook):
    """Sprout Social API; the API token goes in the password field."""

    conn_type = "crmhub_sprout"
    default_conn_name = "crmhub_sprout"
    hook_name = "Sprout Social (Social CRM Hub)"
    _login_label = "Login (unused)"
    _password_label = "API token"
