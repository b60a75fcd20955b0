"""Airflow tasks build connectors through ``SourceHook.for_source``: they get the shared limiter when
``CRMHUB_RATE_LIMIT_REDIS_URL`` is set, and per-process limits when it is not."""

from __future__ import annotations

import json

import pytest

from crmhub.config import SourceConfig
from crmhub.connectors.rate_limit_store import ENV_VAR, RedisRateLimitStore
from crmhub.orchestration.hooks import SourceHook

CONN_ID = "crmhub_hubspot_shared_limit_test"
SOURCE = SourceConfig(
    "hubspot", "hubspot", CONN_ID, "0 2 * * *", ("contacts",), "crmhub_hubspot",
    rate_limits=({"requests": 100, "per_seconds": 10.0, "paths": ()},),
)  # fmt: skip


@pytest.fixture(autouse=True)
def connection(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": 9, "schema": "http", "password": "token"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))


def test_a_task_shares_the_limits_when_the_redis_url_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "redis://127.0.0.1:6379/4")
    http = SourceHook.for_source(SOURCE).http
    assert isinstance(http.rate_limit_store, RedisRateLimitStore)
    assert http.rate_limit_store.label == "redis://127.0.0.1:6379/4"
    assert [(r.requests, r.per_seconds) for r in http.rate_limits] == [(100, 10.0)]


def test_a_task_keeps_the_limits_per_process_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    http = SourceHook.for_source(SOURCE).http
    assert http.rate_limit_store is None
    assert [(r.requests, r.per_seconds) for r in http.rate_limits] == [(100, 10.0)]
