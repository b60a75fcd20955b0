"""A distributed Airflow on this machine: CeleryExecutor on the local Redis, PostgreSQL metadata.

Scheduler, dag-processor, triggerer, api-server (the workers' execution API) and one Celery worker run
as separate processes, each in its own process group so :meth:`AirflowStack.stop` ends them and
their children, and only them. A private Celery queue keeps other users of the shared Redis from
taking our tasks (and us theirs); every port is picked free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from crmhub_dev.localrun import LocalAirflow

T = TypeVar("T")
SERVICES: dict[str, list[str]] = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--workers", "1"],
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer"],
    "worker": ["celery", "worker", "--concurrency", "2"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def celery_env(metadata_db: str, broker_url: str) -> dict[str, str]:
    """Settings every process of the stack shares (one JWT secret, one execution API URL)."""
    api_port = free_port()
    queue = f"crmhub-test-{uuid.uuid4().hex[:8]}"
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{metadata_db}",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{metadata_db}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}/",
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__PARALLELISM": "4",
    }


@dataclass
class AirflowStack:
    """The running services of one local distributed Airflow."""

    airflow: LocalAirflow
    metadata_db: str
    log_dir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return self.airflow.env["AIRFLOW__API__BASE_URL"].rstrip("/")

    def start(self) -> None:
        airflow_bin = str(Path(sys.executable).with_name("airflow"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name, args in SERVICES.items():
            with open(self.log_dir / f"{name}.log", "wb") as out:
                self.processes[name] = subprocess.Popen(
                    [airflow_bin, *args], env=self.airflow.env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM each service's process group, SIGKILL what is left after ``grace`` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            _signal_group(process, signal.SIGKILL)  # children (celery forks, gunicorn) too
            process.wait(timeout=10)

    def log_tail(self, name: str, lines: int = 30) -> str:
        text = (self.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(f"postgresql://{self.metadata_db}", autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()

    def wait_for(self, what: str, check: Callable[[], T | None], timeout: float = 300, every: float = 2) -> T:
        """Poll ``check`` until it returns a value; fail early, with the log, if a service died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(
                        f"{name} exited ({process.returncode}) waiting for {what}:\n{self.log_tail(name)}"
                    )
            result = check()
            if result:
                return result
            time.sleep(every)
        tails = "\n".join(f"--- {n}\n{self.log_tail(n, 15)}" for n in ("scheduler", "worker"))
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tails}")

    def runs(self, dag_id: str) -> list[tuple[str, str]]:
        return [tuple(r) for r in self.query("SELECT run_id, state FROM dag_run WHERE dag_id = %s", dag_id)]


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
