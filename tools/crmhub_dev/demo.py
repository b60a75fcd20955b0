"""``python -m crmhub demo``: the hub end to end on the embedded default.

Starts the sandbox vendor APIs, runs every ingest DAG, the reconcile DAG and the write-back DAG through
a local Airflow (``airflow dags test``, SQLite metadata) into the DuckDB warehouse, and prints what
happened. No PostgreSQL, no Docker. The sandbox CRMs keep what the hub wrote in
``<data dir>/sandbox/``, so a second demo in the same data dir finds its follow-ups: 0 created.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from crmhub.config import load_sources
from crmhub.paths import PROJECT_DIR
from crmhub_dev.localrun import (
    local_airflow,
    pipeline_dag_ids,
    prepare_file_drops,
    run_pipeline,
    sandbox_connections,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--people", type=int, default=200, help="people in the sandbox data (default 200)")
    parser.add_argument("--seed", type=int, default=42, help="sandbox data seed (default 42)")
    parser.add_argument(
        "--date",
        help="logical date of the runs, YYYY-MM-DD (default: each run's real start, so the UI shows real durations)",
    )
    parser.add_argument("--data-dir", type=Path, default=PROJECT_DIR / "data", help="warehouse and run files")
    parser.add_argument("--warehouse-url", help="postgresql://... instead of the embedded DuckDB file")


def run(args: argparse.Namespace) -> int:
    from crmhub_dev.sandbox.datagen import generate
    from crmhub_dev.sandbox.hubspot import HubSpotSettings
    from crmhub_dev.sandbox.server import SandboxServer

    started = time.monotonic()
    logical_date = args.date  # None: every run's logical date is its real start (see localrun)
    # The sandbox's newest data lies in the interval a run covers: a day before a given date, else the
    # midnight before yesterday-at-this-time (before every daily cron tick of the last 24 hours).
    if args.date:
        anchor = datetime.fromisoformat(args.date).replace(tzinfo=UTC) - timedelta(days=1)
    else:
        anchor = (datetime.now(UTC) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    warehouse_url = args.warehouse_url or f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    when = f"logical date {logical_date}" if logical_date else "logical dates = each run's start"
    print(f"crmhub demo: sandbox with {args.people} people (seed {args.seed}), {when}", flush=True)
    data = generate(seed=args.seed, people=args.people, anchor=anchor)
    hubspot = HubSpotSettings(writes_file=str(data_dir / "sandbox" / "hubspot_writes.json"))
    with SandboxServer(data=data, tls=True, hubspot_settings=hubspot) as sandbox:
        print(f"crmhub demo: sandbox vendors {', '.join(sandbox.vendors)} on HTTPS (CA {sandbox.ca_bundle})")
        drops = prepare_file_drops(data, data_dir)
        if drops:
            print(f"crmhub demo: legacy CRM export files dropped: {drops}")
        airflow = local_airflow(
            PROJECT_DIR / ".airflow",
            connections=sandbox_connections(sandbox),
            warehouse_url=warehouse_url,
            data_dir=data_dir,
        )
        print("crmhub demo: preparing Airflow metadata DB and pools in .airflow/ ...", flush=True)
        airflow.migrate()
        airflow.import_pools(load_sources())
        on_start, on_finish = progress_printer(len(pipeline_dag_ids()))
        run_pipeline(airflow, logical_date, on_start=on_start, on_finish=on_finish)
        print(f"crmhub demo: task logs in {airflow.log_folder} (the UI shows them: make ui)", flush=True)
        writeback_run = airflow.latest_run_id("crmhub_writeback")
    print_summary(warehouse_url, data_dir, time.monotonic() - started, writeback_run=writeback_run)
    return 0


def progress_printer(
    total: int, out: TextIO | None = None
) -> tuple[Callable[[str], None], Callable[[str, float, subprocess.CompletedProcess[str] | None], None]]:
    """``run_pipeline`` callbacks printing one line as each DAG run starts and one as it ends (with its
    duration and outcome), flushed at once so the demo shows where it is."""
    counter = {"n": 0}

    def write(line: str) -> None:
        stream = out if out is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def on_start(dag_id: str) -> None:
        counter["n"] += 1
        write(f"crmhub demo: [{counter['n']}/{total}] {dag_id} started ...")

    def on_finish(dag_id: str, seconds: float, result: subprocess.CompletedProcess[str] | None) -> None:
        outcome = "done" if result is not None and result.returncode == 0 else "FAILED"
        write(f"crmhub demo: [{counter['n']}/{total}] {dag_id} {outcome} in {_duration(seconds)}")

    return on_start, on_finish


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def latest_run_summary(data_dir: Path) -> dict[str, Any]:
    runs = sorted((data_dir / "runs").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text(encoding="utf-8")) if runs else {}


def writeback_counts(warehouse: Any, run_id: str | None) -> dict[str, int]:
    """Attempts per status of one write-back run (every status shown, 0 when none)."""
    from crmhub.connectors.writeback import STATUSES

    counts = dict.fromkeys(STATUSES, 0)
    if run_id:
        rows = warehouse.query(
            "SELECT status, COUNT(*) AS n FROM audit.writeback_attempts WHERE run_id = :run_id GROUP BY 1",
            {"run_id": run_id},
        )
        counts.update({str(r.status): int(r.n) for r in rows.itertuples()})
    return counts


def print_summary(warehouse_url: str, data_dir: Path, seconds: float, *, writeback_run: str | None = None) -> None:
    from crmhub.warehouse import Warehouse

    summary = latest_run_summary(data_dir)
    with Warehouse.from_url(warehouse_url) as warehouse:
        raw = warehouse.query(
            "SELECT source, object_type, COUNT(*) AS records FROM raw.payloads GROUP BY 1, 2 ORDER BY 1, 2"
        )
        counts = warehouse.table_counts()
        rules = warehouse.query(
            "SELECT match_rule, COUNT(*) AS records FROM core.contact_xref WHERE is_current GROUP BY 1 ORDER BY 1"
        )
        in_review = len(warehouse.review_queue())
        written = writeback_counts(warehouse, writeback_run)
    lines = ["", "=" * 72, "Social CRM Hub — demo summary", "=" * 72, "Records per source (raw.payloads):"]
    lines += [f"  {r.source:<12} {r.object_type:<16} {r.records:>7}" for r in raw.itertuples()]
    match = summary.get("match_and_survive", {})
    lines += ["Reconcile:"]
    for key in ("source_records", "golden", "linked_pairs", "conflicts", "interactions_attached",
                "interactions_unattributed"):  # fmt: skip
        if key in match:
            lines.append(f"  {key.replace('_', ' '):<28} {match[key]:>7}")
    left_out = (match.get("interaction_filter") or {}).get("left_out_by_rule") or {}
    if "interaction_filter" in match:
        lines.append(f"  {'interactions left out':<28} {match['interaction_filter'].get('left_out', 0):>7}"
                     " (include/config/interactions.yaml; stay in raw)")  # fmt: skip
        lines += [f"    {rule:<26} {n:>7}" for rule, n in sorted(left_out.items())]
    lines += ["  records per match rule (current xref):"]
    lines += [f"    {str(r.match_rule):<26} {r.records:>7}" for r in rules.itertuples()]
    lines += [
        f"Steward review: {in_review} pair(s) wait for a steward's link/split (core.review_queue)",
        "  work them in the Airflow UI (make ui): Browse > Steward review, http://127.0.0.1:8080/crmhub-steward/",
        "  (docs/reconcile.md, Steward review); a CSV of decisions: python -m crmhub steward import-decisions FILE",
    ]
    lines += ["Write-back to the CRMs (crmhub_writeback; audit.writeback_attempts):"]
    lines += [f"  {status.replace('_', ' '):<28} {n:>7}" for status, n in written.items()]
    lines += ["  a second demo in this data dir writes nothing new: created 0 (docs/operations.md, Write-back)"]
    quality = summary.get("validate", {})
    if quality:
        lines += [
            "Quality (Great Expectations):",
            f"  expectations {quality.get('expectations')}, passed {quality.get('passed')}, "
            f"failed blocking {quality.get('failed_blocking')}, failed warning {quality.get('failed_warning')}",
            f"  gates: {', '.join(quality.get('gates', []))}; quarantined entries: {quality.get('quarantined', 0)}"
            " (audit.quarantine, docs/quality.md)",
            f"  Data Docs: {quality.get('data_docs')}",
            "  in the Airflow UI (make ui): Browse > Data Docs, or the Data Docs tab of a DAG run",
        ]
    lines += ["Warehouse row counts:"]
    lines += [f"  {table:<32} {n:>7}" for table, n in counts.items()]
    if warehouse_url.startswith("duckdb:///"):
        from crmhub.warehouse.url import bi_file, parse_url

        path = warehouse_url.removeprefix("duckdb:///")
        copy = bi_file(parse_url(warehouse_url)) or path
        lines += [
            f"Warehouse file: {path}",
            f"Query its read-only BI copy {os.path.relpath(copy)} (a reader on the file itself locks loads out;",
            "  python -m crmhub bi-copy, docs/operations.md 'BI on DuckDB'):",
            f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{os.path.relpath(copy)}', read_only=True)"
            ".sql('SELECT * FROM mart.customer_360 LIMIT 10'))\"",
        ]
    else:
        lines += [f"Warehouse: {warehouse_url.split('@')[-1]}"]
    lines += [f"Wall time: {seconds:.0f} s", "=" * 72]
    print("\n".join(lines))
