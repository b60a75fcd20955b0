"""The steward review is part of the Airflow UI: the plugin loads cleanly, mounts its app and adds its
entry to the Browse menu; importing it does not pull in the API server (schedulers and workers load it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crmhub import paths
from crmhub.orchestration.steward_app import URL_PREFIX

PLUGINS_DIR = paths.PROJECT_DIR / "plugins"


def test_airflow_loads_the_steward_plugin_with_its_menu_entry(tmp_path: Path) -> None:
    code = (
        "import json, sys; from airflow import plugins_manager as pm; "
        "plugins, errors = pm._get_plugins(); views, _ = pm._get_ui_plugins(); apps, _ = pm.get_fastapi_plugins(); "
        "print(json.dumps({'plugins': [p.name for p in plugins], 'errors': errors, "
        "'views': [(v['destination'], v.get('category'), v['name'], v['href']) for v in views], "
        "'apps': [a['url_prefix'] for a in apps], "
        "'security': 'airflow.api_fastapi.core_api.security' in sys.modules}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": str(PLUGINS_DIR),
    }
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["errors"] == {}
    assert "crmhub_steward" in loaded["plugins"]
    assert ["nav", "browse", "Steward review", f"{URL_PREFIX}/"] in loaded["views"]
    assert URL_PREFIX in loaded["apps"]
