"""A real task log, from ``airflow dags test`` runs of one ingest DAG and the reconcile DAG.

What an operator opens in the UI: no library noise (GX's "Skipping registering function" lines),
each task's log ending in a counts-only summary line, the log file kept where the UI reads it (also for
the demo's ``dags test`` runs), and the run's start and duration real, not taken from a midnight date.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmhub.config import load_sources
from crmhub_dev.localrun import (
    LocalAirflow,
    local_airflow,
    now_logical_date,
    sandbox_connections,
    split_task_output,
)
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.server import SandboxServer

pytestmark = pytest.mark.airflow

DAGS = ("crmhub_ingest_hootsuite", "crmhub_reconcile")
SUMMARY = "crmhub summary: "


@dataclass
class Runs:
    airflow: LocalAirflow
    outputs: dict[str, subprocess.CompletedProcess[str]]
    started: datetime


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Iterator[Runs]:
    home = tmp_path_factory.mktemp("logs-airflow-home")
    data_dir = home / "data"
    anchor = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    data = datagen.generate(seed=5, people=20, anchor=anchor)
    with SandboxServer(data=data, tls=True) as sandbox:
        airflow = local_airflow(
            home,
            connections=sandbox_connections(sandbox),
            warehouse_url=f"duckdb:///{data_dir / 'warehouse.duckdb'}",
            data_dir=data_dir,
            extra_env={"CRMHUB_RETRY_DELAY_SECONDS": "1"},
        )
        airflow.migrate()
        airflow.import_pools(load_sources())
        started = datetime.now(UTC)
        outputs = {}
        for dag_id in DAGS:  # the demo's way (run_pipeline's default): logical date = the run's real start
            outputs[dag_id] = airflow.dags_test(dag_id, now_logical_date())
        yield Runs(airflow, outputs, started)


def _task_files(airflow: LocalAirflow, dag_id: str) -> list[Path]:
    run_id = airflow.latest_run_id(dag_id)
    assert run_id is not None
    return sorted((airflow.log_folder / f"dag_id={dag_id}" / f"run_id={run_id}").rglob("attempt=*.log"))


def test_no_library_noise_in_the_task_logs(runs: Runs) -> None:
    for dag_id, result in runs.outputs.items():
        text = result.stdout + result.stderr
        assert "Skipping registering function" not in text, dag_id
        assert "great_expectations" not in "".join(
            line for line in text.splitlines() if "[info" in line and "[great_expectations" in line
        )


def test_every_task_log_ends_in_its_summary(runs: Runs) -> None:
    for dag_id, result in runs.outputs.items():
        segments = split_task_output(result.stdout + result.stderr)
        assert {task for (task, _), _ in segments} >= (
            {"extract_social_profiles", "extract_messages"} if "ingest" in dag_id else {"canonicalize", "load"}
        )
        for (task_id, _), records in segments:
            own = [r["event"] for r in records if r.get("logger", "task") not in ("task",)]
            own = [e for e in own if not e.startswith("Done. Returned value")]
            assert own and own[-1].startswith(SUMMARY), (dag_id, task_id, own[-3:])
            line = own[-1]
            assert f"dag={dag_id} task={task_id} status=success" in line and " seconds=" in line
            # counts only: every field after the status is name=number
            fields = line.split(" loc=")[0].split("status=success", 1)[1].split()
            assert all(f.split("=")[1].replace(".", "", 1).isdigit() for f in fields), line
        if "ingest" in dag_id:
            assert all(
                " records=" in r["event"] and " pages=" in r["event"] and " landed=" in r["event"]
                for (_, _), recs in segments
                for r in recs
                if r["event"].startswith(SUMMARY)
            )


def test_task_logs_are_kept_where_the_ui_reads_them(runs: Runs) -> None:
    for dag_id in DAGS:
        files = _task_files(runs.airflow, dag_id)
        assert files, dag_id
        for path in files:
            events = [json.loads(line)["event"] for line in path.read_text(encoding="utf-8").splitlines()]
            last = [e for e in events if not e.startswith("::")][-1]
            assert last.startswith(SUMMARY), (path, last)
    # Airflow's own log reader (what the UI's log view calls) finds the file: no "Log file not found".
    dag_id = DAGS[0]
    code = (
        "import json, sys\n"
        "from airflow.models import TaskInstance\n"
        "from airflow.utils.log.log_reader import TaskLogReader\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as s:\n"
        f"    ti = s.query(TaskInstance).filter_by(dag_id={dag_id!r}, run_id={runs.airflow.latest_run_id(dag_id)!r},"
        " task_id='extract_messages').one()\n"
        "    logs, _ = TaskLogReader().read_log_chunks(ti, ti.try_number, {})\n"
        "    print(json.dumps([str(getattr(m, 'event', m)) for m in logs]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=runs.airflow.env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    events = json.loads(out.stdout.strip().splitlines()[-1])
    text = "\n".join(events)
    assert "not found" not in text.lower() and any(e.startswith(SUMMARY) for e in events), text[-2000:]


def test_runs_start_when_they_start_and_last_as_long_as_they_ran(runs: Runs) -> None:
    db = runs.airflow.home / "airflow.db"
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT dag_id, start_date, end_date FROM dag_run WHERE dag_id IN (?, ?)", DAGS).fetchall()
    assert {r[0] for r in rows} == set(DAGS)
    for dag_id, start, end in rows:
        start_at = datetime.fromisoformat(start).replace(tzinfo=UTC)
        end_at = datetime.fromisoformat(end).replace(tzinfo=UTC)
        assert start_at >= runs.started - timedelta(seconds=5), (dag_id, start)  # not the midnight before
        assert end_at - start_at < timedelta(minutes=10), (dag_id, start, end)
