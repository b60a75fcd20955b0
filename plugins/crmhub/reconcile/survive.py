"""Survivorship: pick each golden attribute group from one source record, with lineage and conflicts.

Works on the normalized frame (``n_*`` columns) with a ``golden_id`` per record. Sort keys are turned
into integers once; each attribute group is then one numpy lexsort in which the first candidate per
golden id wins, so cost grows with n log n, not with cluster sizes squared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmhub.model import CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS, conform
from crmhub.reconcile.normalize import fold_text
from crmhub.reconcile.rules import VALIDITY_FLAGS, AttributeRule, PrecedenceRules

_SEP = "\x1f"


def _folded(values: np.ndarray) -> np.ndarray:
    """Comparison form of presentation values, so "Berg" and "BERG" are not a conflict."""
    table: dict[object, str] = {}
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if value is None:
            out[i] = ""
            continue
        folded = table.get(value)
        if folded is None:
            folded = table[value] = fold_text(value) or ""
        out[i] = folded
    return out


def _display(values: list[np.ndarray]) -> np.ndarray:
    """A group's value as one string for the conflict log (``street | 12 | A | ...``)."""
    if len(values) == 1:
        return values[0]
    return np.array(
        [" | ".join("" if v is None else str(v) for v in row) for row in zip(*values, strict=True)], dtype=object
    )


@dataclass
class _Prepared:
    """Per-record sort keys computed once and shared by every attribute group."""

    gid_codes: np.ndarray  # int codes of golden_id, in sorted golden_id order
    gids: np.ndarray  # the golden ids, indexed by code
    record_rank: np.ndarray  # rank of (source, source_id): a total, deterministic tie-break
    updated: np.ndarray  # source_updated_at as int64 ns; NaT = smallest
    eligible: np.ndarray  # may supply values (not deleted, or the whole golden record is deleted)


def _column(records: pd.DataFrame, name: str) -> np.ndarray:
    """An object array with None for nulls (what the canonical model stores)."""
    values = records[name].to_numpy(dtype=object, na_value=None)
    return values


def rank_candidates(records: pd.DataFrame, rule: AttributeRule, prep: _Prepared) -> np.ndarray:
    """Positions of the records that may supply ``rule``'s group: grouped by golden id, best first."""
    columns = [f"n_{c}" for c in rule.columns]
    has_value = records[columns].notna().any(axis=1).to_numpy()
    source_rank = records["source"].map({s: i for i, s in enumerate(rule.sources)})
    in_sources = source_rank.notna().to_numpy()
    positions = np.flatnonzero(has_value & in_sources & prep.eligible)
    ranks = source_rank.to_numpy(dtype=float, na_value=np.nan)[positions]
    valid_rank = np.zeros(len(positions), dtype=np.int8)
    if rule.valid_beats_invalid:
        flag = records[VALIDITY_FLAGS[rule.name]].fillna(False).to_numpy(dtype=bool)[positions]
        valid_rank = np.where(flag, 0, 1)
    newest_first = -prep.updated[positions]
    tie = prep.record_rank[positions]
    gid = prep.gid_codes[positions]
    # np.lexsort sorts by the last key first.
    if rule.rule == "source_priority":
        order = np.lexsort((tie, newest_first, ranks, valid_rank, gid))
    else:  # most_recent: business time, source order only breaks exact ties
        order = np.lexsort((tie, ranks, newest_first, valid_rank, gid))
    return positions[order]


def survive(records: pd.DataFrame, rules: PrecedenceRules) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(golden, lineage, conflicts)`` frames in the canonical model's columns.

    ``records`` is the output of ``normalize_contacts`` plus ``golden_id``. Deleted records do not
    supply values unless every record of that golden id is deleted (then the golden record keeps the
    last known values and is itself marked deleted).
    """
    records = records.reset_index(drop=True)
    gid_codes, gids = pd.factorize(records["golden_id"], sort=True)
    gids = np.asarray(gids, dtype=object)
    deleted = records["is_deleted"].to_numpy(dtype=bool)
    n_gid = len(gids)
    live_count = np.bincount(gid_codes, weights=~deleted, minlength=n_gid)
    all_deleted = live_count == 0
    updated = records["source_updated_at"]
    updated_ns = updated.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view(np.int64)
    record_rank = np.empty(len(records), dtype=np.int64)
    record_rank[np.lexsort((records["source_id"].astype(str).to_numpy(), records["source"].astype(str).to_numpy()))] = (
        np.arange(len(records))
    )
    prep = _Prepared(gid_codes, gids, record_rank, updated_ns, ~deleted | all_deleted[gid_codes])

    golden = pd.DataFrame({"golden_id": gids})
    golden["source_updated_at"] = updated.groupby(gid_codes).max().reindex(range(n_gid)).to_numpy()
    golden["is_deleted"] = all_deleted
    sources, source_ids = _column(records, "source"), _column(records, "source_id")

    lineage_parts: list[pd.DataFrame] = []
    conflict_parts: list[pd.DataFrame] = []
    for rule in rules.attributes.values():
        ranked = rank_candidates(records, rule, prep)
        cand_gid = gid_codes[ranked]
        is_first = np.ones(len(ranked), dtype=bool)
        is_first[1:] = cand_gid[1:] != cand_gid[:-1]
        winners = ranked[is_first]
        winner_gid = cand_gid[is_first]
        values = [_column(records, f"n_{c}") for c in rule.columns]
        for col, column_values in zip(rule.columns, values, strict=True):
            out = np.full(n_gid, None, dtype=object)
            out[winner_gid] = column_values[winners]
            golden[col] = out
        lineage_parts.append(
            pd.DataFrame(
                {
                    "golden_id": gids[winner_gid],
                    "attribute": rule.name,
                    "source": sources[winners],
                    "source_id": source_ids[winners],
                    "source_updated_at": updated.iloc[winners].reset_index(drop=True),
                    "rule": rule.label,
                }
            )
        )
        conflict_parts.append(_conflicts(ranked, cand_gid, is_first, [v[ranked] for v in values], sources, gids, rule))

    lineage = conform(pd.concat(lineage_parts, ignore_index=True), LINEAGE_COLUMNS)
    lineage = lineage.sort_values(["golden_id", "attribute"], kind="stable").reset_index(drop=True)
    conflicts = [c for c in conflict_parts if not c.empty]
    conflict_frame = (
        conform(pd.concat(conflicts, ignore_index=True), CONFLICT_COLUMNS)
        if conflicts
        else conform(pd.DataFrame(columns=CONFLICT_COLUMNS), CONFLICT_COLUMNS)
    )
    return conform(golden, GOLDEN_COLUMNS), lineage, conflict_frame


def _conflicts(
    ranked: np.ndarray,
    cand_gid: np.ndarray,
    is_first: np.ndarray,
    values: list[np.ndarray],
    sources: np.ndarray,
    gids: np.ndarray,
    rule: AttributeRule,
) -> pd.DataFrame:
    """One row per (golden id, other source, other value) that disagrees with the chosen value."""
    if len(ranked) == 0:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    compare = _folded(values[0])
    for column_values in values[1:]:
        compare = compare + _SEP + _folded(column_values)
    # Index of each candidate's winner: the group's first row (candidates are grouped by golden id).
    first_index = np.maximum.accumulate(np.where(is_first, np.arange(len(ranked)), 0))
    differs = compare != compare[first_index]
    if not differs.any():
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    display = _display(values)
    rows = np.flatnonzero(differs)
    frame = pd.DataFrame(
        {
            "golden_id": gids[cand_gid[rows]],
            "attribute": rule.name,
            "chosen_source": sources[ranked[first_index[rows]]],
            "chosen_value": display[first_index[rows]],
            "other_source": sources[ranked[rows]],
            "other_value": display[rows],
            "rule": rule.label,
            "_compare": compare[rows],
        }
    )
    return frame.drop_duplicates(["golden_id", "other_source", "_compare"]).drop(columns="_compare")
