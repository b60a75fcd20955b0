"""``python -m crmhub demo``: the hub end to end on the embedded default.

Starts the sandbox vendor APIs, runs every ingest DAG and the reconcile DAG through a local Airflow
(``airflow dags test``, SQLite metadata) into the DuckDB warehouse, and prints what happened.
No PostgreSQL, no Docker.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crmhub.config import load_sources
from crmhub.devtools.localrun import local_airflow, prepare_file_drops, run_pipeline, sandbox_connections
from crmhub.paths import PROJECT_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--people", type=int, default=200, help="people in the sandbox data (default 200)")
    parser.add_argument("--seed", type=int, default=42, help="sandbox data seed (default 42)")
    parser.add_argument("--date", help="logical date of the runs, YYYY-MM-DD (default: today, UTC)")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_DIR / "data", help="warehouse and run files")
    parser.add_argument("--warehouse-url", help="postgresql://... instead of the embedded DuckDB file")


def run(args: argparse.Namespace) -> int:
    from crmhub.sandbox.datagen import generate
    from crmhub.sandbox.server import SandboxServer

    started = time.monotonic()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    logical_date = args.date or today.strftime("%Y-%m-%d")
    # The sandbox's newest data is a day before the logical date: the daily interval that run covers.
    anchor = datetime.fromisoformat(logical_date).replace(tzinfo=UTC) - timedelta(days=1)
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    warehouse_url = args.warehouse_url or f"duckdb:///{data_dir / 'warehouse.duckdb'}"
    print(f"crmhub demo: sandbox with {args.people} people (seed {args.seed}), logical date {logical_date}")
    data = generate(seed=args.seed, people=args.people, anchor=anchor)
    with SandboxServer(data=data, tls=True) as sandbox:
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
        print("crmhub demo: preparing Airflow metadata DB and pools in .airflow/ ...")
        airflow.migrate()
        airflow.import_pools(load_sources())
        for dag_id in _dag_ids():
            print(f"crmhub demo: airflow dags test {dag_id} {logical_date} ...", flush=True)
        run_pipeline(airflow, logical_date)
    print_summary(warehouse_url, data_dir, time.monotonic() - started)
    return 0


def _dag_ids() -> list[str]:
    return [f"crmhub_ingest_{name}" for name in load_sources()] + ["crmhub_reconcile"]


def latest_run_summary(data_dir: Path) -> dict[str, Any]:
    runs = sorted((data_dir / "runs").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text(encoding="utf-8")) if runs else {}


def print_summary(warehouse_url: str, data_dir: Path, seconds: float) -> None:
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
    lines = ["", "=" * 72, "Social CRM Hub — demo summary", "=" * 72, "Records per source (raw.payloads):"]
    lines += [f"  {r.source:<12} {r.object_type:<16} {r.records:>7}" for r in raw.itertuples()]
    match = summary.get("match_and_survive", {})
    lines += ["Reconcile:"]
    for key in ("source_records", "golden", "linked_pairs", "conflicts", "interactions_attached",
                "interactions_unattributed"):  # fmt: skip
        if key in match:
            lines.append(f"  {key.replace('_', ' '):<28} {match[key]:>7}")
    lines += ["  records per match rule (current xref):"]
    lines += [f"    {str(r.match_rule):<26} {r.records:>7}" for r in rules.itertuples()]
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
        path = warehouse_url.removeprefix("duckdb:///")
        lines += [
            f"Warehouse file: {path}",
            "Query it:",
            f"  .venv/bin/python -c \"import duckdb; print(duckdb.connect('{os.path.relpath(path)}', read_only=True)"
            ".sql('SELECT * FROM mart.customer_360 LIMIT 10'))\"",
        ]
    else:
        lines += [f"Warehouse: {warehouse_url.split('@')[-1]}"]
    lines += [f"Wall time: {seconds:.0f} s", "=" * 72]
    print("\n".join(lines))
