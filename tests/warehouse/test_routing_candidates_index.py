"""Routing finds its candidates by index on PostgreSQL (issue 17), and finds the same ones as before.

Every load routes the kept messages of known people that are not routed yet; a message no rule
matches stays a candidate on every later run (an open case may route it). On PostgreSQL
``ddl/130_core_routing_candidates_index.postgresql.sql`` keeps a partial index of exactly those rows
of ``core.interaction_understanding``. These tests store understanding through the real
``message_store.store_messages`` (as the reconcile load does) and check who gets routed, with the
planner made to read the index wherever it can (so a predicate that missed rows would show).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pandas as pd
import pytest

from crmhub.messages.filter import UNDERSTANDING_COLUMNS
from crmhub.warehouse import Warehouse
from crmhub.warehouse.message_store import store_messages
from crmhub.warehouse.sqlfiles import load_statements

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _message(source_id: str, golden_id: str | None, intent: str, *, kept: bool = True) -> dict:
    return {
        "source": "sprout",
        "source_id": source_id,
        "golden_id": golden_id,
        "occurred_at": pd.Timestamp("2026-02-27 09:00", tz="UTC"),
        "channel": "twitter",
        "direction": "inbound",
        "language": "nl",
        "intent": intent,
        "complaint": intent == "complaint",
        "sentiment": "negative" if intent == "complaint" else "neutral",
        "explanation": "{}",
        "model": "test",
        "kept": kept,
        "filter_rule": None if kept else "intent",
    }


def _store(wh: Warehouse, run_id: str, rows: list[dict]) -> dict[str, int]:
    frame = pd.DataFrame(rows, columns=UNDERSTANDING_COLUMNS)
    return store_messages(wh.engine, run_id, frame, [], at=AT)


def _routed(wh: Warehouse) -> dict[str, str]:
    queue = wh.query("SELECT source_id, department FROM core.routing_queue")
    return dict(zip(queue["source_id"], queue["department"], strict=True))


@contextmanager
def _index_preferred(wh: Warehouse) -> Iterator[None]:
    """On PostgreSQL, keep the planner off sequential scans (tiny tables would never use an index)."""
    if wh.engine.dialect != "postgresql":
        yield
        return
    wh.engine.execute("SET enable_seqscan = off")
    try:
        yield
    finally:
        wh.engine.execute("RESET enable_seqscan")


@pytest.mark.postgres
def test_the_candidates_are_read_from_the_partial_index(pg_url: str) -> None:
    with Warehouse.from_url(pg_url) as wh:
        wh.engine.execute("DROP SCHEMA IF EXISTS raw, staging, core, mart, audit CASCADE")
        wh.migrate()
        (statement,) = load_statements("routing_candidates", "postgresql")
        with _index_preferred(wh):
            _, plan = wh.engine.fetch(f"EXPLAIN {statement}")
    # a bitmap scan on an empty table; an index-only scan once vacuum has marked a large table's pages
    scans = [row[0] for row in plan if "Scan" in row[0]]
    assert any("interaction_understanding_routable" in scan for scan in scans), scans


def test_a_message_no_rule_routes_stays_a_candidate_until_one_does(wh: Warehouse) -> None:
    """Chatter (intent other) is kept but not routed; a known sender's complaint is routed at once;
    a message of a sender the hub learns later is routed on the run that learns it."""
    with _index_preferred(wh):
        first = _store(
            wh,
            "run-1",
            [
                _message("m1", "G1", "complaint"),
                _message("m2", "G2", "other"),
                _message("m3", None, "service_question"),  # sender not known yet
                _message("m4", "G3", "praise", kept=False),  # left out by the filter
            ],
        )
        assert _routed(wh) == {"m1": "service"}
        assert first["routed"] == 1
        # run 2: m3's sender is now known, a new message arrives, m2 is still chatter
        second = _store(
            wh,
            "run-2",
            [_message("m3", "G4", "service_question"), _message("m5", "G2", "sales_lead")],
        )
    assert _routed(wh) == {"m1": "service", "m3": "service", "m5": "sales"}
    assert second["routed"] == 2


def test_chatter_is_routed_when_its_sender_opens_a_case(wh: Warehouse) -> None:
    """A message routed by no rule waits in the candidates: the person's open case routes it."""
    with _index_preferred(wh):
        _store(wh, "run-1", [_message("m2", "G2", "other")])
        assert _routed(wh) == {}
        wh.engine.execute(
            "INSERT INTO core.cases (source, source_id, contact_source_id, golden_id, subject, status, "
            "is_complaint, is_closed, is_deleted, created_at, source_updated_at, loaded_run_id, loaded_at) "
            "VALUES ('hubspot', 'case-1', '102', 'G2', 'Storing', 'open', FALSE, FALSE, FALSE, :at, :at, "
            "'test', :at)",
            {"at": AT},
        )
        routed = _store(wh, "run-2", [])
    assert _routed(wh) == {"m2": "service"}
    assert routed["routed"] == 1
