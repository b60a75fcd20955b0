"""The session a source hook builds from its Airflow Connection (``AIRFLOW_CONN_*``, no metadata DB)."""

from __future__ import annotations

import json

import pytest

from crmhub.orchestration.hooks import SourceHook

CONN_ID = "crmhub_session_test"


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch):
    def configure(extra: dict) -> SourceHook:
        conn = {"conn_type": "crmhub_dynamics", "host": "127.0.0.1", "schema": "https", "extra": extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
        return SourceHook(http_conn_id=CONN_ID)

    return configure


def test_connection_extras_never_travel_to_the_vendor_as_headers(connection) -> None:
    hook = connection({"tenant_id": "t-1", "scope": "s", "refresh_token": "a-secret-refresh-token", "verify": False})
    session, credentials = hook.session_and_credentials()
    sent = {k.lower() for k in session.headers}
    assert not sent & {"tenant_id", "scope", "refresh_token", "verify"}
    assert credentials.extra["tenant_id"] == "t-1"
    assert session.verify is False


def test_headers_the_user_asks_for_in_the_extra_headers_are_sent(connection) -> None:
    hook = connection({"headers": {"X-Proxy-Tenant": "acme"}})
    session, _ = hook.session_and_credentials()
    assert session.headers["X-Proxy-Tenant"] == "acme"
    assert "headers" not in session.headers
