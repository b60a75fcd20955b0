"""Rotating refresh tokens (issue 12 B): Hootsuite accepts each refresh token once and returns the next
one with every token; the hub must keep the new one, or every run after the first fails with "token
endpoint refused the configured grant". Two consecutive runs against the Hootsuite sandbox, through the
core callback and through the Airflow hook (Connection from an ``AIRFLOW_CONN_*`` variable)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests

from crmhub.config import SourceConfig
from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hootsuite import HootsuiteConnector
from crmhub.errors import SourceDataError
from crmhub.orchestration.hooks import ROTATED_TOKEN_VARIABLE, SourceHook, VariableTokenStore
from crmhub.stages.ingest import ingest
from crmhub.warehouse.api import Warehouse
from crmhub_dev.sandbox import datagen, hootsuite

from .conftest import ANCHOR

WINDOW = Window(ANCHOR - timedelta(days=10), ANCHOR)
CONN_ID = "crmhub_hootsuite_rotation_test"


class MemoryStore:
    """The token store's contract (``get``/``put`` per conn_id) without an Airflow API server."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, conn_id: str) -> str | None:
        return self.values.get(conn_id)

    def put(self, conn_id: str, value: str) -> None:
        self.values[conn_id] = value


@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


def new_refresh_token(sandbox) -> str:
    """A refresh token as an admin would paste it into the Connection after authorising the app."""
    response = requests.post(
        f"{sandbox.hootsuite_url}/oauth2/token",
        data={"grant_type": "organization_app", "organization_id": datagen.ORGANIZATION_ID},
        auth=(hootsuite.DEFAULT_CLIENT_ID, hootsuite.DEFAULT_CLIENT_SECRET),
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["refresh_token"]


def connect(sandbox, refresh_token: str, on_rotated=None) -> HootsuiteConnector:
    credentials = Credentials(
        login=hootsuite.DEFAULT_CLIENT_ID,
        password=hootsuite.DEFAULT_CLIENT_SECRET,
        extra={"refresh_token": refresh_token},
        on_token_rotated=on_rotated,
    )
    made = HootsuiteConnector.connect("hootsuite", requests.Session(), sandbox.hootsuite_url, credentials, {})
    assert isinstance(made, HootsuiteConnector)
    return made


def test_the_sandbox_rejects_a_refresh_token_used_before(sandbox, warehouse):
    """What issue 12 saw: without storing the rotated token, the second run fails."""
    configured = new_refresh_token(sandbox)
    ingest(connect(sandbox, configured), "social_profiles", WINDOW, warehouse, "run-1")
    with pytest.raises(SourceDataError, match="token endpoint refused the configured grant"):
        ingest(connect(sandbox, configured), "social_profiles", WINDOW, warehouse, "run-2")


def test_the_core_hands_each_rotated_refresh_token_to_its_callback(sandbox, warehouse):
    configured = new_refresh_token(sandbox)
    kept: list[str] = []
    for run in ("run-1", "run-2", "run-3"):
        connector = connect(sandbox, kept[-1] if kept else configured, kept.append)
        stats = ingest(connector, "social_profiles", WINDOW, warehouse, run)
        assert stats.records > 0
    assert len(kept) == 3 and len(set(kept)) == 3 and configured not in kept


@pytest.fixture
def hootsuite_connection(sandbox, monkeypatch) -> Iterator[Callable[[str], None]]:
    """Set the test Connection (as ``AIRFLOW_CONN_*``) to a given refresh token."""
    address = urlsplit(sandbox.hootsuite_url)

    def configure(refresh_token: str) -> None:
        conn = {
            "conn_type": "crmhub_hootsuite",
            "host": address.hostname,
            "port": address.port,
            "schema": address.scheme,
            "login": hootsuite.DEFAULT_CLIENT_ID,
            "password": hootsuite.DEFAULT_CLIENT_SECRET,
            "extra": {"refresh_token": refresh_token},
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))

    yield configure


def test_two_consecutive_runs_through_the_hook_both_succeed(sandbox, warehouse, hootsuite_connection):
    source = SourceConfig("hootsuite", "hootsuite", CONN_ID, "0 2 * * *", ("social_profiles",), "crmhub_hootsuite")
    store = MemoryStore()
    hootsuite_connection(new_refresh_token(sandbox))
    for run in ("run-1", "run-2"):
        stats = ingest(SourceHook.for_source(source, token_store=store), "social_profiles", WINDOW, warehouse, run)
        assert stats.records > 0
    entry = json.loads(store.values[CONN_ID])
    assert set(entry) == {"refresh_token", "configured_sha256"}

    # an admin re-authorises the app and pastes a new refresh token: that one wins over the stored one
    hootsuite_connection(new_refresh_token(sandbox))
    assert ingest(SourceHook.for_source(source, token_store=store), "social_profiles", WINDOW, warehouse, "run-3")
    assert json.loads(store.values[CONN_ID])["refresh_token"] != entry["refresh_token"]


def test_the_variable_store_names_one_variable_per_connection_and_is_absent_outside_a_task():
    assert ROTATED_TOKEN_VARIABLE.format(conn_id=CONN_ID) == f"crmhub_rotated_token__{CONN_ID}"
    assert VariableTokenStore().get(CONN_ID) is None
