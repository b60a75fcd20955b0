"""End to end through a real Airflow: sandbox → `airflow dags test` → warehouse (DuckDB and PostgreSQL).

One Airflow home (SQLite metadata) per session; each warehouse gets its own data folder and URL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from crmhub.config import load_sources
from crmhub_dev.localrun import LocalAirflow, local_airflow, prepare_file_drops, run_pipeline, sandbox_connections
from crmhub_dev.sandbox import datagen, hubspot
from crmhub_dev.sandbox.server import SandboxServer
from crmhub_dev.sandbox.sprout import SproutSettings

LOGICAL_DATE = "2026-11-02"  # its data interval ends after the sandbox anchor (2026-11-01)
ADMIN_URL = os.environ.get("CRMHUB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class PipelineRun:
    airflow: LocalAirflow
    warehouse_url: str
    data_dir: Path
    task_logs: str


@pytest.fixture(scope="session")
def e2e_sandbox() -> Iterator[SandboxServer]:
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=500)
    data = datagen.generate(seed=11, people=80, anchor=datagen.DEFAULT_ANCHOR)
    # Sprout allows 60 requests a minute; the session's many DAG runs share one sandbox, so allow more.
    sprout = SproutSettings(rate_limit_per_minute=6000)
    with SandboxServer(data=data, hubspot_settings=settings, settings={"sprout": sprout}, tls=True) as server:
        yield server


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("airflow-home")


def make_airflow(sandbox: SandboxServer, home: Path, warehouse_url: str, data_dir: Path, **env: str) -> LocalAirflow:
    airflow = local_airflow(
        home,
        connections=sandbox_connections(sandbox),
        warehouse_url=warehouse_url,
        data_dir=data_dir,
        extra_env={"CRMHUB_RETRY_DELAY_SECONDS": "1", **env},
    )
    return airflow


@pytest.fixture(scope="session")
def migrated_home(e2e_sandbox, airflow_home, tmp_path_factory) -> Path:
    airflow = make_airflow(e2e_sandbox, airflow_home, "duckdb:///unused", tmp_path_factory.mktemp("unused"))
    airflow.migrate()
    airflow.import_pools(load_sources())
    return airflow_home


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"crmhub_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def pipeline_run(request, e2e_sandbox, migrated_home, tmp_path_factory) -> PipelineRun:
    """The whole pipeline, run once per warehouse engine, through Airflow."""
    data_dir = tmp_path_factory.mktemp(f"data-{request.param}")
    if request.param == "duckdb":
        url = f"duckdb://{data_dir / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("pg_database")
    prepare_file_drops(e2e_sandbox.data, data_dir)
    # Write-back changes the sandbox CRMs (tasks, enriched contacts), so a rerun would ingest those
    # changes and the rerun test below could not hold; tests/writeback covers it, DAG run included.
    airflow = make_airflow(e2e_sandbox, migrated_home, url, data_dir, CRMHUB_WRITEBACK="off")
    outputs = run_pipeline(airflow, LOGICAL_DATE)
    logs = "\n".join(result.stdout + result.stderr for result in outputs.values())
    return PipelineRun(airflow, url, data_dir, logs)
