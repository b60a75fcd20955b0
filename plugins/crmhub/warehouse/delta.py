"""Hand the loader only what changed since the warehouse's last load (issue 5: incremental loads).

Reconcile re-derives every golden contact on every run, so each run's files are a full snapshot.
Staging and comparing the whole snapshot in the warehouse costs as much as a first load; instead,
every loaded row's fingerprint (a 64-bit hash of its key and of its values) is kept in a state
folder next to the run folders, and the next run hands over only rows whose fingerprint is new.
Fingerprints are computed by DuckDB straight from the run's Parquet files (all cores, no pandas),
and the changed rows are then read by row number, so the loader sees the same dtypes either way.

Why this gives the same warehouse as handing over the snapshot: every load statement works per key
(golden ID, source record, interaction, lineage or conflicts group) and leaves a key untouched when
its staged row equals what the previous load left, so dropping the unchanged keys changes nothing.
Lineage and conflicts are replaced per golden ID, so they are compared and handed over per golden
ID; golden IDs in this run's merges and splits are always handed over (the merge close and the
split read their staged business times); the merge log always goes whole.

The state is trusted only when it belongs to the warehouse's latest successful load (the audit id
stored with it) and no erasure ran since; anything else (first run, a failed state write, a load
from elsewhere, a GDPR erasure, a new DuckDB version) falls back to handing over the full snapshot.
The loader re-checks the audit id under its lock, so a load that slipped in between cannot be
overwritten with a stale delta.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb
import pandas as pd
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

#: Run files compared row by row, with their keys (the loader's upsert keys).
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "golden": ("golden_id",),
    "xref": ("source", "source_id"),
    "interactions_attached": ("source", "source_id"),
    "opportunities_attached": ("source", "source_id"),
    "cases_attached": ("source", "source_id"),
    "campaigns": ("source", "source_id"),
}
#: Run files compared per group: lineage and conflicts are replaced per golden ID.
GROUP_KEYS: dict[str, str] = {"lineage": "golden_id", "conflicts": "golden_id"}
#: Run files always handed over whole (none since conflicts are kept per golden ID, issue 12).
WHOLE: tuple[str, ...] = ()
STATE_VERSION = 3
#: Run files are compared on this many threads (one file per thread; DuckDB releases the GIL).
#: A small run file is one Parquet row group, which DuckDB scans on one thread, so at 100k
#: contacts this overlaps the interactions file with all the others.
FILE_THREADS = max(1, min(4, os.cpu_count() or 1))

#: A pending or old state folder whose load cannot be asked whether it still runs (another host, or
#: written before folders named their process) is stale once untouched this long; loads take minutes.
STALE_AFTER_SECONDS = 24 * 3600

_T = TypeVar("_T")


@dataclass
class LoadPlan:
    """What to hand the loader for one run, and the fingerprints to keep once the load committed."""

    mode: str  # "full" or "incremental"
    frames: dict[str, pd.DataFrame | None]
    snapshot_rows: dict[str, int]
    previous_load_id: str | None
    reason: str
    pending: Path
    seconds: float = 0.0
    handed_rows: dict[str, int] = field(default_factory=dict)
    #: stale state folders of killed loads removed before this plan
    cleaned: int = 0

    def summary(self) -> dict[str, object]:
        """Counts for the run summary and the task log (no personal data)."""
        return {
            "handover": self.mode,
            "handover_reason": self.reason,
            "snapshot_rows": sum(self.snapshot_rows.values()),
            "handed_rows": sum(self.handed_rows.values()),
            "diff_seconds": round(self.seconds, 2),
            "stale_state_removed": self.cleaned,
        }


class LoadState:
    """Fingerprints of the last load into one warehouse, in ``folder`` (one folder per warehouse)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def for_warehouse(cls, state_root: Path, warehouse_url: str) -> LoadState:
        """The state folder of the warehouse at ``warehouse_url`` (redacted: no password)."""
        digest = hashlib.sha256(warehouse_url.encode("utf-8")).hexdigest()[:16]
        return cls(Path(state_root) / "warehouse_load" / digest)

    @property
    def meta_path(self) -> Path:
        return self.folder / "state.json"

    def meta(self) -> dict[str, object] | None:
        try:
            return json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def trusted_for(self, last_load: Mapping[str, object] | None) -> tuple[bool, str]:
        """Whether the stored fingerprints describe the warehouse as its latest load left it."""
        meta = self.meta()
        if meta is None:
            return False, "no fingerprints of an earlier load"
        if meta.get("version") != STATE_VERSION or meta.get("duckdb") != duckdb.__version__:
            return False, "fingerprints from another version"
        if last_load is None:
            return False, "the warehouse has no successful load"
        if last_load.get("erasures_since"):
            return False, "a GDPR erasure changed the warehouse since the last load"
        if meta.get("load_id") != last_load.get("load_id"):
            return False, "the warehouse's latest load is not the one the fingerprints describe"
        return True, "fingerprints match the warehouse's latest load"

    def commit(self, pending: Path, load_id: str) -> None:
        """Make ``pending`` the state of the load ``load_id`` (atomic folder swap)."""
        meta = {"version": STATE_VERSION, "duckdb": duckdb.__version__, "load_id": load_id}
        (pending / "state.json").write_text(json.dumps(meta), encoding="utf-8")
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        old = self._sibling("old")
        if self.folder.exists():
            os.replace(self.folder, old)
        os.replace(pending, self.folder)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self, pending: Path) -> None:
        """Drop fingerprints that were never committed (the load failed)."""
        shutil.rmtree(pending, ignore_errors=True)

    def new_pending(self, pid: int | None = None) -> Path:
        """A new pending folder for this process's fingerprints, named after its host and process id
        so a later run can tell whether the load that wrote it still runs (:meth:`clean_stale`)."""
        return self._sibling("pending", pid, create=True)

    def clean_stale(self) -> list[Path]:
        """Remove pending and old folders that a killed load left beside the state; return them.

        A folder of this host whose process is gone is stale at once; a folder of another host, or
        one without an owner (written before issue 12), once untouched for :data:`STALE_AFTER_SECONDS`.
        The folder of a load still running (this or another process) is kept.
        """
        removed = []
        pattern = re.compile(rf"^{re.escape(self.folder.name)}\.(pending|old)-(?:(.+)-(\d+)-)?[0-9a-f]{{8}}$")
        try:
            candidates = list(self.folder.parent.iterdir()) if self.folder.parent.exists() else []
        except OSError:
            return removed
        for path in candidates:
            match = pattern.match(path.name)
            if match is None or not path.is_dir():
                continue
            host, pid = match.group(2), match.group(3)
            if host == _host() and pid is not None:
                stale = not _alive(int(pid)) or _age(path) > STALE_AFTER_SECONDS
            else:
                stale = _age(path) > STALE_AFTER_SECONDS
            if stale:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        if removed:
            log.info("load state: removed %d folder(s) left by loads that no longer run", len(removed))
        return removed

    def _sibling(self, kind: str, pid: int | None = None, *, create: bool = False) -> Path:
        owner = f"{_host()}-{os.getpid() if pid is None else pid}"
        path = self.folder.with_name(f"{self.folder.name}.{kind}-{owner}-{uuid.uuid4().hex[:8]}")
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path


def _host() -> str:
    """This host's name as it appears in state folder names (no dots or dashes)."""
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def plan_load(paths: Mapping[str, Path], state: LoadState, last_load: Mapping[str, object] | None) -> LoadPlan:
    """Compare the run files in ``paths`` (name -> Parquet file) with ``state``; see the module doc.

    Always writes the run's own fingerprints to a pending folder for :meth:`LoadState.commit`.
    """
    started = time.perf_counter()
    present = {name: Path(p) for name, p in paths.items() if p is not None and Path(p).exists()}
    trusted, reason = state.trusted_for(last_load)
    cleaned = state.clean_stale()  # what loads killed mid-way left behind (issue 12)
    pending = state.new_pending()
    con = duckdb.connect()
    try:
        snapshot_rows = _fingerprint(con, present, pending)
        if trusted:
            rows = _changed_rows(con, present, state.folder)
            frames = _per_file(con, present, lambda cur, name: _read_rows(cur, present[name], rows.get(name)))
            mode = "incremental"
        else:
            frames = {name: pd.read_parquet(path) for name, path in present.items()}
            mode = "full"
    except Exception:
        state.discard(pending)
        raise
    finally:
        con.close()
    plan = LoadPlan(
        mode=mode,
        frames={name: frames.get(name) for name in paths},
        snapshot_rows=snapshot_rows,
        previous_load_id=str(last_load["load_id"]) if trusted and last_load else None,
        reason=reason,
        pending=pending,
        seconds=time.perf_counter() - started,
        handed_rows={name: len(f) for name, f in frames.items()},
        cleaned=len(cleaned),
    )
    log.info(
        "load handover: %s (%s): %d of %d snapshot rows in %.1f s",
        mode,
        reason,
        sum(plan.handed_rows.values()),
        sum(snapshot_rows.values()),
        plan.seconds,
    )
    return plan


def _columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    return [row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _per_file(
    con: duckdb.DuckDBPyConnection, names: Mapping[str, object], work: Callable[[duckdb.DuckDBPyConnection, str], _T]
) -> dict[str, _T]:
    """``work(cursor, name)`` for every name, on :data:`FILE_THREADS` threads, each with its own cursor
    on ``con``'s database (tables, not temp tables, are what cursors share)."""

    def run(name: str) -> _T:
        with con.cursor() as cursor:
            return work(cursor, name)

    with ThreadPoolExecutor(max_workers=FILE_THREADS) as pool:
        futures = {name: pool.submit(run, name) for name in names}
        return {name: future.result() for name, future in futures.items()}


def _fingerprint(con: duckdb.DuckDBPyConnection, present: Mapping[str, Path], pending: Path) -> dict[str, int]:
    """Per run file a table ``fp_<name>`` (row number ``r``, key hash ``k``, row hash ``h``) and
    the fingerprints to keep: row hashes, or for lineage one hash per golden ID (``k``, ``h``).

    A row's hash covers its key columns too, so a row is unchanged exactly when its hash was kept
    last time; comparing one 64-bit column halves the join (a false "unchanged" needs a 64-bit
    collision: about 1e-8 per run at 5M rows with 1% changed).
    """

    def one(cur: duckdb.DuckDBPyConnection, name: str) -> int:
        path = present[name]
        if name in WHOLE:
            return pq.ParquetFile(path).metadata.num_rows
        values = ", ".join(_quote(c) for c in _columns(cur, path))
        key = _quote(GROUP_KEYS[name]) if name in GROUP_KEYS else ", ".join(_quote(c) for c in ROW_KEYS[name])
        keyed = name in GROUP_KEYS or name == "golden"  # only these are selected by key later
        cur.execute(
            f"CREATE TABLE fp_{name} AS SELECT file_row_number AS r, "
            f"{f'hash({key})' if keyed else 'NULL::UBIGINT'} AS k, "
            f"hash({values}) AS h FROM read_parquet(?, file_row_number = true)",
            [str(path)],
        )
        kept = f"SELECT h FROM fp_{name}"
        if name in GROUP_KEYS:
            cur.execute(
                f"CREATE TABLE groups_{name} AS SELECT k, hash(bit_xor(h), count(*)) AS h FROM fp_{name} GROUP BY k"
            )
            kept = f"SELECT k, h FROM groups_{name}"
        cur.execute(f"COPY ({kept}) TO '{pending / (name + '.parquet')}' (FORMAT parquet)")
        return cur.execute(f"SELECT count(*) FROM fp_{name}").fetchone()[0]

    return _per_file(con, present, one)


def _changed_rows(con: duckdb.DuckDBPyConnection, present: Mapping[str, Path], state: Path) -> dict[str, list[int]]:
    """Row numbers to hand over per run file (absent = the whole file)."""

    def previous(name: str) -> str:
        path = state / f"{name}.parquet"
        if path.exists():
            return f"read_parquet('{path}')"
        return "(SELECT NULL::UBIGINT AS k, NULL::UBIGINT AS h WHERE FALSE)"

    def rows(sql: str) -> list[int]:
        return sorted(int(r) for (r,) in con.execute(sql).fetchall())

    out: dict[str, list[int]] = {}
    for name in present:
        if name in ROW_KEYS:
            out[name] = rows(f"SELECT r FROM fp_{name} n ANTI JOIN {previous(name)} p ON n.h = p.h")
    golden_keys = "(SELECT NULL::UBIGINT AS k WHERE FALSE)"
    if "golden" in present:
        # golden IDs always handed over: changed rows, merge and split parties, and golden IDs whose
        # lineage or conflicts vanished (only a staged golden ID makes the loader delete their old rows)
        parts = [
            "SELECT k FROM fp_golden WHERE r IN (SELECT unnest($1::BIGINT[]))",
            "SELECT hash(unnest($2::VARCHAR[])) AS k",
        ]
        for name in GROUP_KEYS:
            if name in present:
                parts.append(f"SELECT p.k FROM {previous(name)} p WHERE p.k NOT IN (SELECT k FROM groups_{name})")
        params = [out.get("golden", []), _merge_ids(present)]
        con.execute(f"CREATE TABLE staged_golden AS {' UNION '.join(parts)}", params)
        out["golden"] = rows("SELECT r FROM fp_golden WHERE k IN (SELECT k FROM staged_golden)")
        golden_keys = "staged_golden"
    for name in GROUP_KEYS:
        if name in present:
            out[name] = rows(
                f"SELECT r FROM fp_{name} WHERE k IN ("
                f" SELECT n.k FROM groups_{name} n ANTI JOIN {previous(name)} p ON n.k = p.k AND n.h = p.h"
                f" UNION SELECT k FROM {golden_keys})"
            )
    return out


#: Keys of golden IDs in merge-log events: merges (either spelling) and splits.
_EVENT_ID_KEYS = (
    "into_golden_id",
    "from_golden_id",
    "winner_golden_id",
    "loser_golden_id",
    "golden_id",
    "new_golden_id",
)


def _merge_ids(present: Mapping[str, Path]) -> list[str]:
    """Golden IDs named by this run's merge log (``merges.json`` beside the golden file): merge
    winners and losers, and both sides of a split (the golden ID that stays is placed at the split's
    time, which reads the new golden ID's staged business time)."""
    merges_file = present["golden"].parent / "merges.json"
    if not merges_file.exists():
        return []
    ids: set[str] = set()
    for event in json.loads(merges_file.read_text(encoding="utf-8")):
        for key in _EVENT_ID_KEYS:
            if event.get(key):
                ids.add(str(event[key]))
    return sorted(ids)


def _read_rows(con: duckdb.DuckDBPyConnection, path: Path, rows: list[int] | None) -> pd.DataFrame:
    """The rows ``rows`` of a Parquet file (all rows when ``None``), in file order.

    DuckDB reads only what the row numbers select (about half the time of reading the whole file
    with pyarrow and taking rows); ``frames.prepare`` in the loader normalises the dtypes.
    """
    if rows is None:
        return pd.read_parquet(path)
    if not rows:  # nothing changed in this file: its columns, without scanning it
        return pq.read_schema(path).empty_table().to_pandas()
    relation = con.execute(
        "SELECT * EXCLUDE (file_row_number) FROM read_parquet(?, file_row_number = true) "
        "WHERE file_row_number IN (SELECT unnest(?::BIGINT[])) ORDER BY file_row_number",
        [str(path), rows],
    )
    return relation.df()
