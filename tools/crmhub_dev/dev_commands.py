"""``python -m crmhub demo | ui``: the developer commands (sandbox, demo, a local Airflow UI)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from crmhub.command_registry import Handler, command

#: Bind addresses that keep the no-login UI on this machine.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


@command("demo", "run the whole hub against the sandbox into the embedded DuckDB warehouse, then summarize")
def _demo(parser: argparse.ArgumentParser) -> Handler:
    from crmhub_dev import demo

    demo.add_arguments(parser)
    return demo.run


@command("ui", "start the sandbox and a local Airflow (standalone) with the UI on http://127.0.0.1:8080")
def _ui(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the UI binds (default 127.0.0.1: this machine only; everyone who reaches it is admin)",
    )

    def run(args: argparse.Namespace) -> int:
        from datetime import UTC, datetime

        from crmhub.config import load_sources
        from crmhub.paths import PROJECT_DIR
        from crmhub_dev.localrun import local_airflow, prepare_file_drops, sandbox_connections
        from crmhub_dev.sandbox.datagen import generate
        from crmhub_dev.sandbox.server import SandboxServer

        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        data = generate(anchor=today)
        with SandboxServer(data=data, tls=True) as sandbox:
            prepare_file_drops(data, PROJECT_DIR / "data")
            airflow = local_airflow(
                PROJECT_DIR / ".airflow",
                connections=sandbox_connections(sandbox),
                warehouse_url=os.environ.get("CRMHUB_WAREHOUSE_URL"),
                data_dir=PROJECT_DIR / "data",
                extra_env={
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                    "AIRFLOW__API__HOST": args.host,
                    "AIRFLOW__API__PORT": str(args.port),
                },
            )
            airflow.migrate()
            airflow.import_pools(load_sources())
            who = "only this machine can reach it" if args.host in LOOPBACK else "WARNING: other machines can reach it"
            print(f"Airflow UI: http://{_url_host(args.host)}:{args.port} (no login, everyone is admin; {who}).")
            print("Ctrl-C stops everything.")
            airflow_bin = Path(sys.executable).with_name("airflow")
            try:
                return subprocess.call([str(airflow_bin), "standalone"], env=airflow.env)
            except KeyboardInterrupt:
                return 0

    return run


@command("warehouse-diff", "compare two warehouses table by table, run ids and load times left out (refactor proof)")
def _warehouse_diff(parser: argparse.ArgumentParser) -> Handler:
    from crmhub_dev import warehouse_diff

    warehouse_diff.add_arguments(parser)
    return warehouse_diff.run
