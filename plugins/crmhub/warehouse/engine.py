"""The two engines behind one small interface: statements, reads, bulk staging, transactions.

Everything engine-specific in the warehouse lives here (plus the few ``*.<dialect>.sql`` files):
placeholder style, how a frame is bulk-loaded (PostgreSQL ``COPY``, DuckDB a registered Arrow
table), how a connection is opened (DuckDB's single-writer file lock is retried) and, for a DuckDB
file, publishing the read-only copy BI tools open when the connection closes
(:mod:`crmhub.warehouse.publish`).
"""

from __future__ import annotations

import logging
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.errors import CrmHubError
from crmhub.warehouse import frames, sqlfiles, tables
from crmhub.warehouse.url import WarehouseUrl, bi_file

log = logging.getLogger(__name__)


class WarehouseLockedError(CrmHubError):
    """The DuckDB file is held by another process for longer than we were willing to wait."""


Params = Mapping[str, Any] | None


def _used(sql: str, params: Params) -> dict[str, Any]:
    names = sqlfiles.placeholders(sql)
    if not names:
        return {}
    params = params or {}
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"SQL parameters not supplied: {missing}")
    return {n: params[n] for n in names}


class Engine(ABC):
    """One open connection to a warehouse database."""

    dialect: str
    #: whether closing may publish what changed for readers (DuckDB's BI copy); a caller that reopens
    #: soon and closes for good later (write-back's batches) turns it off for the visits in between
    publish_on_close: bool = True

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement with ``:name`` placeholders; return the affected row count (or -1)."""

    @abstractmethod
    def fetch(self, sql: str, params: Params = None) -> tuple[list[str], list[tuple]]:
        """Run a query; return its column names and rows."""

    @abstractmethod
    def stage(self, table: str, frame: pd.DataFrame) -> int:
        """Bulk-append a prepared frame (columns already whitelisted for ``table``)."""

    @abstractmethod
    def transaction(self) -> Any:
        """Context manager: commit on success, roll back on any exception."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection (and, for DuckDB, the file lock)."""

    def run_file(self, name: str, params: Params = None) -> int:
        """Run every statement of ``load/<name>.sql``; return the summed row counts."""
        total = 0
        for statement in sqlfiles.load_statements(name, self.dialect):
            total += max(self.execute(statement, params), 0)
        return total


class PostgresEngine(Engine):
    """psycopg 3 in autocommit mode; explicit transactions via ``Connection.transaction()``."""

    dialect = "postgresql"

    def __init__(self, dsn: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.conn.execute("SET TIME ZONE 'UTC'")

    def execute(self, sql: str, params: Params = None) -> int:
        with self.conn.cursor() as cur:
            cur.execute(sqlfiles.to_pyformat(sql), _used(sql, params) or None)
            return cur.rowcount

    def fetch(self, sql: str, params: Params = None) -> tuple[list[str], list[tuple]]:
        with self.conn.cursor() as cur:
            cur.execute(sqlfiles.to_pyformat(sql), _used(sql, params) or None)
            names = [d.name for d in cur.description or []]
            return names, cur.fetchall()

    def stage(self, table: str, frame: pd.DataFrame) -> int:
        """COPY the frame in: the one bulk path on PostgreSQL (no row-by-row INSERTs)."""
        from psycopg import sql as psql

        columns = list(frame.columns)
        tables.quote_columns(table, columns)  # whitelist check
        statement = psql.SQL("COPY {} ({}) FROM STDIN").format(
            psql.Identifier(*table.split(".")), psql.SQL(", ").join(map(psql.Identifier, columns))
        )
        count = 0
        with self.conn.cursor() as cur, cur.copy(statement) as copy:
            for row in frames.rows(frame):
                copy.write_row(row)
                count += 1
        # fresh statistics, or the planner guesses at a table it last saw empty (nested loops over 1M rows)
        self.conn.execute(psql.SQL("ANALYZE {}").format(psql.Identifier(*table.split("."))))
        return count

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    def close(self) -> None:
        self.conn.close()


class DuckDBEngine(Engine):
    """An embedded DuckDB file (or in-memory database).

    With ``bi_copy``, closing the connection refreshes that read-only copy for BI tools when the
    warehouse changed in a way they must see (:func:`crmhub.warehouse.publish.publish_if_changed`).
    """

    dialect = "duckdb"

    def __init__(self, path: Path | None, *, lock_timeout: float = 30.0, bi_copy: Path | None = None) -> None:
        import duckdb

        self._duckdb = duckdb
        self.path = path
        self.bi_copy = bi_copy if path is not None else None
        self._in_transaction = self._closed = False
        self.conn = self._connect(path, lock_timeout)
        self.conn.execute("SET TimeZone = 'UTC'")

    def _connect(self, path: Path | None, lock_timeout: float) -> Any:
        """Open the file, retrying while another process holds DuckDB's single-writer lock."""
        if path is None:
            return self._duckdb.connect(":memory:")
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_timeout
        delay = 0.1
        while True:
            try:
                return self._duckdb.connect(str(path))
            except self._duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseLockedError(
                        f"DuckDB warehouse {path} is locked by another process (DuckDB allows one "
                        f"writer per file); gave up after {lock_timeout:.0f}s. Stop the other process "
                        f"(a running task, notebook or CLI) or use a PostgreSQL warehouse; BI tools "
                        f"and notebooks read the published copy {self.bi_copy or '(turned off)'} "
                        f"read-only instead (docs/operations.md, 'BI on DuckDB'). DuckDB said: {exc}"
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def execute(self, sql: str, params: Params = None) -> int:
        result = self.conn.execute(sqlfiles.to_dollar(sql), _used(sql, params) or None)
        if result.description and [d[0] for d in result.description] == ["Count"]:
            row = result.fetchone()
            return int(row[0]) if row and row[0] is not None else -1
        return -1

    def fetch(self, sql: str, params: Params = None) -> tuple[list[str], list[tuple]]:
        result = self.conn.execute(sqlfiles.to_dollar(sql), _used(sql, params) or None)
        names = [d[0] for d in result.description or []]
        return names, result.fetchall()

    def stage(self, table: str, frame: pd.DataFrame) -> int:
        """Insert from the frame registered as an Arrow table (typed explicitly, no inference)."""
        import pyarrow as pa

        columns = list(frame.columns)
        quoted = tables.quote_columns(table, columns)
        arrays = []
        for col in columns:
            kind = tables.kind_of(col)
            if kind == "timestamp":
                arrays.append(pa.Array.from_pandas(frame[col]).cast(pa.timestamp("us", tz="UTC")))
            elif kind == "bool":
                arrays.append(pa.array(frame[col].tolist(), type=pa.bool_()))
            elif kind == "float":
                arrays.append(pa.Array.from_pandas(frame[col].astype("float64")).cast(pa.float64()))
            else:
                arrays.append(pa.array(frame[col].tolist(), type=pa.string()))
        arrow = pa.Table.from_arrays(arrays, names=columns)
        view = "crmhub_stage_frame"
        self.conn.register(view, arrow)
        try:
            self.conn.execute(f"INSERT INTO {tables.quote_table(table)} ({quoted}) SELECT {quoted} FROM {view}")
        finally:
            self.conn.unregister(view)
        return len(frame)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.begin()
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            self._in_transaction = False
        self.conn.commit()

    def publish_bi_copy(self, *, force: bool = False) -> Any:
        """Refresh the BI copy now (``force``: even if it holds the live state); the publication or None."""
        from crmhub.warehouse import publish

        if self.bi_copy is None or self.path is None:
            return None
        if force:
            return publish.publish(self.conn, self.path, self.bi_copy)
        return publish.publish_if_changed(self.conn, self.path, self.bi_copy)

    def close(self) -> None:
        """Publish the BI copy if the warehouse changed (never mid-transaction), then release the lock.

        A failed publication raises: after an erasure a stale copy would still show the person. While
        another exception unwinds (a failed task closing its ``with`` block) it is logged instead, so
        the task reports its own error; its retry publishes.
        """
        if self._closed:
            return
        unwinding = sys.exc_info()[1] is not None
        try:
            if not self._in_transaction and self.publish_on_close:
                try:
                    self.publish_bi_copy()
                except Exception:
                    if not unwinding:
                        raise
                    log.exception("the BI copy %s was not refreshed", self.bi_copy)
        finally:
            self._closed = True
            self.conn.close()


def open_engine(url: WarehouseUrl, *, lock_timeout: float = 30.0) -> Engine:
    """Connect to the engine the URL names."""
    if url.dialect == "duckdb":
        return DuckDBEngine(url.path, lock_timeout=lock_timeout, bi_copy=bi_file(url))
    assert url.dsn is not None
    return PostgresEngine(url.dsn)
