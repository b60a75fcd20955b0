"""One write-back run per warehouse: the stage holds no warehouse connection while the CRMs answer,
so nothing else would keep a second run (a hand ``crmhub writeback`` during the DAG's) from planning
the same messages; HubSpot's search before create would then miss the first run's task."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from crmhub.stages.writeback import RUN_LOCK, WritebackBusy
from crmhub.warehouse.run_lock import exclusive_run
from crmhub.warehouse.url import parse_url

from .conftest import Hub

#: Another process takes the write-back lock, says so on stdout and keeps it until stdin closes.
HOLDER = textwrap.dedent("""
    import sys
    from crmhub.warehouse.run_lock import exclusive_run
    from crmhub.warehouse.url import parse_url
    with exclusive_run(parse_url(sys.argv[1]), sys.argv[2]):
        print("held", flush=True)
        sys.stdin.read()
""")


def test_a_second_run_while_another_process_runs_writes_nothing_and_says_why(hub: Hub) -> None:
    hub.route(hub.contacts()[0]["id"], handle=None, followers=None)
    command = [sys.executable, "-c", HOLDER, hub.url or "", RUN_LOCK]
    holder = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WritebackBusy, match="another write-back run is under way"):
            hub.run()
    finally:
        holder.communicate("")
    assert hub.tasks() == [] and hub.attempts() == []


def test_the_run_after_the_other_one_ended_writes_the_follow_up(hub: Hub) -> None:
    hub.route(hub.contacts()[0]["id"], handle=None, followers=None)
    with exclusive_run(parse_url(hub.url or ""), RUN_LOCK), pytest.raises(WritebackBusy):
        hub.run()
    report = hub.run()
    assert report.counts["created"] == 1 and len(hub.tasks()) == 1


def test_the_lock_is_released_when_a_run_fails(hub: Hub) -> None:
    hub.route(hub.contacts()[0]["id"], handle=None, followers=None)

    def broken(_source):
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        hub.run(connect=broken)
    assert hub.run().counts["created"] == 1
