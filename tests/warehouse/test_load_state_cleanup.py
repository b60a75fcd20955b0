"""Load-state folders a killed load leaves behind are cleaned by the next run (issue 12), and only
those: the pending fingerprints of a load still running are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_incremental_handover import first_run, second_run, write_run
from wh_helpers import wait_then_kill

from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse
from crmhub.warehouse.delta import STALE_AFTER_SECONDS, LoadState

HERE = Path(__file__).resolve().parent

CHILD = """
import sys
sys.path.insert(0, {helpers!r})
from test_incremental_handover import second_run, write_run
from wh_helpers import pause_after_file
from pathlib import Path
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse
with Warehouse.from_url({url!r}) as wh:
    pause_after_file(wh, "golden_open", Path({marker!r}))
    files = write_run(Path({data!r}), "run-killed", second_run())
    stage.load(wh, files, "run-killed", state_dir=stage.state_dir(Path({data!r})))
"""


def leftovers(state: LoadState) -> list[str]:
    """Names of the state folder's pending and old siblings."""
    return sorted(p.name for p in state.folder.parent.glob(f"{state.folder.name}.*"))


def state_of(wh: Warehouse, data: Path) -> LoadState:
    return wh.load_state(stage.state_dir(data))


def kill_a_load_mid_transaction(url: str, data: Path, marker: Path) -> None:
    """Run a stage load in a child that pauses inside the load transaction, and SIGKILL it there."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parents[1] / "plugins"), os.environ.get("PYTHONPATH", "")]),
    }
    code = CHILD.format(helpers=str(HERE), url=url, data=str(data), marker=str(marker))
    wait_then_kill(subprocess.Popen([sys.executable, "-c", code], env=env), marker)


def test_the_next_run_cleans_the_pending_fingerprints_of_a_killed_load(url: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
        stage.load(wh, write_run(data, "run-1", first_run()), "run-1", state_dir=stage.state_dir(data))
        state = state_of(wh, data)
    kill_a_load_mid_transaction(url, data, tmp_path / "paused")
    assert [n.split(".")[1].split("-")[0] for n in leftovers(state)] == ["pending"]  # what the kill left
    with Warehouse.from_url(url) as wh:
        result = stage.load(wh, write_run(data, "run-2", second_run()), "run-2", state_dir=stage.state_dir(data))
    assert result["handover"] == "incremental"
    assert leftovers(state) == []


def test_pending_fingerprints_of_a_load_still_running_are_kept(tmp_path: Path) -> None:
    state = LoadState(tmp_path / "warehouse_load" / "abc")
    running = state.new_pending()  # this process: alive
    assert state.clean_stale() == []
    assert running.exists()


def test_pending_fingerprints_of_a_dead_process_are_removed(tmp_path: Path) -> None:
    state = LoadState(tmp_path / "warehouse_load" / "abc")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = state.new_pending(pid=int(dead.stdout))
    assert state.clean_stale() == [orphan]
    assert not orphan.exists()


@pytest.mark.parametrize("name", ["abc.pending-1a2b3c4d", "abc.old-1a2b3c4d"])
def test_leftovers_without_an_owner_are_removed_once_old(tmp_path: Path, name: str) -> None:
    state = LoadState(tmp_path / "warehouse_load" / "abc")
    leftover = state.folder.parent / name  # written before pending folders named their process
    leftover.mkdir(parents=True)
    assert state.clean_stale() == []  # young: it may belong to a load on another host
    old = time.time() - STALE_AFTER_SECONDS - 60
    os.utime(leftover, (old, old))
    assert state.clean_stale() == [leftover]
    assert not leftover.exists()


def test_cleaning_leaves_other_warehouses_state_alone(tmp_path: Path) -> None:
    state = LoadState(tmp_path / "warehouse_load" / "abc")
    other = LoadState(tmp_path / "warehouse_load" / "abd")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    theirs = other.new_pending(pid=int(dead.stdout))
    assert state.clean_stale() == []
    assert theirs.exists()
