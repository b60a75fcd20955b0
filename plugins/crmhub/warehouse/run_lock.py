"""One run at a time per warehouse, for stages that hold no warehouse connection while they work.

A load serialises itself inside its transaction (``load/lock.*.sql``); a stage that opens the
warehouse only briefly between long calls elsewhere (write-back, which waits on the CRMs) needs a
lock that outlives its connections. DuckDB: an exclusive ``flock`` on ``<file>.<name>.lock`` beside
the warehouse file (a DuckDB warehouse lives on one machine). PostgreSQL: a session advisory lock on
a connection of its own, released when that connection closes, also if the process dies.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from crmhub.errors import CrmHubError
from crmhub.warehouse.url import WarehouseUrl


class RunLockHeld(CrmHubError):
    """Another process holds the run lock."""


@contextmanager
def exclusive_run(url: WarehouseUrl, name: str) -> Iterator[None]:
    """Hold the lock ``name`` on this warehouse until the block ends; raise :class:`RunLockHeld` if taken."""
    if url.dialect == "duckdb":
        if url.path is None:  # in memory: one process, nothing to share
            yield
            return
        lock_file = url.path.with_name(f"{url.path.name}.{name}.lock")
        with open(lock_file, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise RunLockHeld(f"{lock_file} is locked by another process") from exc
            yield  # closing the handle releases the lock
        return
    import psycopg

    with psycopg.connect(url.dsn or "", autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()
        if not (row and row[0]):
            raise RunLockHeld(f"advisory lock {name!r} is held by another session")
        yield  # released when the session ends
