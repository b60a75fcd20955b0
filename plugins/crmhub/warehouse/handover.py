"""Load one reconcile run folder: plan the handover, load, keep or drop the fingerprints.

The reconcile stage hands the warehouse a run folder (``<name>.parquet`` per :data:`HANDOVER_FILES`
and reconcile's merge log ``merges.json``) and a state directory; :func:`load_run` does the rest:

1. :func:`crmhub.warehouse.delta.plan_load` compares the run files with the fingerprints of the
   warehouse's previous load in ``<state dir>/warehouse_load/<hash of the URL>/`` and picks what
   changed (or everything, when the fingerprints cannot be trusted).
2. :func:`crmhub.warehouse.load.load_reconciled` loads that in one transaction; a handover that is
   at most :data:`SMALL_HANDOVER` of the snapshot probes core by key.
3. If another load committed after the comparison (:class:`StaleHandover`), the full snapshot is
   loaded instead. After the commit the new fingerprints replace the old ones; after a failure
   they are dropped.

Without a state directory, or for an in-memory warehouse, the full snapshot is handed over.
See docs/architecture.md, "Incremental loads".
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.warehouse.delta import LoadPlan, LoadState, plan_load
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.load import LoadBatch, LoadStats, StaleHandover, last_load, load_reconciled
from crmhub.warehouse.url import WarehouseUrl

log = logging.getLogger(__name__)

#: Run files handed to the loader, as reconcile's ``match_and_survive`` writes them, with the
#: :class:`LoadBatch` field each fills.
HANDOVER_FILES: dict[str, str] = {
    "golden": "golden",
    "xref": "xref",
    "lineage": "lineage",
    "conflicts": "conflicts",
    "interactions_attached": "interactions",
    "opportunities_attached": "opportunities",
    "cases_attached": "cases",
    "campaigns": "campaigns",
}
#: Reconcile's golden events of the run, beside the run files (always handed over whole).
MERGES_FILE = "merges.json"
#: An incremental handover at most this share of the snapshot probes core by key (see load.py).
SMALL_HANDOVER = 0.1


@dataclass(frozen=True)
class RunLoad:
    """What loading one run folder did: the loader's counts and how the run was handed over."""

    stats: LoadStats
    handover: dict[str, Any]

    def summary(self) -> dict[str, Any]:
        """Counts and handover figures for the run summary and the task log (no personal data)."""
        return {**self.stats.counts(), **self.handover}


def load_state(url: WarehouseUrl, state_dir: Path | None) -> LoadState | None:
    """The incremental-load state of the warehouse at ``url`` under ``state_dir``; none in memory."""
    if state_dir is None or (url.dialect == "duckdb" and url.path is None):
        return None
    return LoadState.for_warehouse(Path(state_dir), url.redacted())


def run_paths(folder: Path) -> dict[str, Path]:
    """The handover files of a run folder, by run file name."""
    return {name: Path(folder) / f"{name}.parquet" for name in HANDOVER_FILES}


def load_run(
    engine: Engine, url: WarehouseUrl, folder: Path, run_id: str, *, state_dir: Path | None, partial: bool = False
) -> RunLoad:
    """Load the run folder ``folder`` as run ``run_id``, handing over only what changed when the
    fingerprints under ``state_dir`` allow it (module doc).

    ``partial``: the folder holds only what an incremental reconcile re-derived (a few hundred or
    thousand rows, not a snapshot). It is handed over whole and loaded by key: comparing it with the
    fingerprints of another partial run could miss a golden contact whose conflicts vanished. The
    fingerprints then no longer describe the latest load, so the next snapshot is handed over whole.
    """
    folder = Path(folder)
    merges = _merges(folder)
    if partial:
        stats = load_reconciled(engine, _batch(run_id, _snapshot(folder), merges), by_key=True)
        return RunLoad(stats, {"handover": "partial", "handover_reason": "incremental reconcile: its rows, by key"})
    state = load_state(url, state_dir)
    plan = plan_load(run_paths(folder), state, last_load(engine)) if state is not None else None
    frames = plan.frames if plan is not None else _snapshot(folder)
    try:
        stats = load_reconciled(
            engine,
            _batch(run_id, frames, merges),
            expect_last_load=plan.previous_load_id if plan is not None else None,
            by_key=_small(plan),
        )
    except StaleHandover as exc:  # another load committed after the comparison: hand over everything
        log.warning("load: %s; handing over the full snapshot", exc)
        stats = load_reconciled(engine, _batch(run_id, _snapshot(folder), merges))
    except Exception:
        if plan is not None and state is not None:
            state.discard(plan.pending)
        raise
    if plan is not None and state is not None:
        try:
            state.commit(plan.pending, str(stats.load_id))
        except OSError as exc:  # the next run then compares nothing and hands over everything
            log.warning("load: could not keep the load state (%s); the next load is a full handover", exc)
    handover = plan.summary() if plan is not None else {"handover": "full", "handover_reason": "no load state"}
    return RunLoad(stats, handover)


def _batch(run_id: str, frames: dict[str, pd.DataFrame | None], merges: list[dict[str, Any]] | None) -> LoadBatch:
    fields = {field: frames.get(name) for name, field in HANDOVER_FILES.items()}
    return LoadBatch(run_id, merges=merges, **fields)


def _merges(folder: Path) -> list[dict[str, Any]] | None:
    path = folder / MERGES_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _small(plan: LoadPlan | None) -> bool:
    """Whether the handover is small enough for key probes to beat joins over all of core."""
    if plan is None or plan.mode != "incremental":
        return False
    snapshot = sum(plan.snapshot_rows.values())
    return snapshot > 0 and sum(plan.handed_rows.values()) <= SMALL_HANDOVER * snapshot


def _snapshot(folder: Path) -> dict[str, pd.DataFrame | None]:
    """Every handover file of the run, whole (``None`` for a file run folders before issue 5 lack)."""
    return {name: pd.read_parquet(path) if path.exists() else None for name, path in run_paths(folder).items()}
