"""Load one reconcile run into core: SCD2 golden + xref, interactions, lineage, conflicts.

The whole load is one transaction. Frames are prepared (contract, dtypes, NUL scrub, keys),
bulk-copied into ``staging.*``, then moved into ``core.*`` by the set-based SQL files in
``include/sql/warehouse/load``. Unchanged rows are never rewritten, so an identical rerun only
adds an ``audit.load_audit`` row.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pandas as pd

from crmhub.errors import CrmHubError
from crmhub.model import CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS, XREF_COLUMNS
from crmhub.warehouse import frames, tables
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.sqlfiles import load_statements

#: Load steps in order; ``fail_after`` names one of them.
STEPS: tuple[str, ...] = ("stage", "golden", "xref", "interactions", "lineage", "conflicts", "audit")
LOAD_LOCK = "crmhub.warehouse.load"


class InjectedFailure(CrmHubError):
    """Raised by the ``fail_after`` test hook to prove a failed load leaves no trace in core."""


class LoadIntegrityError(CrmHubError):
    """The load would break an invariant (e.g. two current versions of one golden contact)."""


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

    def counts(self) -> dict[str, int]:
        """The counts without the run id."""
        return {k: v for k, v in asdict(self).items() if k != "run_id"}


def prepare_frames(
    golden: pd.DataFrame,
    xref: pd.DataFrame,
    lineage: pd.DataFrame,
    conflicts: pd.DataFrame,
    interactions: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Validate and type every frame before the transaction opens (bad input fails early)."""
    g = frames.prepare(
        golden, GOLDEN_COLUMNS, name="golden", required=["golden_id", "source_updated_at"], key=["golden_id"]
    )
    g["change_hash"] = frames.change_hash(g, tables.GOLDEN_HASHED)
    return {
        "staging.golden_contacts": g,
        "staging.contact_xref": frames.prepare(
            xref,
            XREF_COLUMNS,
            name="xref",
            required=["source", "source_id", "golden_id"],
            key=["source", "source_id"],
        ),
        "staging.interactions": frames.prepare(
            interactions,
            tables.LOAD_INTERACTION_COLUMNS,
            name="interactions",
            required=["source", "source_id", "occurred_at"],
            key=["source", "source_id"],
        ),
        "staging.golden_lineage": frames.prepare(
            lineage,
            LINEAGE_COLUMNS,
            name="lineage",
            required=["golden_id", "attribute"],
            key=["golden_id", "attribute"],
        ),
        "staging.golden_conflicts": frames.prepare(
            conflicts, CONFLICT_COLUMNS, name="conflicts", required=["golden_id", "attribute"]
        ),
    }


def load_reconciled(
    engine: Engine,
    run_id: str,
    golden: pd.DataFrame,
    xref: pd.DataFrame,
    lineage: pd.DataFrame,
    conflicts: pd.DataFrame,
    interactions: pd.DataFrame,
    *,
    fail_after: str | None = None,
) -> LoadStats:
    """Apply one reconcile run atomically; on any error nothing in raw/staging/core changes.

    A failed attempt is still recorded in ``audit.load_audit`` (in its own transaction, after
    the rollback) so operators see it.
    """
    if fail_after is not None and fail_after not in STEPS:
        raise ValueError(f"fail_after must be one of {STEPS}, not {fail_after!r}")
    if not run_id:
        raise ValueError("run_id is required")
    started = datetime.now(UTC)
    staged = prepare_frames(golden, xref, lineage, conflicts, interactions)
    params = {"run_id": run_id, "loaded_at": started}

    def checkpoint(step: str) -> None:
        if step == fail_after:
            raise InjectedFailure(f"injected failure after step {step!r}")

    try:
        with engine.transaction():
            engine.run_file("lock", {"lock_name": LOAD_LOCK})
            engine.run_file("staging_clear")
            for table, frame in staged.items():
                engine.stage(table, frame)
            checkpoint("stage")
            golden_closed = engine.run_file("golden_close")
            golden_opened = engine.run_file("golden_open", params)
            checkpoint("golden")
            xref_closed = engine.run_file("xref_close", params)
            xref_opened = engine.run_file("xref_open", params)
            _check_one_current(engine)
            checkpoint("xref")
            interactions_updated = engine.run_file("interactions_update", params)
            interactions_inserted = engine.run_file("interactions_insert", params)
            checkpoint("interactions")
            lineage_deleted = engine.run_file("lineage_delete")
            lineage_inserted = engine.run_file("lineage_insert", params)
            checkpoint("lineage")
            conflicts_deleted = engine.run_file("conflicts_delete", params)
            conflicts_inserted = engine.run_file("conflicts_insert", params)
            checkpoint("conflicts")
            engine.run_file("staging_clear")
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
            )
            _audit(engine, run_id, started, "success", stats.counts(), None)
            checkpoint("audit")
    except Exception as exc:
        _audit_failure(engine, run_id, started, exc)
        raise
    return stats


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
