"""Engine selection by URL and DuckDB's single-writer lock (no database server needed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from crmhub import paths
from crmhub.warehouse import Warehouse, WarehouseLockedError, connect_warehouse, parse_url


def test_urls_select_the_engine() -> None:
    assert parse_url("duckdb:///srv/wh.duckdb").path == Path("/srv/wh.duckdb")
    assert parse_url("duckdb:///:memory:").path is None
    pg = parse_url("postgresql://crm:secret@db:5432/warehouse")
    assert (pg.dialect, pg.dsn) == ("postgresql", "postgresql://crm:secret@db:5432/warehouse")
    assert pg.redacted() == "postgresql://crm@db:5432/warehouse"
    assert parse_url("duckdb:////srv/wh.duckdb").path == Path("/srv/wh.duckdb")
    for bad in ("duckdb://relative.duckdb", "sqlite:///x.db", "/just/a/path"):
        with pytest.raises(ValueError):
            parse_url(bad)


def test_connect_warehouse_reads_env_and_defaults_to_duckdb_in_data_dir(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("CRMHUB_WAREHOUSE_URL", raising=False)
    from crmhub.warehouse.url import default_url

    assert default_url() == f"duckdb://{paths.DATA_DIR.resolve() / 'warehouse.duckdb'}"
    monkeypatch.setenv("CRMHUB_WAREHOUSE_URL", f"duckdb://{tmp_path / 'env.duckdb'}")
    with connect_warehouse() as wh:
        assert wh.dialect == "duckdb" and wh.url.path == tmp_path / "env.duckdb"


def test_duckdb_lock_held_by_another_process_gives_a_clear_error(tmp_path) -> None:
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db)!r})
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(WarehouseLockedError, match="locked by another process"):
            Warehouse.from_url(f"duckdb://{db}", lock_timeout=1.0)
        assert 0.9 <= time.monotonic() - started < 10
    finally:
        holder.communicate("")
    with Warehouse.from_url(f"duckdb://{db}", lock_timeout=1.0) as wh:
        assert wh.dialect == "duckdb"
