"""Incremental reconcile: a small run re-matches only what changed and the records it touches.

Reconcile is a function of every current contact, so a full run costs the same whether one record
or a million changed (about a minute at 1M). With a state directory, ``match_and_survive`` keeps,
after each load, per contact record: a hash of its canonical row, its golden ID, its link component
(linked records, refused links included) and its key hashes (:mod:`crmhub.reconcile.scope`). The
next run then:

1. finds the *seeds*: records whose canonical row is new, changed or gone, and the records of
   steward decisions added or withdrawn since;
2. finds every record sharing a key with a seed, before or after its change (a key shared by more
   records than its cap, before and after, pairs nothing either way and is skipped);
3. takes the whole link component of each of those (so every golden group the change can touch is
   re-decided with all its records), the *scope*, and reconciles the scope alone, with the whole
   population's key counts for the caps (:class:`crmhub.reconcile.scope.ScopeLimits`), the scope's
   previous golden IDs and every golden ID in use;
4. writes only the scope's golden records, xref, lineage, conflicts and merges, and only the
   messages that are new, changed, in a changed thread or of a contact in the scope, as the run's
   files. The loader's handover (:mod:`crmhub.warehouse.delta`) then compares and loads only those.

Records outside the scope keep their links, golden IDs and golden values: none of their keys, links
or components changed, so a full run would decide them as the last run did. The state is used only
when it describes the warehouse's latest load (same load id, no erasure since), the same rules and
a matcher whose blocking this module can follow; anything else runs the full reconcile (and keeps a
new state). ``tests/stages/test_incremental_reconcile.py`` checks a sequence of small runs against
full runs on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from crmhub.reconcile.pipeline import ReconcileResult
    from crmhub.reconcile.rules import PrecedenceRules

log = logging.getLogger(__name__)

STATE_VERSION = 2
#: The pending state a run writes into its folder; ``load`` makes it the state after the commit.
PENDING = "reconcile_state"
#: Run file naming the records a run reconciled (``validate`` checks only those).
SCOPE_FILE = "reconcile_scope"
#: Run file of an incremental run: golden IDs outside the scope that its messages belong to (loaded
#: by earlier runs; ``validate`` counts them as existing).
CONTEXT_GOLDEN_FILE = "reconcile_context_golden"
IDENTITY = ("source", "source_id")


@dataclass
class ScopePlan:
    """How this run reconciles: everything, or a scope of the records."""

    mode: str  # "full" or "incremental"
    reason: str
    scope: pd.DataFrame | None = None  # source, source_id of the records to reconcile
    contacts: pd.DataFrame | None = None  # their canonical rows
    previous: pd.DataFrame | None = None  # the state's rows of the scope (golden IDs)
    known_ids: Any = None  # every golden ID used (a container: KnownIds)
    counts: dict[str, pd.Series] = field(default_factory=dict)
    as_of: pd.Timestamp | None = None
    seeds: int = 0
    gone: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


class ReconcileState:
    """The kept per-record state of the last loaded reconcile run of one warehouse."""

    def __init__(self, state_dir: Path, warehouse_url: str) -> None:
        digest = hashlib.sha256(warehouse_url.encode("utf-8")).hexdigest()[:16]
        self.folder = Path(state_dir) / "reconcile" / digest

    def meta(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.folder / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def trusted(self, last_load: dict[str, Any] | None, rules_hash: str) -> tuple[bool, str]:
        meta = self.meta()
        if meta is None:
            return False, "no state of an earlier run"
        if meta.get("version") != STATE_VERSION or meta.get("duckdb") != duckdb.__version__:
            return False, "state from another version"
        if not (self.folder / INDEX).exists():
            return False, "no index of an earlier run"
        if not meta.get("keys_ok"):
            return False, f"keys unverified: {meta.get('keys_reason')}"
        if meta.get("rules") != rules_hash:
            return False, "the rules changed"
        if last_load is None or last_load.get("erasures_since"):
            return False, "no load since, or a GDPR erasure since the last load"
        if meta.get("load_id") != last_load.get("load_id"):
            return False, "the warehouse's latest load is not the one the state describes"
        return True, "state matches the warehouse's latest load"

    def commit(self, pending: Path, load_id: str) -> None:
        """Make ``pending`` (a run's new state) the state of load ``load_id`` (folder swap)."""
        meta_path = pending / "state.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["load_id"] = load_id
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        old = self.folder.with_name(f"{self.folder.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        if self.folder.exists():
            os.replace(self.folder, old)
        shutil.move(str(pending), str(self.folder))
        shutil.rmtree(old, ignore_errors=True)


def rules_fingerprint(rules: PrecedenceRules) -> str:
    """A stable hash of the rules (sets sorted), so a rules change forces a full run."""

    def plain(value: Any) -> Any:
        if isinstance(value, set | frozenset):
            return sorted(map(str, value))
        return str(value)

    try:
        text = json.dumps(dataclasses.asdict(rules), sort_keys=True, default=plain)
    except TypeError:
        text = repr(rules)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decision_hashes(decisions: pd.DataFrame | None) -> pd.DataFrame:
    """Per steward decision row a hash, with its two records (a changed decision re-matches both)."""
    columns = ["left_source", "left_source_id", "right_source", "right_source_id"]
    if decisions is None or decisions.empty:
        return pd.DataFrame(columns=[*columns, "h"])
    frame = decisions.astype(object).where(decisions.notna(), None).astype(str)
    h = pd.util.hash_pandas_object(frame, index=False).astype(np.uint64).astype(str)
    return frame[columns].assign(h=h.to_numpy())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(con: duckdb.DuckDBPyConnection, path: Path, rows: list[int]) -> pd.DataFrame:
    """Rows ``rows`` of a Parquet file, in file order."""
    return con.execute(
        "SELECT * EXCLUDE (file_row_number) FROM read_parquet(?, file_row_number = true) "
        "WHERE file_row_number IN (SELECT unnest(?::BIGINT[])) ORDER BY file_row_number",
        [str(path), rows],
    ).df()


def _values(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    columns = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    return ", ".join(_quote(c) for c in columns)


class KnownIds:
    """Every golden ID the warehouse ever used, looked up in the state (a new cluster never takes
    one); reconcile asks only about the few IDs it creates, so the list is never read whole."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __contains__(self, golden_id: object) -> bool:
        found = self.con.execute("SELECT 1 FROM prev.known WHERE golden_id = ? LIMIT 1", [str(golden_id)])
        return found.fetchone() is not None


def plan_scope(
    con: duckdb.DuckDBPyConnection,
    contacts_path: Path,
    state: ReconcileState,
    rules: PrecedenceRules,
    decisions: pd.DataFrame | None,
) -> ScopePlan:
    """The scope of an incremental run (module doc, steps 1–3).

    Work over the whole population is a few column scans: the snapshot's row hashes against the
    kept ones (one 64-bit column each, one join both ways), and per key column a semi-join of the
    kept index with the seeds' few key values (all columns in one statement: on a busy machine the
    round trips of a statement per column cost more than the scans). Tables ``fresh``,
    ``seed_rows``, ``old_changed``, ``changed``, ``seed_keys``, ``scope`` and the view ``idx`` (the
    kept index) stay on ``con`` for :func:`write_state`.
    """
    from crmhub.reconcile.pipeline import match_keys
    from crmhub.reconcile.scope import HANDLE_COLUMNS, MERGE_COLUMNS, key_columns

    timings: dict[str, float] = {}
    t = time.perf_counter()
    con.execute(f"ATTACH '{state.folder / INDEX}' AS prev (READ_ONLY)")
    con.execute("CREATE VIEW idx AS SELECT * FROM prev.records")
    values = _values(con, contacts_path)
    con.execute(
        f"CREATE TABLE fp AS SELECT file_row_number AS r, hash({values}) AS h "
        "FROM read_parquet(?, file_row_number = true)",
        [str(contacts_path)],
    )
    # one hash join both ways: the snapshot's rows new or changed since the last run (``fresh``,
    # their hashes go into the next state) and the kept rows no longer in the snapshot
    con.execute(
        "CREATE TABLE fp_diff AS SELECT f.r, coalesce(f.h, p.h) AS h "
        "FROM fp f FULL OUTER JOIN (SELECT h FROM prev.rows) p ON f.h = p.h WHERE f.h IS NULL OR p.h IS NULL"
    )
    con.execute("CREATE TABLE fresh AS SELECT r, h FROM fp_diff WHERE r IS NOT NULL")
    con.execute(  # identities only for the few gone hashes: the join above carries no text
        "CREATE TABLE old_changed AS SELECT h, source, source_id FROM prev.rows "
        "WHERE h IN (SELECT h FROM fp_diff WHERE r IS NULL)"
    )
    new_rows = [r for (r,) in con.execute("SELECT r FROM fresh").fetchall()]
    timings["fingerprint"] = time.perf_counter() - t
    t = time.perf_counter()
    previous = state.meta() or {}
    old_decisions = set(previous.get("decisions", []))
    now = decision_hashes(decisions)
    changed_decisions = now[~now["h"].isin(old_decisions)]
    withdrawn = set(old_decisions) - set(now["h"])
    decided = pd.concat(
        [
            changed_decisions[["left_source", "left_source_id"]].set_axis(list(IDENTITY), axis=1),
            changed_decisions[["right_source", "right_source_id"]].set_axis(list(IDENTITY), axis=1),
        ],
        ignore_index=True,
    )
    if withdrawn:  # a withdrawn decision: its records are named in the state's decision records
        kept = pd.DataFrame(previous.get("decision_records", []), columns=["h", *IDENTITY])
        decided = pd.concat([decided, kept.loc[kept["h"].isin(withdrawn), list(IDENTITY)]], ignore_index=True)
    if not decided.empty:  # their rows in the snapshot (rare: one scan of the identity columns)
        con.register("decided", decided.astype(str))
        new_rows += [
            r
            for (r,) in con.execute(
                "SELECT file_row_number FROM read_parquet(?, file_row_number = true) p SEMI JOIN decided d "
                "ON CAST(p.source AS VARCHAR) = d.source AND CAST(p.source_id AS VARCHAR) = d.source_id",
                [str(contacts_path)],
            ).fetchall()
        ]
    con.execute(
        "CREATE TABLE seed_rows AS SELECT * FROM read_parquet(?, file_row_number = true) "
        "WHERE file_row_number IN (SELECT unnest(?::BIGINT[]))",
        [str(contacts_path), sorted(set(new_rows))],
    )
    seed_contacts = con.execute("SELECT * EXCLUDE (file_row_number) FROM seed_rows ORDER BY file_row_number").df()
    seed_keys = match_keys(seed_contacts, rules)
    con.register("seed_keys_df", seed_keys)
    con.execute("CREATE TABLE seed_keys AS SELECT * FROM seed_keys_df")
    con.register("decided_all", decided.astype(str) if not decided.empty else pd.DataFrame(columns=list(IDENTITY)))
    con.execute(
        "CREATE TABLE changed AS SELECT source, source_id FROM seed_keys UNION SELECT source, source_id FROM "
        "old_changed UNION SELECT source, source_id FROM decided_all"
    )
    con.execute(
        "CREATE TABLE gone AS SELECT source, source_id FROM old_changed EXCEPT SELECT source, source_id FROM seed_keys"
    )
    columns = key_columns(rules.matching)
    key_list = ", ".join(_quote(c) for c in columns)
    # the changed records' kept keys (to take out of the counts) and new keys (to add)
    con.execute(f"CREATE TABLE old_keys AS SELECT {key_list} FROM idx SEMI JOIN changed USING (source, source_id)")
    con.execute(f"CREATE TABLE touched AS SELECT {key_list} FROM old_keys UNION ALL SELECT {key_list} FROM seed_keys")
    n_seeds, n_gone = len(seed_keys), con.execute("SELECT count(*) FROM gone").fetchone()[0]
    timings["seeds"] = time.perf_counter() - t
    t = time.perf_counter()
    caps = _caps(rules, columns)
    groups = [[c] for c in columns if c not in HANDLE_COLUMNS and c not in MERGE_COLUMNS]
    groups += [[c for c in HANDLE_COLUMNS if c in columns], list(MERGE_COLUMNS)]
    groups = [g for g in groups if g]
    # every group's touched key values in one table, their population counts in one scan each way
    con.execute(
        "CREATE TABLE probe AS "
        + " UNION ".join(
            f"SELECT {i} AS g, {_quote(c)} AS k FROM touched WHERE {_quote(c)} <> 0"
            for i, group in enumerate(groups)
            for c in group
        )
    )
    capped = {i: max(caps.get(c, 0) for c in group) for i, group in enumerate(groups)}
    capped = {i: cap for i, cap in capped.items() if cap}
    if capped:  # a key over its cap before and after the change pairs nothing either way
        counted = {i: groups[i] for i in capped}
        _grouped_counts(con, counted, "probe", "probe_n")
        cap_values = " UNION ALL ".join(f"SELECT {i} AS g, {cap} AS cap" for i, cap in capped.items())
        con.execute(
            "CREATE TABLE probe_ok AS SELECT p.g, p.k FROM probe p "
            f"LEFT JOIN ({cap_values}) c USING (g) LEFT JOIN probe_n n USING (g, k) "
            "WHERE c.cap IS NULL OR coalesce(n.before, 0) <= c.cap "
            "OR coalesce(n.before, 0) + coalesce(n.delta, 0) <= c.cap"
        )
    else:
        con.execute("CREATE TABLE probe_ok AS SELECT g, k FROM probe")
    hits = [
        f"SELECT component FROM idx WHERE {_quote(c)} IN (SELECT k FROM probe_ok WHERE g = {i})"
        for i, group in enumerate(groups)
        for c in group
    ]
    hits.append("SELECT component FROM idx SEMI JOIN changed USING (source, source_id)")
    con.execute(f"CREATE TABLE comps AS {' UNION '.join(hits)}")
    con.execute(
        "CREATE TABLE scope AS SELECT source, source_id FROM idx SEMI JOIN comps USING (component) "
        "UNION SELECT source, source_id FROM seed_keys"
    )
    contacts = con.execute(
        "SELECT p.* EXCLUDE (file_row_number) FROM read_parquet(?, file_row_number = true) p SEMI JOIN scope s "
        "ON CAST(p.source AS VARCHAR) = s.source AND CAST(p.source_id AS VARCHAR) = s.source_id "
        "ORDER BY file_row_number",
        [str(contacts_path)],
    ).df()
    scope = con.execute("SELECT source, source_id FROM scope").df()
    prev_frame = con.execute("SELECT source, source_id, golden_id FROM idx SEMI JOIN scope USING (source, source_id)")
    prev_frame = prev_frame.df()
    timings["scope"] = time.perf_counter() - t
    t = time.perf_counter()
    counts = _scope_counts(con, columns)
    as_of = con.execute(f"SELECT max(source_updated_at) FROM read_parquet('{contacts_path}')").fetchone()[0]
    timings["counts"] = time.perf_counter() - t
    return ScopePlan(
        mode="incremental",
        reason="",
        scope=scope,
        contacts=contacts,
        previous=prev_frame,
        known_ids=KnownIds(con),
        counts=counts,
        as_of=_utc(as_of),
        seeds=int(n_seeds),
        gone=int(n_gone),
        seconds=timings,
    )


def _utc(value: object) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _grouped_counts(con: duckdb.DuckDBPyConnection, groups: dict[int, list[str]], probe: str, out: str) -> None:
    """Table ``out`` (g, k, before, delta): per value ``k`` of ``probe`` (g, k), the records of the kept
    index holding it in any column of ``groups[g]`` (``before``), and how this run's changes move that
    count (``delta``: the seeds' new keys in, the changed records' old keys out). One statement each
    for all groups, instead of two per key column."""
    before, delta = [], []
    for g, columns in groups.items():
        for c in columns:
            q = _quote(c)
            wanted = f"{q} IN (SELECT k FROM {probe} WHERE g = {g})"
            before.append(f"SELECT {g} AS g, {q} AS k FROM idx WHERE {wanted}")
            delta.append(f"SELECT {g} AS g, {q} AS k, 1 AS d FROM seed_keys WHERE {wanted}")
            delta.append(f"SELECT {g} AS g, {q} AS k, -1 AS d FROM old_keys WHERE {wanted}")
    con.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT g, k, b.n AS before, d.n AS delta "
        f"FROM (SELECT g, k, count(*) AS n FROM ({' UNION ALL '.join(before)}) GROUP BY g, k) b "
        f"FULL OUTER JOIN (SELECT g, k, sum(d) AS n FROM ({' UNION ALL '.join(delta)}) GROUP BY g, k) d "
        "USING (g, k)"
    )


def _caps(rules: PrecedenceRules, columns: list[str]) -> dict[str, int]:
    caps = {}
    for c in columns:
        if c.startswith("r_"):
            caps[c] = rules.matching.max_records_per_key
        elif c.startswith(("b_", "h_")):
            caps[c] = rules.matching.fuzzy.max_block_size
    return caps


def _scope_counts(con: duckdb.DuckDBPyConnection, columns: list[str]) -> dict[str, pd.Series]:
    """Population counts (after this run's changes) of every key value the scope's records hold."""
    from crmhub.reconcile.scope import HANDLE_COLUMNS

    key_list = ", ".join(_quote(c) for c in columns)
    con.execute(
        f"CREATE TABLE scope_keys AS SELECT {key_list} FROM idx SEMI JOIN scope USING (source, source_id) "
        f"ANTI JOIN changed USING (source, source_id) UNION ALL SELECT {key_list} FROM seed_keys"
    )
    counted = {j: [c] for j, c in enumerate(columns) if not c.startswith("m_")}
    if not counted:
        return {}
    handles = [h for h in HANDLE_COLUMNS if h in columns]
    wanted = []  # a handle column is counted for the values of every handle column (name ↔ handle)
    for j, (c,) in counted.items():
        for source in handles if c in HANDLE_COLUMNS else [c]:
            wanted.append(f"SELECT {j} AS g, {_quote(source)} AS k FROM scope_keys WHERE {_quote(source)} <> 0")
    con.execute(f"CREATE TABLE wanted AS {' UNION '.join(wanted)}")
    _grouped_counts(con, counted, "wanted", "wanted_n")
    frame = con.execute("SELECT g, k, coalesce(before, 0) + coalesce(delta, 0) AS n FROM wanted_n").df()
    counts: dict[str, pd.Series] = {}
    for j, (c,) in counted.items():
        mine = frame[frame["g"] == j]
        counts[c] = pd.Series(mine["n"].to_numpy(dtype=np.int64), index=mine["k"].to_numpy(dtype=np.uint64))
    return counts


#: The kept index of the last run: a DuckDB database (tables ``records``, ``rows``, ``known``).
INDEX = "index.duckdb"


def _typed_columns(frame: pd.DataFrame) -> str:
    """A select list that types text columns as VARCHAR: DuckDB types an empty (or all-null) object
    column as NULL, and a kept table with a NULL column refuses every later row."""
    return ", ".join(
        f'CAST("{c}" AS VARCHAR) AS "{c}"'
        if pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])
        else f'"{c}"'
        for c in frame.columns
    )


def write_state(
    pending: Path,
    con: duckdb.DuckDBPyConnection,
    contacts_path: Path,
    result: ReconcileResult,
    plan: ScopePlan | None,
    *,
    rules_hash: str,
    decisions: pd.DataFrame | None,
    known: set[str] | None,
    as_of: str,
    state: ReconcileState | None = None,
) -> None:
    """The run's new state in ``pending``; ``load`` commits it once the warehouse has the run.

    The index (``records``: per record golden ID, component and keys; ``rows``: the snapshot's row
    hashes; ``known``: every golden ID used) is a copy of the kept one with the scope's rows
    replaced, not a rewrite of a million rows; a full run builds it anew.
    """
    shutil.rmtree(pending, ignore_errors=True)
    pending.mkdir(parents=True)
    keys = result.record_keys
    assert keys is not None
    con.register("reconciled", keys)
    target = pending / INDEX
    if plan is None or state is None:
        values = _values(con, contacts_path)
        con.execute(f"ATTACH '{target}' AS nxt")
        con.execute(f"CREATE TABLE nxt.records AS SELECT {_typed_columns(keys)} FROM reconciled")
        con.execute(
            f"CREATE TABLE nxt.rows AS SELECT hash({values}) AS h, CAST(source AS VARCHAR) AS source, "
            f"CAST(source_id AS VARCHAR) AS source_id FROM read_parquet('{contacts_path}')"
        )
        con.register("known_df", pd.DataFrame({"golden_id": sorted(known or set())}))
        con.execute("CREATE TABLE nxt.known AS SELECT CAST(golden_id AS VARCHAR) AS golden_id FROM known_df")
    else:
        con.execute("DETACH prev")
        shutil.copyfile(state.folder / INDEX, target)
        con.execute(f"ATTACH '{state.folder / INDEX}' AS prev (READ_ONLY)")
        con.execute(f"ATTACH '{target}' AS nxt")
        con.execute(
            "DELETE FROM nxt.records r USING (SELECT source, source_id FROM scope UNION SELECT source, source_id "
            "FROM gone) s WHERE r.source = s.source AND r.source_id = s.source_id"
        )
        con.execute("INSERT INTO nxt.records BY NAME SELECT * FROM reconciled")
        con.execute("DELETE FROM nxt.rows WHERE h IN (SELECT h FROM old_changed)")
        # the new rows' hashes and identities, as plan_scope found and read them (no second pass)
        con.execute(
            "INSERT INTO nxt.rows SELECT f.h, CAST(s.source AS VARCHAR), CAST(s.source_id AS VARCHAR) "
            "FROM fresh f JOIN seed_rows s ON s.file_row_number = f.r"
        )
        con.register("golden_now", result.xref[["golden_id"]].dropna().astype(str).drop_duplicates())
        con.execute("INSERT INTO nxt.known SELECT golden_id FROM golden_now ANTI JOIN nxt.known USING (golden_id)")
    con.execute("DETACH nxt")
    hashes = decision_hashes(decisions)
    left = hashes[["h", "left_source", "left_source_id"]].set_axis(["h", *IDENTITY], axis=1)
    right = hashes[["h", "right_source", "right_source_id"]].set_axis(["h", *IDENTITY], axis=1)
    records = pd.concat([left, right], ignore_index=True)
    meta = {
        "version": STATE_VERSION,
        "duckdb": duckdb.__version__,
        "rules": rules_hash,
        "keys_ok": bool(result.keys_verified[0]) if plan is None else True,
        "keys_reason": result.keys_verified[1] if plan is None else "kept",
        "decisions": sorted(set(hashes["h"])),
        "decision_records": records.values.tolist(),
        "as_of": as_of,
    }
    (pending / "state.json").write_text(json.dumps(meta), encoding="utf-8")


def context_xref(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, scope_xref: pd.DataFrame) -> pd.DataFrame:
    """The xref rows (source, source_id, golden_id) after this run that attaching and filtering
    ``frame``'s rows (interactions: ``source``, ``contact_source_id``) read: their contacts' rows, and
    every row of those contacts' golden IDs (who knows a person decides whether it is a prospect).

    After this run the xref is the kept index outside the scope plus the scope's new rows; the golden
    IDs wanted are looked up from the few contacts first, so the 1M-row index is probed twice by a
    small set instead of being copied and joined whole."""
    contacts = frame[["source", "contact_source_id"]].dropna().astype(str).drop_duplicates()
    con.register("ctx_contacts", contacts)
    con.register("ctx_scope", scope_xref[["source", "source_id", "golden_id"]].astype(str))
    con.execute(
        "CREATE OR REPLACE TABLE ctx_wanted AS"
        " SELECT i.golden_id FROM idx i JOIN ctx_contacts c"
        "   ON i.source = c.source AND i.source_id = c.contact_source_id"
        "   ANTI JOIN scope s ON i.source = s.source AND i.source_id = s.source_id"
        " UNION SELECT n.golden_id FROM ctx_scope n JOIN ctx_contacts c"
        "   ON n.source = c.source AND n.source_id = c.contact_source_id"
    )
    return con.execute(
        "SELECT i.source, i.source_id, i.golden_id FROM idx i"
        " ANTI JOIN scope s ON i.source = s.source AND i.source_id = s.source_id"
        " WHERE i.golden_id IN (SELECT golden_id FROM ctx_wanted)"
        " UNION ALL SELECT * FROM ctx_scope WHERE golden_id IN (SELECT golden_id FROM ctx_wanted)"
    ).df()


def linked_fingerprints(con: duckdb.DuckDBPyConnection, path: Path) -> pd.DataFrame:
    """Table ``lrows`` on ``con``: per row of a linked-records file (interactions) its row number,
    identity, contact, thread and a hash of the whole row; returns the hashes (kept for the next run)."""
    columns = [r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
    values = ", ".join(_quote(c) for c in columns)
    thread = "thread_id" if "thread_id" in columns else "NULL"
    con.execute(
        f"CREATE OR REPLACE TABLE lrows AS SELECT file_row_number AS r, CAST(source AS VARCHAR) AS source, "
        f"CAST(contact_source_id AS VARCHAR) AS contact, CAST({thread} AS VARCHAR) AS thread, "
        f"hash({values}) AS h FROM read_parquet(?, file_row_number = true)",
        [str(path)],
    )
    return con.execute("SELECT h FROM lrows").df()


def rows_to_reload(
    con: duckdb.DuckDBPyConnection, path: Path, previous: Path, scope: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Linked rows (interactions) a small run must hand on: new or changed rows, rows in a thread
    with a new or changed row (a reply changes how the thread's messages read), rows of a contact in
    the scope (its golden ID may have moved). Returns the rows and every row's fingerprint."""
    fingerprints = linked_fingerprints(con, path)
    con.register("lscope", scope.astype(str))
    if previous.exists():
        fresh = f"SELECT r, source, thread FROM lrows ANTI JOIN read_parquet('{previous}') p USING (h)"
    else:
        fresh = "SELECT r, source, thread FROM lrows"
    con.execute(f"CREATE OR REPLACE TABLE lfresh AS {fresh}")
    rows = con.execute(
        "SELECT r FROM lfresh "
        "UNION SELECT l.r FROM lrows l JOIN lfresh f ON l.source = f.source AND l.thread = f.thread "
        "UNION SELECT l.r FROM lrows l JOIN lscope s ON l.source = s.source AND l.contact = s.source_id"
    ).fetchall()
    return _rows(con, path, sorted(r for (r,) in rows)), fingerprints
