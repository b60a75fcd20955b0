"""Ingest stage: pull one object type from one source and land its raw payloads atomically.

Pages are collected first and landed in one transaction at the end, so a failure on page N leaves
nothing half-loaded; landing skips payloads already stored, so a re-run adds nothing. Before
landing, the pull passes the source's raw quality gate (``include/gx/raw_<source>_<object>.json``):
a blocking failure stops the task with nothing landed, after the results are stored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.connectors.base import Connector, RawRecord, Window

log = logging.getLogger(__name__)

RAW_COLUMNS = [
    "source",
    "object_type",
    "source_id",
    "source_updated_at",
    "payload",
    "payload_hash",
    "run_id",
    "extracted_at",
]


@dataclass
class IngestStats:
    source: str
    object_type: str
    mode: str
    pages: int = 0
    records: int = 0
    duplicates_in_pull: int = 0
    landed: int = 0
    seconds: float = 0.0
    requests: int = 0
    retries: int = 0
    quality_warnings: int = 0  # failed warning expectations of the raw gate (blocking ones raise)
    window_since: str | None = None  # the watermark this pull started from (None: full pull)
    window_until: str | None = None  # the watermark the next run's window starts from (minus the overlap)
    throttled_seconds: float = 0.0  # waited for the vendor's configured rate limit

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def version_key(record: RawRecord) -> tuple[str, str]:
    """One version of one record: (source id, source update time); the payload hash when the source
    gives no update time. A record met twice in a pull (offset paging that shifted, overlapping
    windows) is the same version and lands once."""
    updated = record.source_updated_at
    return record.source_id, updated.isoformat() if updated is not None else f"#{record.payload_hash}"


def pull_window(interval_start: datetime, interval_end: datetime, overlap: timedelta, *, full: bool) -> Window:
    """The window to pull: the run's data interval widened back by the overlap, or everything."""
    return Window(since=None if full else interval_start - overlap, until=interval_end)


def ingest(
    connector: Connector,
    object_type: str,
    window: Window,
    warehouse: Any,
    run_id: str,
    *,
    progress_every: int = 10,
    docs_dir: Path | None = None,
) -> IngestStats:
    """Extract every page of ``object_type`` in ``window``, gate it and land it; returns counts for the log."""
    stats = IngestStats(connector.source_name, object_type, "full" if window.since is None else "incremental")
    stats.window_since = window.since.isoformat() if window.since else None
    stats.window_until = window.until.isoformat()
    started = time.monotonic()
    extracted_at = datetime.now(UTC)
    seen: dict[tuple[str, str], RawRecord] = {}
    for page in connector.extract(object_type, window):
        stats.pages += 1
        for record in page.records:
            stats.records += 1
            key = version_key(record)
            if key in seen:
                stats.duplicates_in_pull += 1  # the same version twice across pages: keep one
            seen[key] = record
        if stats.pages % progress_every == 0:
            rate = stats.records / max(time.monotonic() - started, 1e-6)
            log.info(
                "%s/%s: %d pages, %d records, %.0f records/s",
                stats.source,
                object_type,
                stats.pages,
                stats.records,
                rate,
            )
    frame = pd.DataFrame(
        [
            {
                "source": connector.source_name,
                "object_type": r.object_type,
                "source_id": r.source_id,
                "source_updated_at": r.source_updated_at,
                "payload": r.payload_json,
                "payload_hash": r.payload_hash,
                "run_id": run_id,
                "extracted_at": extracted_at,
            }
            for r in seen.values()
        ],
        columns=RAW_COLUMNS,
    )
    frame["source_updated_at"] = pd.to_datetime(frame["source_updated_at"], utc=True)
    frame["extracted_at"] = pd.to_datetime(frame["extracted_at"], utc=True)
    from crmhub.ops.suppression import drop_suppressed  # erased people stay out (GDPR, issue 7)

    frame, _suppressed = drop_suppressed(frame, warehouse)
    stats.quality_warnings = _raw_gate(connector, object_type, list(seen.values()), window, warehouse, run_id, docs_dir)
    stats.landed = warehouse.land_raw(frame)
    connector.commit(object_type)  # only now may a consuming source (file drop) let go of its input
    stats.seconds = round(time.monotonic() - started, 3)
    http = getattr(connector, "http", None)
    stats.requests = getattr(http, "requests_made", 0)
    stats.retries = getattr(http, "retries", 0)
    stats.throttled_seconds = round(getattr(http, "throttled_seconds", 0.0), 3)
    log.info(
        "%s/%s (%s): %d pages, %d records, %d new payloads landed, %d retries, %.1fs",
        stats.source,
        object_type,
        stats.mode,
        stats.pages,
        stats.records,
        stats.landed,
        stats.retries,
        stats.seconds,
    )
    return stats


def _raw_gate(
    connector: Connector,
    object_type: str,
    records: list[RawRecord],
    window: Window,
    warehouse: Any,
    run_id: str,
    docs_dir: Path | None,
) -> int:
    """Validate the pull before landing; store the results; raise on a blocking failure.

    The suite is looked up by source name, then by connector plugin name, so a second HubSpot
    source shares the HubSpot suite. Examples in the error are vendor record ids, never values.
    """
    from crmhub.quality.raw import find_raw_stage, validate_raw

    plugin = type(connector).__module__.rsplit(".", 1)[-1]
    stage = find_raw_stage([connector.source_name, plugin], object_type)
    if stage is None:
        log.warning("%s/%s: no raw quality suite; landing unchecked", connector.source_name, object_type)
        return 0
    report, checked = validate_raw(
        stage, records, window_since=window.since, window_until=window.until, run_id=run_id, docs_dir=docs_dir
    )
    warehouse.store_quality_results(report.to_frame())
    report.raise_if_blocking(example_ids=checked["source_id"].tolist())
    return len(report.warnings)
