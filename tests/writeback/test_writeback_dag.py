"""The write-back DAG through a real local Airflow (``airflow dags test``): the Param ``dry_run``
writes nothing, the next run writes the follow-up, through the Connection ingest uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmhub.warehouse import Warehouse
from crmhub_dev.localrun import local_airflow, sandbox_connections
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.server import SandboxServer

from .conftest import Hub, key_for


@pytest.fixture
def airflow_home(tmp_path):
    return tmp_path / "airflow"


def test_the_dag_dry_runs_on_its_param_then_writes_the_follow_up_once(airflow_home, tmp_path):
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=300, search_rate_limit_interval_ms=300)
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    with SandboxServer(seed=5, people=60, vendors=("hubspot",), hubspot_settings=settings) as sandbox:
        with Warehouse.from_url(url) as wh:
            wh.migrate()
        hub = Hub(sandbox, url)
        message = hub.route(hub.contacts()[0]["id"], handle=None, followers=None)
        airflow = local_airflow(
            airflow_home, connections=sandbox_connections(sandbox), warehouse_url=url, data_dir=tmp_path / "data"
        )
        airflow.migrate()
        when = datetime.now(UTC).replace(microsecond=0)
        dry = airflow.dags_test("crmhub_writeback", when.isoformat(), conf={"dry_run": True})
        assert "crmhub writeback (dry run): created=0" in dry.stdout + dry.stderr
        assert Hub(sandbox, None).tasks() == []
        airflow.dags_test("crmhub_writeback", (when + timedelta(seconds=1)).isoformat())
        assert len(Hub(sandbox, None).tasks(key_for(message))) == 1
    with Warehouse.from_url(url) as wh:
        statuses = list(wh.query("SELECT status FROM audit.writeback_attempts ORDER BY attempt_id")["status"])
    assert statuses == ["dry_run", "created"]
