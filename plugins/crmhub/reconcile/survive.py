"""Survivorship: pick each golden attribute group from one source record, with lineage and conflicts.

Works on the normalized frame (``n_*`` columns) with a ``golden_id`` per record. Sort keys are turned
into integers once; each attribute group is then one numpy lexsort in which the first candidate per
golden id wins, so cost grows with n log n, not with cluster sizes squared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmhub.model import CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS, conform
from crmhub.reconcile.normalize import fold_text
from crmhub.reconcile.rules import VALIDITY_FLAGS, AttributeRule, PrecedenceRules

#: One row per pinned golden field: a steward's value that overrides every rule.
PIN_COLUMNS: list[str] = ["golden_id", "attribute", "field", "value"]

_NS_PER_DAY = 86_400 * 10**9


def _fold_codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of the comparison form of presentation values, so "Berg" and "BERG" are not a
    conflict; null and values that fold to nothing share one code.

    Folding runs once per distinct value and comparisons are integer ones: at a million records a
    string per record and attribute group costs seconds and gigabytes.
    """
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    folded = [fold_text(v) or "" for v in uniques]
    fold_codes, _ = pd.factorize(pd.Series(["", *folded], dtype=object))
    return fold_codes[codes + 1]  # code -1 (null) lands on "" like an empty fold


def _combine(codes: list[np.ndarray]) -> np.ndarray:
    """One integer per row that is equal exactly when every column's code is equal."""
    out = codes[0].astype(np.int64)
    for more in codes[1:]:
        out, _ = pd.factorize(out * (int(more.max(initial=0)) + 1) + more)
    return out


def _objects(values: np.ndarray, index: pd.Index | None = None) -> pd.Series:
    """Keep an object column as Python objects: pandas 3 would infer an Arrow string column, which the
    model's ``conform`` turns back into objects (a second copy of every string)."""
    return pd.Series(values, index=index, dtype=object)


def _frame(columns: dict[str, object]) -> pd.DataFrame:
    """A frame whose object-array columns stay object columns (see :func:`_objects`)."""
    return pd.DataFrame(
        {k: _objects(v) if isinstance(v, np.ndarray) and v.dtype == object else v for k, v in columns.items()}
    )


def _constant(value: str, n: int) -> np.ndarray:
    """An object column holding one shared string (a scalar, or ``np.full``, makes n string objects)."""
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def _display(values: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """The group's value of ``rows`` as one string for the conflict log (``street | 12 | A | ...``)."""
    if len(values) == 1:
        return values[0][rows]
    picked = [v[rows] for v in values]
    return np.array(
        [" | ".join("" if v is None else str(v) for v in row) for row in zip(*picked, strict=True)], dtype=object
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
    source_codes: np.ndarray  # per record, index into ``source_names``
    source_names: list[str]
    folded: dict[str, np.ndarray] = field(default_factory=dict)  # fold codes per column, filled lazily
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # object arrays per column, filled lazily
    filled: dict[str, np.ndarray] = field(default_factory=dict)  # non-null masks per column, filled lazily

    def values(self, records: pd.DataFrame, col: str) -> np.ndarray:
        """``records[col]`` as an object array with None for nulls, converted once per run."""
        if col not in self.arrays:
            self.arrays[col] = _column(records, col)
        return self.arrays[col]

    def present(self, records: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """Per record and column, whether it has a value: shape ``(len(columns), n_records)``."""
        for col in columns:
            if col not in self.filled:
                self.filled[col] = pd.notna(self.values(records, col))
        return np.array([self.filled[col] for col in columns])

    def per_source(self, mapping: dict[str, float], default: float) -> np.ndarray:
        """Per record, ``mapping[source]`` (``default`` for sources not in it)."""
        return np.array([mapping.get(s, default) for s in self.source_names], dtype=float)[self.source_codes]

    def fold_codes(self, records: pd.DataFrame, columns: list[str]) -> np.ndarray:
        """Per record, one code for the folded values of ``columns`` (each column folded once per run)."""
        for col in columns:
            if col not in self.folded:
                self.folded[col] = _fold_codes(self.values(records, col))
        return _combine([self.folded[col] for col in columns])


def _latest(updated: pd.Series, gid_codes: np.ndarray, n_gid: int) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Per golden id, the newest ``source_updated_at`` of its records.

    Integer maxima, not a groupby (whose result came back as a Timestamp object per golden id): the same
    timestamps in the same dtype. Timestamps without a zone or with gaps take the groupby.
    """
    dtype = updated.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) and n_gid and not updated.isna().any():
        stamps = updated.array._ndarray  # UTC wall time
        latest = np.full(n_gid, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(latest, gid_codes, stamps.view(np.int64))
        utc = pd.Series(latest.view(stamps.dtype)).dt.tz_localize("UTC")
        return utc.dt.tz_convert(dtype.tz).array
    return updated.groupby(gid_codes).max().reindex(range(n_gid)).to_numpy()


def _column(records: pd.DataFrame, name: str) -> np.ndarray:
    """An object array with None for nulls (what the canonical model stores)."""
    values = records[name].to_numpy(dtype=object, na_value=None)
    return values


def rank_candidates(records: pd.DataFrame, rule: AttributeRule, prep: _Prepared) -> np.ndarray:
    """Positions of the records that may supply ``rule``'s group: grouped by golden id, best first."""
    columns = [f"n_{c}" for c in rule.columns]
    has_value = prep.present(records, columns).any(axis=0)
    source_rank = prep.per_source({s: float(i) for i, s in enumerate(rule.sources)}, np.nan)
    in_sources = ~np.isnan(source_rank)
    positions = np.flatnonzero(has_value & in_sources & prep.eligible)
    ranks = source_rank[positions]
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
        filled = prep.present(records, columns).sum(axis=0)[positions]
        keys = (tie, newest_first, ranks, -filled)
    else:  # most_frequent: the value most records agree on (compared folded), then source order, newest
        compare = prep.fold_codes(records, columns)[positions]
        frequency = pd.Series(compare).groupby([gid, compare]).transform("size").to_numpy()
        keys = (tie, newest_first, ranks, -frequency)
    if rule.half_life_days is not None:
        age_days = np.maximum(prep.as_of - prep.updated[positions], 0) / _NS_PER_DAY
        trust = prep.per_source(rule.trust, 1.0)[positions]
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
    source_codes, source_names = pd.factorize(records["source"])
    eligible = ~deleted | all_deleted[gid_codes]
    prep = _Prepared(gid_codes, gids, record_rank, updated_ns, eligible, reference, source_codes, list(source_names))

    golden = pd.DataFrame({"golden_id": _objects(gids)})
    golden["source_updated_at"] = _latest(updated, gid_codes, n_gid)
    golden["is_deleted"] = all_deleted
    sources = np.asarray(prep.source_names, dtype=object)[prep.source_codes]  # a few shared strings
    source_ids = _column(records, "source_id")

    lineage_parts: list[pd.DataFrame] = []
    lineage_gid: list[np.ndarray] = []  # per part, the golden id codes (their order is the ids' order)
    lineage_attribute: list[np.ndarray] = []  # per part, the rank of its attribute name
    attribute_rank = {name: i for i, name in enumerate(sorted(rules.attributes))}
    conflict_parts: list[pd.DataFrame] = []
    for rule in rules.attributes.values():
        ranked = rank_candidates(records, rule, prep)
        cand_gid = gid_codes[ranked]
        is_first = np.ones(len(ranked), dtype=bool)
        is_first[1:] = cand_gid[1:] != cand_gid[:-1]
        winners = ranked[is_first]
        winner_gid = cand_gid[is_first]
        values = [prep.values(records, f"n_{c}") for c in rule.columns]
        for col, column_values in zip(rule.columns, values, strict=True):
            out = np.full(n_gid, None, dtype=object)
            out[winner_gid] = column_values[winners]
            golden[col] = _objects(out)
        lineage_parts.append(
            _frame(
                {
                    "golden_id": gids[winner_gid],
                    "attribute": _constant(rule.name, len(winners)),
                    "source": sources[winners],
                    "source_id": source_ids[winners],
                    "source_updated_at": updated.iloc[winners].reset_index(drop=True),
                    "rule": _constant(rule.label, len(winners)),
                }
            )
        )
        lineage_gid.append(winner_gid)
        lineage_attribute.append(np.full(len(winners), attribute_rank[rule.name]))
        compare = prep.fold_codes(records, [f"n_{c}" for c in rule.columns])[ranked]
        conflict_parts.append(_conflicts(ranked, cand_gid, is_first, compare, values, sources, gids, rule))

    lineage = conform(pd.concat(lineage_parts, ignore_index=True), LINEAGE_COLUMNS)
    if pins is not None and not pins.empty:
        golden, lineage, conflict_parts = _apply_pins(golden, lineage, conflict_parts, pins, rules)
        lineage = lineage.sort_values(["golden_id", "attribute"], kind="stable").reset_index(drop=True)
    elif lineage_gid and rules.attributes.keys() == attribute_rank.keys():
        # The same stable order by (golden_id, attribute) from integer codes: ``gids`` are sorted, so
        # code order is id order (sorting 2M rows by two text columns took seconds at 1M records).
        order = np.lexsort((np.concatenate(lineage_attribute), np.concatenate(lineage_gid)))
        lineage = lineage.take(order).reset_index(drop=True)
    else:
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
    compare: np.ndarray,
    values: list[np.ndarray],
    sources: np.ndarray,
    gids: np.ndarray,
    rule: AttributeRule,
) -> pd.DataFrame:
    """One row per (golden id, other source, other value) that disagrees with the chosen value.

    ``compare`` holds the candidates' folded-value codes (in ``ranked`` order), ``values`` the
    presentation columns over all records.
    """
    if len(ranked) == 0:
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    # Index of each candidate's winner: the group's first row (candidates are grouped by golden id).
    first_index = np.maximum.accumulate(np.where(is_first, np.arange(len(ranked)), 0))
    differs = compare != compare[first_index]
    if not differs.any():
        return pd.DataFrame(columns=CONFLICT_COLUMNS)
    rows = np.flatnonzero(differs)
    frame = _frame(
        {
            "golden_id": gids[cand_gid[rows]],
            "attribute": _constant(rule.name, len(rows)),
            "chosen_source": sources[ranked[first_index[rows]]],
            "chosen_value": ranked[first_index[rows]],
            "other_source": sources[ranked[rows]],
            "other_value": ranked[rows],
            "rule": _constant(rule.label, len(rows)),
            "_compare": compare[rows],
        }
    )
    frame = frame.drop_duplicates(["golden_id", "other_source", "_compare"]).drop(columns="_compare")
    # Display strings only for the rows kept: most candidates agree with their winner.
    frame["chosen_value"] = _objects(_display(values, frame["chosen_value"].to_numpy()), frame.index)
    frame["other_value"] = _objects(_display(values, frame["other_value"].to_numpy()), frame.index)
    return frame


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
