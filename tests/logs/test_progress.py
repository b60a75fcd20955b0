"""Unit level: the summary line's content, the split of ``dags test`` output into task log files, the
demo's progress lines as each DAG starts and ends, and bootstrap's progress while pip works."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from crmhub.orchestration import defaults
from crmhub.paths import PROJECT_DIR
from crmhub_dev import localrun
from crmhub_dev.demo import progress_printer
from crmhub_dev.localrun import LocalAirflow, parse_console_log, split_task_output

OUTPUT = """\
2026-12-07T19:00:09.916305Z [info     ] [DAG TEST] starting task_id=extract_messages map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501
2026-12-07T19:00:09.916818Z [info     ] [DAG TEST] running task <TaskInstance: d.extract_messages r [SCHEDULED]> [airflow.sdk.definitions.dag] loc=dag.py:1
2026-12-07T19:00:10.000000Z [info     ] Task started                   [airflow.api_fastapi.execution_api.routes.task_instances] ti_id=1
2026-12-07T19:00:11.000000Z [info     ] Loading 'datasources' ->
[]    [great_expectations.datasource.fluent.config] loc=config.py:191
2026-12-07T19:00:12.000000Z [info     ] crmhub summary: dag=d task=extract_messages status=up_for_retry error=HTTPError seconds=1.0 [crmhub.orchestration.defaults] loc=defaults.py:1
2026-12-07T19:00:12.100000Z [info     ] [DAG TEST] end task task_id=extract_messages map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563
2026-12-07T19:00:13.916305Z [info     ] [DAG TEST] starting task_id=extract_messages map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1501
2026-12-07T19:00:14.000000Z [info     ] crmhub summary: dag=d task=extract_messages status=success records=3 pages=1 seconds=0.4 [crmhub.orchestration.defaults] loc=defaults.py:1
2026-12-07T19:00:14.100000Z [info     ] [DAG TEST] end task task_id=extract_messages map_index=-1 [airflow.sdk.definitions.dag] loc=dag.py:1563
2026-12-07T19:00:15.000000Z [info     ] DagRun Finished: dag_id=d [airflow.models.dagrun.DagRun]
"""  # noqa: E501


# -- the summary line --------------------------------------------------------------------------------
def test_summary_holds_counts_only_first_the_known_ones() -> None:
    stats = {
        "source": "hubspot",  # text is never shown
        "object_type": "contacts",
        "requests": 4,
        "landed": 120,
        "records": 130,
        "pages": 2,
        "quarantined": 0,
        "retries": 0,  # zero, not a known count: left out
        "seconds": 3.2,  # the task's own seconds are measured by the hook
        "failed": None,
        "ok": True,
        "nested": {"a": 1},
    }
    assert defaults.summary_fields(stats) == {
        "records": 130,
        "pages": 2,
        "landed": 120,
        "quarantined": 0,
        "requests": 4,
    }
    assert defaults.summary_fields(7) == {"result": 7}
    assert defaults.summary_fields("jan@example.nl") == {} and defaults.summary_fields(None) == {}
    line = defaults.summary_line("crmhub_ingest_hubspot", "extract_contacts", "success", {"records": 3}, 1.234)
    assert (
        line == "crmhub summary: dag=crmhub_ingest_hubspot task=extract_contacts status=success records=3 seconds=1.2"
    )


def test_the_task_hooks_quiet_libraries_and_log_the_summary_last(caplog) -> None:
    ti = SimpleNamespace(dag_id="d", task_id="t", run_id="r", map_index=-1, try_number=1)
    context = {"ti": ti}
    logging.getLogger("great_expectations").setLevel(logging.NOTSET)
    defaults.task_started(context)
    assert logging.getLogger("great_expectations").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("urllib3").getEffectiveLevel() >= logging.WARNING
    defaults.keep_result(context, {"records": 2, "landed": 2, "email": "x@example.org"})
    with caplog.at_level(logging.INFO, logger="crmhub.orchestration.defaults"):
        defaults.log_success_summary(context)
        defaults.task_started(context)
        defaults.log_failure_summary({**context, "exception": ValueError("secret value")})
    success, failed = [r.getMessage() for r in caplog.records][-2:]
    assert success.startswith("crmhub summary: dag=d task=t status=success records=2 landed=2 seconds=")
    assert "status=failed error=ValueError seconds=" in failed and "secret" not in failed


def test_every_hub_task_gets_the_hooks() -> None:
    args = defaults.default_args()
    assert defaults.task_started in args["on_execute_callback"]
    assert args["post_execute"] is defaults.keep_result
    assert args["on_success_callback"][-1] is defaults.log_success_summary
    assert args["on_failure_callback"][-1] is defaults.log_failure_summary
    assert args["on_retry_callback"][-1] is defaults.log_retry_summary


# -- task log files from `airflow dags test` output -------------------------------------------------
def test_console_lines_become_records_with_level_logger_and_continuations() -> None:
    records = parse_console_log(OUTPUT)
    gx = next(r for r in records if r.get("logger") == "great_expectations.datasource.fluent.config")
    assert gx["event"].startswith("Loading 'datasources' ->\n[]") and gx["level"] == "info"


def test_output_splits_into_one_segment_per_try_without_the_api_servers_lines() -> None:
    segments = split_task_output(OUTPUT)
    assert [key for key, _ in segments] == [("extract_messages", -1), ("extract_messages", -1)]
    first, second = (records for _, records in segments)
    assert not any("Task started" in r["event"] or "[DAG TEST]" in r["event"] for r in first)
    assert first[-1]["event"].startswith("crmhub summary:") and "up_for_retry" in first[-1]["event"]
    assert [r["event"].split(" [")[0][:22] for r in second] == ["crmhub summary: dag=d "]


def test_keep_task_logs_writes_each_try_where_the_ui_reads_it(tmp_path: Path) -> None:
    db = tmp_path / "airflow.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE dag_run (id INTEGER PRIMARY KEY, dag_id TEXT, run_id TEXT)")
        conn.execute(
            "CREATE TABLE task_instance (dag_id TEXT, run_id TEXT, task_id TEXT, map_index INT, try_number INT)"
        )
        conn.execute("INSERT INTO dag_run (dag_id, run_id) VALUES ('d', 'old'), ('d', 'manual__x')")
        conn.execute("INSERT INTO task_instance VALUES ('d', 'manual__x', 'extract_messages', -1, 2)")
        conn.commit()
    airflow = LocalAirflow(tmp_path, {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}"})
    written = airflow.keep_task_logs("d", OUTPUT)
    folder = tmp_path / "logs" / "dag_id=d" / "run_id=manual__x" / "task_id=extract_messages"
    assert written == [folder / "attempt=1.log", folder / "attempt=2.log"]
    last = [json.loads(line) for line in written[1].read_text(encoding="utf-8").splitlines()][-1]
    assert last["event"].startswith("crmhub summary:") and last["logger"] == "crmhub.orchestration.defaults"


# -- the demo's progress -----------------------------------------------------------------------------
def test_the_demo_prints_each_dag_as_it_starts_and_ends_with_its_duration() -> None:
    out = io.StringIO()
    on_start, on_finish = progress_printer(2, out)
    on_start("crmhub_ingest_hubspot")
    assert out.getvalue() == "crmhub demo: [1/2] crmhub_ingest_hubspot started ...\n"  # before the run, not after
    on_finish("crmhub_ingest_hubspot", 12.34, subprocess.CompletedProcess([], 0))
    on_start("crmhub_reconcile")
    on_finish("crmhub_reconcile", 75.0, None)
    assert out.getvalue().splitlines()[1:] == [
        "crmhub demo: [1/2] crmhub_ingest_hubspot done in 12.3 s",
        "crmhub demo: [2/2] crmhub_reconcile started ...",
        "crmhub demo: [2/2] crmhub_reconcile FAILED in 1 min 15 s",
    ]


def test_run_pipeline_reports_each_run_around_it_with_a_real_time_logical_date(monkeypatch) -> None:
    events: list[tuple[str, ...]] = []

    class FakeAirflow:
        def dags_test(self, dag_id: str, logical_date: str, conf=None) -> subprocess.CompletedProcess[str]:
            events.append(("run", dag_id, logical_date))
            return subprocess.CompletedProcess([], 0, "", "")

    monkeypatch.setattr(localrun, "pipeline_dag_ids", lambda: ["crmhub_ingest_a", "crmhub_reconcile"])
    before = datetime.now(UTC).replace(microsecond=0)
    localrun.run_pipeline(
        FakeAirflow(),  # type: ignore[arg-type]
        on_start=lambda d: events.append(("start", d)),
        on_finish=lambda d, s, r: events.append(("finish", d, r.returncode)),
    )
    assert [e[0] for e in events] == ["start", "run", "finish"] * 2
    logical = datetime.fromisoformat(events[1][2])
    assert before <= logical <= datetime.now(UTC)  # now, not the midnight before


# -- bootstrap's progress ----------------------------------------------------------------------------
FAKE_PIP = """#!/usr/bin/env bash
# stands in for .venv/bin/python -m pip: pip-like output, slowly
if [[ "$*" == *"pip install"*"-r requirements.txt"* ]]; then
  for i in $(seq 1 10); do echo "Collecting pkg$i==1.0"; echo "  Using cached pkg$i-1.0-py3-none-any.whl"; done
  echo "Installing collected packages: pkg1, pkg2"
  sleep 1.5
  echo "Successfully installed pkg1-1.0 pkg2-1.0"
fi
exit 0
"""


def test_bootstrap_shows_progress_while_pip_works(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "bootstrap.sh").write_text(
        (PROJECT_DIR / "scripts" / "bootstrap.sh").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "requirements.txt").write_text("".join(f"pkg{i}==1.0\n" for i in range(1, 11)), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(FAKE_PIP, encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PYTHON": sys.executable, "BOOTSTRAP_PROGRESS_EVERY": "4"}
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(tmp_path / "scripts" / "bootstrap.sh")], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "bootstrap: [1/2] dependencies from requirements.txt (10 packages)"
    assert "bootstrap: 4/10 packages resolved" in lines and "bootstrap: 8/10 packages resolved" in lines
    assert any(line.startswith("bootstrap: 10/10 packages resolved; installing") for line in lines)
    assert lines[-3:] == [
        "bootstrap: installed",
        "bootstrap: [2/2] the hub itself (editable)",
        "bootstrap: .venv ready",
    ]
    assert "Collecting pkg1==1.0" in (tmp_path / ".venv" / "bootstrap.log").read_text(encoding="utf-8")
    assert time.monotonic() - started < 30  # the heartbeat does not outlive pip
