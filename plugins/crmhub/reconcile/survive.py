"""Survivorship: pick each golden attribute group from one source record, with lineage and conflicts.

Works on the normalized frame (``n_*`` columns) with a ``golden_id`` per record, one vectorised sort
per attribute group: candidates are ranked by the group's rule and the first per golden id wins, so
cost grows with n log n, not with cluster sizes squared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmhub.model import CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS, conform
from crmhub.reconcile.normalize import fold_text
from crmhub.reconcile.rules import VALIDITY_FLAGS, AttributeRule, PrecedenceRules

_SEP = "\x1f"


def _folded(values: pd.Series) -> pd.Series:
    """Comparison form of a presentation value, so "Berg" and "BERG" are not a conflict."""
    uniques = {v: fold_text(v) for v in pd.unique(values.dropna())}
    return values.map(uniques).fillna("")


def _display(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A group's value as one string for the conflict log (``street | 12 | A | ...``)."""
    if len(columns) == 1:
        return frame[columns[0]]
    parts = [frame[c].fillna("").astype(str) for c in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + " | " + part
    return joined


def rank_candidates(records: pd.DataFrame, rule: AttributeRule, eligible: np.ndarray) -> pd.DataFrame:
    """The records that may supply ``rule``'s group, best first within each golden id."""
    columns = [f"n_{c}" for c in rule.columns]
    has_value = records[columns].notna().any(axis=1).to_numpy()
    in_sources = records["source"].isin(rule.sources).to_numpy()
    cand = records.loc[has_value & in_sources & eligible].copy()
    source_rank = {s: i for i, s in enumerate(rule.sources)}
    cand["_valid_rank"] = 0
    if rule.valid_beats_invalid:
        flag = cand[VALIDITY_FLAGS[rule.name]]
        cand["_valid_rank"] = np.where(flag.fillna(False).to_numpy(dtype=bool), 0, 1)
    cand["_source_rank"] = cand["source"].map(source_rank)
    # Newest first; NaT sorts last. source_id keeps the order total, hence deterministic.
    cand["_updated"] = cand["source_updated_at"]
    if rule.rule == "source_priority":
        keys = ["golden_id", "_valid_rank", "_source_rank", "_updated", "source_id"]
        ascending = [True, True, True, False, True]
    else:  # most_recent
        keys = ["golden_id", "_valid_rank", "_updated", "_source_rank", "source_id"]
        ascending = [True, True, False, True, True]
    return cand.sort_values(keys, ascending=ascending, kind="stable", na_position="last")


def survive(records: pd.DataFrame, rules: PrecedenceRules) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(golden, lineage, conflicts)`` frames in the canonical model's columns.

    ``records`` is the output of ``normalize_contacts`` plus ``golden_id``. Deleted records do not
    supply values unless every record of that golden id is deleted (then the golden record keeps the
    last known values and is itself marked deleted).
    """
    by_gid = records.groupby("golden_id", sort=True)
    golden = pd.DataFrame(index=pd.Index(sorted(records["golden_id"].unique()), name="golden_id"))
    golden["source_updated_at"] = by_gid["source_updated_at"].max()
    all_deleted = by_gid["is_deleted"].all()
    golden["is_deleted"] = all_deleted
    eligible = (~records["is_deleted"] | records["golden_id"].map(all_deleted)).to_numpy(dtype=bool)

    lineage_parts: list[pd.DataFrame] = []
    conflict_parts: list[pd.DataFrame] = []
    for rule in rules.attributes.values():
        columns = [f"n_{c}" for c in rule.columns]
        cand = rank_candidates(records, rule, eligible)
        winners = cand.drop_duplicates("golden_id", keep="first").set_index("golden_id")
        for col in rule.columns:
            golden[col] = winners[f"n_{col}"].reindex(golden.index)
        lineage_parts.append(
            pd.DataFrame(
                {
                    "golden_id": winners.index,
                    "attribute": rule.name,
                    "source": winners["source"].to_numpy(),
                    "source_id": winners["source_id"].to_numpy(),
                    "source_updated_at": winners["source_updated_at"].to_numpy(),
                    "rule": rule.label,
                }
            )
        )
        conflict_parts.append(_conflicts(cand, winners, columns, rule))

    golden = golden.reset_index()
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
    cand: pd.DataFrame, winners: pd.DataFrame, columns: list[str], rule: AttributeRule
) -> pd.DataFrame:
    """One row per (golden id, other source, other value) that disagrees with the chosen value."""
    if cand.empty:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    compare = _folded(cand[columns[0]])
    for col in columns[1:]:
        compare = compare + _SEP + _folded(cand[col])
    cand = cand.assign(_compare=compare, _display=_display(cand, columns))
    chosen = cand.drop_duplicates("golden_id", keep="first").set_index("golden_id")
    differs = cand["_compare"].to_numpy() != cand["golden_id"].map(chosen["_compare"]).to_numpy()
    others = cand.loc[differs].drop_duplicates(["golden_id", "source", "_compare"])
    if others.empty:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    return pd.DataFrame(
        {
            "golden_id": others["golden_id"].to_numpy(),
            "attribute": rule.name,
            "chosen_source": others["golden_id"].map(winners["source"]).to_numpy(),
            "chosen_value": others["golden_id"].map(chosen["_display"]).to_numpy(),
            "other_source": others["source"].to_numpy(),
            "other_value": others["_display"].to_numpy(),
            "rule": rule.label,
        }
    )
