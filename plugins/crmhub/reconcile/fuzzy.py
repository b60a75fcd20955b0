"""Fuzzy scoring of record pairs: blocking → comparison → scoring, every score explained.

Deterministic keys miss the same person written two ways (a typo, swapped first and last name, a
record without e-mail). This module finds such pairs without comparing every record with every
other one:

1. **Blocking** — records sharing a cheap key (address key, sorted name tokens, last name + PC4,
   first name + PC4, e-mail, phone, handle, handle ↔ name) become candidate pairs; a block larger than
   ``max_block_size`` is skipped and counted (a street with 400 "Jansen"s says nothing).
2. **Comparison** — per pair, each field gets an agreement *level* (``name=exact|close|initial|
   similar_first|partial|same_first|same_last|different|missing``, ``address=same|same_building|same_postcode|different|
   missing``, ``email/phone/social=same|different|missing``, ``handle_name=full|initial|none``).
3. **Scoring** — a level has a weight (log2 of how much likelier it is among matches than among
   non-matches, Fellegi–Sunter style, set in the rules file rather than trained so results do not
   drift between runs). The score is their sum; the rules file's thresholds say ``link`` (auto-link),
   ``review`` (steward queue) or ``no-link``.

The weights are fixed configuration on purpose: an EM-trained model re-estimated every run would
make golden IDs depend on the population of the day, and stewards could not predict a rule change.
Levels that mean "two different people" (``same_last``: same family name, other first name — the
household case; ``different``) also become *cannot-link* constraints for clustering
(:func:`crmhub.reconcile.match.cluster_guarded`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from crmhub.reconcile.match import FuzzyConfig
from crmhub.reconcile.normalize import _map_unique, fold_text

#: Name levels that say "not the same person" and so forbid clustering the two records together.
CONFLICT_NAME_LEVELS: frozenset[str] = frozenset({"same_last", "different"})

#: Columns of the scored-pairs frame (record positions, levels, score, explanation).
PAIR_COLUMNS: list[str] = [
    "left",
    "right",
    "name",
    "address",
    "email",
    "phone",
    "social",
    "handle_name",
    "score",
    "explanation",
]

_CLOSE = 0.9  # Jaro-Winkler at or above which two folded names count as the same name with a typo
_CLOSE_SWAPPED = 0.95  # sorted-word names this similar: swapped fields plus at most a small typo
_RELATED = 0.8  # first names this similar (or one a prefix of the other) may be one person's variants


@dataclass
class BlockingReport:
    """What blocking did (counts only)."""

    candidate_pairs: int = 0
    blocks_skipped: int = 0
    records_in_skipped_blocks: int = 0


def _ascii_alnum(value: str | None) -> str | None:
    """Letters and digits only, ASCII: the form names take inside social handles."""
    if value is None:
        return None
    out = "".join(ch for ch in value if ch.isascii() and ch.isalnum())
    return out or None


def _handle_core(value: str | None) -> str | None:
    """A handle without digits and punctuation (``jan_vandijk42`` → ``janvandijk``), for handle ↔ name."""
    if value is None:
        return None
    out = "".join(ch for ch in value if ch.isascii() and ch.isalpha())
    return out if len(out) >= 6 else None


def _sorted_tokens(value: str) -> str:
    """Name words in sorted order: "de Wit Johannes" and "Johannes de Wit" become the same text."""
    return " ".join(sorted(value.split()))


def _is_latin(value: str) -> bool:
    return any("a" <= ch <= "z" for ch in value)


#: Per-record feature arrays by name (plain object arrays: no per-column string-dtype conversions).
Features = dict[str, np.ndarray]


def features(records: pd.DataFrame) -> Features:
    """Per record, the folded values blocking and comparison read (computed once per distinct value)."""
    first = _map_unique(records["n_first_name"], fold_text)
    last = _map_unique(records["n_last_name"], fold_text)
    prefix = _map_unique(records["n_name_prefix"], fold_text)
    first_s = first.fillna("").astype(str).str.replace(".", "", regex=False).str.strip()
    last_s = last.fillna("").astype(str)
    full_last = (prefix.fillna("").astype(str) + last_s).str.replace(" ", "", regex=False)
    postcode = records["n_postcode"].fillna("").astype(str).str.replace(" ", "", regex=False)
    has_first, has_last = first_s != "", last_s != ""
    both = has_first & has_last
    sorted_name = np.where(first_s <= last_s, first_s + "|" + last_s, last_s + "|" + first_s)
    pc4 = postcode.str.slice(0, 4)
    number = records["n_house_number"].fillna("").astype(str)
    latin = np.fromiter(
        (_is_latin(a) or _is_latin(b) for a, b in zip(first_s.tolist(), last_s.tolist(), strict=True)),
        dtype=bool,
        count=len(first_s),
    )
    script = pd.Series(np.where(latin, "latin", np.where(has_first | has_last, "other", "")), dtype=object)
    handle = records["n_social_handle"].where(records["n_social_handle"].notna(), None)
    first_alnum = first_s.map(_ascii_alnum)
    last_alnum = full_last.map(_ascii_alnum)
    name_handle = np.where(
        first_alnum.notna() & last_alnum.notna(), first_alnum.fillna("") + last_alnum.fillna(""), None
    )
    initial_handle = np.where(
        first_alnum.notna() & last_alnum.notna(), first_alnum.fillna("").str.slice(0, 1) + last_alnum.fillna(""), None
    )
    no_name = ~has_first & ~has_last
    handle_core = pd.Series([_handle_core(h) for h in handle.tolist()], dtype=object).where(no_name, None)
    return {
        k: np.asarray(v, dtype=bool if k == "first_is_initial" else object)
        for k, v in {
            "first": first_s.to_numpy(dtype=object),
            "last": last_s.to_numpy(dtype=object),
            "full_last": full_last.to_numpy(dtype=object),
            "tokens": np.where(
                both, (first_s + " " + prefix.fillna("").astype(str) + " " + last_s).map(_sorted_tokens), ""
            ),
            "initial": first_s.str.slice(0, 1).to_numpy(dtype=object),
            "first_is_initial": (first_s.str.len() == 1).to_numpy(),
            "script": script.to_numpy(dtype=object),
            "postcode": postcode.to_numpy(dtype=object),
            "number": number.to_numpy(dtype=object),
            "address": records["key_address"].to_numpy(dtype=object, na_value=None),
            "email": records["key_email"].to_numpy(dtype=object, na_value=None),
            "phone": records["key_phone"].to_numpy(dtype=object, na_value=None),
            "social": records["key_social"].to_numpy(dtype=object, na_value=None),
            "network": records["n_social_network"].to_numpy(dtype=object, na_value=None),
            "b_sorted_name": np.where(both, sorted_name, None),
            "b_last_pc4": np.where(has_last & (pc4 != ""), last_s + "|" + pc4, None),
            "b_first_pc4": np.where(has_first & (pc4 != ""), first_s + "|" + pc4, None),
            "name_handle": name_handle,
            "initial_handle": initial_handle,
            "handle_core": handle_core.to_numpy(dtype=object),
        }.items()
    }


_BLOCK_KEYS = ("address", "b_sorted_name", "b_last_pc4", "b_first_pc4", "email", "phone", "social")


def _pairs_within(keys: np.ndarray, max_block: int, report: BlockingReport) -> np.ndarray:
    """All pairs ``left < right`` of records sharing a key, as int64 codes ``left * n + right``."""
    n = len(keys)
    present = np.flatnonzero(pd.notna(keys))
    if len(present) < 2:
        return np.empty(0, dtype=np.int64)
    codes, _ = pd.factorize(pd.Series(keys[present], dtype=object))
    order = np.argsort(codes, kind="stable")
    pos, codes = present[order], codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sizes = np.diff(np.r_[starts, len(codes)])
    too_big = sizes > max_block
    report.blocks_skipped += int(too_big.sum())
    report.records_in_skipped_blocks += int(sizes[too_big].sum())
    keep = (sizes >= 2) & ~too_big
    lefts, rights = [], []
    for size in np.unique(sizes[keep]):
        group_starts = starts[keep & (sizes == size)]
        i, j = np.triu_indices(int(size), k=1)
        members = pos[group_starts[:, None] + np.arange(size)[None, :]]  # (groups, size)
        lefts.append(members[:, i].ravel())
        rights.append(members[:, j].ravel())
    if not lefts:
        return np.empty(0, dtype=np.int64)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return lo.astype(np.int64) * n + hi.astype(np.int64)


def _cross_pairs(left_keys: np.ndarray, right_keys: np.ndarray, max_block: int, report: BlockingReport) -> np.ndarray:
    """Pairs where one record's ``left_keys`` value equals another's ``right_keys`` value (handle ↔ name)."""
    n = len(left_keys)
    lf = pd.DataFrame({"key": left_keys, "l": np.arange(n)}).dropna()
    rf = pd.DataFrame({"key": right_keys, "r": np.arange(n)}).dropna()
    if lf.empty or rf.empty:
        return np.empty(0, dtype=np.int64)
    sizes = rf.groupby("key")["r"].transform("size")
    report.blocks_skipped += int(rf.loc[sizes > max_block, "key"].nunique())
    joined = lf.merge(rf[sizes <= max_block], on="key")
    joined = joined[joined["l"] != joined["r"]]
    lo = np.minimum(joined["l"].to_numpy(), joined["r"].to_numpy()).astype(np.int64)
    hi = np.maximum(joined["l"].to_numpy(), joined["r"].to_numpy()).astype(np.int64)
    return lo * n + hi


def candidate_pairs(feat: Features, config: FuzzyConfig) -> tuple[np.ndarray, np.ndarray, BlockingReport]:
    """``(left, right)`` positions of every distinct candidate pair, and the blocking report."""
    report = BlockingReport()
    n = len(feat["first"])
    parts = [_pairs_within(feat[key], config.max_block_size, report) for key in _BLOCK_KEYS]
    if config.handle_name:
        for name_key in ("name_handle", "initial_handle"):
            parts.append(
                _cross_pairs(
                    feat["handle_core"],
                    feat[name_key],
                    config.max_block_size,
                    report,
                )
            )
    codes = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    report.candidate_pairs = len(codes)
    return codes // max(n, 1), codes % max(n, 1), report


def _jw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0:
        return np.empty(0, dtype=float)
    return process.cpdist(list(a), list(b), scorer=JaroWinkler.normalized_similarity, workers=-1)


def _one_slip(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One letter dropped, added or two neighbours swapped ("Tm"/"Tim", "iTm"/"Tim") — typing slips —
    or one letter replaced inside a name of five or more letters ("Hendrlk"/"Hendrik").

    A replaced letter in a short name or at the end is not a slip but another name: "Tim"/"Tom",
    "Anna"/"Anne", "Cornelis"/"Cornelia" (Dutch male/female forms differ in their ending).
    """
    if len(a) == 0:
        return np.empty(0, dtype=bool)
    la, lb = list(a), list(b)
    lev = process.cpdist(la, lb, scorer=Levenshtein.distance, workers=-1)
    osa = process.cpdist(la, lb, scorer=OSA.distance, workers=-1)
    lengths_differ = np.fromiter((len(x) != len(y) for x, y in zip(la, lb, strict=True)), dtype=bool, count=len(la))
    inner = np.zeros(len(la), dtype=bool)
    for i in np.flatnonzero((lev == 1) & ~lengths_differ):
        x, y = la[i], lb[i]
        inner[i] = len(x) >= 5 and x[-2:] == y[-2:]
    present = (a != "") & (b != "")
    return present & (((lev == 1) & (lengths_differ | inner)) | ((osa == 1) & (lev == 2)))


def _equal_level(a: np.ndarray, b: np.ndarray) -> pd.Categorical:
    present = pd.notna(a) & pd.notna(b)
    same = present & (a == b)
    return _levels([same, present], ["same", "different"], "missing")


def _levels(conditions: list[np.ndarray], names: list[str], default: str) -> pd.Categorical:
    """Like ``np.select`` but into a categorical: a million short strings would each become an object."""
    categories = list(dict.fromkeys([*names, default]))
    choice = [categories.index(name) for name in names]
    codes = np.select(conditions, choice, default=categories.index(default)).astype(np.int8)
    return pd.Categorical.from_codes(codes, categories=categories)


def compare(feat: Features, left: np.ndarray, right: np.ndarray) -> pd.DataFrame:
    """The agreement level of each field for each pair (no scores yet)."""
    f = feat
    fa, fb, la, lb = f["first"][left], f["first"][right], f["last"][left], f["last"][right]
    jf, jl = _jw(fa, fb), _jw(la, lb)
    js = np.minimum(_jw(fa, lb), _jw(la, fb))
    has_a = (fa != "") | (la != "")
    has_b = (fb != "") | (lb != "")
    comparable = has_a & has_b & (f["script"][left] == f["script"][right])
    tokens_a, tokens_b = f["tokens"][left], f["tokens"][right]
    both_full = (fa != "") & (fb != "") & (la != "") & (lb != "")
    exact = ((fa == fb) & (la == lb)) | ((fa == lb) & (la == fb) & (fa != "")) | (both_full & (tokens_a == tokens_b))
    full_a, full_b = f["full_last"][left], f["full_last"][right]
    last_same = (la != "") & ((jl >= _CLOSE) | _one_slip(la, lb) | ((full_a != "") & (full_a == full_b)))
    # First names: Jaro-Winkler alone would call Johanna/Johannes (0.92) or Cornelis/Cornelia (0.95) one
    # name; they are a household's two people. Only equality or a typing slip makes two first names one.
    first_same = (fa != "") & ((fa == fb) | _one_slip(fa, fb))
    # Swapped fields: the first names do not resemble each other, but the name words, sorted, do.
    swapped = both_full & (jf < _RELATED) & (_jw(tokens_a, tokens_b) >= _CLOSE_SWAPPED)
    close = both_full & ((first_same & last_same) | (js >= _CLOSE) | swapped)
    initial_ok = (f["first_is_initial"][left] | f["first_is_initial"][right]) & (
        f["initial"][left] == f["initial"][right]
    )
    # "Jan"/"Jantje", "Chris"/"Christiaan": a diminutive or short form is not evidence of another person.
    prefix = np.fromiter(
        (bool(a) and bool(b) and (a.startswith(b) or b.startswith(a)) for a, b in zip(fa, fb, strict=True)),
        dtype=bool,
        count=len(fa),
    )
    related = (fa != "") & (fb != "") & ((jf >= _RELATED) | prefix)
    # Records with only a last name (or only a first name) on one side cannot say "different person".
    partial = comparable & ~exact & ~close & ((fa == "") | (fb == "") | (la == "") | (lb == ""))
    name = _levels(
        [
            ~comparable,
            exact,
            close,
            last_same & initial_ok,
            partial & ~last_same & ~first_same,
            partial & (last_same | first_same),
            last_same & related,
            last_same & (fa != "") & (fb != ""),
            first_same,
        ],
        ["missing", "exact", "close", "initial", "missing", "partial", "similar_first", "same_last", "same_first"],
        "different",
    )

    addr_a, addr_b = f["address"][left], f["address"][right]
    pc_a, pc_b = f["postcode"][left], f["postcode"][right]
    addr_present = (pc_a != "") & (pc_b != "")
    number_same = f["number"][left] == f["number"][right]
    address = _levels(
        [
            ~addr_present,
            pd.notna(addr_a) & (addr_a == addr_b),
            (pc_a == pc_b) & number_same,
            pc_a == pc_b,
        ],
        ["missing", "same", "same_building", "same_postcode"],
        "different",
    )
    soc_a, soc_b = f["social"][left], f["social"][right]
    same_network = pd.notna(f["network"][left]) & (f["network"][left] == f["network"][right])
    social_present = pd.notna(soc_a) & pd.notna(soc_b)
    social = _levels(
        [social_present & (soc_a == soc_b), social_present & same_network], ["same", "different"], "missing"
    )

    hc_a, hc_b = f["handle_core"][left], f["handle_core"][right]
    nh_a, nh_b = f["name_handle"][left], f["name_handle"][right]
    ih_a, ih_b = f["initial_handle"][left], f["initial_handle"][right]
    full = (pd.notna(hc_a) & (hc_a == nh_b)) | (pd.notna(hc_b) & (hc_b == nh_a))
    initial = (pd.notna(hc_a) & (hc_a == ih_b)) | (pd.notna(hc_b) & (hc_b == ih_a))
    handle_name = _levels([full, initial], ["full", "initial"], "none")
    return pd.DataFrame(
        {
            "left": left,
            "right": right,
            "name": name,
            "address": address,
            "email": _equal_level(f["email"][left], f["email"][right]),
            "phone": _equal_level(f["phone"][left], f["phone"][right]),
            "social": social,
            "handle_name": handle_name,
        }
    )


def score(levels: pd.DataFrame, config: FuzzyConfig) -> pd.DataFrame:
    """Add ``score`` (sum of level weights) and a human-readable ``explanation`` per pair.

    Pairs share few distinct level combinations, so weights and explanations are computed once per
    combination and mapped back (a million pairs cost a few thousand string joins).
    """
    out = levels.copy()
    comparisons = list(config.weights)
    if out.empty:
        out["score"] = pd.Series(dtype=float)
        out["explanation"] = pd.Series(dtype=object)
        return out[PAIR_COLUMNS]
    combo, uniques = pd.MultiIndex.from_frame(out[comparisons]).factorize()
    totals, texts = [], []
    for values in uniques:
        parts, total = [], 0.0
        for comparison, level in zip(comparisons, values, strict=True):
            weight = config.weights[comparison].get(level, 0.0)
            total += weight
            parts.append(f"{comparison}={level}({weight:+g})")
        totals.append(round(total, 3))
        texts.append(" ".join(parts))
    out["score"] = np.asarray(totals, dtype=float)[combo]
    out["explanation"] = pd.Categorical.from_codes(combo, categories=texts)
    return out[PAIR_COLUMNS]


def score_pairs(records: pd.DataFrame, config: FuzzyConfig) -> tuple[pd.DataFrame, BlockingReport]:
    """Block, compare and score ``records`` (the normalized frame); returns :data:`PAIR_COLUMNS`."""
    feat = features(records)
    left, right, report = candidate_pairs(feat, config)
    return score(compare(feat, left, right), config), report
