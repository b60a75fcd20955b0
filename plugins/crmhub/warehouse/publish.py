"""The read-only copy of a DuckDB warehouse that BI tools open, so they never block a load.

DuckDB lets one process open a file read-write *or* many open it read-only, never both: a BI tool
holding ``warehouse.duckdb`` makes every load, ingest and erasure wait and fail with
:class:`~crmhub.warehouse.engine.WarehouseLockedError`. So BI tools open a copy instead,
``warehouse.bi.duckdb`` (:func:`crmhub.warehouse.url.bi_file`), which the hub replaces atomically:

1. only the process holding the live file's write lock publishes, with no transaction open, so the
   copy is a committed state (never half a load) and two publishers cannot interleave;
2. ``CHECKPOINT`` moves the write-ahead log into the file, so the file alone is the whole state;
3. its bytes are copied to a temporary file beside the target, which must open read-only and show
   the same audit state before it is fsynced and ``os.replace``d over the target.

A reader that has the old copy open keeps reading that file (the old inode) until it reconnects;
its lock is on the old inode, so it neither blocks the replace nor the next reader. The copy is
refreshed when a task closes the warehouse after a change BI must see (:func:`state`): a successful
load or retention run (``audit.load_audit``; raw landings wait for the next load), an erasure
(``audit.erasure_log``: the copy must forget the person too), or a schema change. A byte copy is
used rather than ``ATTACH ... COPY FROM DATABASE``: it costs a sequential read and write, without
recompressing every table (figures in docs/operations.md, "BI on DuckDB").
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmhub.errors import CrmHubError

log = logging.getLogger(__name__)

#: What BI must see changed: successful loads and retention runs (not raw landings: ingest tasks do
#: not copy the file, the next load brings their payloads along), erasures, write-back attempts (what
#: the CRMs were sent), the catalog.
STATE_SQL = """
SELECT
    (SELECT max(audit_id) FROM audit.load_audit WHERE status = 'success' AND stage <> 'land_raw'),
    (SELECT CAST(max(started_at) AS VARCHAR) FROM audit.load_audit WHERE status = 'success' AND stage <> 'land_raw'),
    (SELECT count(*) FROM audit.erasure_log),
    (SELECT CAST(max(finished_at) AS VARCHAR) FROM audit.erasure_log),
    (SELECT count(*) FROM audit.writeback_attempts),
    (SELECT max(attempt_id) FROM audit.writeback_attempts),
    (SELECT md5(string_agg(schema_name || '.' || table_name, ',' ORDER BY schema_name, table_name))
       FROM duckdb_tables() WHERE database_name = current_database()),
    (SELECT md5(string_agg(coalesce(sql, view_name), ';' ORDER BY schema_name, view_name))
       FROM duckdb_views() WHERE database_name = current_database() AND NOT internal)
"""


@dataclass(frozen=True)
class Published:
    """One publication: where, which warehouse state, how big and how long it took."""

    path: str
    state: str
    published_at: str
    bytes: int
    seconds: float


def manifest_path(target: Path) -> Path:
    """The JSON beside the copy naming the state it holds (no personal data)."""
    return target.with_name(f"{target.name}.json")


def state(conn: Any) -> str | None:
    """The live warehouse's BI-relevant state as a string; ``None`` before it was migrated."""
    import duckdb

    try:
        row = conn.execute(STATE_SQL).fetchone()
    except duckdb.CatalogException:
        return None
    return json.dumps(list(row), default=str)


def published(target: Path) -> Published | None:
    """What the copy at ``target`` holds, from its manifest; ``None`` if nothing was published."""
    try:
        data = json.loads(manifest_path(target).read_text(encoding="utf-8"))
        return Published(**data) if target.exists() else None
    except (OSError, ValueError, TypeError):
        return None


def publish_if_changed(conn: Any, live: Path, target: Path) -> Published | None:
    """Publish unless the copy already holds the live state; returns the new publication, if any."""
    current = state(conn)
    if current is None:
        return None
    previous = published(target)
    if previous is not None and previous.state == current:
        return None
    return publish(conn, live, target, current)


def publish(conn: Any, live: Path, target: Path, current: str | None = None) -> Published:
    """Replace ``target`` atomically with a checkpointed copy of ``live`` (module doc).

    ``conn`` must be the connection holding ``live``'s write lock, outside any transaction.
    """
    import duckdb

    started = time.monotonic()
    current = current or state(conn)
    if current is None:
        raise CrmHubError(f"{live} is not migrated: there is no warehouse to publish for BI yet")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    conn.execute("CHECKPOINT")
    temp = target.with_name(f".{target.name}.publishing-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        shutil.copyfile(live, temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        check = duckdb.connect(str(temp), read_only=True)
        try:
            copied = state(check)
        finally:
            check.close()
        if copied != current:
            raise RuntimeError(f"the copy of {live} does not hold the state being published")
        # a BI tool that opens the copy read-write by mistake fails instead of locking out other readers
        os.chmod(temp, os.stat(live).st_mode & 0o444)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(target.parent)
    result = Published(
        path=str(target),
        state=current,
        published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        bytes=target.stat().st_size,
        seconds=round(time.monotonic() - started, 3),
    )
    _write_manifest(target, result)
    log.info("BI copy published: %s (%d MB in %.2fs)", target, result.bytes // 2**20, result.seconds)
    return result


def _remove_leftovers(target: Path) -> None:
    """Temporary copies of publishers that died: safe to delete, only the lock holder publishes."""
    for path in target.parent.glob(f".{target.name}.publishing-*"):
        with contextlib.suppress(OSError):
            path.unlink()


def _write_manifest(target: Path, result: Published) -> None:
    """Written after the copy: a crash in between only makes the next close publish again."""
    path = manifest_path(target)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    temp.write_text(json.dumps(asdict(result), indent=2), encoding="utf-8")
    os.replace(temp, path)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (a crash must not bring back the previous copy after a GDPR erasure)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
