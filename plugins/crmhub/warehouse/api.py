"""The warehouse API the DAGs and the CLI use, the same over DuckDB and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import pandas as pd

from crmhub.model import XREF_COLUMNS, conform
from crmhub.warehouse import frames, load, raw_landing, sqlfiles, tables
from crmhub.warehouse.engine import Engine, open_engine
from crmhub.warehouse.load import LoadBatch, LoadStats
from crmhub.warehouse.url import WarehouseUrl, default_url, parse_url

if TYPE_CHECKING:
    from crmhub.warehouse.delta import LoadState
    from crmhub.warehouse.handover import RunLoad

MIGRATE_LOCK = "crmhub.warehouse.migrate"


class Warehouse:
    """One connection to the warehouse; use as a context manager so the DuckDB lock is released."""

    def __init__(self, engine: Engine, url: WarehouseUrl) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def from_url(cls, url: str, *, lock_timeout: float = 30.0) -> Self:
        """Open ``duckdb:///abs/path.duckdb`` or ``postgresql://user@host:port/db``.

        ``lock_timeout`` is how long to wait for another process's DuckDB write lock.
        """
        parsed = parse_url(url)
        return cls(open_engine(parsed, lock_timeout=lock_timeout), parsed)

    @property
    def dialect(self) -> str:
        """``duckdb`` or ``postgresql``."""
        return self.engine.dialect

    # -- lifecycle -------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply the numbered DDL files in one transaction (idempotent); return the files run."""
        files = sqlfiles.ddl_files(self.dialect)
        with self.engine.transaction():
            self.engine.run_file("lock", {"lock_name": MIGRATE_LOCK})
            for path in files:
                for statement in sqlfiles.split_statements(path.read_text(encoding="utf-8")):
                    self.engine.execute(statement)
        return [p.name for p in files]

    def close(self) -> None:
        """Close the connection."""
        self.engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- raw -------------------------------------------------------------------------------
    def land_raw(self, records: pd.DataFrame) -> int:
        """Append raw landing records not already present; return the number inserted."""
        return raw_landing.land_raw(self.engine, records)

    def latest_raw(self, source: str, object_type: str) -> pd.DataFrame:
        """The newest landed payload per source_id of one source and object type."""
        return raw_landing.latest_raw(self.engine, source, object_type)

    def has_raw(self, source: str, object_type: str) -> bool:
        """Whether anything of this source and object type was ever landed (first pull is full)."""
        (statement,) = sqlfiles.load_statements("raw_exists", self.dialect)
        _, data = self.engine.fetch(statement, {"source": source, "object_type": object_type})
        return bool(data)

    # -- quality -----------------------------------------------------------------------------
    def store_quality_results(self, results: pd.DataFrame) -> int:
        """Store validation results (replacing the same run and stage's earlier results); returns rows."""
        prepared = frames.prepare(
            results,
            tables.QUALITY_COLUMNS,
            name="quality results",
            required=["run_id", "stage", "suite", "expectation", "severity", "validated_at"],
        )
        with self.engine.transaction():
            self.engine.run_file("quality_results_clear")
            self.engine.stage("staging.quality_results", prepared)
            self.engine.run_file("quality_results_delete")
            self.engine.run_file("quality_results_insert")
            self.engine.run_file("quality_results_clear")
        return len(prepared)

    # -- core ------------------------------------------------------------------------------
    def current_xref(self) -> pd.DataFrame:
        """Current source→golden links (``XREF_COLUMNS``), so reconcile keeps golden IDs stable."""
        (statement,) = sqlfiles.load_statements("xref_current", self.dialect)
        names, data = self.engine.fetch(statement)
        return conform(pd.DataFrame(data, columns=names), XREF_COLUMNS)

    def load_reconciled(
        self, batch: LoadBatch, *, expect_last_load: str | None = None, by_key: bool = False
    ) -> LoadStats:
        """Load one reconcile run's frames atomically (see :mod:`crmhub.warehouse.load`)."""
        return load.load_reconciled(self.engine, batch, expect_last_load=expect_last_load, by_key=by_key)

    def load_run(self, folder: Path, run_id: str, *, state_dir: Path | None, partial: bool = False) -> RunLoad:
        """Load a reconcile run folder, handing over only what changed since the last load.

        Plans the handover against the fingerprints under ``state_dir`` (``<data dir>/state``; ``None``:
        always the full snapshot), loads, then keeps or drops the fingerprints; a handover made stale
        by another load falls back to the full snapshot (:mod:`crmhub.warehouse.handover`). ``partial``:
        the folder holds only an incremental reconcile's rows, loaded whole and by key.
        """
        from crmhub.warehouse import handover

        return handover.load_run(self.engine, self.url, folder, run_id, state_dir=state_dir, partial=partial)

    def load_state(self, state_dir: Path) -> LoadState | None:
        """This warehouse's incremental-load fingerprints under ``state_dir``; none for an in-memory one."""
        from crmhub.warehouse import handover

        return handover.load_state(self.url, state_dir)

    def last_load(self) -> dict[str, Any] | None:
        """The latest successful reconcile load (``load_id``) and erasures run since (``erasures_since``)."""
        return load.last_load(self.engine)

    # -- reading ---------------------------------------------------------------------------
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a read query with ``:name`` placeholders and return a DataFrame."""
        names, data = self.engine.fetch(sql, params)
        return pd.DataFrame(data, columns=names)

    def table_counts(self) -> dict[str, int]:
        """Row counts of the raw, core and mart relations."""
        counts = {}
        for table in tables.COUNTED:
            _, data = self.engine.fetch(f"SELECT count(*) FROM {tables.quote_table(table)}")
            counts[table] = int(data[0][0])
        return counts

    def checksum(self, table: str) -> str:
        """Order-independent sha256 of a table's content, ignoring load bookkeeping columns.

        Used to prove that a rerun changed nothing: each row is digested on its own, the
        digests are sorted, and the sorted list is digested.
        """
        columns = tables.checksum_columns(table)
        quoted = tables.quote_columns(table, columns)
        _, data = self.engine.fetch(f"SELECT {quoted} FROM {tables.quote_table(table)}")
        digests = sorted(
            hashlib.sha256(json.dumps([_canonical(v) for v in row], ensure_ascii=False).encode("utf-8")).hexdigest()
            for row in data
        )
        return hashlib.sha256("\n".join(digests).encode("ascii")).hexdigest()

    # -- quality gates: quarantine and warehouse checks (docs/quality.md) -----------------------
    def store_quarantine(self, records: pd.DataFrame) -> dict[str, int]:
        """Upsert held-back records (``crmhub.model.QUARANTINE_COLUMNS``); counts refreshed/opened."""
        from crmhub.warehouse import quarantine_store

        return quarantine_store.store_quarantine(self.engine, records)

    def resolve_quarantine(self, run_id: str, stages: list[str]) -> int:
        """After a committed load: open entries of ``stages`` this run did not quarantine again → resolved."""
        from crmhub.warehouse import quarantine_store

        return quarantine_store.resolve_quarantine(self.engine, run_id, stages)

    def quarantine(self, resolved: str = "open") -> pd.DataFrame:
        """Quarantine entries: ``open`` (default), ``resolved`` or ``all``."""
        from crmhub.warehouse import quarantine_store

        return quarantine_store.read_quarantine(self.engine, resolved)

    def quality_check_frames(self, run_id: str) -> dict[str, pd.DataFrame]:
        """What the warehouse-stage suites validate after ``run_id``'s load, keyed by suite."""
        from crmhub.warehouse import quarantine_store

        return quarantine_store.warehouse_check_frames(self.engine, run_id)

    # -- operations (GDPR suppression, retention; the policies live in crmhub.ops) ------------------
    def suppression_hashes(self) -> set[str]:
        """Keyed hashes on the suppression list (``crmhub.ops.suppression`` checks pulls against them)."""
        (statement,) = sqlfiles.load_statements("suppression_hashes", self.dialect)
        _, data = self.engine.fetch(statement)
        return {row[0] for row in data}

    def prune_raw(self, older_than: timedelta, *, now: datetime | None = None, run_id: str = "retention") -> int:
        """Delete raw payloads extracted before ``now - older_than``, keeping every record's newest
        version (replaying reconcile gives the same golden records); audited; returns rows deleted.

        ``crmhub.ops.retention`` decides when and how far back (the retention policy).
        """
        cutoff = (now or datetime.now(UTC)) - older_than
        return raw_landing.prune_raw(self.engine, cutoff, run_id=run_id)

    # -- steward review, decisions and merge log (crmhub.warehouse.steward, docs/reconcile.md) ----
    def store_steward_run(
        self,
        run_id: str,
        review: pd.DataFrame,
        merges: list[dict[str, Any]],
        at: datetime | None = None,
        scope: pd.DataFrame | None = None,
    ) -> dict[str, int]:
        """Replace the review queue with this run's and log its golden merges (one transaction);
        with ``scope``, only the pairs of an incremental run's scope (``steward.store_run``)."""
        from crmhub.warehouse import steward

        return steward.store_run(self.engine, run_id, review, merges, at or datetime.now(UTC), scope)

    def review_queue(self) -> pd.DataFrame:
        """The current steward review queue, best-scoring pairs first."""
        from crmhub.warehouse import steward

        return steward.review_queue(self.engine)

    def record_decision(
        self, left: tuple[str, str], right: tuple[str, str], decision: str, decided_by: str, **kwargs: Any
    ) -> str:
        """Store a steward ``link``/``split`` decision on two source records; applied by the next run."""
        from crmhub.warehouse import steward

        return steward.record_decision(self.engine, left, right, decision, decided_by, **kwargs)

    def steward_decisions(self) -> pd.DataFrame:
        """The decision in force per record pair, for ``reconcile(decisions=...)``."""
        from crmhub.warehouse import steward

        return steward.active_decisions(self.engine)

    def merge_log(self) -> pd.DataFrame:
        """Every golden merge: winner, loser, rule, time, undone flag."""
        from crmhub.warehouse import steward

        return steward.merge_log(self.engine)

    def undo_merge(self, merge_id: str, undone_by: str) -> int:
        """Undo a logged merge on the next run; returns how many split decisions were recorded."""
        from crmhub.warehouse import steward

        return steward.undo_merge(self.engine, merge_id, undone_by, self.current_xref())


def _canonical(value: Any) -> Any:
    """Engine-neutral JSON value: UTC ISO timestamps, plain ints/bools/strings."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def connect_warehouse(url: str | None = None, *, lock_timeout: float = 30.0) -> Warehouse:
    """Open the configured warehouse: ``url``, else ``CRMHUB_WAREHOUSE_URL``, else DuckDB in data/."""
    return Warehouse.from_url(url or default_url(), lock_timeout=lock_timeout)
