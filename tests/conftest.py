"""Test-wide settings: an isolated Airflow home (no metadata DB needed for parsing), no telemetry."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_PROJECT = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="crmhub-test-airflow-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)  # each test process has its own home

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_PROJECT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_PROJECT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"


#: Fixtures that start Airflow itself (``airflow dags test``, a scheduler, the API server). A test that
#: uses one is marked ``airflow`` here, so ``-m "not airflow"`` (the fast lane, ``make test-fast``)
#: leaves it out however the test module is written.
AIRFLOW_FIXTURES = frozenset({"migrated_home", "pipeline_run", "ops_home", "make_ops_airflow", "airflow_home"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that reaches an Airflow-starting fixture ``airflow`` (before ``-m`` selects)."""
    for item in items:
        if AIRFLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())) and not item.get_closest_marker("airflow"):
            item.add_marker(pytest.mark.airflow)
