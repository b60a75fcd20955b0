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
    engine: Engine,
    run_id: str,
    review: pd.DataFrame,
    merges: Iterable[Mapping[str, Any]],
    at: datetime,
    scope: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Replace the review queue and log this run's golden merges and splits, in one transaction.

    ``scope`` (``source``, ``source_id``, ``golden_id``): the run was an incremental reconcile of these
    records, and ``review`` holds only their pairs; only the pairs with both records in the scope are
    replaced, the others keep their run and get the scope's golden IDs (issue 17).
    """
    queue = frames.prepare(review.astype({"score": str}), REVIEW_QUEUE_STAGING, name="review queue")
    rows = [_log_row(run_id, m) for m in merges if m.get("event", "merge") in ("merge", "split")]
    merge_frame = frames.prepare(pd.DataFrame(rows, columns=MERGE_LOG_STAGING), MERGE_LOG_STAGING, name="merge log")
    with engine.transaction():
        engine.run_file("steward_staging_clear")
        if len(queue):
            engine.stage("staging.review_queue", queue)
        if len(merge_frame):
            engine.stage("staging.merge_log", merge_frame)
        if scope is None:
            engine.run_file("steward_review_replace", {"run_id": run_id, "loaded_at": at})
        else:
            columns = ["source", "source_id", "golden_id"]
            engine.stage("staging.review_scope", frames.prepare(scope[columns], columns, name="review scope"))
            engine.run_file("steward_review_scope_delete")
            engine.run_file("steward_review_scope_golden")
            engine.run_file("steward_review_scope_insert", {"run_id": run_id, "loaded_at": at})
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


# -- working the queue (issue 16): the pair with both records' values, defer, activity audit, CSV import ----
#: What a steward compares, in display order: the canonical fields of a contact record.
PAIR_FIELDS: tuple[str, ...] = (
    "first_name",
    "name_prefix",
    "last_name",
    "company",
    "email",
    "phone",
    "address_line",
    "postcode",
    "city",
    "country",
    "social_network",
    "social_handle",
    "source_created_at",
    "source_updated_at",
    "is_deleted",
)
#: ``audit.steward_activity.action`` values.
ACTIONS = ("view_queue", "view_pair", "link", "split", "defer", "undo_merge", "import", "denied")
#: Columns a CSV of decisions must have (``python -m crmhub steward import-decisions``); the optional
#: ones are ``restore_golden_id``, ``decided_by`` and ``decided_at``.
IMPORT_COLUMNS = ("left_source", "left_source_id", "right_source", "right_source_id", "decision")

Record = tuple[str, str]


def log_activity(
    engine: Engine,
    actor: str,
    action: str,
    left: Record | None = None,
    right: Record | None = None,
    detail: str | None = None,
    *,
    at: datetime | None = None,
) -> None:
    """Append one row to ``audit.steward_activity``: who (``actor``) did or saw what, when."""
    if action not in ACTIONS:
        raise StewardError(f"activity must be one of {', '.join(ACTIONS)}, got {action!r}")
    if not actor.strip():
        raise StewardError("the activity audit needs a who")
    when = at or datetime.now(UTC)
    key = json.dumps([actor, action, left, right, detail, when.isoformat()], default=str)
    params = {
        "activity_id": hashlib.sha256(key.encode()).hexdigest()[:24],
        "occurred_at": when,
        "actor": actor,
        "action": action,
        "left_source": left[0] if left else None,
        "left_source_id": left[1] if left else None,
        "right_source": right[0] if right else None,
        "right_source_id": right[1] if right else None,
        "detail": detail,
    }
    with engine.transaction():
        engine.run_file("steward_activity_insert", params)


def activity(engine: Engine, limit: int = 500) -> pd.DataFrame:
    """The newest ``limit`` rows of the activity audit (who saw and decided what), newest first."""
    return _read(engine, "steward_activity_read", {"limit_rows": int(limit)})


def decision_history(engine: Engine) -> pd.DataFrame:
    """Every decision taken (append-only), newest first, with ``decided_by`` and ``decided_at``."""
    return _read(engine, "steward_decisions_read")


def review_pairs(engine: Engine) -> pd.DataFrame:
    """The review queue with the run that wrote it and, per pair, the latest defer (who, when) if any."""
    queue = _read(engine, "steward_review_pairs")
    queue["deferred_by"] = None
    queue["deferred_at"] = None
    if queue.empty:
        return queue
    defers = activity(engine, limit=100_000)
    defers = defers[defers["action"] == "defer"]
    latest: dict[frozenset[Record], tuple[str, Any]] = {}
    for row in defers.itertuples():  # newest first: keep the first seen per pair
        pair = frozenset({(row.left_source, row.left_source_id), (row.right_source, row.right_source_id)})
        latest.setdefault(pair, (row.actor, row.occurred_at))
    for pos, row in enumerate(queue.itertuples()):
        pair = frozenset({(row.left_source, row.left_source_id), (row.right_source, row.right_source_id)})
        if pair in latest:
            queue.iloc[pos, queue.columns.get_loc("deferred_by")] = latest[pair][0]
            queue.iloc[pos, queue.columns.get_loc("deferred_at")] = latest[pair][1]
    return queue


def _same_pair(frame: pd.DataFrame, left: Record, right: Record) -> pd.Series:
    forward = (
        (frame["left_source"] == left[0])
        & (frame["left_source_id"] == left[1])
        & (frame["right_source"] == right[0])
        & (frame["right_source_id"] == right[1])
    )
    backward = (
        (frame["left_source"] == right[0])
        & (frame["left_source_id"] == right[1])
        & (frame["right_source"] == left[0])
        & (frame["right_source_id"] == left[1])
    )
    return forward | backward


def _record_values(engine: Engine, record: Record, records: pd.DataFrame | None) -> dict[str, Any]:
    """One record's values: its canonical row of the run (``records``) if there, else its golden record's."""
    values: dict[str, Any] = {"source": record[0], "source_id": record[1]}
    if records is not None and not records.empty:
        mine = records[(records["source"].astype(str) == record[0]) & (records["source_id"].astype(str) == record[1])]
        if not mine.empty:
            row = mine.sort_values("source_updated_at", kind="stable").iloc[-1]
            values.update({f: _plain(row.get(f)) for f in PAIR_FIELDS})
            values["values_from"] = "source record"
            return values
    golden = _read(engine, "steward_golden_values", {"source": record[0], "source_id": record[1]})
    values.update(dict.fromkeys(PAIR_FIELDS))
    if golden.empty:
        values["values_from"] = "not found"
        return values
    row = golden.iloc[0]
    street = " ".join(str(v) for v in (row["street"], row["house_number"], row["house_number_addition"]) if _plain(v))
    values.update({f: _plain(row[f]) for f in PAIR_FIELDS if f in golden.columns})
    values["address_line"] = street or None
    values["values_from"] = f"golden record {row['golden_id']}"
    return values


def _plain(value: Any) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value.item() if hasattr(value, "item") else value


def review_pair(engine: Engine, left: Record, right: Record, records: pd.DataFrame | None = None) -> dict[str, Any]:
    """One pair for a steward: its queue row (score, reason, explanation), both records' values side by
    side, and the decisions taken on it so far.

    ``records`` are canonical contact rows (``crmhub.model.CONTACT_COLUMNS``) holding the two records —
    the run folder's ``contacts`` of the run that wrote the queue; without them (or when a record is not
    among them) a side shows the current values of the golden record it belongs to, marked as such.
    """
    queue = review_pairs(engine)
    row = queue[_same_pair(queue, left, right)]
    history = decision_history(engine)
    return {
        "queue": None if row.empty else {k: _plain(v) for k, v in row.iloc[0].items()},
        "left": _record_values(engine, left, records),
        "right": _record_values(engine, right, records),
        "decisions": history[_same_pair(history, left, right)].reset_index(drop=True),
        "fields": PAIR_FIELDS,
    }


def defer(engine: Engine, left: Record, right: Record, deferred_by: str, note: str | None = None) -> None:
    """Leave a pair in the queue for later (no decision for reconcile); the audit says who and when."""
    log_activity(engine, deferred_by, "defer", left, right, note)


def import_decisions(engine: Engine, decisions: pd.DataFrame, imported_by: str) -> int:
    """Store a file of decisions (``IMPORT_COLUMNS`` [+ ``restore_golden_id``, ``decided_by``, ``decided_at``])
    in one transaction; every row is checked first, a bad row fails the whole file naming its line.

    ``decided_by`` defaults to ``imported_by``, ``decided_at`` to now. Returns the decisions stored.
    """
    if not imported_by.strip():
        raise StewardError("imported_by must name the steward")
    missing = [c for c in IMPORT_COLUMNS if c not in decisions.columns]
    if missing:
        raise StewardError(f"decisions file is missing column(s): {', '.join(missing)}")
    now = datetime.now(UTC)
    rows = []
    for pos, raw in enumerate(decisions.to_dict("records")):
        line = pos + 2  # the header is line 1
        row = {k: _plain(v) for k, v in raw.items()}
        row = {k: (str(v).strip() if v is not None else None) for k, v in row.items()}
        if any(not row.get(c) for c in IMPORT_COLUMNS):
            raise StewardError(f"line {line}: {', '.join(IMPORT_COLUMNS)} are required")
        if row["decision"] not in DECISIONS:
            raise StewardError(f"line {line}: decision must be one of {', '.join(DECISIONS)}, got {row['decision']!r}")
        if (row["left_source"], row["left_source_id"]) == (row["right_source"], row["right_source_id"]):
            raise StewardError(f"line {line}: a record cannot be paired with itself")
        try:
            at = pd.Timestamp(row["decided_at"]) if row.get("decided_at") else pd.Timestamp(now)
        except ValueError as exc:
            raise StewardError(f"line {line}: decided_at is not a timestamp: {row['decided_at']!r}") from exc
        at = (at.tz_localize("UTC") if at.tzinfo is None else at.tz_convert("UTC")).to_pydatetime()
        who = row.get("decided_by") or imported_by
        left, right = (row["left_source"], row["left_source_id"]), (row["right_source"], row["right_source_id"])
        restore = row.get("restore_golden_id") or None
        decision_id = hashlib.sha256(
            json.dumps([*left, *right, row["decision"], restore, who, at.isoformat()]).encode()
        ).hexdigest()[:24]
        rows.append(
            {
                "decision_id": decision_id,
                "left_source": left[0],
                "left_source_id": left[1],
                "right_source": right[0],
                "right_source_id": right[1],
                "decision": row["decision"],
                "restore_golden_id": restore,
                "decided_by": who,
                "decided_at": at,
            }
        )
    with engine.transaction():
        for params in rows:
            engine.run_file("steward_decision_insert", params)
    log_activity(engine, imported_by, "import", detail=f"{len(rows)} decision(s)", at=now)
    return len(rows)
