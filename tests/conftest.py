"""Test-wide settings: an isolated Airflow home (no metadata DB needed for parsing), no telemetry."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_PROJECT = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="crmhub-test-airflow-"))

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_PROJECT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_PROJECT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
