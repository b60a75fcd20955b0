"""``python -m crmhub airflow-init``: prepare an Airflow deployment (the compose stack's init service).

Migrates the metadata database and creates one pool per vendor API from ``include/config/sources.yaml``
(its slots cap the tasks calling that API at once). Runs the ``airflow`` command of this interpreter's
environment, so it works wherever the hub is installed next to Airflow.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crmhub.command_registry import Handler, command
from crmhub.config import SourceConfig


def source_pools(sources: Mapping[str, SourceConfig]) -> dict[str, dict[str, Any]]:
    """The Airflow pools of the configured sources, in ``airflow pools import`` format."""
    return {
        s.pool: {
            "slots": max(t.pool_size for t in sources.values() if t.pool == s.pool),
            "description": f"concurrent calls to the {s.name} API",
            "include_deferred": False,
        }
        for s in sources.values()
    }


def airflow_command(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run this environment's ``airflow`` CLI; raises with its output when it fails."""
    airflow_bin = Path(sys.executable).with_name("airflow")
    return subprocess.run(
        [str(airflow_bin), *args], env=dict(env or os.environ), check=True, capture_output=True, text=True
    )


def import_pools(sources: Mapping[str, SourceConfig], env: Mapping[str, str] | None = None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pools.json"
        path.write_text(json.dumps(source_pools(sources), indent=2), encoding="utf-8")
        airflow_command("pools", "import", str(path), env=env)


@command("airflow-init", "prepare an Airflow deployment: migrate the metadata DB and create the source pools")
def _airflow_init(parser: argparse.ArgumentParser) -> Handler:
    def run(args: argparse.Namespace) -> int:
        from crmhub.config import load_sources

        airflow_command("db", "migrate")
        import_pools(load_sources())
        print("airflow-init: metadata DB migrated, pools created")
        return 0

    return run
