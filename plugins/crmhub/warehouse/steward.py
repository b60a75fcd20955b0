"""Steward review in the warehouse: the review queue, steward decisions and the golden merge log.

Decisions are append-only (who decided what, when); the latest decision per record pair is in force
and is handed to every following reconcile run (``crmhub.reconcile.review``). Undoing a merge does
not rewrite history: it marks the log row undone and records ``split`` decisions between the loser's
records and the winner's, each asking for the loser's golden id back, so the next run restores it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from crmhub.errors import CrmHubError
from crmhub.warehouse import frames, sqlfiles
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.tables import MERGE_LOG_STAGING, REVIEW_QUEUE_STAGING

DECISIONS = ("link", "split")


class StewardError(CrmHubError):
    """A steward action that cannot be carried out (unknown merge, bad decision)."""


def _read(engine: Engine, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    (statement,) = sqlfiles.load_statements(name, engine.dialect)
    names, data = engine.fetch(statement, params)
    return pd.DataFrame(data, columns=names)


def store_run(
    engine: Engine, run_id: str, review: pd.DataFrame, merges: Iterable[Mapping[str, Any]], at: datetime
) -> dict[str, int]:
    """Replace the review queue and log this run's golden merges and splits, in one transaction."""
    queue = frames.prepare(review.astype({"score": str}), REVIEW_QUEUE_STAGING, name="review queue")
    rows = [_log_row(run_id, m) for m in merges if m.get("event", "merge") in ("merge", "split")]
    merge_frame = frames.prepare(pd.DataFrame(rows, columns=MERGE_LOG_STAGING), MERGE_LOG_STAGING, name="merge log")
    with engine.transaction():
        engine.run_file("steward_staging_clear")
        engine.stage("staging.review_queue", queue)
        engine.stage("staging.merge_log", merge_frame)
        engine.run_file("steward_review_replace", {"run_id": run_id, "loaded_at": at})
        engine.run_file("merge_log_insert", {"run_id": run_id, "merged_at": at})
        engine.run_file("steward_staging_clear")
    return {
        "review_queue": len(queue),
        "merges_logged": int((merge_frame["event"] == "merge").sum()),
        "splits_logged": int((merge_frame["event"] == "split").sum()),
    }


def _log_row(run_id: str, event: Mapping[str, Any]) -> dict[str, Any]:
    """A merge-log row for a golden event: a merge (winner, loser) or a split (stays, new golden ID)."""
    if event.get("event", "merge") == "split":
        winner, loser = event["golden_id"], event["new_golden_id"]
        key = f"{run_id}\x1f{winner}\x1f{loser}\x1fsplit"
    else:
        winner, loser = event["into_golden_id"], event["from_golden_id"]
        key = f"{run_id}\x1f{winner}\x1f{loser}"  # unchanged since issue 4: ids already logged stay valid
    return {
        "merge_id": hashlib.sha256(key.encode()).hexdigest()[:24],
        "winner_golden_id": winner,
        "loser_golden_id": loser,
        "rule": event.get("rule"),
        "records": str(event.get("records", "")),
        "loser_records": json.dumps(event.get("loser_records", [])),
        "event": event.get("event", "merge"),
    }


def review_queue(engine: Engine) -> pd.DataFrame:
    return _read(engine, "steward_review_read")


def record_decision(
    engine: Engine,
    left: tuple[str, str],
    right: tuple[str, str],
    decision: str,
    decided_by: str,
    *,
    restore_golden_id: str | None = None,
    decided_at: datetime | None = None,
) -> str:
    """Store one decision and return its id; ``decided_by`` is required (an audit trail needs a who)."""
    if decision not in DECISIONS:
        raise StewardError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if not decided_by.strip():
        raise StewardError("decided_by must name the steward")
    at = decided_at or datetime.now(UTC)
    decision_id = hashlib.sha256(
        json.dumps([*left, *right, decision, restore_golden_id, decided_by, at.isoformat()]).encode()
    ).hexdigest()[:24]
    params = {
        "decision_id": decision_id,
        "left_source": left[0],
        "left_source_id": left[1],
        "right_source": right[0],
        "right_source_id": right[1],
        "decision": decision,
        "restore_golden_id": restore_golden_id,
        "decided_by": decided_by,
        "decided_at": at,
    }
    with engine.transaction():
        engine.run_file("steward_decision_insert", params)
    return decision_id


def active_decisions(engine: Engine) -> pd.DataFrame:
    """The decision in force per record pair, in ``crmhub.reconcile.review.DECISION_COLUMNS``."""
    return _read(engine, "steward_decisions_active")


def merge_log(engine: Engine) -> pd.DataFrame:
    return _read(engine, "merge_log_read")


def undo_merge(engine: Engine, merge_id: str, undone_by: str, current_xref: pd.DataFrame) -> int:
    """Mark a merge undone and record the splits that restore the loser next run; returns decisions made."""
    log = merge_log(engine)
    row = log[log["merge_id"] == merge_id]
    if row.empty:
        raise StewardError(f"no merge with id {merge_id!r}")
    entry = row.iloc[0]
    if entry["event"] == "split":
        raise StewardError(f"{merge_id!r} is a split, not a merge; to join the records again record a 'link' decision")
    if bool(entry["undone"]):
        raise StewardError(f"merge {merge_id!r} is already undone")
    losers = {tuple(r) for r in json.loads(entry["loser_records"] or "[]")}
    winner_rows = current_xref[current_xref["golden_id"] == entry["winner_golden_id"]]
    winners = [(s, i) for s, i in zip(winner_rows["source"], winner_rows["source_id"], strict=True)]
    winners = [w for w in winners if w not in losers]
    at = datetime.now(UTC)
    made = 0
    for loser in sorted(losers):
        for winner in winners:
            record_decision(
                engine, loser, winner, "split", undone_by, restore_golden_id=entry["loser_golden_id"], decided_at=at
            )
            made += 1
    with engine.transaction():
        engine.run_file("merge_log_undo", {"merge_id": merge_id, "undone_at": at, "undone_by": undone_by})
    return made
