"""Load one reconcile run into core: SCD2 golden + xref, interactions, opportunities, cases, campaigns,
lineage, conflicts.

The whole load is one transaction. Frames are prepared (contract, dtypes, NUL scrub, keys),
bulk-copied into ``staging.*``, then moved into ``core.*`` by the set-based SQL files in
``include/sql/warehouse/load``. Unchanged rows are never rewritten, so an identical rerun only
adds an ``audit.load_audit`` row.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from crmhub.errors import CrmHubError
from crmhub.model import CAMPAIGN_COLUMNS, CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS
from crmhub.warehouse import frames, tables
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.sqlfiles import has_load_file, load_statements

LOAD_LOCK = "crmhub.warehouse.load"


class LoadIntegrityError(CrmHubError):
    """The load would break an invariant (e.g. two current versions of one golden contact)."""


class UnknownGoldenEvent(CrmHubError):
    """A golden event in the run's merge log that the loader cannot apply (unknown kind, ids missing)."""


class StaleHandover(CrmHubError):
    """An incremental handover was computed against a load that is no longer the warehouse's latest.

    Raised under the load lock before anything changed; the caller hands over the full snapshot.
    """


@dataclass(frozen=True, eq=False)
class LoadBatch:
    """One reconcile run as the loader takes it: the frames (whole or only what changed) and the run id.

    ``opportunities``/``cases`` carry the contact's ``golden_id``; ``merges`` are reconcile's golden
    events (``merges.json``) or ``winner_golden_id``/``loser_golden_id`` rows: each loser's current
    version closes (see :func:`merges_frame`). ``None`` frames are empty.
    """

    run_id: str
    golden: pd.DataFrame | None = None
    xref: pd.DataFrame | None = None
    lineage: pd.DataFrame | None = None
    conflicts: pd.DataFrame | None = None
    interactions: pd.DataFrame | None = None
    opportunities: pd.DataFrame | None = None
    cases: pd.DataFrame | None = None
    campaigns: pd.DataFrame | None = None
    merges: pd.DataFrame | list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class LoadStats:
    """Row counts of one load; also stored as JSON in ``audit.load_audit.row_counts``."""

    run_id: str
    golden_received: int = 0
    golden_closed: int = 0
    golden_opened: int = 0
    xref_received: int = 0
    xref_closed: int = 0
    xref_opened: int = 0
    interactions_received: int = 0
    interactions_updated: int = 0
    interactions_inserted: int = 0
    lineage_deleted: int = 0
    lineage_inserted: int = 0
    conflicts_deleted: int = 0
    conflicts_inserted: int = 0
    golden_restated: int = 0
    golden_merged: int = 0
    opportunities_received: int = 0
    opportunities_upserted: int = 0
    cases_received: int = 0
    cases_upserted: int = 0
    campaigns_received: int = 0
    campaigns_upserted: int = 0
    #: this load's identity in ``audit.load_audit`` (audit id and start time; not a count)
    load_id: str | None = None

    def counts(self) -> dict[str, int]:
        """The counts without the run id and load id."""
        return {k: v for k, v in asdict(self).items() if k not in ("run_id", "load_id")}


def newest_per_key(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per key, the newest by ``source_updated_at``: a record pulled twice is loaded once."""
    if frame.empty or "source_updated_at" not in frame.columns:
        return frame
    ordered = frame.assign(_t=pd.to_datetime(frame["source_updated_at"], utc=True))
    ordered = ordered.sort_values([*key, "_t"], kind="stable", na_position="first")
    return ordered.drop_duplicates(key, keep="last").drop(columns="_t").reset_index(drop=True)


def _frame(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """``frame``, or an empty one with ``columns`` for a run without it."""
    return pd.DataFrame(columns=columns) if frame is None else frame


def _records(frame: pd.DataFrame | None, columns: list[str], name: str, required: list[str]) -> pd.DataFrame:
    frame = _frame(frame, columns)
    key = ["source", "source_id"]
    return frames.prepare(newest_per_key(frame, key), columns, name=name, required=required, key=key)


#: Golden event kinds reconcile logs (``crmhub.reconcile.golden_ids.assign_golden_ids``), with the
#: keys naming (winner, loser) in ``staging.golden_merges``. Steward decisions arrive as these too: a
#: ``link`` joins clusters (a merge), a ``split`` parts them (a split), and an undone merge gives the
#: loser its golden ID back without an event (its records return; the load reopens it).
GOLDEN_EVENTS: dict[str, tuple[str, str]] = {
    "merge": ("into_golden_id", "from_golden_id"),
    "split": ("golden_id", "new_golden_id"),
}


def merges_frame(merges: pd.DataFrame | list[dict] | None) -> pd.DataFrame:
    """Golden events as ``MERGE_COLUMNS``, from a frame or from reconcile's merge log.

    A ``merge`` event names the winner ``into_golden_id`` and the loser ``from_golden_id``; a
    ``split`` event the golden ID that stays ``golden_id`` and the new one ``new_golden_id`` (stored
    as winner and loser). Rows without ``event`` but with ``winner_golden_id``/``loser_golden_id``
    are merges. Anything else raises :class:`UnknownGoldenEvent` naming the event.
    """
    if merges is None:
        rows: list[dict] = []
    elif isinstance(merges, pd.DataFrame):
        rows = merges.to_dict("records")
    else:
        rows = list(merges)
    out = []
    for m in rows:
        event = m.get("event")
        if event is None or (isinstance(event, float) and pd.isna(event)):
            event = "merge"
        keys = GOLDEN_EVENTS.get(event)
        if keys is None:
            raise UnknownGoldenEvent(
                f"golden event {event!r} is not one the loader knows ({', '.join(GOLDEN_EVENTS)}): {dict(m)}"
            )
        if event == "merge" and keys[0] not in m and "winner_golden_id" in m:
            keys = ("winner_golden_id", "loser_golden_id")
        missing = [k for k in keys if not m.get(k)]
        if missing:
            raise UnknownGoldenEvent(f"golden event {event!r} lacks {', '.join(missing)}: {dict(m)}")
        out.append({"winner_golden_id": m[keys[0]], "loser_golden_id": m[keys[1]], "event": event})
    frame = pd.DataFrame(out, columns=tables.MERGE_COLUMNS).drop_duplicates()
    return frames.prepare(frame, tables.MERGE_COLUMNS, name="merges", required=tables.MERGE_COLUMNS)


def prepare_frames(batch: LoadBatch) -> dict[str, pd.DataFrame]:
    """Validate and type every frame before the transaction opens (bad input fails early)."""
    g = frames.prepare(
        _frame(batch.golden, GOLDEN_COLUMNS),
        GOLDEN_COLUMNS,
        name="golden",
        required=["golden_id", "source_updated_at"],
        key=["golden_id"],
    )
    g["change_hash"] = frames.change_hash(g, tables.GOLDEN_HASHED)
    return {
        "staging.golden_contacts": g,
        "staging.contact_xref": frames.prepare(
            _frame(batch.xref, tables.LOAD_XREF_COLUMNS),
            tables.LOAD_XREF_COLUMNS,
            name="xref",
            required=["source", "source_id", "golden_id"],
            key=["source", "source_id"],
        ),
        "staging.interactions": frames.prepare(
            _frame(batch.interactions, tables.LOAD_INTERACTION_COLUMNS),
            tables.LOAD_INTERACTION_COLUMNS,
            name="interactions",
            required=["source", "source_id", "occurred_at"],
            key=["source", "source_id"],
        ),
        "staging.golden_lineage": frames.prepare(
            _frame(batch.lineage, LINEAGE_COLUMNS),
            LINEAGE_COLUMNS,
            name="lineage",
            required=["golden_id", "attribute"],
            key=["golden_id", "attribute"],
        ),
        "staging.golden_conflicts": frames.prepare(
            _frame(batch.conflicts, CONFLICT_COLUMNS),
            CONFLICT_COLUMNS,
            name="conflicts",
            required=["golden_id", "attribute"],
        ),
        "staging.golden_merges": merges_frame(batch.merges),
        "staging.opportunities": _records(
            batch.opportunities,
            tables.LOAD_OPPORTUNITY_COLUMNS,
            "opportunities",
            ["source", "source_id", "source_updated_at"],
        ),
        "staging.cases": _records(
            batch.cases, tables.LOAD_CASE_COLUMNS, "cases", ["source", "source_id", "created_at", "source_updated_at"]
        ),
        "staging.campaigns": _records(
            batch.campaigns, CAMPAIGN_COLUMNS, "campaigns", ["source", "source_id", "name", "source_updated_at"]
        ),
    }


def load_reconciled(
    engine: Engine, batch: LoadBatch, *, expect_last_load: str | None = None, by_key: bool = False
) -> LoadStats:
    """Apply one reconcile run atomically; on any error nothing in raw/staging/core changes.

    ``expect_last_load`` (for incremental handovers): the ``load_id`` of the load the frames were
    compared with; if another load has committed since, :class:`StaleHandover` is raised before
    anything changes. ``by_key``: the frames are a small share of what core holds, so statements
    with a ``<name>_by_key`` variant for this engine probe core by key instead of joining all of
    it. A failed attempt is still recorded in ``audit.load_audit`` (in its own transaction, after
    the rollback) so operators see it.
    """
    run_id = batch.run_id
    if not run_id:
        raise ValueError("run_id is required")
    started = datetime.now(UTC)
    staged = prepare_frames(batch)
    params = {"run_id": run_id, "loaded_at": started}
    try:
        with engine.transaction():
            engine.run_file("lock", {"lock_name": LOAD_LOCK})
            engine.run_file("load_settings")
            if expect_last_load is not None:
                latest = last_load(engine)
                if latest is None or latest["load_id"] != expect_last_load:
                    raise StaleHandover(
                        f"handover was compared with load {expect_last_load}, but the latest load is "
                        f"{latest['load_id'] if latest else None}"
                    )
            engine.run_file(_variant(engine, "staging_clear", by_key))
            for table, frame in staged.items():
                if len(frame):  # staging was just emptied; an empty COPY (and its ANALYZE) adds nothing
                    engine.stage(table, frame)
            golden_merged = engine.run_file("golden_merge_close")
            golden_closed = golden_restated = golden_opened = 0
            if staged["staging.golden_merges"]["event"].eq("split").any():
                # first pass: a golden ID that records split off changes when the split does
                engine.run_file("golden_split_park")
                golden_closed, golden_restated, golden_opened = _place_golden(engine, params, by_key)
                engine.run_file("golden_split_unpark")
            closed, restated, opened = _place_golden(engine, params, by_key)
            golden_closed, golden_restated, golden_opened = (
                golden_closed + closed,
                golden_restated + restated,
                golden_opened + opened,
            )
            xref_closed = engine.run_file("xref_close", params)
            xref_opened = engine.run_file("xref_open", params)
            _check_one_current(engine)
            interactions_updated = engine.run_file(_variant(engine, "interactions_update", by_key), params)
            interactions_inserted = engine.run_file("interactions_insert", params)
            opportunities_upserted = engine.run_file("opportunities_upsert", params)
            cases_upserted = engine.run_file("cases_upsert", params)
            campaigns_upserted = engine.run_file("campaigns_upsert", params)
            lineage_deleted = engine.run_file(_variant(engine, "lineage_delete", by_key))
            lineage_inserted = engine.run_file("lineage_insert", params)
            conflicts_deleted = engine.run_file(_variant(engine, "conflicts_delete", by_key), params)
            conflicts_inserted = engine.run_file(_variant(engine, "conflicts_insert", by_key), params)
            engine.run_file(_variant(engine, "staging_clear", by_key))
            stats = LoadStats(
                run_id=run_id,
                golden_received=len(staged["staging.golden_contacts"]),
                golden_closed=golden_closed,
                golden_opened=golden_opened,
                xref_received=len(staged["staging.contact_xref"]),
                xref_closed=xref_closed,
                xref_opened=xref_opened,
                interactions_received=len(staged["staging.interactions"]),
                interactions_updated=interactions_updated,
                interactions_inserted=interactions_inserted,
                lineage_deleted=lineage_deleted,
                lineage_inserted=lineage_inserted,
                conflicts_deleted=conflicts_deleted,
                conflicts_inserted=conflicts_inserted,
                golden_restated=golden_restated,
                golden_merged=golden_merged,
                opportunities_received=len(staged["staging.opportunities"]),
                opportunities_upserted=opportunities_upserted,
                cases_received=len(staged["staging.cases"]),
                cases_upserted=cases_upserted,
                campaigns_received=len(staged["staging.campaigns"]),
                campaigns_upserted=campaigns_upserted,
            )
            _audit(engine, run_id, started, "success", stats.counts(), None)
            stats = replace(stats, load_id=last_load(engine)["load_id"])  # type: ignore[index]
    except StaleHandover:
        raise
    except Exception as exc:
        _audit_failure(engine, run_id, started, exc)
        raise
    return stats


def last_load(engine: Engine) -> dict[str, Any] | None:
    """The latest successful reconcile load and the erasures that ran after it.

    ``load_id`` joins the audit id and the start time, so a warehouse recreated at the same URL
    (its audit ids start again) is not mistaken for the one an earlier load state describes.
    """
    (statement,) = load_statements("load_latest", engine.dialect)
    _, data = engine.fetch(statement)
    if not data:
        return None
    audit_id, started_at, erasures = data[0]
    stamp = pd.Timestamp(started_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return {"load_id": f"{int(audit_id)}@{stamp.isoformat()}", "erasures_since": int(erasures or 0)}


def _place_golden(engine: Engine, params: dict[str, Any], by_key: bool = False) -> tuple[int, int, int]:
    """Place every staged golden contact in its history (``golden_plan.sql``); (closed, restated, opened)."""
    engine.run_file(_variant(engine, "golden_plan", by_key))
    closed = engine.run_file("golden_close")
    restated = engine.run_file("golden_restate", params)
    opened = engine.run_file("golden_open", params)
    return closed, restated, opened


def _variant(engine: Engine, name: str, by_key: bool) -> str:
    """``<name>_by_key`` when asked for and written for this engine, else ``name``."""
    return f"{name}_by_key" if by_key and has_load_file(f"{name}_by_key", engine.dialect) else name


def _check_one_current(engine: Engine) -> None:
    """Abort the transaction if any staged key now has two current versions."""
    (statement,) = load_statements("check_one_current", engine.dialect)
    _, data = engine.fetch(statement)
    if data and data[0][0]:
        raise LoadIntegrityError(f"{data[0][0]} key(s) would have more than one current version")


def _audit(
    engine: Engine,
    run_id: str,
    started: datetime,
    status: str,
    counts: dict[str, int] | None,
    error: str | None,
) -> None:
    engine.run_file(
        "audit_insert",
        {
            "run_id": run_id,
            "stage": "load_reconciled",
            "started_at": started,
            "finished_at": datetime.now(UTC),
            "status": status,
            "row_counts": json.dumps(counts) if counts is not None else None,
            "error": error,
        },
    )


def _audit_failure(engine: Engine, run_id: str, started: datetime, exc: Exception) -> None:
    """Record the failed attempt; never mask the original error if even that fails."""
    with contextlib.suppress(Exception), engine.transaction():
        _audit(engine, run_id, started, "failed", None, f"{type(exc).__name__}: {exc}"[:1000])
