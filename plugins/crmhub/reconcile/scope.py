"""Which records a small run must re-match, and how to keep a re-match of a subset exact.

An incremental reconcile (``crmhub.stages.reconcile_delta``) re-matches only the records that
changed plus every record they could link to. Two records can only be linked if they share a key:
a deterministic match key (e-mail, phone, social), a fuzzy blocking key, a handle that spells a
name, or a source merge. :func:`record_keys` gives every record a stable 64-bit hash per key
*family* (the same value in every run, unlike the vocabulary codes of :func:`fuzzy.features`), so
the keys of the whole population can be kept between runs and searched by value.

Matching a subset differs from matching everyone in one way only: the caps. A key shared by more
than ``max_records_per_key`` records links nothing, a blocking key shared by more than
``max_block_size`` records pairs nothing, counted over *all* records. :class:`ScopeLimits` holds the
population's counts for the keys a subset holds and drops the links and candidate pairs the full
run would not have had (:meth:`ScopeLimits.keep_links`, :meth:`ScopeLimits.keep_pairs`).

The hashes are derived from the same folded values :func:`fuzzy.features` blocks on;
:func:`verify_keys` checks on every full run that they split the records exactly as the matcher's
own blocking keys do, so a change of the matcher that this module does not follow turns the
incremental path off instead of making it wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmhub.reconcile import fuzzy
from crmhub.reconcile.match import MatchConfig
from crmhub.reconcile.normalize import fold_text

#: Fuzzy blocking families this module derives stable keys for (``fuzzy.BLOCKING_KEYS`` names).
SUPPORTED_BLOCKING: frozenset[str] = frozenset(
    {
        "address",
        "name",
        "last_name_pc4",
        "first_name_pc4",
        "postcode_number",
        "line_postcode",
        "street_number",
        "last_name_street",
        "first_name_street",
        "last_name_city",
        "first_name_city",
        "email",
        "phone",
        "social",
    }
)
#: Handle ↔ name families: a handle's core against the names (``fuzzy._cross_pairs``).
HANDLE_COLUMNS: tuple[str, ...] = ("h_core", "h_name", "h_initial")
#: Source merges: a record's own id and the id it was merged into (no cap applies).
MERGE_COLUMNS: tuple[str, ...] = ("m_self", "m_target")


def blocking_families(matching: MatchConfig) -> tuple[str, ...]:
    """The fuzzy blocking families a run uses (none when fuzzy matching is off)."""
    if not matching.fuzzy.enabled:
        return ()
    return tuple(matching.fuzzy.blocking if matching.fuzzy.blocking is not None else fuzzy.DEFAULT_BLOCKING)


def supported(matching: MatchConfig) -> tuple[bool, str]:
    """Whether a subset of records can be re-matched exactly under ``matching``."""
    missing = sorted(set(blocking_families(matching)) - SUPPORTED_BLOCKING)
    if missing:
        return False, f"blocking key(s) without a stable form: {', '.join(missing)}"
    return True, "supported"


def key_columns(matching: MatchConfig) -> list[str]:
    """The key columns :func:`record_keys` returns for ``matching``."""
    cols = [f"r_{rule}" for rule in matching.rules]
    cols += [f"b_{family}" for family in blocking_families(matching)]
    if matching.fuzzy.enabled and matching.fuzzy.handle_name:
        cols += list(HANDLE_COLUMNS)
    return cols + list(MERGE_COLUMNS)


def _hash(values: pd.Series | np.ndarray, present: np.ndarray) -> np.ndarray:
    """Stable uint64 per text value; 0 where ``present`` is false (no key)."""
    text = pd.Series(np.asarray(values, dtype=object)).astype(str).to_numpy(dtype=object)
    out = pd.util.hash_array(text, categorize=True).astype(np.uint64)
    out[~present] = 0
    out[present & (out == 0)] = 1  # 0 means "no key"
    return out


def _join(*parts: np.ndarray) -> np.ndarray:
    out = pd.Series(np.asarray(parts[0], dtype=object)).astype(str)
    for part in parts[1:]:
        out = out + "\x1f" + pd.Series(np.asarray(part, dtype=object)).astype(str)
    return out.to_numpy(dtype=object)


def _column(records: pd.DataFrame, name: str) -> np.ndarray:
    if name not in records.columns:
        return np.full(len(records), "", dtype=object)
    values = records[name].astype(object)
    return values.where(values.notna(), "").to_numpy(dtype=object)


def record_keys(
    records: pd.DataFrame, matching: MatchConfig, feat: fuzzy.Features | None = None
) -> tuple[pd.DataFrame, fuzzy.Features | None]:
    """Per record (aligned with ``records``, normalized) a uint64 per key column; 0 = no key.

    Returns the frame and the features it read (``None`` when fuzzy matching is off), so a caller
    can :func:`verify_keys` against them.
    """
    n = len(records)
    out: dict[str, np.ndarray] = {}
    for rule in matching.rules:
        column = {"email": "key_email", "social": "key_social", "phone": "key_phone"}[rule]
        values = records[column] if column in records.columns else pd.Series([None] * n)
        present = values.notna().to_numpy()
        out[f"r_{rule}"] = _hash(values.astype(object).where(values.notna(), ""), present)
    families = blocking_families(matching)
    if families or (matching.fuzzy.enabled and matching.fuzzy.handle_name):
        feat = fuzzy.features(records) if feat is None else feat
        names = np.asarray(feat["v_names"], dtype=object)
        first, last = names[feat["first"]], names[feat["last"]]
        has_first, has_last = feat["first"] != 0, feat["last"] != 0
        postcode = np.asarray(feat["v_postcodes"], dtype=object)[feat["postcode"]]
        has_pc = feat["postcode"] != 0
        pc4 = pd.Series(postcode).str[:4].to_numpy(dtype=object)
        number = _column(records, "n_house_number")
        has_number = feat["number"] != 0
        street = np.asarray(feat["v_streets"], dtype=object)[feat["street"]]
        has_street = feat["street"] != 0
        city = np.asarray(feat["v_cities"], dtype=object)[feat["city"]]
        has_city = feat["city"] != 0
        line = np.asarray(feat["v_lines"], dtype=object)[feat["line"]]
        has_line = feat["line"] != 0
        lo = np.where(first <= last, first, last)
        hi = np.where(first <= last, last, first)
        derived: dict[str, tuple[np.ndarray, np.ndarray]] = {
            "name": (_join(lo, hi), has_first & has_last),
            "last_name_pc4": (_join(last, pc4), has_last & has_pc),
            "first_name_pc4": (_join(first, pc4), has_first & has_pc),
            "postcode_number": (_join(postcode, number), has_pc & has_number),
            "line_postcode": (_join(line, postcode), has_line & has_pc),
            "street_number": (_join(street, number), has_street & has_number),
            "last_name_street": (_join(last, street), has_last & has_street),
            "first_name_street": (_join(first, street), has_first & has_street),
            "last_name_city": (_join(last, city), has_last & has_city),
            "first_name_city": (_join(first, city), has_first & has_city),
        }
        for family in families:
            if family not in SUPPORTED_BLOCKING:  # no stable form: verify_keys fails, the path stays off
                out[f"b_{family}"] = np.zeros(n, dtype=np.uint64)
                continue
            if family in derived:
                values, present = derived[family]
            else:  # address, email, phone, social: the normalized key itself
                column = {"address": "key_address", "email": "key_email", "phone": "key_phone"}.get(
                    family, "key_social"
                )
                raw = records[column] if column in records.columns else pd.Series([None] * n)
                values, present = raw.astype(object).where(raw.notna(), "").to_numpy(), raw.notna().to_numpy()
            out[f"b_{family}"] = _hash(values, present)
        if matching.fuzzy.enabled and matching.fuzzy.handle_name:
            out.update(_handle_keys(records, first, last, has_first, has_last))
    target = records["merged_into_source_id"] if "merged_into_source_id" in records.columns else None
    source = _column(records, "source")
    out["m_self"] = _hash(_join(source, _column(records, "source_id")), np.ones(n, dtype=bool))
    if target is None:
        out["m_target"] = np.zeros(n, dtype=np.uint64)
    else:
        out["m_target"] = _hash(_join(source, _column(records, "merged_into_source_id")), target.notna().to_numpy())
    return pd.DataFrame(out, index=records.index), feat


def _handle_keys(
    records: pd.DataFrame, first: np.ndarray, last: np.ndarray, has_first: np.ndarray, has_last: np.ndarray
) -> dict[str, np.ndarray]:
    """The handle ↔ name keys, as ``fuzzy.features`` builds them (one namespace for all three)."""
    prefix = pd.Series(_column(records, "n_name_prefix")).map(lambda v: fold_text(v) or "").to_numpy(dtype=object)
    full_last = (pd.Series(prefix) + pd.Series(last)).str.replace(" ", "", regex=False).to_numpy(dtype=object)
    first_alnum = pd.Series(first).map(fuzzy._ascii_alnum)
    last_alnum = pd.Series(full_last).map(fuzzy._ascii_alnum)
    both = first_alnum.notna() & last_alnum.notna()
    name_handle = (first_alnum.fillna("") + last_alnum.fillna("")).to_numpy(dtype=object)
    initial_handle = (first_alnum.fillna("").str[:1] + last_alnum.fillna("")).to_numpy(dtype=object)
    no_name = ~has_first & ~has_last
    core = pd.Series(_column(records, "n_social_handle")).map(lambda v: fuzzy._handle_core(v) if v else None)
    core_present = core.notna().to_numpy() & no_name
    both_np = both.to_numpy()
    return {
        "h_core": _hash(core.fillna("").to_numpy(dtype=object), core_present),
        "h_name": _hash(name_handle, both_np),
        "h_initial": _hash(initial_handle, both_np),
    }


def verify_keys(keys: pd.DataFrame, feat: fuzzy.Features | None, matching: MatchConfig) -> tuple[bool, str]:
    """Whether ``keys`` split the records exactly as the matcher's own blocking arrays do."""
    if feat is None:
        return True, "no fuzzy blocking"
    checks: list[tuple[str, np.ndarray, np.ndarray]] = []
    for family in blocking_families(matching):
        ours = keys[f"b_{family}"].to_numpy()
        theirs = np.asarray(feat[fuzzy.BLOCKING_KEYS[family]])
        checks.append((family, ours, theirs))
    if "h_core" in keys.columns:
        ours = np.concatenate([keys[c].to_numpy() for c in HANDLE_COLUMNS])
        theirs = np.concatenate([feat["handle_core"], feat["name_handle"], feat["initial_handle"]])
        checks.append(("handle_name", ours, theirs))
    for family, ours, theirs in checks:
        present = ours != 0
        if not np.array_equal(present, theirs >= 0):
            return False, f"key {family}: presence differs from the matcher's"
        pairs = pd.DataFrame({"o": ours[present], "t": theirs[present]}).drop_duplicates()
        if pairs["o"].duplicated().any() or pairs["t"].duplicated().any():
            return False, f"key {family}: groups differ from the matcher's"
    return True, "keys split records as the matcher's blocking does"


@dataclass
class ScopeLimits:
    """The whole population's record count per key a subset holds, to apply the caps as a full run.

    ``counts`` maps a key column to a Series (uint64 key hash → records holding it in the whole
    population). :meth:`keep_links` and :meth:`keep_pairs` return the rows a full run would have.
    """

    matching: MatchConfig
    counts: dict[str, pd.Series] = field(default_factory=dict)
    keys: pd.DataFrame | None = None  # per subset record (positions), set by ``reconcile``

    def _count(self, column: str, values: np.ndarray) -> np.ndarray:
        series = self.counts.get(column)
        if series is None or series.empty:
            return np.zeros(len(values), dtype=np.int64)
        return series.reindex(values).fillna(0).to_numpy(dtype=np.int64)

    def keep_links(self, links: pd.DataFrame) -> np.ndarray:
        """Deterministic links whose key is shared by at most ``max_records_per_key`` records overall."""
        keep = np.ones(len(links), dtype=bool)
        if links.empty or self.keys is None:
            return keep
        left = links["left"].to_numpy(dtype=np.int64)
        for rule in self.matching.rules:
            mine = (links["rule"] == rule).to_numpy()
            if not mine.any():
                continue
            values = self.keys[f"r_{rule}"].to_numpy()[left[mine]]
            keep[mine] = self._count(f"r_{rule}", values) <= self.matching.max_records_per_key
        return keep

    def keep_pairs(self, pairs: pd.DataFrame) -> np.ndarray:
        """Candidate pairs that share a blocking key of at most ``max_block_size`` records overall."""
        if pairs.empty or self.keys is None:
            return np.ones(len(pairs), dtype=bool)
        cap = self.matching.fuzzy.max_block_size
        left = pairs["left"].to_numpy(dtype=np.int64)
        right = pairs["right"].to_numpy(dtype=np.int64)
        keep = np.zeros(len(pairs), dtype=bool)
        for family in blocking_families(self.matching):
            column = f"b_{family}"
            values = self.keys[column].to_numpy()
            a, b = values[left], values[right]
            shared = (a == b) & (a != 0)
            if shared.any():
                keep[shared] |= self._count(column, a[shared]) <= cap
        if "h_core" in self.keys.columns:
            core = self.keys["h_core"].to_numpy()
            for column in ("h_name", "h_initial"):
                named = self.keys[column].to_numpy()
                for x, y in ((left, right), (right, left)):
                    shared = (core[x] == named[y]) & (core[x] != 0)
                    if shared.any():
                        keep[shared] |= self._count(column, core[x][shared]) <= cap
        return keep
