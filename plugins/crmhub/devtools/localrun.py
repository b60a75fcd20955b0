"""Run the hub's DAGs through a real, local Airflow: a project-scoped AIRFLOW_HOME, SQLite metadata,
Connections as ``AIRFLOW_CONN_*`` variables, pools from the source config, ``airflow dags test``.

The demo and the end-to-end tests both drive Airflow through here, so what the tests prove is what
the demo does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from crmhub.config import SourceConfig, load_sources
from crmhub.paths import PROJECT_DIR


@dataclass
class LocalAirflow:
    """One local Airflow installation rooted at ``home``."""

    home: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` CLI command in this installation; output is captured for the caller."""
        airflow = Path(sys.executable).with_name("airflow")
        result = subprocess.run([str(airflow), *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"airflow {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
        return result

    def migrate(self) -> None:
        self.run("db", "migrate")

    def import_pools(self, sources: Mapping[str, SourceConfig]) -> None:
        from crmhub.orchestration.deploy_command import source_pools

        path = self.home / "pools.json"
        path.write_text(json.dumps(source_pools(sources), indent=2), encoding="utf-8")
        self.run("pools", "import", str(path))

    def dags_test(
        self, dag_id: str, logical_date: str, conf: Mapping[str, object] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        args = ["dags", "test", dag_id, logical_date]
        if conf:
            args += ["--conf", json.dumps(conf)]
        return self.run(*args, check=check)


def http_connection(conn_type: str, url: str, **fields: object) -> str:
    """A Connection as the JSON an ``AIRFLOW_CONN_*`` variable holds."""
    parsed = urlparse(url)
    return json.dumps(
        {"conn_type": conn_type, "host": parsed.hostname, "port": parsed.port, "schema": parsed.scheme, **fields}
    )


def sandbox_connections(sandbox: Any, sources: Mapping[str, SourceConfig] | None = None) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables reaching ``sandbox`` for every configured source it serves.

    A source's connector plugin name is the sandbox vendor's name (``hubspot``, ``salesforce``, ...).
    """
    served = sandbox.airflow_connections()
    env = {}
    for source in (sources if sources is not None else load_sources()).values():
        if source.conn_id and source.connector in served:
            fields = dict(served[source.connector])
            env[f"AIRFLOW_CONN_{source.conn_id.upper()}"] = http_connection(
                fields.pop("conn_type"), sandbox.url(source.connector), **fields
            )
    return env


def prepare_file_drops(data: Any, data_dir: Path, sources: Mapping[str, SourceConfig] | None = None) -> list[str]:
    """Write the sandbox's legacy export files into every configured file-drop source's folder.

    The file drop has no API to fake: its sandbox is files in the folder the source reads.
    """
    from crmhub.sandbox.vendors import VENDORS

    written = []
    for source in (sources if sources is not None else load_sources()).values():
        spec = VENDORS.get(source.name)
        if source.conn_id is not None or spec is None or spec.app is not None or source.name not in data.vendors:
            continue
        module = __import__(spec.derive.partition(":")[0], fromlist=["write_drop"])
        folder = Path(str(source.options.get("folder", source.name)))
        folder = folder if folder.is_absolute() else data_dir / folder
        written += [str(p) for p in module.write_drop(data, folder)]
    return written


def local_airflow(
    home: Path,
    *,
    connections: Mapping[str, str],
    warehouse_url: str | None,
    data_dir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> LocalAirflow:
    """Environment for a local Airflow with ``connections`` (``AIRFLOW_CONN_*`` → JSON, see
    :func:`sandbox_connections`) that writes to the given warehouse."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "GX_ANALYTICS_ENABLED": "false",
            "CRMHUB_DATA_DIR": str(data_dir),
            "CRMHUB_RETRIES": env.get("CRMHUB_RETRIES", "1"),
            "CRMHUB_RETRY_DELAY_SECONDS": env.get("CRMHUB_RETRY_DELAY_SECONDS", "2"),
            **connections,
        }
    )
    # `airflow standalone` starts its components as `airflow ...` processes: the venv must be on PATH.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    pythonpath = [str(PROJECT_DIR / "plugins"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in pythonpath if p)
    if warehouse_url:
        env["CRMHUB_WAREHOUSE_URL"] = warehouse_url
    else:
        env.pop("CRMHUB_WAREHOUSE_URL", None)
    env.update(extra_env or {})
    return LocalAirflow(home, env)


def run_pipeline(
    airflow: LocalAirflow, logical_date: str, *, full_refresh: bool = False
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Ingest every configured source, then reconcile; returns each DAG's run output (its task logs)."""
    outputs = {}
    for name in load_sources():
        dag_id = f"crmhub_ingest_{name}"
        outputs[dag_id] = airflow.dags_test(dag_id, logical_date, conf={"full_refresh": True} if full_refresh else None)
    outputs["crmhub_reconcile"] = airflow.dags_test("crmhub_reconcile", logical_date)
    return outputs
