"""On DuckDB the write-back task holds the warehouse file only while it reads its plan and records
attempts, not while the CRMs answer: DuckDB allows one writer per file, and a reconcile load started
during a slow vendor call must not wait for it (or fail with WarehouseLockedError)."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from crmhub.config import SourceConfig
from crmhub.connectors.writeback import FollowUp, WriteOutcome
from crmhub.stages.writeback import WritebackReport
from crmhub.warehouse import Warehouse

from .conftest import Hub, key_for

#: Another process (a reconcile load, say) opens the warehouse read-write, commits a row and exits 0;
#: exit 3 if DuckDB's file lock kept it out for longer than a few seconds.
OTHER_PROCESS = textwrap.dedent("""
    import sys
    from crmhub.warehouse import Warehouse, WarehouseLockedError
    try:
        with Warehouse.from_url(sys.argv[1], lock_timeout=3) as wh, wh.engine.transaction():
            wh.engine.execute("CREATE TABLE IF NOT EXISTS ops.lock_probe (note TEXT)")
            wh.engine.execute("INSERT INTO ops.lock_probe VALUES ('committed by another process')")
    except WarehouseLockedError:
        sys.exit(3)
""")


class HeldInTheCall:
    """The real connector, whose follow-up call waits until the test lets it go on (a slow vendor)."""

    def __init__(self, real: Any, in_call: threading.Event, release: threading.Event) -> None:
        self.real, self.in_call, self.release = real, in_call, release

    def write_followup(self, followup: FollowUp) -> WriteOutcome:
        self.in_call.set()
        assert self.release.wait(60), "the test never released the vendor call"
        return self.real.write_followup(followup)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_another_process_can_write_to_the_duckdb_warehouse_while_a_crm_call_is_in_flight(sandbox, tmp_path: Path):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    hub = Hub(sandbox, url)
    message = hub.route(hub.contacts()[0]["id"], handle=None, followers=None)
    in_call, release = threading.Event(), threading.Event()
    result: dict[str, Any] = {}

    def connect(source: SourceConfig) -> HeldInTheCall:
        return HeldInTheCall(hub.connect(source), in_call, release)

    def write_back() -> None:
        try:
            result["report"] = hub.run(connect=connect)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            result["error"] = exc

    runner = threading.Thread(target=write_back, name="write-back")
    runner.start()
    try:
        assert in_call.wait(60), result.get("error")
        other = subprocess.run([sys.executable, "-c", OTHER_PROCESS, url], capture_output=True, text=True, timeout=120)
    finally:
        release.set()
        runner.join(120)
    assert other.returncode == 0, f"the other process could not write: exit {other.returncode} {other.stderr[-500:]}"
    report: WritebackReport = result["report"]
    assert report.counts["created"] == 1 and len(hub.tasks(key_for(message))) == 1
    with Warehouse.from_url(url) as wh:
        assert list(wh.query("SELECT note FROM ops.lock_probe")["note"]) == ["committed by another process"]
        assert list(wh.query("SELECT status FROM audit.writeback_attempts")["status"]) == ["created"]


def test_attempts_recorded_in_batches_all_reach_the_warehouse_and_the_bi_copy(sandbox, tmp_path: Path):
    import duckdb

    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    hub = Hub(sandbox, url)
    messages = [hub.route(c["id"], handle=None, followers=None) for c in hub.contacts()[:3]]
    report = hub.run(commit_every=1)  # one warehouse visit per attempt
    assert report.counts["created"] == 3
    conn = duckdb.connect(str(tmp_path / "warehouse.bi.duckdb"), read_only=True)  # before anyone reopens the file
    try:
        copied = conn.execute("SELECT message_source_id FROM audit.writeback_attempts WHERE status = 'created'")
        assert sorted(r[0] for r in copied.fetchall()) == sorted(messages)
    finally:
        conn.close()
    recorded = [a["message_source_id"] for a in hub.attempts() if a["status"] == "created"]
    assert sorted(recorded) == sorted(messages)


#: Another process holds the warehouse read-write for a while (a reconcile load), after committing a row.
HOLDING_PROCESS = textwrap.dedent("""
    import sys, time
    from crmhub.warehouse import Warehouse
    with Warehouse.from_url(sys.argv[1], lock_timeout=10) as wh:
        with wh.engine.transaction():
            wh.engine.execute("CREATE TABLE IF NOT EXISTS ops.lock_probe (note TEXT)")
            wh.engine.execute("INSERT INTO ops.lock_probe VALUES ('a load')")
        print("held", flush=True)
        time.sleep(2)
""")


def test_attempts_that_find_the_warehouse_held_by_a_load_are_recorded_once_it_is_free(sandbox, tmp_path: Path, caplog):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    hub = Hub(sandbox, url)
    messages = [hub.route(c["id"], handle=None, followers=None) for c in hub.contacts()[:3]]
    loads: list[subprocess.Popen[str]] = []

    class LoadStartsDuringTheSecondCall:
        def __init__(self, real: Any) -> None:
            self.real, self.calls = real, 0

        def write_followup(self, followup: FollowUp) -> WriteOutcome:
            self.calls += 1
            if self.calls == 2:  # the first attempt is recorded; a load takes the file now
                load = subprocess.Popen([sys.executable, "-c", HOLDING_PROCESS, url], stdout=subprocess.PIPE, text=True)
                loads.append(load)
                assert load.stdout is not None and load.stdout.readline().strip() == "held"
            return self.real.write_followup(followup)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

    with caplog.at_level(logging.INFO, logger="crmhub.stages.writeback"):
        report = hub.run(
            opener=lambda: Warehouse.from_url(url, lock_timeout=0.5),
            connect=lambda source: LoadStartsDuringTheSecondCall(hub.connect(source)),
            commit_every=1,
        )
    assert loads[0].wait(30) == 0
    assert any("the warehouse is busy" in r.getMessage() for r in caplog.records)
    assert report.counts["created"] == 3
    recorded = [a["message_source_id"] for a in hub.attempts() if a["status"] == "created"]
    assert sorted(recorded) == sorted(messages)
    with Warehouse.from_url(url) as wh:
        assert list(wh.query("SELECT note FROM ops.lock_probe")["note"]) == ["a load"]
