"""Data Docs are reachable from the Airflow UI: the plugin loads cleanly and its app serves the site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from crmhub import paths
from crmhub.quality import validate
from crmhub.quality.docs_app import URL_PREFIX, create_app, run_pages

PLUGINS_DIR = paths.PROJECT_DIR / "plugins"


def test_airflow_loads_the_plugin_with_its_links_and_no_import_errors(tmp_path: Path) -> None:
    code = (
        "import json; from airflow import plugins_manager as pm; "
        "plugins, errors = pm._get_plugins(); views, _ = pm._get_ui_plugins(); apps, _ = pm.get_fastapi_plugins(); "
        "print(json.dumps({'plugins': [p.name for p in plugins], 'errors': errors, "
        "'views': [(v['destination'], v['href']) for v in views], 'apps': [a['url_prefix'] for a in apps]}))"
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
    assert loaded["errors"] == {}  # the package under plugins/ is not scanned as plugins
    assert "crmhub_data_docs" in loaded["plugins"]
    assert ["nav", f"{URL_PREFIX}/index.html"] in loaded["views"]
    assert ["dag_run", f"{URL_PREFIX}/runs/{{RUN_ID}}"] in loaded["views"]
    assert URL_PREFIX in loaded["apps"]


def test_the_app_serves_the_site_and_one_runs_pages(tmp_path: Path, golden_contacts: pd.DataFrame) -> None:
    site = tmp_path / "data_docs"
    run_id = "manual__2026-11-02T00:00:00+00:00"
    validate("golden_contacts", golden_contacts, run_id=run_id, docs_dir=site)
    validate("golden_contacts", golden_contacts, run_id="other-run", docs_dir=site)
    client = TestClient(create_app(site))

    assert "Data Docs" in client.get("/index.html").text
    assert client.get("/", follow_redirects=False).headers["location"] == f"{URL_PREFIX}/index.html"
    (page,) = run_pages(site, run_id)
    listing = client.get(f"/runs/{run_id}").text
    assert "golden_contacts@2" in listing and "other-run" not in listing
    assert client.get("/" + page.as_posix()).status_code == 200
    assert "No validation results" in client.get("/runs/never-ran").text


def test_the_app_starts_before_any_docs_exist(tmp_path: Path) -> None:
    client = TestClient(create_app(tmp_path / "not-yet"))
    assert client.get("/index.html").status_code == 404
    assert client.get("/runs/r1").status_code == 200
