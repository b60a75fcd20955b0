"""Run the hub's DAGs through a real, local Airflow: a project-scoped AIRFLOW_HOME, SQLite metadata,
Connections as ``AIRFLOW_CONN_*`` variables, pools from the source config, ``airflow dags test``.

The demo and the end-to-end tests both drive Airflow through here, so what the tests prove is what
the demo does.

``airflow dags test`` runs every task in its own process and writes the task logs to stdout only:
no file appears under ``<AIRFLOW_HOME>/logs``, so the UI (``crmhub ui`` on the same home) says
"Log file not found". After each run, :meth:`LocalAirflow.keep_task_logs` splits the captured output
into one file per task try, at the path and in the JSON-lines format the UI reads. And ``dags test``
takes the run's start date from its logical date: a run at 18:00 with logical date 00:00 shows 18 hours.
:func:`run_pipeline` therefore defaults to each run's real start as its logical date.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
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
        """One DAG run in one process; its task logs are kept where the UI reads them (also on failure)."""
        args = ["dags", "test", dag_id, logical_date]
        if conf:
            args += ["--conf", json.dumps(conf)]
        result = self.run(*args, check=False)
        try:
            self.keep_task_logs(dag_id, result.stdout + "\n" + result.stderr)
        except (OSError, sqlite3.Error) as exc:  # the run itself counts more than its log files
            print(f"crmhub: could not keep the task logs of {dag_id}: {exc}", file=sys.stderr)
        if check and result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise RuntimeError(f"airflow {' '.join(args)} failed (exit {result.returncode}):\n{tail}")
        return result

    @property
    def log_folder(self) -> Path:
        """``[logging] base_log_folder`` of this installation (Airflow's default: ``<home>/logs``)."""
        return Path(self.env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER") or self.home / "logs")

    def latest_run_id(self, dag_id: str) -> str | None:
        db = self._sqlite_db()
        if db is None:
            return None
        with closing(sqlite3.connect(db)) as conn:
            query = "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1"
            row = conn.execute(query, (dag_id,)).fetchone()
        return row[0] if row else None

    def keep_task_logs(self, dag_id: str, output: str, run_id: str | None = None) -> list[Path]:
        """Write each task try of the DAG's latest run (or ``run_id``) from ``output`` to its log file.

        Paths follow Airflow's default ``log_filename_template``
        (``dag_id=…/run_id=…/task_id=…/attempt=N.log``); lines are JSON like a worker writes them.
        The in-process execution API's own lines (``airflow.api_fastapi``) are left out: a worker's log
        does not have them either.
        """
        db = self._sqlite_db()
        run_id = run_id or self.latest_run_id(dag_id)
        if db is None or run_id is None:
            return []
        with closing(sqlite3.connect(db)) as conn:
            tries = {
                (task_id, int(map_index)): int(try_number)
                for task_id, map_index, try_number in conn.execute(
                    "SELECT task_id, map_index, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
                    (dag_id, run_id),
                )
            }
        segments = split_task_output(output)
        written = []
        seen: dict[tuple[str, int], int] = {}
        for (task_id, map_index), _ in segments:
            seen[(task_id, map_index)] = seen.get((task_id, map_index), 0) + 1
        for (task_id, map_index), records in segments:
            key = (task_id, map_index)
            attempt = tries.get(key, seen[key]) - seen[key] + 1  # earlier segments are earlier tries
            seen[key] -= 1
            folder = self.log_folder / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
            if map_index >= 0:
                folder /= f"map_index={map_index}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"attempt={max(attempt, 1)}.log"
            path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
            written.append(path)
        return written

    def _sqlite_db(self) -> Path | None:
        url = self.env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
        path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
        return path if path is not None and path.is_file() else None


_LINE = re.compile(r"^(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) \[(?P<level>\w+)\s*\] (?P<rest>.*)$")
_LOGGER = re.compile(r"^(?P<event>.*?)\s*\[(?P<logger>[A-Za-z_][\w.]*)\](?P<fields>(?: \S+=.*)?)$", re.DOTALL)
_TASK_START = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<map>-?\d+)")
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+) map_index=(?P<map>-?\d+)")
_NOT_TASK_LOGGERS = ("airflow.api_fastapi",)


def parse_console_log(output: str) -> list[dict[str, str]]:
    """Airflow's console log lines as records (``timestamp``, ``level``, ``event``, ``logger``);
    a line without a timestamp continues the record before it (multi-line messages, tracebacks)."""
    raw: list[tuple[dict[str, str], list[str]]] = []
    for line in output.splitlines():
        match = _LINE.match(line)
        if match is not None:
            raw.append(({"timestamp": match["ts"], "level": match["level"].lower()}, [match["rest"]]))
        elif raw:
            raw[-1][1].append(line)
        elif line.strip():
            raw.append(({}, [line]))
    records = []
    for record, lines in raw:
        text = "\n".join(lines)
        named = _LOGGER.match(text) if record else None
        if named is not None:
            record["event"] = (named["event"] + named["fields"]).rstrip()
            record["logger"] = named["logger"]
        else:
            record["event"] = text.rstrip()
        records.append(record)
    return records


def split_task_output(output: str) -> list[tuple[tuple[str, int], list[dict[str, str]]]]:
    """The records of each task try in ``airflow dags test`` output, in run order: what lies between
    ``[DAG TEST] starting task_id=…`` and ``[DAG TEST] end task task_id=…``."""
    segments: list[tuple[tuple[str, int], list[dict[str, str]]]] = []
    current: list[dict[str, str]] | None = None
    for record in parse_console_log(output):
        event = record.get("event", "")
        if (start := _TASK_START.search(event)) is not None and record.get("logger", "").startswith("airflow.sdk"):
            current = []
            segments.append(((start["task"], int(start["map"])), current))
            continue
        if _TASK_END.search(event) is not None and record.get("logger", "").startswith("airflow.sdk"):
            current = None
            continue
        if current is None or record.get("logger", "").startswith(_NOT_TASK_LOGGERS):
            continue
        if "[DAG TEST] running task" in event:
            continue
        current.append(record)
    return segments


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
    from crmhub_dev.sandbox.vendors import VENDORS

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


def pipeline_dag_ids() -> list[str]:
    """The DAGs of one pipeline run, in order: every configured source's ingest, reconcile, write-back."""
    return [f"crmhub_ingest_{name}" for name in load_sources()] + ["crmhub_reconcile", "crmhub_writeback"]


def now_logical_date() -> str:
    """The current moment as a logical date: ``dags test`` starts the run "at" its logical date."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def run_pipeline(
    airflow: LocalAirflow,
    logical_date: str | None = None,
    *,
    full_refresh: bool = False,
    on_start: Callable[[str], None] | None = None,
    on_finish: Callable[[str, float, subprocess.CompletedProcess[str] | None], None] | None = None,
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Ingest every configured source, reconcile, write back; returns each DAG's run output (its task logs).

    Without ``logical_date`` each run's logical date is the moment it starts, so its start and duration
    are real. ``on_start(dag_id)`` and ``on_finish(dag_id, seconds, result)`` report progress (``result``
    is ``None`` when the run raised).
    """
    outputs = {}
    for dag_id in pipeline_dag_ids():
        conf = {"full_refresh": True} if full_refresh and dag_id.startswith("crmhub_ingest_") else None
        if on_start is not None:
            on_start(dag_id)
        started = time.monotonic()
        result = None
        try:
            result = airflow.dags_test(dag_id, logical_date or now_logical_date(), conf=conf)
        finally:
            if on_finish is not None:
                on_finish(dag_id, time.monotonic() - started, result)
        outputs[dag_id] = result
    return outputs
