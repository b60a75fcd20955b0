"""Fixtures for the operations tests: a migrated local Airflow home and sandboxes of their own.

Erasure deletes contacts at the (sandbox) vendor, so tests that need the sandbox's full data set get
a fresh one instead of sharing the end-to-end tests' server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crmhub.config import load_sources
from crmhub_dev.localrun import LocalAirflow, local_airflow, sandbox_connections
from crmhub_dev.sandbox import datagen, hubspot
from crmhub_dev.sandbox.server import SandboxServer

PEOPLE = 40
SEED = 7


def new_sandbox() -> SandboxServer:
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=500)
    data = datagen.generate(seed=SEED, people=PEOPLE, anchor=datagen.DEFAULT_ANCHOR)
    return SandboxServer(data=data, hubspot_settings=settings)


@pytest.fixture(scope="session")
def ops_home(tmp_path_factory) -> Path:
    """One migrated Airflow home (SQLite metadata, pools imported) for every ``airflow dags test``."""
    home = tmp_path_factory.mktemp("ops-airflow-home")
    airflow = local_airflow(
        home,
        connections={},
        warehouse_url=None,
        data_dir=home / "unused",
    )
    airflow.migrate()
    airflow.import_pools(load_sources())
    return home


@pytest.fixture
def make_ops_airflow(ops_home) -> Callable[..., LocalAirflow]:
    """Build a LocalAirflow on the shared home for a sandbox, a warehouse and a data folder."""

    def make(
        sandbox: SandboxServer,
        warehouse_url: str,
        data_dir: Path,
        connections: dict[str, str] | None = None,
        **env: str,
    ) -> LocalAirflow:
        return local_airflow(
            ops_home,
            connections={**sandbox_connections(sandbox), **(connections or {})},
            warehouse_url=warehouse_url,
            data_dir=data_dir,
            extra_env={"CRMHUB_RETRY_DELAY_SECONDS": "1", **env},
        )

    return make


@pytest.fixture
def fresh_sandbox() -> Iterator[SandboxServer]:
    with new_sandbox() as server:
        yield server
