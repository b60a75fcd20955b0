"""Airflow hooks for the hub's sources: HTTP provider hooks with their own connection types.

The hook reads the Connection (host, credentials, TLS settings in extras) and hands the connector a
configured ``requests.Session``; the connector does the vendor's auth, paging and back-off. TLS
verification stays on unless the Connection's extra says ``"verify": false`` (or names a CA bundle).

Rotated refresh tokens (Hootsuite hands out a new one with every token and accepts each once): the
task SDK cannot write Connections (tasks may not use the ORM; the execution API has no connection
write), so a rotated token goes to an Airflow Variable the hub owns, ``crmhub_rotated_token__<conn_id>``
(stored encrypted when Airflow has a Fernet key, masked in logs), and is read back before the
Connection's own ``refresh_token``. It is tied to the Connection's configured token: once an admin
puts a new refresh token in the Connection, the stored one is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, ClassVar, Protocol

import requests
from airflow.providers.http.hooks.http import HttpHook

from crmhub.config import SourceConfig
from crmhub.connectors.base import Connector
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.rate_limit_store import shared_rate_limit_store
from crmhub.connectors.registry import connector_class

log = logging.getLogger(__name__)

ROTATED_TOKEN_VARIABLE = "crmhub_rotated_token__{conn_id}"


class TokenStore(Protocol):
    """Where rotated refresh tokens are kept between runs, per Connection."""

    def get(self, conn_id: str) -> str | None: ...

    def put(self, conn_id: str, value: str) -> None: ...


class VariableTokenStore:
    """Airflow Variables through the task SDK (the only write a task has); absent outside a task."""

    def get(self, conn_id: str) -> str | None:
        from airflow.sdk import Variable

        try:
            value = Variable.get(ROTATED_TOKEN_VARIABLE.format(conn_id=conn_id), default=None)
        except Exception as exc:  # noqa: BLE001 - no Variable backend here (outside a task): use the Connection
            log.debug("no rotated-token store available (%s)", type(exc).__name__)
            return None
        return value if isinstance(value, str) else None

    def put(self, conn_id: str, value: str) -> None:
        from airflow.sdk import Variable

        Variable.set(
            ROTATED_TOKEN_VARIABLE.format(conn_id=conn_id),
            value,
            description=f"crmhub: the refresh token last rotated by the vendor of Connection {conn_id}",
        )


class RotatedRefreshTokens:
    """Rotated refresh tokens of one Connection, tied to the refresh token the Connection is configured with."""

    def __init__(self, store: TokenStore, conn_id: str, configured: str | None) -> None:
        self.store, self.conn_id = store, conn_id
        self._configured = hashlib.sha256((configured or "").encode()).hexdigest()

    def current(self) -> str | None:
        """The last rotated refresh token, if it was rotated from this Connection's configured one."""
        raw = self.store.get(self.conn_id)
        if not raw:
            return None
        try:
            entry = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(entry, dict) or entry.get("configured_sha256") != self._configured:
            return None  # the Connection was given a new refresh token since: that one wins
        token = entry.get("refresh_token")
        return token if isinstance(token, str) and token else None

    def rotated(self, refresh_token: str) -> None:
        """Keep the vendor's new refresh token for the next run (the old one no longer works)."""
        _mask(refresh_token)
        entry = {"refresh_token": refresh_token, "configured_sha256": self._configured}
        self.store.put(self.conn_id, json.dumps(entry))
        log.info("%s: stored the refresh token the vendor rotated", self.conn_id)


def _keep_extras_out_of_headers(session: requests.Session, extra: dict[str, Any]) -> None:
    """Undo HttpHook's habit of sending every unrecognised extra as an HTTP header.

    The hub's extras (tenant_id, scope, organization_id, refresh_token, ...) are settings, and some are
    secrets: none may travel to the vendor as a header. Headers a user really wants go in the extra
    ``headers`` (a mapping), which is applied as given.
    """
    for key in extra:
        session.headers.pop(key, None)
    headers = extra.get("headers")
    if isinstance(headers, dict):
        session.headers.update({str(k): str(v) for k, v in headers.items()})


def _mask(secret: str) -> None:
    try:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
    except Exception:  # noqa: BLE001,S110 - masking is best effort outside a task
        pass


class SourceHook(HttpHook):
    """Base of the hub's source hooks: builds the connector for a configured source."""

    conn_name_attr = "http_conn_id"
    _password_label: ClassVar[str] = "Password"
    _login_label: ClassVar[str] = "Login"

    def __init__(self, http_conn_id: str, token_store: TokenStore | None = None, **kwargs: Any) -> None:
        super().__init__(method="GET", http_conn_id=http_conn_id, **kwargs)
        self.token_store: TokenStore = token_store or VariableTokenStore()

    def session_and_credentials(self) -> tuple[requests.Session, Credentials]:
        """The Connection's configured session (TLS, headers; ``base_url`` set) and its credentials.

        The session carries no auth: callers authenticate each request the vendor's way. A refresh
        token the vendor rotated in an earlier run replaces the Connection's own; a new rotation is
        stored through ``Credentials.on_token_rotated``.
        """
        session = self.get_conn()
        session.auth = None
        conn = self.get_connection(self.http_conn_id)
        extra = dict(conn.extra_dejson)
        _keep_extras_out_of_headers(session, extra)
        tokens = RotatedRefreshTokens(self.token_store, self.http_conn_id, extra.get("refresh_token"))
        current = tokens.current()
        if current:
            _mask(current)
            extra["refresh_token"] = current
        credentials = Credentials(
            login=conn.login, password=conn.password, extra=extra, on_token_rotated=tokens.rotated
        )
        return session, credentials

    @staticmethod
    def for_source(source: SourceConfig, token_store: TokenStore | None = None) -> Connector:
        """The connector for ``source``: through its Connection, or bare for sources that need none."""
        if source.conn_id is None:
            cls = connector_class(source.connector)
            connector = cls.connect(source.name, requests.Session(), "", Credentials(), source.options)
        else:
            connector = SourceHook(http_conn_id=source.conn_id, token_store=token_store).connector(source)
        # shared by every worker when CRMHUB_RATE_LIMIT_REDIS_URL is set, else kept per process
        connector.apply_rate_limits(source.rate_limits, store=shared_rate_limit_store())
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
    """Hootsuite REST API; OAuth2 client id/secret, organization_id (or refresh_token) in extras.

    Hootsuite rotates refresh tokens; the rotated one is kept for the next run (see the module doc).
    """

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
