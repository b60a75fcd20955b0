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

#: One row per pinned golden field: a steward's value that overrides every rule.
PIN_COLUMNS: list[str] = ["golden_id", "attribute", "field", "value"]

_NS_PER_DAY = 86_400 * 10**9


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
    as_of: int  # reference time (ns) for trust decay


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
        keys: tuple[np.ndarray, ...] = (tie, newest_first, ranks)
    elif rule.rule == "most_recent":  # business time, source order only breaks exact ties
        keys = (tie, ranks, newest_first)
    elif rule.rule == "most_complete":  # most filled fields of the group, then source order, then newest
        filled = records[columns].notna().sum(axis=1).to_numpy()[positions]
        keys = (tie, newest_first, ranks, -filled)
    else:  # most_frequent: the value most records agree on (compared folded), then source order, newest
        compare = _folded(records[columns[0]].to_numpy(dtype=object, na_value=None)[positions])
        for col in columns[1:]:
            compare = compare + _SEP + _folded(records[col].to_numpy(dtype=object, na_value=None)[positions])
        frequency = pd.Series(compare).groupby([gid, compare]).transform("size").to_numpy()
        keys = (tie, newest_first, ranks, -frequency)
    if rule.half_life_days is not None:
        age_days = np.maximum(prep.as_of - prep.updated[positions], 0) / _NS_PER_DAY
        trust = records["source"].map(lambda s: rule.trust.get(s, 1.0)).to_numpy(dtype=float)[positions]
        decayed = trust * np.power(0.5, age_days / rule.half_life_days)
        keys = (*keys, -np.round(decayed, 9))
    order = np.lexsort((*keys, valid_rank, gid))
    return positions[order]


def survive(
    records: pd.DataFrame,
    rules: PrecedenceRules,
    pins: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return ``(golden, lineage, conflicts)`` frames in the canonical model's columns.

    ``records`` is the output of ``normalize_contacts`` plus ``golden_id``. Deleted records do not
    supply values unless every record of that golden id is deleted (then the golden record keeps the
    last known values and is itself marked deleted). ``pins`` (:data:`PIN_COLUMNS`) override every rule
    for their golden id and attribute group. ``as_of`` is "now" for trust decay; by default the newest
    business timestamp in ``records``, so the same input always gives the same golden records.
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
    if as_of is not None:
        reference = int(pd.Timestamp(as_of).tz_convert("UTC").value)
    else:
        reference = int(updated_ns.max()) if len(updated_ns) else 0
    prep = _Prepared(gid_codes, gids, record_rank, updated_ns, ~deleted | all_deleted[gid_codes], reference)

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
    if pins is not None and not pins.empty:
        golden, lineage, conflict_parts = _apply_pins(golden, lineage, conflict_parts, pins, rules)
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


def _apply_pins(
    golden: pd.DataFrame,
    lineage: pd.DataFrame,
    conflict_parts: list[pd.DataFrame],
    pins: pd.DataFrame,
    rules: PrecedenceRules,
) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]:
    """Steward pins win over every rule: the whole group takes the pinned fields (others become null).

    Lineage says ``source = steward``, ``rule = steward_pin``; the value the rules would have chosen is
    logged as a conflict, so a pin that has gone stale is visible.
    """
    pins = pins[pins["golden_id"].isin(set(golden["golden_id"]))]
    if pins.empty:
        return golden, lineage, conflict_parts
    golden = golden.set_index("golden_id")
    new_lineage, new_conflicts, pinned = [], [], set()
    for (gid, attribute), rows in pins.groupby(["golden_id", "attribute"], sort=True):
        rule = rules.attributes[str(attribute)]
        values = dict(zip(rows["field"], rows["value"], strict=True))
        before = " | ".join("" if golden.at[gid, c] is None else str(golden.at[gid, c]) for c in rule.columns)
        for col in rule.columns:
            golden.at[gid, col] = values.get(col)
        after = " | ".join("" if values.get(c) is None else str(values.get(c)) for c in rule.columns)
        pinned.add((gid, attribute))
        new_lineage.append(
            {"golden_id": gid, "attribute": attribute, "source": "steward", "source_id": "pin", "rule": "steward_pin"}
        )
        if before.strip(" |") and fold_text(before) != fold_text(after):
            new_conflicts.append(
                {
                    "golden_id": gid,
                    "attribute": attribute,
                    "chosen_source": "steward",
                    "chosen_value": after,
                    "other_source": "rules",
                    "other_value": before,
                    "rule": "steward_pin",
                }
            )
    golden = golden.reset_index()
    keep = [(g, a) not in pinned for g, a in zip(lineage["golden_id"], lineage["attribute"], strict=True)]
    lineage = conform(pd.concat([lineage[keep], pd.DataFrame(new_lineage)], ignore_index=True), LINEAGE_COLUMNS)
    parts = []
    for part in conflict_parts:
        if not part.empty:
            mask = [(g, a) not in pinned for g, a in zip(part["golden_id"], part["attribute"], strict=True)]
            part = part[mask]
        parts.append(part)
    parts.append(pd.DataFrame(new_conflicts, columns=CONFLICT_COLUMNS))
    return golden, lineage, parts


def check_pins(pins: pd.DataFrame | None, rules: PrecedenceRules) -> pd.DataFrame | None:
    """Validate pins: known attribute groups and fields of that group; errors name the row."""
    if pins is None or pins.empty:
        return None
    from crmhub.errors import SourceDataError

    missing = [c for c in PIN_COLUMNS if c not in pins.columns]
    if missing:
        raise SourceDataError(f"steward pins are missing column(s): {', '.join(missing)}")
    for row, (attribute, fld) in enumerate(zip(pins["attribute"], pins["field"], strict=True)):
        if attribute not in rules.attributes:
            raise SourceDataError(f"steward pin row {row}: unknown attribute group {attribute!r}")
        if fld not in rules.attributes[attribute].columns:
            raise SourceDataError(f"steward pin row {row}: {fld!r} is not a field of group {attribute!r}")
    return pins[PIN_COLUMNS].reset_index(drop=True)
