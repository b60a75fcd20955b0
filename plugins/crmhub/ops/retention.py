"""Retention: keep the raw layer and the run folders from growing for ever.

Raw payloads extracted before the cutoff are deleted **except the newest version of each source
record**, so replaying reconcile from what is kept gives the same golden records (history lives in the
core SCD2 tables, which retention does not touch). Run folders (``data/runs/<run_id>``, Parquet files
with personal data) older than their own cutoff are removed whole.
"""

from __future__ import annotations

import logging
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmhub.warehouse import Warehouse

log = logging.getLogger(__name__)

RAW_DAYS_ENV = "CRMHUB_RAW_RETENTION_DAYS"
RUN_DAYS_ENV = "CRMHUB_RUN_RETENTION_DAYS"
DEFAULT_RAW_DAYS = 400
DEFAULT_RUN_DAYS = 30


def prune_raw(
    warehouse: Warehouse, older_than: timedelta, *, now: datetime | None = None, run_id: str = "retention"
) -> int:
    """Delete superseded raw payloads extracted before ``now - older_than``; returns rows deleted."""
    now = now or datetime.now(UTC)
    deleted = warehouse.prune_raw(older_than, now=now, run_id=run_id)
    cutoff = now - older_than
    log.info("retention: %d superseded raw payloads extracted before %s deleted", deleted, cutoff.isoformat())
    return deleted


def prune_runs(
    data_dir: Path, older_than: timedelta, *, now: float | None = None, keep: frozenset[str] = frozenset()
) -> int:
    """Remove run folders whose newest file is older than ``older_than``; returns folders removed."""
    cutoff = (now if now is not None else time.time()) - older_than.total_seconds()
    removed = 0
    for folder in sorted((Path(data_dir) / "runs").glob("*")):
        if not folder.is_dir() or folder.name in keep:
            continue
        newest = max((p.stat().st_mtime for p in folder.rglob("*")), default=folder.stat().st_mtime)
        if newest < cutoff:
            shutil.rmtree(folder)
            removed += 1
    log.info("retention: %d run folders older than %s removed", removed, older_than)
    return removed


def prune_drop_files(data_dir: Path, older_than: timedelta, *, now: float | None = None, sources: Any = None) -> int:
    """Delete processed and rejected file-drop exports older than ``older_than``; returns files removed.

    Those files are copies of personal data the hub already landed (or could not read); files still
    waiting in a drop folder are never touched. ``sources`` defaults to the configured sources.
    """
    from crmhub.config import load_sources
    from crmhub.ops.drop_files import drop_folders, prune_drops

    return prune_drops(drop_folders(sources if sources is not None else load_sources(), data_dir), older_than, now=now)
