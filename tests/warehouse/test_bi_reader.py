"""BI next to DuckDB: a BI tool reads the published copy, never the live file (issue 16, item 6).

Real DuckDB files, real reconcile runs through the stage functions, and the BI tool as another
process holding a read-only connection, as DBeaver or a notebook would.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from wh_helpers import InjectedFailure, contact, fail_after_file, stage_run

from crmhub.ops.erasure import ErasureRequest, erase
from crmhub.warehouse import Warehouse, publish

#: A BI tool: opens the copy read-only, reads until told to reconnect, reads once more, exits.
READER = r"""
import json, sys, time
from pathlib import Path
import duckdb

copy, out, reopen = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])

def read(conn):
    return {
        "xref": [r[0] for r in conn.execute(
            "SELECT source || ':' || source_id FROM core.contact_xref ORDER BY 1").fetchall()],
        "current_golden": conn.execute(
            "SELECT count(*) FROM core.golden_contacts WHERE is_current").fetchone()[0],
        "loads": conn.execute(
            "SELECT count(*) FROM audit.load_audit WHERE stage = 'load_reconciled' AND status = 'success'"
        ).fetchone()[0],
    }

conn = duckdb.connect(str(copy), read_only=True)
with out.open("a") as log:
    while not reopen.exists():
        log.write(json.dumps({"phase": "held", **read(conn)}) + "\n")
        log.flush()
        time.sleep(0.05)
    conn.close()
    conn = duckdb.connect(str(copy), read_only=True)
    log.write(json.dumps({"phase": "reopened", **read(conn)}) + "\n")
conn.close()
"""

SANNE = ("hubspot", "101", "2025-01-01")
PIETER = {"first_name": "Pieter", "last_name": "Jansen", "email": "pieter.jansen@example.nl", "city": "Zwolle"}


def first_run(data: Path, url: str) -> None:
    with Warehouse.from_url(url) as wh:
        wh.migrate()
        stage_run(wh, data, "run-1", [contact(*SANNE)])


def reads(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def wait_for_reads(out: Path, count: int, reader: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(reads(out)) < count:
        assert reader.poll() is None, "the BI reader exited early"
        assert time.monotonic() < deadline, "the BI reader stopped reading"
        time.sleep(0.05)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bi_reader_holding_the_published_copy_neither_blocks_a_load_nor_sees_it_half_done(tmp_path: Path) -> None:
    data, live = tmp_path / "data", tmp_path / "warehouse.duckdb"
    url = f"duckdb://{live}"
    first_run(data, url)
    copy = tmp_path / "warehouse.bi.duckdb"
    out, reopen = tmp_path / "reads.jsonl", tmp_path / "reopen"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(copy), str(out), str(reopen)])
    try:
        wait_for_reads(out, 1, reader)
        # a reader on the live file would make this open wait and raise WarehouseLockedError
        with Warehouse.from_url(url, lock_timeout=2) as wh:
            original = wh.engine.run_file

            def run_file(name: str, params: Any = None) -> int:
                result = original(name, params)
                if name.startswith("xref_open"):  # inside the load transaction, the new xref written
                    wait_for_reads(out, len(reads(out)) + 3, reader)
                return result

            wh.engine.run_file = run_file  # type: ignore[method-assign]
            stage_run(wh, data, "run-2", [contact(*SANNE), contact("hubspot", "102", "2025-01-02", **PIETER)])
        wait_for_reads(out, len(reads(out)) + 3, reader)  # still on the copy it opened, now replaced
        reopen.touch()
        assert reader.wait(timeout=60) == 0
    finally:
        if reader.poll() is None:
            reader.kill()
    held = [r for r in reads(out) if r["phase"] == "held"]
    (reopened,) = [r for r in reads(out) if r["phase"] == "reopened"]
    old = {"xref": ["hubspot:101"], "current_golden": 1, "loads": 1}
    assert all({k: r[k] for k in old} == old for r in held), "the reader saw something but the old state"
    assert len(held) >= 7
    assert reopened == {"phase": "reopened", "xref": ["hubspot:101", "hubspot:102"], "current_golden": 2, "loads": 2}


def test_a_failed_load_leaves_the_published_copy_as_it_was(tmp_path: Path) -> None:
    data, live = tmp_path / "data", tmp_path / "warehouse.duckdb"
    url = f"duckdb://{live}"
    first_run(data, url)
    copy = tmp_path / "warehouse.bi.duckdb"
    before, manifest = sha256(copy), publish.manifest_path(copy).read_text()
    with Warehouse.from_url(url) as wh:
        fail_after_file(wh, "xref_open")
        with pytest.raises(InjectedFailure):
            stage_run(wh, data, "run-2", [contact(*SANNE), contact("hubspot", "102", "2025-01-02", **PIETER)])
    assert sha256(copy) == before
    assert publish.manifest_path(copy).read_text() == manifest
    assert sorted(p.name for p in tmp_path.iterdir() if "publishing" in p.name) == []


def test_the_published_copy_opens_read_only_at_the_state_of_the_last_load(tmp_path: Path) -> None:
    import duckdb

    data, live = tmp_path / "data", tmp_path / "warehouse.duckdb"
    first_run(data, f"duckdb://{live}")
    conn = duckdb.connect(str(tmp_path / "warehouse.bi.duckdb"), read_only=True)
    try:
        xref = conn.execute("SELECT source, source_id FROM core.contact_xref").fetchall()
        customers = conn.execute("SELECT count(*) FROM mart.customer_360").fetchone()
    finally:
        conn.close()
    assert xref == [("hubspot", "101")]
    assert customers == (1,)


def test_an_erasure_takes_the_person_out_of_the_published_copy_too(tmp_path: Path) -> None:
    import duckdb

    data, live = tmp_path / "data", tmp_path / "warehouse.duckdb"
    first_run(data, f"duckdb://{live}")
    with Warehouse.from_url(f"duckdb://{live}") as wh:
        erase(wh, ErasureRequest("email", "sanne.bakker@example.nl"), None, prove=False)
    conn = duckdb.connect(str(tmp_path / "warehouse.bi.duckdb"), read_only=True)
    try:
        left = conn.execute("SELECT count(*) FROM core.golden_contacts WHERE email = 'sanne.bakker@example.nl'")
        assert left.fetchone() == (0,)
    finally:
        conn.close()


def test_closing_without_a_change_bi_must_see_does_not_copy_again(tmp_path: Path) -> None:
    data, live = tmp_path / "data", tmp_path / "warehouse.duckdb"
    first_run(data, f"duckdb://{live}")
    copy = tmp_path / "warehouse.bi.duckdb"
    inode = copy.stat().st_ino
    with Warehouse.from_url(f"duckdb://{live}") as wh:
        wh.migrate()
        wh.review_queue()
    assert copy.stat().st_ino == inode


def test_a_write_back_attempt_reaches_the_published_copy(tmp_path: Path) -> None:
    """Write-back runs load nothing, but what the CRMs were sent is for BI too (audit.writeback_attempts)."""
    import duckdb

    data, live = tmp_path / "data", tmp_path / "warehouse.duckdb"
    first_run(data, f"duckdb://{live}")
    with Warehouse.from_url(f"duckdb://{live}") as wh:
        wh.engine.run_file(
            "writeback_attempt_insert",
            {
                "run_id": "wb-1", "kind": "task", "message_source": "sprout", "message_source_id": "m1",
                "golden_id": "G1", "target_source": "hubspot", "target_record": "101", "write_key": "crmhub-k1",
                "status": "created", "reason": None, "retryable": False, "vendor_id": "t1", "fields": None,
                "attempted_at": "2026-12-07 10:00:00+00",
            },
        )  # fmt: skip
    conn = duckdb.connect(str(tmp_path / "warehouse.bi.duckdb"), read_only=True)
    try:
        assert conn.execute("SELECT status FROM audit.writeback_attempts").fetchall() == [("created",)]
    finally:
        conn.close()


def test_bi_copy_names_the_copy_to_open_read_only_and_not_the_live_file(tmp_path: Path, capsys) -> None:
    from crmhub import cli

    live = tmp_path / "warehouse.duckdb"
    first_run(tmp_path / "data", f"duckdb://{live}")
    assert cli.main(["bi-copy", "--warehouse-url", f"duckdb://{live}"]) == 0
    out = capsys.readouterr().out
    assert f"duckdb -readonly {tmp_path / 'warehouse.bi.duckdb'}\n" in out
    assert f"never open {live} itself" in out


def blocked_bi_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A warehouse whose BI copy cannot be written: its folder is a regular file."""
    (tmp_path / "blocker").write_text("not a folder")
    monkeypatch.setenv("CRMHUB_WAREHOUSE_BI_FILE", "blocker/warehouse.bi.duckdb")
    return f"duckdb://{tmp_path / 'warehouse.duckdb'}"


def test_a_copy_that_cannot_be_published_fails_the_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = blocked_bi_file(tmp_path, monkeypatch)
    wh = Warehouse.from_url(url)
    wh.migrate()
    with pytest.raises(OSError):
        wh.close()


def test_a_failing_task_reports_its_own_error_not_the_unpublished_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = blocked_bi_file(tmp_path, monkeypatch)
    with pytest.raises(InjectedFailure), Warehouse.from_url(url) as wh:
        wh.migrate()
        raise InjectedFailure("the task's own error")
