"""Stable golden IDs: the same person keeps the same ID across runs, whatever data changes.

BI tools, the SCD2 history and CRM write-back all key on the golden id, so it must not depend on
record order or on which records happen to be in a cluster today. Rules:

* a cluster holding records that a previous run mapped keeps a previous golden id — the one covering
  most of its records (ties: smallest id). Other previous ids in the cluster are *merged* into it;
* one previous id goes to one cluster only: if its records now sit in several clusters (a split), the
  cluster holding most of them keeps it and the others fall back to their next id or a new one;
* a new cluster gets ``"G" + sha256(smallest (source, source_id))[:16]`` — deterministic, so a rerun
  on the same input without history still gives the same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container
from typing import Any

import pandas as pd


def new_golden_id(source: str, source_id: str, salt: int = 0) -> str:
    """Deterministic id for a cluster first seen now, from its smallest member."""
    text = f"{source}\x1f{source_id}" if salt == 0 else f"{source}\x1f{source_id}\x1f{salt}"
    return "G" + hashlib.sha256(text.encode()).hexdigest()[:16]


def assign_golden_ids(
    records: pd.DataFrame, previous_xref: pd.DataFrame | None = None, also_known: Container[str] | None = None
) -> tuple[pd.Series, list[dict[str, Any]]]:
    """Return a golden id per record (aligned with ``records``) and the merge/split log.

    ``records`` needs ``source``, ``source_id`` and ``cluster`` (any hashable cluster label).
    ``also_known``: golden IDs in use beyond ``previous_xref``'s (an incremental run passes only part of
    the xref; any container, asked only about new IDs), which a new cluster never takes. The log has
    one dict per event: ``{"event": "merge", "from_golden_id", "into_golden_id", "records"}`` or
    ``{"event": "split", "golden_id", "new_golden_id", "records"}`` (records = how many moved).
    """
    frame = records[["source", "source_id", "cluster"]].reset_index(drop=True).astype({"source": str, "source_id": str})
    if previous_xref is not None and not previous_xref.empty:
        prev = (
            previous_xref[["source", "source_id", "golden_id"]]
            .dropna()
            .astype(str)
            .drop_duplicates(["source", "source_id"], keep="last")
            .rename(columns={"golden_id": "prev_id"})
        )
        frame = frame.merge(prev, on=["source", "source_id"], how="left", sort=False)
    else:
        frame["prev_id"] = None
    known_ids: set[str] = set(frame["prev_id"].dropna())
    if previous_xref is not None and not previous_xref.empty:
        known_ids |= set(previous_xref["golden_id"].dropna().astype(str))

    # Smallest member per cluster: the tie-breaker and the seed of new ids.
    members = frame.sort_values(["source", "source_id"], kind="stable")
    first = members.drop_duplicates("cluster")[["cluster", "source", "source_id"]]
    cluster_rank = {c: i for i, c in enumerate(first["cluster"])}

    # Greedy, deterministic assignment of previous ids: biggest overlap first.
    candidates = (
        frame.dropna(subset=["prev_id"]).groupby(["cluster", "prev_id"], sort=False).size().rename("n").reset_index()
    )
    candidates["rank"] = candidates["cluster"].map(cluster_rank)
    candidates = candidates.sort_values(["n", "prev_id", "rank"], ascending=[False, True, True], kind="stable")
    assigned: dict[Any, str] = {}
    taken: set[str] = set()
    for cluster, prev_id in zip(candidates["cluster"].tolist(), candidates["prev_id"].tolist(), strict=True):
        if cluster not in assigned and prev_id not in taken:
            assigned[cluster] = prev_id
            taken.add(prev_id)

    for cluster, source, source_id in first.itertuples(index=False):
        if cluster in assigned:
            continue
        salt, gid = 0, new_golden_id(source, source_id)
        while gid in taken or gid in known_ids or (also_known is not None and gid in also_known):
            # never reuse an id that meant someone else
            salt += 1
            gid = new_golden_id(source, source_id, salt)
        assigned[cluster] = gid
        taken.add(gid)

    golden = frame["cluster"].map(assigned)
    log: list[dict[str, Any]] = []
    moved = frame.assign(golden_id=golden).dropna(subset=["prev_id"])
    moved = moved[moved["prev_id"] != moved["golden_id"]]
    if not moved.empty:
        counts = moved.groupby(["prev_id", "golden_id"]).size()
        for (prev_id, gid), n in counts.items():
            if prev_id in taken:
                log.append({"event": "split", "golden_id": prev_id, "new_golden_id": gid, "records": int(n)})
            else:
                log.append({"event": "merge", "from_golden_id": prev_id, "into_golden_id": gid, "records": int(n)})
    golden.index = records.index
    return golden.rename("golden_id"), log
