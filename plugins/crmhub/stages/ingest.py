"""Ingest stage: pull one object type from one source and land its raw payloads.

Pages are collected first and landed in one transaction at the end; landing skips payloads already
stored, so a re-run adds nothing. Before landing, the pull passes the source's raw quality gate
(``include/gx/raw_<source>_<object>.json``): a blocking failure stops the task with nothing landed,
after the results are stored.

Nothing bad loses the rest (issue 12): a record that cannot be read (no id, text that is not valid
Unicode, an update time that is not a timestamp) goes to ``audit.quarantine`` with source, record id,
field, reason and its raw text, and the rest of its page and pull lands. A page that cannot be read
even after the client's retries (or a 401 that a new token does not cure) fails the task naming
source, endpoint and page, but only after the pages fetched before it have landed: landing is
idempotent, so the next run pulls the rest without doubling anything. The watermark does not move
past a failed run (``crmhub.orchestration.ingest_dag`` starts from the last successful run).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmhub.connectors.base import Connector, RawRecord, RejectedRecord, Window, bad_text_path, raw_text
from crmhub.model import QUARANTINE_COLUMNS
from crmhub.warehouse.tables import RAW_COLUMNS

if TYPE_CHECKING:
    from crmhub.warehouse import Warehouse

log = logging.getLogger(__name__)

#: audit.quarantine ``stage`` of records the ingest stage could not read
QUARANTINE_STAGE = "ingest"


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
    quarantined: int = 0  # records that could not be read, stored in audit.quarantine
    failed: str | None = None  # the error that stopped the pull after what was fetched had landed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def version_key(record: RawRecord) -> tuple[str, str]:
    """One version of one record: (source id, source update time); the payload hash when the source
    gives no update time. A record met twice in a pull (offset paging that shifted, overlapping
    windows) is the same version and lands once."""
    updated = record.source_updated_at
    return record.source_id, updated.isoformat() if updated is not None else f"#{record.payload_hash}"


def pull_window(
    interval_start: datetime,
    interval_end: datetime,
    overlap: timedelta,
    *,
    full: bool,
    last_success_end: datetime | None = None,
) -> Window:
    """The window to pull: the run's data interval widened back by the overlap, or everything.

    ``last_success_end`` is where the last successful pull ended: a window never starts after it, so
    runs that failed (and landed only part of their pull) are pulled again by the next run.
    """
    since = interval_start if last_success_end is None else min(interval_start, last_success_end)
    return Window(since=None if full else since - overlap, until=interval_end)


def ingest(
    connector: Connector,
    object_type: str,
    window: Window,
    warehouse: Warehouse,
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
    rejected: list[RejectedRecord] = []
    failure: Exception | None = None
    try:
        for page in connector.extract(object_type, window):
            stats.pages += 1
            rejected.extend(page.rejected)
            for record in page.records:
                stats.records += 1
                bad = bad_text_path(record.payload)  # for plugins that build pages without read_page
                if bad is not None:
                    source_id = None if bad_text_path(record.source_id) else record.source_id
                    rejected.append(
                        RejectedRecord(
                            object_type, source_id, bad[0], bad[1], raw_text(record.payload), page.number, page.endpoint
                        )
                    )
                    continue
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
    except Exception as exc:  # noqa: BLE001 - landed below, then raised again unchanged
        failure = exc
        stats.failed = str(exc)
        log.error(
            "%s/%s: pull stopped after %d pages; landing the %d records fetched before it",
            stats.source,
            object_type,
            stats.pages,
            len(seen),
        )
    stats.quarantined = _quarantine(connector.source_name, rejected, warehouse, run_id, extracted_at)
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
    if failure is not None:
        _land_before_failing(connector, object_type, list(seen.values()), frame, window, warehouse, run_id, docs_dir)
        raise failure
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
    if stats.quarantined:
        log.warning("%s/%s: %d records quarantined (audit.quarantine)", stats.source, object_type, stats.quarantined)
    return stats


def _land_before_failing(
    connector: Connector,
    object_type: str,
    records: list[RawRecord],
    frame: pd.DataFrame,
    window: Window,
    warehouse: Warehouse,
    run_id: str,
    docs_dir: Path | None,
) -> None:
    """Land what a failed pull fetched, through the same gate; the caller raises the pull's error.

    The input is not committed (a file drop keeps its files): the pull did not finish.
    """
    from crmhub.errors import QualityGateFailed

    try:
        _raw_gate(connector, object_type, records, window, warehouse, run_id, docs_dir)
    except QualityGateFailed as exc:
        log.error("%s/%s: the fetched part of the failed pull did not pass the raw gate (%s); landing nothing",
                  connector.source_name, object_type, exc)  # fmt: skip
        return
    landed = warehouse.land_raw(frame)
    log.info("%s/%s: %d new payloads of the failed pull landed", connector.source_name, object_type, landed)


def quarantine_frame(source: str, rejected: list[RejectedRecord], run_id: str, at: datetime) -> pd.DataFrame:
    """``audit.quarantine`` rows for records the pull could not read (``crmhub.model.QUARANTINE_COLUMNS``).

    An open entry is keyed by (stage, expectation, source, source_id), so ``expectation`` names the
    field; a record without id also carries a hash of its text there, so two such records stay two.
    """
    rows: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in rejected:
        expectation = f"readable:{r.field}"
        if r.source_id is None:
            import hashlib

            expectation += "#" + hashlib.sha256(r.payload.encode("ascii", "backslashreplace")).hexdigest()[:12]
        rows[(expectation, r.source_id)] = {
            "source": source,
            "source_id": r.source_id,
            "stage": QUARANTINE_STAGE,
            "suite": f"ingest_{source}_{r.object_type}",
            "expectation": expectation,
            "reason": r.describe(source),
            "run_id": run_id,
            "payload": r.payload,
            "quarantined_at": at,
        }
    return pd.DataFrame(list(rows.values()), columns=QUARANTINE_COLUMNS)


def _quarantine(source: str, rejected: list[RejectedRecord], warehouse: Warehouse, run_id: str, at: datetime) -> int:
    """Store the records the pull could not read; log record ids and fields, never values."""
    if not rejected:
        return 0
    for r in rejected:
        log.warning("quarantined: %s", r.describe(source))
    frame = quarantine_frame(source, rejected, run_id, at)
    warehouse.store_quarantine(frame)
    return len(frame)


def _raw_gate(
    connector: Connector,
    object_type: str,
    records: list[RawRecord],
    window: Window,
    warehouse: Warehouse,
    run_id: str,
    docs_dir: Path | None,
) -> int:
    """Validate the pull before landing; store the results; raise on a blocking failure.

    The suite is looked up by source name, then by connector plugin name, so a second HubSpot
    source shares the HubSpot suite. Examples in the error are vendor record ids, never values.
    """
    from crmhub.quality.raw_gate import find_raw_stage, validate_raw

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
