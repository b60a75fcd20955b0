"""Raw landing: append-only, idempotent on (source, object_type, payload_hash)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd

from crmhub.warehouse import frames, tables
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.sqlfiles import load_statements

REQUIRED = ["source", "object_type", "source_id", "payload", "payload_hash", "run_id", "extracted_at"]


def land_raw(engine: Engine, records: pd.DataFrame) -> int:
    """Land raw records in one transaction; return how many were new.

    Records go to a session-private temp table first (COPY on PostgreSQL), then one INSERT ...
    SELECT adds the hashes not already present, so concurrent ingests of other sources and
    re-pulls of the same records are both safe.
    """
    started = datetime.now(UTC)
    prepared = frames.prepare(records, tables.RAW_COLUMNS, name="raw records", required=REQUIRED)
    if prepared.empty:
        return 0
    run_ids = sorted(set(prepared["run_id"]))
    with engine.transaction():
        engine.run_file("raw_landing_table")
        engine.stage(tables.RAW_LANDING, prepared)
        inserted = engine.run_file("raw_insert")
        engine.run_file("raw_landing_clear")
        engine.run_file(
            "audit_insert",
            {
                "run_id": ",".join(run_ids)[:500],
                "stage": "land_raw",
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "status": "success",
                "row_counts": json.dumps({"received": len(prepared), "inserted": inserted}),
                "error": None,
            },
        )
    return inserted


def latest_raw(engine: Engine, source: str, object_type: str) -> pd.DataFrame:
    """Newest payload per source_id (latest source_updated_at, then latest extracted_at)."""
    (statement,) = load_statements("raw_latest", engine.dialect)
    names, data = engine.fetch(statement, {"source": source, "object_type": object_type})
    frame = pd.DataFrame(data, columns=names)
    return frames.prepare(frame, tables.RAW_COLUMNS, name="raw.payloads")


def prune_raw(engine: Engine, cutoff: datetime, *, run_id: str) -> int:
    """Delete raw payloads extracted before ``cutoff`` except each record's newest version, and audit
    it (stage ``retention_raw``), in one transaction; returns the rows deleted."""
    started = datetime.now(UTC)
    with engine.transaction():
        deleted = max(engine.run_file("retention_prune_raw", {"cutoff": cutoff}), 0)
        engine.run_file(
            "audit_insert",
            {
                "run_id": run_id,
                "stage": "retention_raw",
                "started_at": started,
                "finished_at": datetime.now(UTC),
                "status": "success",
                "row_counts": json.dumps({"deleted": deleted, "cutoff": cutoff.isoformat()}),
                "error": None,
            },
        )
    return deleted
