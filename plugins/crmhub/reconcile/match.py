"""Matching: decide which source records are the same person, as explainable links, then cluster.

The engine follows the blocking → comparison → scoring → clustering split (as splink does):

1. each :class:`MatchRule` produces *links* (pairs of record positions) with a score and an
   explanation (rule name + hashed key). Deterministic rules block on an exact key and every pair in a
   block is a link with score 1.0; a fuzzy rule (later) will block on a coarse key, compare the pairs,
   score them and emit only the pairs above its link threshold — the same :data:`LINK_COLUMNS` frame;
2. :func:`cluster` unions all links (union-find), so adding a rule never changes the clustering code.

Chaining through shared values (``info@company.nl`` on 40 records, a placeholder handle) would glue
strangers into one golden record, so a key that is blocklisted or held by more than
``max_records_per_key`` records is never used as a link; such keys are counted, not silently lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

#: Columns of a links frame: record positions (row numbers of the normalized frame), why, how sure.
LINK_COLUMNS: list[str] = ["left", "right", "rule", "match_key", "score"]

#: E-mail local parts shared by many people; an address with one of these never links records.
DEFAULT_BLOCKED_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "info",
        "noreply",
        "no-reply",
        "no_reply",
        "donotreply",
        "do-not-reply",
        "admin",
        "administratie",
        "contact",
        "sales",
        "support",
        "service",
        "klantenservice",
        "office",
        "kantoor",
        "mail",
        "post",
        "hello",
        "hallo",
        "test",
        "example",
        "receptie",
        "reception",
        "team",
        "marketing",
        "webmaster",
        "postmaster",
        "privacy",
        "billing",
        "factuur",
        "facturen",
        "helpdesk",
    }
)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2's hash-based ``unique`` takes seconds on millions of
    wide int64 codes (9 s for 3M pair codes), a sort 0.05 s."""
    if len(values) == 0:
        return np.sort(values)
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def hash_key(rule: str, key: str) -> str:
    """A short, non-reversible-at-a-glance token for a match key, safe to log and to store in xref.

    The rule name is part of the hash input so the same text under two rules gives two tokens.
    """
    digest = hashlib.sha256(f"{rule}\x1f{key}".encode()).hexdigest()[:16]
    return f"{rule}:{digest}"


@dataclass(frozen=True)
class Blocklist:
    """Values that must never link records.

    Entries are written as a steward would: ``"info@"`` (any address with that local part),
    ``"@example.com"`` (a whole domain), ``"jan@example.com"`` (one address) or ``"twitter:someone"``
    (one handle on one network). Comparison is case-insensitive.
    """

    local_parts: frozenset[str] = DEFAULT_BLOCKED_LOCAL_PARTS
    domains: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()

    @classmethod
    def from_entries(cls, entries: Iterable[str], include_defaults: bool = True) -> Blocklist:
        local, domains, keys = set(DEFAULT_BLOCKED_LOCAL_PARTS if include_defaults else ()), set(), set()
        for raw in entries:
            entry = raw.strip().lower()
            if entry.endswith("@"):
                local.add(entry[:-1])
            elif entry.startswith("@"):
                domains.add(entry[1:])
            else:
                keys.add(entry.lstrip("@") if ":" not in entry else entry.replace(":@", ":"))
        return cls(frozenset(local), frozenset(domains), frozenset(keys))

    def blocked(self, rule: str, keys: pd.Series) -> pd.Series:
        """Boolean mask of ``keys`` (one rule's keys) that are blocklisted."""
        mask = keys.isin(self.keys)
        if rule == "email" and len(keys):
            parts = keys.str.rpartition("@")
            local, domain = parts[0], parts[2]
            mask |= local.isin(self.local_parts) | domain.isin(self.domains)
            # "info+nl@x.nl" is still info@
            mask |= local.str.split("+", n=1).str[0].isin(self.local_parts)
        return mask


#: Default fuzzy weights: log2 of how much likelier a level is among true matches than among non-matches.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "name": {
        "exact": 9.0,
        "close": 7.0,
        "initial": 3.0,
        "similar_first": 1.0,
        "partial": 2.0,
        "same_first": -2.0,
        "same_last": -6.0,
        "different": -10.0,
        "transliterated": 6.0,  # Persian script vs Latin letters, same consonants (crmhub.reconcile.translit)
        "missing": 0.0,
    },
    "address": {"same": 7.0, "same_building": 2.0, "same_postcode": 0.0, "different": -2.0, "missing": 0.0},
    "email": {"same": 10.0, "different": -1.0, "missing": 0.0},
    "phone": {"same": 8.0, "different": -1.0, "missing": 0.0},
    "social": {"same": 10.0, "different": -3.0, "missing": 0.0},
    "handle_name": {"full": 8.0, "initial": 6.0, "none": 0.0},
}


@dataclass(frozen=True)
class FuzzyConfig:
    """Fuzzy name + address scoring (the ``matching.fuzzy`` section of the rules file).

    ``link``: a pair scoring at least this is linked automatically; ``review``: at least this (and
    below ``link``) goes to the steward review queue; below ``review`` is no-link.
    """

    enabled: bool = True
    link: float = 12.0
    review: float = 5.0
    max_block_size: int = 50
    handle_name: bool = True
    weights: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_WEIGHTS.items()}
    )
    #: A trained :class:`crmhub.reconcile.match_model.MatchModel`: when set, its weights (m/u per level plus
    #: term-frequency adjustments) replace ``weights``, and the comparisons are the model's.
    model: Any = None
    model_file: str | None = None
    #: Name levels that forbid clustering two records together (None: ``same_last`` and ``different``,
    #: the household guard).
    cannot_link: tuple[str, ...] | None = None
    #: Blocking keys by name (:data:`crmhub.reconcile.fuzzy.BLOCKING_KEYS`; None: the default set,
    #: :data:`crmhub.reconcile.fuzzy.DEFAULT_BLOCKING`).
    blocking: tuple[str, ...] | None = None
    #: Weigh a same-city name on a social profile by how many people share it
    #: (:func:`crmhub.reconcile.fuzzy.name_city_bits`): a unique name in the city links, a shared one
    #: goes to review ranked by score. Off by default.
    name_frequency: bool = False


@dataclass(frozen=True)
class MatchConfig:
    """Matching settings (the ``matching:`` section of the rules file)."""

    rules: tuple[str, ...] = ("email", "social")
    max_records_per_key: int = 5
    blocklist: Blocklist = field(default_factory=Blocklist)
    fuzzy: FuzzyConfig = field(default_factory=FuzzyConfig)


@dataclass
class RuleReport:
    """What one rule did, for the run summary (counts only, no values)."""

    links: int = 0
    keys_used: int = 0
    keys_blocklisted: int = 0
    keys_overshared: int = 0


class MatchRule(Protocol):
    """One way of finding links. Deterministic today; fuzzy rules implement the same protocol."""

    name: str

    def links(self, records: pd.DataFrame, config: MatchConfig) -> tuple[pd.DataFrame, RuleReport]:
        """Return a :data:`LINK_COLUMNS` frame over ``records`` positions and a report."""
        ...


@dataclass(frozen=True)
class ExactKeyRule:
    """Link every pair of records sharing a value of ``key_column`` (blocking = comparison here).

    Emits a star per key (first record ↔ each other) rather than all pairs: the clusters are the same
    and a key with n records costs n-1 links instead of n²/2.
    """

    name: str
    key_column: str

    def links(self, records: pd.DataFrame, config: MatchConfig) -> tuple[pd.DataFrame, RuleReport]:
        report = RuleReport()
        keys = records[self.key_column]
        present = keys.notna()
        frame = pd.DataFrame({"pos": np.flatnonzero(present.to_numpy()), "key": keys[present].astype(str)})
        if frame.empty:
            return _empty_links(), report
        sizes = frame.groupby("key", sort=False)["pos"].transform("size")
        shared = frame[sizes > 1]
        blocked = config.blocklist.blocked(self.name, shared["key"])
        overshared = sizes[sizes > 1] > config.max_records_per_key
        report.keys_blocklisted = int(shared.loc[blocked, "key"].nunique())
        report.keys_overshared = int(shared.loc[~blocked & overshared, "key"].nunique())
        usable = shared[~blocked & ~overshared].sort_values(["key", "pos"], kind="stable")
        if usable.empty:
            return _empty_links(), report
        anchor = usable.groupby("key", sort=False)["pos"].transform("first")
        pairs = usable.assign(anchor=anchor)
        pairs = pairs[pairs["pos"] != pairs["anchor"]]
        report.keys_used = int(usable["key"].nunique())
        report.links = len(pairs)
        unique_keys = pairs["key"].unique()
        tokens = dict(zip(unique_keys, (hash_key(self.name, k) for k in unique_keys), strict=True))
        links = pd.DataFrame(
            {
                "left": pairs["anchor"].to_numpy(dtype=np.int64),
                "right": pairs["pos"].to_numpy(dtype=np.int64),
                "rule": self.name,
                "match_key": pairs["key"].map(tokens).to_numpy(dtype=object),
                "score": 1.0,
            }
        )
        return links, report


#: Rules selectable by name in the rules file's ``matching.rules``.
RULES: dict[str, MatchRule] = {
    "email": ExactKeyRule("email", "key_email"),
    "social": ExactKeyRule("social", "key_social"),
    "phone": ExactKeyRule("phone", "key_phone"),
}


def _empty_links() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "left": pd.Series(dtype=np.int64),
            "right": pd.Series(dtype=np.int64),
            "rule": pd.Series(dtype=object),
            "match_key": pd.Series(dtype=object),
            "score": pd.Series(dtype=float),
        }
    )


def source_merge_links(records: pd.DataFrame) -> pd.DataFrame:
    """Link each record a source merged away to the record it was merged into (same source).

    The source itself said they are one person (HubSpot ``hs_merged_object_ids``, Salesforce
    ``MasterRecordId``, Dataverse ``_masterid_value``), so no cap or blocklist applies. A target that
    is not among the records (never pulled, or erased) links nothing.
    """
    if "merged_into_source_id" not in records.columns:
        return _empty_links()
    merged = records["merged_into_source_id"].notna()
    if not merged.any():
        return _empty_links()
    position = {key: pos for pos, key in enumerate(zip(records["source"], records["source_id"], strict=True))}
    left, right = [], []
    for pos in np.flatnonzero(merged.to_numpy()).tolist():
        target = position.get((records["source"].iat[pos], str(records["merged_into_source_id"].iat[pos])))
        if target is not None and target != pos:
            left.append(target)
            right.append(pos)
    if not left:
        return _empty_links()
    return pd.DataFrame(
        {
            "left": np.asarray(left, dtype=np.int64),
            "right": np.asarray(right, dtype=np.int64),
            "rule": "source_merge",
            "match_key": [
                hash_key("source_merge", f"{records['source'].iat[t]}\x1f{records['source_id'].iat[t]}") for t in left
            ],  # fmt: skip
            "score": 1.0,
        }
    )


def find_links(records: pd.DataFrame, config: MatchConfig) -> tuple[pd.DataFrame, dict[str, RuleReport]]:
    """Run every configured rule and return all links plus a report per rule."""
    frames, reports = [], {}
    for name in config.rules:
        links, reports[name] = RULES[name].links(records, config)
        frames.append(links)
    non_empty = [f for f in frames if not f.empty]
    return (pd.concat(non_empty, ignore_index=True) if non_empty else _empty_links()), reports


def _components(n_records: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected components labelled by their smallest record position (independent of link order)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n_records == 0:
        return np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n_records, n_records))
    _, comp = connected_components(graph, directed=False)
    smallest = np.full(comp.max() + 1, n_records, dtype=np.int64)
    np.minimum.at(smallest, comp, np.arange(n_records, dtype=np.int64))
    return smallest[comp]


def cluster(n_records: int, links: pd.DataFrame) -> np.ndarray:
    """Connected components over links; returns, per record position, the smallest position in its cluster."""
    return _components(n_records, links["left"].to_numpy(dtype=np.int64), links["right"].to_numpy(dtype=np.int64))


def cluster_guarded(
    n_records: int, links: pd.DataFrame, cannot_left: np.ndarray, cannot_right: np.ndarray
) -> tuple[np.ndarray, pd.DataFrame]:
    """Cluster like :func:`cluster`, but never put a cannot-link pair into one cluster.

    Without this, one weak or wrong link (a family e-mail, a typo-match to the neighbour) glues two
    people together through a chain even though a direct comparison says they differ. Components with
    no cannot-link pair inside are accepted as they are (the common case, vectorized); inside the
    others links are applied strongest first (``priority`` column, then position) and a link that
    would join two records declared different is rejected. Returns ``(labels, rejected_links)``.
    """
    left = links["left"].to_numpy(dtype=np.int64)
    right = links["right"].to_numpy(dtype=np.int64)
    labels = _components(n_records, left, right)
    if len(cannot_left) == 0 or links.empty:
        return labels, links.iloc[0:0]
    inside = labels[cannot_left] == labels[cannot_right]
    troubled = sorted_unique(labels[cannot_left[inside]])
    if len(troubled) == 0:
        return labels, links.iloc[0:0]
    in_trouble = np.isin(labels[left], troubled)
    todo = links[in_trouble].sort_values(["priority", "left", "right"], ascending=[False, True, True], kind="stable")
    partners: dict[int, set[int]] = {}
    # Only cannot-links inside one component can refuse a link: links never join two components.
    for a, b in zip(cannot_left[inside].tolist(), cannot_right[inside].tolist(), strict=True):
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    parent: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    rejected: list[int] = []
    for row, a, b in zip(todo.index.tolist(), todo["left"].tolist(), todo["right"].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        small, big = (ra, rb) if len(members.get(ra, [ra])) <= len(members.get(rb, [rb])) else (rb, ra)
        if any(find(p) == big for x in members.get(small, [small]) for p in partners.get(x, ())):
            rejected.append(row)
            continue
        parent[small] = big
        members[big] = members.pop(big, [big]) + members.pop(small, [small])
    troubled_pos = np.flatnonzero(np.isin(labels, troubled))
    roots = np.fromiter((find(int(p)) for p in troubled_pos), dtype=np.int64, count=len(troubled_pos))
    smallest = pd.Series(troubled_pos).groupby(roots).transform("min").to_numpy(dtype=np.int64)
    labels = labels.copy()
    labels[troubled_pos] = smallest
    return labels, links.loc[rejected]


def explain_records(n_records: int, links: pd.DataFrame, rule_order: Sequence[str]) -> pd.DataFrame:
    """Per record: which rules linked it and by which (hashed) keys, for xref ``match_rule/match_key``.

    A record linked by nothing is a ``singleton``. Several rules are joined with ``+`` in rule order.
    """
    names = np.empty(n_records, dtype=object)
    names.fill("singleton")  # one shared string (np.full would make one per record)
    keys = np.full(n_records, None, dtype=object)
    if not links.empty:
        rule_codes, rules = pd.factorize(links["rule"])
        order = {name: i for i, name in enumerate(rule_order)}
        # Rank of each distinct rule in output order (configured order, then name), as an integer.
        by_order = sorted(range(len(rules)), key=lambda c: (order.get(rules[c], len(order)), rules[c]))
        rank = np.empty(len(rules), dtype=np.int64)
        rank[by_order] = np.arange(len(rules))
        pos = np.concatenate([links["left"].to_numpy(dtype=np.int64), links["right"].to_numpy(dtype=np.int64)])
        row = np.tile(np.arange(len(links)), 2)
        code_rank = rank[np.tile(rule_codes, 2)]
        # A rule's first key per record (left sides first, then right sides, in link order).
        _, first = np.unique(pos * len(rules) + code_rank, return_index=True)
        pos, row, code_rank = pos[first], row[first], code_rank[first]  # sorted by (pos, rank)
        rule_names = np.asarray(rules, dtype=object)[rank.argsort()][code_rank]
        match_keys = links["match_key"].to_numpy(dtype=object)[row]
        starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
        ends = np.r_[starts[1:], len(pos)]
        single = ends - starts == 1
        # Most records are linked by one rule: only the others need a string join.
        names[pos[starts[single]]] = rule_names[starts[single]]
        keys[pos[starts[single]]] = match_keys[starts[single]]
        for start, end in zip(starts[~single].tolist(), ends[~single].tolist(), strict=True):
            names[pos[start]] = "+".join(rule_names[start:end])
            keys[pos[start]] = "+".join(match_keys[start:end])
    return pd.DataFrame({"match_rule": names, "match_key": pd.Series(keys, dtype=object)})
