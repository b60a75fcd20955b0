"""Fuzzy scoring of record pairs: blocking → comparison → scoring, every score explained.

Deterministic keys miss the same person written two ways (a typo, swapped first and last name, a
record without e-mail). This module finds such pairs without comparing every record with every
other one:

1. **Blocking** — records sharing a cheap key (address key, sorted name tokens, last name + PC4,
   first name + PC4, e-mail, phone, handle, handle ↔ name; optionally typo-tolerant keys from
   :mod:`crmhub.reconcile.blocking`) become candidate pairs; a block larger than
   ``max_block_size`` is skipped and counted (a street with 400 "Jansen"s says nothing).
2. **Comparison** — per pair, each field gets an agreement *level* (``name=exact|close|initial|
   similar_first|partial|same_first|same_last|different|transliterated|missing``,
   ``address=same|same_building|same_postcode|different|missing``, ``email/phone/social=same|different|
   missing``, ``handle_name=full|initial|none``; for a trained model also ``place`` — the whole address
   as one level, :data:`PLACE_LEVELS` — and ``home_name``, the name level where ``place=same``).
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

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from crmhub.reconcile.blocking import extra_keys, pairs_multi
from crmhub.reconcile.match import FuzzyConfig, sorted_unique
from crmhub.reconcile.normalize import _map_unique, fold_text
from crmhub.reconcile.translit import skeleton

#: Name levels that say "not the same person" and so forbid clustering the two records together.
CONFLICT_NAME_LEVELS: frozenset[str] = frozenset({"same_last", "different"})


def conflict_name_levels(config: FuzzyConfig) -> frozenset[str]:
    """The name levels that forbid clustering two records together (``matching.fuzzy.cannot_link``).

    A domain rule, not a learned weight: a trained model cannot tell a household (same family name and
    address, another first name) from one person without labels, so the guard stays explicit.
    """
    return frozenset(config.cannot_link) if config.cannot_link is not None else CONFLICT_NAME_LEVELS


#: Columns of the scored-pairs frame (record positions, levels, score, explanation).
PAIR_COLUMNS: list[str] = [
    "left",
    "right",
    "name",
    "address",
    "place",
    "home_name",
    "street",
    "number",
    "postcode",
    "city",
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


_NOT_ASCII_ALNUM = re.compile(r"[^A-Za-z0-9]")
_NOT_ASCII_ALPHA = re.compile(r"[^A-Za-z]")


def _ascii_alnum(value: str | None) -> str | None:
    """Letters and digits only, ASCII: the form names take inside social handles."""
    if value is None:
        return None
    out = _NOT_ASCII_ALNUM.sub("", value)
    return out or None


def _handle_core(value: str | None) -> str | None:
    """A handle without digits and punctuation (``jan_vandijk42`` → ``janvandijk``), for handle ↔ name."""
    if value is None:
        return None
    out = _NOT_ASCII_ALPHA.sub("", value)
    return out if len(out) >= 6 else None


def _sorted_tokens(value: str) -> str:
    """Name words in sorted order: "de Wit Johannes" and "Johannes de Wit" become the same text."""
    return " ".join(sorted(value.split()))


def _is_latin(value: str) -> bool:
    return any("a" <= ch <= "z" for ch in value)


class Features(dict[str, np.ndarray]):
    """Per-record feature arrays by name. Text features are integer codes into a vocabulary (``v_*``), so
    blocking and comparison compare integers and string metrics run once per distinct pair of values.

    The typo-tolerant blocking keys (``m_*``, :mod:`crmhub.reconcile.blocking`) are computed on first
    use: most runs do not configure them, and whoever reads one (blocking, a key check) gets it.
    """

    def __missing__(self, key: str) -> np.ndarray:
        if key.startswith("m_"):
            self.update(extra_keys(self))
            if key in self:
                return self[key]
        if key == "k_skeleton":
            self[key] = _skeleton_codes(self, self["full_last"], self["v_full_lasts"])[0]
            return self[key]
        if key in ("k_name_key", "k_name_key_parts"):
            self["k_name_key"], self["k_name_key_parts"] = _skeleton_codes(self, self["last"], self["v_names"])
            return self[key]
        raise KeyError(key)


def _skeleton_codes(feat: Features, last_codes: np.ndarray, last_vocab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per record, one code for the consonant skeletons of first and last name in sorted order, and the
    two parts' codes (shape ``(2, n)``, one code space).

    Script-independent (:func:`crmhub.reconcile.translit.skeleton`: ``Mohammad Rezaei`` and ``محمد رضایی``
    share it) and spelling-tolerant in the vowels; -1 where a name part or its skeleton is missing. With
    the full last name (tussenvoegsel included) it is the ``name_skeleton`` blocking key; with the last
    name alone, the name :func:`name_city_bits` counts people by (a typo in ``van der`` or a swapped
    ``Jong, de`` does not make a common name rare).
    """
    names = feat["v_names"]
    sk_names = np.asarray([skeleton(v) for v in names.tolist()], dtype=object)
    sk_lasts = sk_names if last_vocab is names else np.asarray([skeleton(v) for v in last_vocab.tolist()], dtype=object)
    first, last = sk_names[feat["first"]], sk_lasts[last_codes]
    present = (first != "") & (last != "")
    parts, _ = pd.factorize(pd.Series([*first, *last], dtype=object).where(pd.Series([*present, *present]), None))
    lo = np.where(first <= last, first, last)
    hi = np.where(first <= last, last, first)
    joined = pd.Series(lo, dtype=object) + " " + pd.Series(hi, dtype=object)
    codes, _ = pd.factorize(joined.where(pd.Series(present), None), use_na_sentinel=True)
    return codes.astype(np.int64), parts.astype(np.int64).reshape(2, -1)


def _vocab(values: list[object]) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, vocabulary)`` of per-record strings; ``""`` is always code 0 (the 'no value' code)."""
    codes, uniques = pd.factorize(pd.Series(["", *values], dtype=object))
    return codes[1:].astype(np.int64), np.asarray(uniques, dtype=object)


def _combine(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Factorize tuples of non-negative codes: ``(codes, uniques)`` with one int per distinct tuple."""
    key = codes[0].astype(np.int64)
    for more in codes[1:]:
        key, _ = pd.factorize(key * (int(more.max(initial=0)) + 1) + more)
    combined, uniques = pd.factorize(key)
    return combined, uniques


def _per_tuple(codes: list[np.ndarray], func: Callable[..., object], vocabs: list[Any]) -> list[object]:
    """``func`` applied once per distinct tuple of codes, as a per-record list of results."""
    combined, _ = _combine(*codes)
    _, first_row = np.unique(combined, return_index=True)  # a row holding each distinct tuple
    table = [func(*(vocab[c[row]] for vocab, c in zip(vocabs, codes, strict=True))) for row in first_row.tolist()]
    out = np.empty(len(table), dtype=object)
    out[:] = table
    return out[combined].tolist()


def features(records: pd.DataFrame) -> Features:
    """Per record, the folded values blocking and comparison read (computed once per distinct value)."""
    first_s = _map_unique(records["n_first_name"], lambda v: (fold_text(v) or "").replace(".", "").strip())
    last_s = _map_unique(records["n_last_name"], lambda v: fold_text(v) or "")
    prefix_s = _map_unique(records["n_name_prefix"], lambda v: fold_text(v) or "")
    # First and last names share one vocabulary: swapped fields compare a first name with a last name.
    name_codes, names = _vocab([*first_s.tolist(), *last_s.tolist()])
    n = len(records)
    first, last = name_codes[:n], name_codes[n:]
    prefix, prefixes = _vocab(prefix_s.tolist())
    full_last, full_lasts = _vocab(
        _per_tuple([prefix, last], lambda p, la: (p + la).replace(" ", ""), [prefixes, names])
    )
    has_first, has_last = first != 0, last != 0
    both = has_first & has_last
    tokens, token_vocab = _vocab(
        _per_tuple(
            [first, prefix, last], lambda f, p, la: _sorted_tokens(f + " " + p + " " + la), [names, prefixes, names]
        )
    )
    tokens = np.where(both, tokens, 0)
    latin_name = np.fromiter((_is_latin(v) for v in names), dtype=bool, count=len(names))
    script = np.where(latin_name[first] | latin_name[last], 1, np.where(has_first | has_last, 2, 0))
    name_len = np.fromiter((len(v) for v in names), dtype=np.int64, count=len(names))
    initials, _ = pd.factorize(pd.Series([v[:1] for v in names], dtype=object))
    postcode, postcodes = _vocab(_map_unique(records["n_postcode"], lambda v: (v or "").replace(" ", "")).tolist())
    pc4, _ = _vocab([v[:4] for v in postcodes])
    pc4 = pc4[postcode]
    number, _ = _vocab(_map_unique(records["n_house_number"], lambda v: "" if v is None else str(v)).tolist())
    addition, _ = _vocab(_map_unique(records["n_house_number_addition"], lambda v: v or "").tolist())
    street, streets = _vocab(_optional(records, "key_street"))
    line, lines = _vocab(_optional(records, "key_line"))
    city, cities = _vocab(_optional(records, "key_city"))
    n_number = int(number.max(initial=0)) + 1
    last_initial = _initial_codes(names)[last] % 64
    has_number = number != 0
    # Handle ↔ name: a handle's letters against first + last name (or initial + last name), one vocabulary.
    first_alnum = [_ascii_alnum(v) for v in names]
    last_alnum = [_ascii_alnum(v) for v in full_lasts]
    name_handle = _per_tuple(
        [first, full_last], lambda f, la: None if f is None or la is None else f + la, [first_alnum, last_alnum]
    )
    initial_handle = _per_tuple(
        [first, full_last], lambda f, la: None if f is None or la is None else f[:1] + la, [first_alnum, last_alnum]
    )
    no_name = ~has_first & ~has_last
    handle_core = _map_unique(records["n_social_handle"], lambda v: _handle_core(v) if v is not None else None)
    handle_core = handle_core.where(pd.Series(no_name, index=handle_core.index), None).tolist()
    handle_codes, _ = pd.factorize(pd.Series([*handle_core, *name_handle, *initial_handle], dtype=object))
    n_pc4 = int(pc4.max(initial=0)) + 1
    lo, hi = np.minimum(first, last), np.maximum(first, last)
    return Features(
        {
            "first": first,
            "last": last,
            "v_names": names,
            "full_last": full_last,
            "v_full_lasts": np.asarray(full_lasts, dtype=object),
            "tokens": tokens,
            "v_tokens": token_vocab,
            "initial": initials[first],
            "first_is_initial": name_len[first] == 1,
            "script": script,
            "postcode": postcode,
            "v_postcodes": np.asarray(postcodes, dtype=object),
            "number": number,
            "addition": addition,
            "street": street,
            "v_streets": streets,
            "line": line,
            "v_lines": lines,
            "city": city,
            "v_cities": cities,
            "b_street_number": np.where((street != 0) & has_number, street * n_number + number, -1),
            "b_pc_number": np.where((postcode != 0) & has_number, postcode * n_number + number, -1),
            "b_last_street": np.where(has_last & (street != 0), last * (len(streets) + 1) + street, -1),
            "b_first_street": np.where(has_first & (street != 0), first * (len(streets) + 1) + street, -1),
            "b_last_city": np.where(has_last & (city != 0), last * (len(cities) + 1) + city, -1),
            "b_first_city": np.where(has_first & (city != 0), first * (len(cities) + 1) + city, -1),
            "b_first_last_initial": np.where(both, first * 64 + last_initial, -1),
            "b_line_pc": np.where((line != 0) & (postcode != 0), line * (len(postcodes) + 1) + postcode, -1),
            "address": _key_codes(records["key_address"]),
            "email": _key_codes(records["key_email"]),
            "phone": _key_codes(records["key_phone"]),
            "social": _key_codes(records["key_social"]),
            "network": _key_codes(records["n_social_network"]),
            "b_sorted_name": np.where(both, lo * len(names) + hi, -1),
            "b_last_pc4": np.where(has_last & (pc4 != 0), last * n_pc4 + pc4, -1),
            "b_first_pc4": np.where(has_first & (pc4 != 0), first * n_pc4 + pc4, -1),
            "handle_core": handle_codes[:n],
            "name_handle": handle_codes[n : 2 * n],
            "initial_handle": handle_codes[2 * n :],
        }
    )


def _initial_codes(names: np.ndarray) -> np.ndarray:
    """Per vocabulary entry, a small integer for its first letter (0 for the empty name)."""
    codes, _ = pd.factorize(pd.Series([v[:1] for v in names.tolist()], dtype=object))
    return codes.astype(np.int64)


def _optional(records: pd.DataFrame, column: str) -> list[object]:
    """A normalized key column as a list of strings ("" for none); absent columns are all empty."""
    if column not in records.columns:
        return [""] * len(records)
    return records[column].astype(object).where(records[column].notna(), "").tolist()


def _key_codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a nullable key column; null is -1."""
    return pd.factorize(values, use_na_sentinel=True)[0].astype(np.int64)


#: Blocking keys by the name the rules file uses (``matching.fuzzy.blocking``) → feature array.
BLOCKING_KEYS: dict[str, str] = {
    "address": "address",  # one physical address, any country (postcode or street + number + addition)
    "name": "b_sorted_name",  # first + last name, in either order
    "last_name_pc4": "b_last_pc4",
    "first_name_pc4": "b_first_pc4",
    "postcode_number": "b_pc_number",
    "line_postcode": "b_line_pc",  # an address line without a number (sorted words) + postcode
    "street_number": "b_street_number",  # street + number in any town: catches a postcode typo
    "last_name_street": "b_last_street",
    "first_name_street": "b_first_street",
    "last_name_city": "b_last_city",
    "first_name_city": "b_first_city",
    "first_name_last_initial": "b_first_last_initial",
    # Consonant skeletons of first and last name, either order: one name in Latin letters and in Persian
    # script meet (crmhub.reconcile.translit), as do vowel variants ("Hossein"/"Hosein"):
    "name_skeleton": "k_skeleton",
    # Typo-tolerant keys (crmhub.reconcile.blocking), computed only when configured:
    "soundex_name": "m_soundex_name",  # Soundex of one name word + initial of the other, either order
    "postcode_initial": "m_postcode_initial",  # postcode + initial of either name word
    "street_stem_city": "m_street_stem_city",  # first four letters of the street + city
    "street_stem_postcode": "m_street_stem_postcode",  # first four letters of the street + postcode
    "name_number": "m_name_number",  # either name word + house number
    "email": "email",
    "phone": "phone",
    "social": "social",
}

#: The default blocking: what CRM data needs plus the cheap country-agnostic address keys. The others
#: (street + number anywhere, a name with a street or city, first name + surname initial) each add
#: ~7 candidate pairs per record on CRM data and found 11 more true pairs of 71,726 there (100k); they are for data with
#: noisy addresses and no e-mail or phone (FEBRL: ``benchmarks/reconcile/febrl_rules.yaml``).
DEFAULT_BLOCKING: tuple[str, ...] = (
    "address",
    "name",
    "last_name_pc4",
    "first_name_pc4",
    "postcode_number",
    "line_postcode",
    "email",
    "phone",
    "social",
)


def _pairs_within(keys: np.ndarray, max_block: int, report: BlockingReport) -> np.ndarray:
    """All pairs ``left < right`` of records sharing a key, as int64 codes ``left * n + right``."""
    n = len(keys)
    present = np.flatnonzero(keys >= 0)  # keys are integer codes, -1 = no key
    if len(present) < 2:
        return np.empty(0, dtype=np.int64)
    codes, _ = pd.factorize(keys[present])
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
    lf = pd.DataFrame({"key": left_keys, "l": np.arange(n)})
    rf = pd.DataFrame({"key": right_keys, "r": np.arange(n)})
    lf, rf = lf[lf["key"] >= 0], rf[rf["key"] >= 0]  # -1 = no key
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
    keys = config.blocking if config.blocking is not None else DEFAULT_BLOCKING
    parts = []
    for key in keys:
        name = BLOCKING_KEYS[key]
        if name.startswith("m_"):  # several values per record (crmhub.reconcile.blocking)
            parts.append(pairs_multi(feat[name], config.max_block_size, report))
        else:
            parts.append(_pairs_within(feat[name], config.max_block_size, report))
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
    codes = sorted_unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
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
    """``same`` / ``different`` / ``missing`` of two key-code arrays (-1 = no value)."""
    present = (a >= 0) & (b >= 0)
    same = present & (a == b)
    return _levels([same, present], ["same", "different"], "missing")


def _pair_values(
    codes_a: np.ndarray, codes_b: np.ndarray, vocab: np.ndarray, func: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """``func(vocab[a], vocab[b])`` per pair, evaluated once per distinct pair of codes.

    Names are Zipf-distributed, so millions of candidate pairs hold far fewer distinct name pairs.
    """
    return _PairTable(codes_a, codes_b, vocab).apply(func)


class _PairTable:
    """The distinct pairs of two code arrays, factorized once for several string functions."""

    def __init__(self, codes_a: np.ndarray, codes_b: np.ndarray, vocab: np.ndarray) -> None:
        width = len(vocab)
        inverse, uniques = pd.factorize(codes_a.astype(np.int64) * width + codes_b)
        uniques = np.asarray(uniques, dtype=np.int64)
        self.inverse = inverse
        self.a, self.b = vocab[uniques // width], vocab[uniques % width]

    def apply(self, func: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
        """``func`` per distinct pair of values, spread back to every pair."""
        return func(self.a, self.b)[self.inverse]


def _is_prefix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One non-empty name starts with the other ("Jan"/"Jantje")."""
    return np.fromiter(
        (bool(x) and bool(y) and (x.startswith(y) or y.startswith(x)) for x, y in zip(a, b, strict=True)),
        dtype=bool,
        count=len(a),
    )


def _jw_close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _jw(a, b) >= _CLOSE


def _one_edit(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One character replaced, dropped, added or two neighbours swapped (a postcode typo)."""
    if len(a) == 0:
        return np.empty(0, dtype=bool)
    return process.cpdist(list(a), list(b), scorer=OSA.distance, workers=-1) <= 1


def _similar_level(
    a: np.ndarray, b: np.ndarray, vocab: np.ndarray, same: str, similar: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> pd.Categorical:
    """``same`` / ``close`` / ``different`` / ``missing`` of two vocabulary-code arrays (0 = empty)."""
    present = (a != 0) & (b != 0)
    equal = present & (a == b)
    close = np.zeros(len(a), dtype=bool)
    todo = present & ~equal
    if todo.any():
        close[todo] = _pair_values(a[todo], b[todo], vocab, similar)
    return _levels([~present, equal, close], ["missing", same, "close"], "different")


def _street_level(f: Features, left: np.ndarray, right: np.ndarray) -> pd.Categorical:
    """``exact`` / ``close`` (Jaro-Winkler >= 0.9) / ``similar`` (>= 0.8) / ``different`` / ``missing``.

    Streets are compared folded, type words written out and without spaces ("Pridham St" =
    "pridhamstreet"); a line without a house number compares its sorted words instead.
    """
    a, b = f["street"][left], f["street"][right]
    la, lb = f["line"][left], f["line"][right]
    present = (a != 0) & (b != 0)
    equal = (present & (a == b)) | ((la != 0) & (la == lb))
    sim = np.zeros(len(a), dtype=float)
    todo = present & ~equal
    if todo.any():
        sim[todo] = _pair_values(a[todo], b[todo], f["v_streets"], _jw)
    return _levels(
        [equal, ~present & ~((la != 0) & (lb != 0)), sim >= _CLOSE, sim >= _RELATED],
        ["exact", "missing", "close", "similar"],
        "different",
    )


def _number_level(f: Features, left: np.ndarray, right: np.ndarray) -> pd.Categorical:
    """``same`` (number and addition), ``same_number`` (other addition: another flat), ``different``, ``missing``."""
    a, b = f["number"][left], f["number"][right]
    present = (a != 0) & (b != 0)
    same_number = present & (a == b)
    same = same_number & (f["addition"][left] == f["addition"][right])
    return _levels([~present, same, same_number], ["missing", "same", "same_number"], "different")


def _transliterated(
    fa: np.ndarray, fb: np.ndarray, la: np.ndarray, lb: np.ndarray, names: np.ndarray, cross: np.ndarray
) -> np.ndarray:
    """Persian script against Latin letters: first and last name have the same consonant skeleton
    (:func:`crmhub.reconcile.translit.skeleton`: ``Mohammad Rezaei`` = ``محمد رضایی``), in either order.

    Only pairs whose names are in two scripts (``cross``) are looked at; skeletons run per distinct name.
    """
    out = np.zeros(len(fa), dtype=bool)
    rows = np.flatnonzero(cross & (fa != 0) & (fb != 0) & (la != 0) & (lb != 0))
    if len(rows) == 0:
        return out
    codes = sorted_unique(np.concatenate([fa[rows], fb[rows], la[rows], lb[rows]]))
    skel = np.zeros(len(names), dtype=np.int64)
    skel[codes] = _vocab([skeleton(v) for v in names[codes].tolist()])[0]  # 0 = no skeleton
    sfa, sfb, sla, slb = skel[fa[rows]], skel[fb[rows]], skel[la[rows]], skel[lb[rows]]
    full = (sfa != 0) & (sfb != 0) & (sla != 0) & (slb != 0)
    out[rows] = full & (((sfa == sfb) & (sla == slb)) | ((sfa == slb) & (sla == sfb)))
    return out


def _is(levels: pd.Categorical, *names: str) -> np.ndarray:
    """Per pair, whether its level is one of ``names`` (on the integer codes: no strings built)."""
    wanted = [i for i, category in enumerate(levels.categories) if category in names]
    return np.isin(levels.codes, wanted)


def _levels(conditions: list[np.ndarray], names: list[str], default: str) -> pd.Categorical:
    """Like ``np.select`` but into a categorical: a million short strings would each become an object."""
    categories = list(dict.fromkeys([*names, default]))
    choice = [categories.index(name) for name in names]
    codes = np.select(conditions, choice, default=categories.index(default)).astype(np.int8)
    return pd.Categorical.from_codes(codes, categories=categories)


#: Levels of the combined address comparison (:func:`_place_level`), strongest first.
PLACE_LEVELS: tuple[str, ...] = (
    "same",
    "street_number",
    "postcode_number",
    "street",
    "postcode",
    "city",
    "different",
)


def _place_level(
    address: pd.Categorical,
    street: pd.Categorical,
    number: pd.Categorical,
    postcode: pd.Categorical,
    city: pd.Categorical,
) -> pd.Categorical:
    """One level for the whole address, so one physical address is counted once by a trained model.

    Street, house number, postcode and city are not independent: two records at one address agree on
    all four, and a model adding four separate weights counts that one fact four times (+33 bits on
    the Dutch generator, enough to link a household's Tim and Tom). The levels, first that holds:
    ``same`` (one address: same key, or street and number with the postcode or city), ``street_number``
    (street and number, the place disagrees: a postcode typo or a namesake street elsewhere),
    ``postcode_number`` (postcode and number, street differs or is absent), ``street`` (same street,
    another or no number, same place), ``postcode``, ``city``, ``different``; ``missing`` when either
    side has no address. Street, city and, next to an agreeing street, the postcode allow a typo
    (``close``); a postcode alone must be equal (a Dutch postcode one letter off is the next street).
    """
    street_ok = _is(street, "exact", "close")
    number_same = _is(number, "same", "same_number")
    pc_same = _is(postcode, "same")
    city_same = _is(city, "same", "close")
    place_ok = _is(postcode, "same", "close") | (city_same & ~_is(postcode, "different"))
    present = ~_is(address, "missing") | ~_is(street, "missing") | ~_is(city, "missing")
    return _levels(
        [
            ~present,
            _is(address, "same") | (street_ok & _is(number, "same") & place_ok),
            street_ok & number_same,
            pc_same & number_same,
            street_ok & (place_ok | (_is(postcode, "missing") & _is(city, "missing"))),
            pc_same,
            city_same,
        ],
        ["missing", *PLACE_LEVELS[:-1]],
        "different",
    )


def compare(feat: Features, left: np.ndarray, right: np.ndarray) -> pd.DataFrame:
    """The agreement level of each field for each pair (no scores yet).

    Text features are vocabulary codes (code 0 = empty, -1 = no key), so equality is an integer
    comparison; string similarities run per distinct pair of values (:func:`_pair_values`).
    """
    f, names = feat, feat["v_names"]
    fa, fb, la, lb = f["first"][left], f["first"][right], f["last"][left], f["last"][right]
    first_pairs, last_pairs = _PairTable(fa, fb, names), _PairTable(la, lb, names)
    jf, jl = first_pairs.apply(_jw), last_pairs.apply(_jw)
    js = np.minimum(_pair_values(fa, lb, names, _jw), _pair_values(la, fb, names, _jw))
    has_a = (fa != 0) | (la != 0)
    has_b = (fb != 0) | (lb != 0)
    comparable = has_a & has_b & (f["script"][left] == f["script"][right])
    transliterated = _transliterated(fa, fb, la, lb, names, has_a & has_b & ~comparable)
    tokens_a, tokens_b = f["tokens"][left], f["tokens"][right]
    both_full = (fa != 0) & (fb != 0) & (la != 0) & (lb != 0)
    exact = ((fa == fb) & (la == lb)) | ((fa == lb) & (la == fb) & (fa != 0)) | (both_full & (tokens_a == tokens_b))
    full_a, full_b = f["full_last"][left], f["full_last"][right]
    last_same = (la != 0) & ((jl >= _CLOSE) | last_pairs.apply(_one_slip) | ((full_a != 0) & (full_a == full_b)))
    # First names: Jaro-Winkler alone would call Johanna/Johannes (0.92) or Cornelis/Cornelia (0.95) one
    # name; they are a household's two people. Only equality or a typing slip makes two first names one.
    first_same = (fa != 0) & ((fa == fb) | first_pairs.apply(_one_slip))
    # Swapped fields: the first names do not resemble each other, but the name words, sorted, do.
    swapped = both_full & (jf < _RELATED) & (_pair_values(tokens_a, tokens_b, f["v_tokens"], _jw) >= _CLOSE_SWAPPED)
    close = both_full & ((first_same & last_same) | (js >= _CLOSE) | swapped)
    initial_ok = (f["first_is_initial"][left] | f["first_is_initial"][right]) & (
        f["initial"][left] == f["initial"][right]
    )
    # "Jan"/"Jantje", "Chris"/"Christiaan": a diminutive or short form is not evidence of another person.
    prefix = first_pairs.apply(_is_prefix)
    related = (fa != 0) & (fb != 0) & ((jf >= _RELATED) | prefix)
    # Records with only a last name (or only a first name) on one side cannot say "different person".
    partial = comparable & ~exact & ~close & ((fa == 0) | (fb == 0) | (la == 0) | (lb == 0))
    name = _levels(
        [
            transliterated,
            ~comparable,
            exact,
            close,
            last_same & initial_ok,
            partial & ~last_same & ~first_same,
            partial & (last_same | first_same),
            last_same & related,
            last_same & (fa != 0) & (fb != 0),
            first_same,
        ],
        [
            "transliterated",
            "missing",
            "exact",
            "close",
            "initial",
            "missing",
            "partial",
            "similar_first",
            "same_last",
            "same_first",
        ],  # fmt: skip
        "different",
    )

    street = _street_level(f, left, right)
    number = _number_level(f, left, right)
    postcode = _similar_level(f["postcode"][left], f["postcode"][right], f["v_postcodes"], "same", _one_edit)
    city = _similar_level(f["city"][left], f["city"][right], f["v_cities"], "same", _jw_close)
    addr_a, addr_b = f["address"][left], f["address"][right]
    pc_a, pc_b = f["postcode"][left], f["postcode"][right]
    addr_present = (pc_a != 0) & (pc_b != 0)
    addr_present |= (
        (f["street"][left] != 0) & (f["street"][right] != 0) & (f["city"][left] != 0) & (f["city"][right] != 0)
    )
    addr_present |= (f["line"][left] != 0) & (f["line"][right] != 0)
    number_same = _is(number, "same")
    street_ok = _is(street, "exact", "close", "missing")
    place_same = ((pc_a != 0) & (pc_a == pc_b)) | (_is(city, "same") & ((pc_a == 0) | (pc_b == 0)))
    line_same = (f["line"][left] != 0) & (f["line"][left] == f["line"][right]) & place_same
    address = _levels(
        [
            ~addr_present,
            ((addr_a >= 0) & (addr_a == addr_b)) | line_same,
            (pc_a == pc_b) & number_same & street_ok,
            pc_a == pc_b,
        ],
        ["missing", "same", "same_building", "same_postcode"],
        "different",
    )
    place = _place_level(address, street, number, postcode, city)
    soc_a, soc_b = f["social"][left], f["social"][right]
    same_network = (f["network"][left] >= 0) & (f["network"][left] == f["network"][right])
    social_present = (soc_a >= 0) & (soc_b >= 0)
    social = _levels(
        [social_present & (soc_a == soc_b), social_present & same_network], ["same", "different"], "missing"
    )

    hc_a, hc_b = f["handle_core"][left], f["handle_core"][right]
    nh_a, nh_b = f["name_handle"][left], f["name_handle"][right]
    ih_a, ih_b = f["initial_handle"][left], f["initial_handle"][right]
    full = ((hc_a >= 0) & (hc_a == nh_b)) | ((hc_b >= 0) & (hc_b == nh_a))
    initial = ((hc_a >= 0) & (hc_a == ih_b)) | ((hc_b >= 0) & (hc_b == ih_a))
    handle_name = _levels([full, initial], ["full", "initial"], "none")
    return pd.DataFrame(
        {
            "left": left,
            "right": right,
            "name": name,
            "address": address,
            "place": place,
            # The name level again where the address is the same (else missing): a trained model's
            # correction for households (crmhub.reconcile.train: ``home_name``).
            "home_name": _home_name(name, place),
            "street": street,
            "number": number,
            "postcode": postcode,
            "city": city,
            "email": _equal_level(f["email"][left], f["email"][right]),
            "phone": _equal_level(f["phone"][left], f["phone"][right]),
            "social": social,
            "handle_name": handle_name,
        }
    )


def _home_name(name: pd.Categorical, place: pd.Categorical) -> pd.Categorical:
    """The name level where the place is the same, else ``missing``: built from the codes (a million
    level strings as objects, factorized again, took a second at 1M records)."""
    categories = list(name.categories) + ([] if "missing" in name.categories else ["missing"])
    codes = np.where(_is(place, "same"), name.codes, categories.index("missing"))
    return pd.Categorical.from_codes(codes, categories=categories)


def score(levels: pd.DataFrame, config: FuzzyConfig, tf: np.ndarray | None = None) -> pd.DataFrame:
    """Add ``score`` (sum of level weights) and a human-readable ``explanation`` per pair.

    The weights are the trained model's (``config.model``) when there is one, else the rules file's.
    ``tf`` is each pair's term-frequency adjustment in bits (model only), added to the score and shown
    as ``tf=+1.5`` in the explanation. Pairs share few distinct level combinations, so weights and
    explanations are computed once per combination and mapped back.
    """
    out = levels.copy()
    weights = config.model.weights() if config.model is not None else config.weights
    comparisons = [c for c in weights if c in out.columns]
    if out.empty:
        out["score"] = pd.Series(dtype=float)
        out["explanation"] = pd.Series(dtype=object)
        return out[PAIR_COLUMNS]
    # One integer per level combination (in order of first appearance, like a MultiIndex factorize).
    factorized = [pd.factorize(out[c], use_na_sentinel=False) for c in comparisons]
    key = np.zeros(len(out), dtype=np.int64)
    for codes, levels_of in factorized:
        key = key * len(levels_of) + codes
    combo, keys = pd.factorize(key)
    uniques = []
    for k in np.asarray(keys).tolist():
        values = []
        for _, levels_of in reversed(factorized):
            k, code = divmod(k, len(levels_of))
            values.append(levels_of[code])
        uniques.append(values[::-1])
    totals, texts = [], []
    for values in uniques:
        parts, total = [], 0.0
        for comparison, level in zip(comparisons, values, strict=True):
            weight = weights[comparison].get(level, 0.0)
            total += weight
            parts.append(f"{comparison}={level}({weight:+g})")
        totals.append(round(total, 3))
        texts.append(" ".join(parts))
    base = np.asarray(totals, dtype=float)[combo]
    if tf is None or config.model is None:
        out["score"] = base
        out["explanation"] = pd.Categorical.from_codes(combo, categories=texts)
        return out[PAIR_COLUMNS]
    tf_rounded = np.round(tf, 1)
    out["score"] = np.round(base + tf_rounded, 3)
    both, pairs_of = pd.factorize(combo.astype(np.int64) * 1000 + np.round((tf_rounded + 50) * 10).astype(np.int64))
    labels = [f"{texts[int(k) // 1000]} tf={(int(k) % 1000) / 10 - 50:+.1f}" for k in np.asarray(pairs_of).tolist()]
    out["explanation"] = pd.Categorical.from_codes(both, categories=labels)
    return out[PAIR_COLUMNS]


def tf_adjustment(feat: Features, levels: pd.DataFrame, model: Any) -> np.ndarray:
    """Per pair, the bits a rare (or common) exact value adds to (or takes from) its level's weight.

    ``log2(u_level / f(value))``: the level's average chance among random pairs against this value's own
    frequency (first × last name for names), clipped to ±:data:`TF_CLIP`; 0 where the level is not one
    of :data:`crmhub.reconcile.match_model.TF_LEVELS`.
    """
    from crmhub.reconcile.match_model import TF_CLIP, TF_LEVELS

    left = levels["left"].to_numpy(dtype=np.int64)
    total = np.zeros(len(levels), dtype=float)
    vocab_of = {"first": ("v_names", "first"), "last": ("v_names", "last"), "street": ("v_streets", "street"),
                "postcode": ("v_postcodes", "postcode"), "city": ("v_cities", "city")}  # fmt: skip
    for comparison, (tf_levels, fields) in TF_LEVELS.items():
        if comparison not in model.comparisons or comparison not in levels.columns:
            continue
        applies = np.asarray(levels[comparison].isin(tf_levels))
        if not applies.any():
            continue
        bits = np.zeros(int(applies.sum()), dtype=float)
        for name in fields:
            vocab_key, code_key = vocab_of[name]
            vocab = feat[vocab_key]
            log_freq = model.log_freq(name, vocab)
            log_freq[np.asarray([v == "" for v in vocab.tolist()], dtype=bool)] = 0.0  # no value: no rarity
            bits += log_freq[feat[code_key][left[applies]]]
        reference = model.u_bits(comparison, tf_levels[0])
        total[applies] += np.clip(reference - bits, -TF_CLIP, TF_CLIP)
    return total


#: Name levels on which a same-city name is weighed by its frequency (:func:`name_city_bits`).
NAME_CITY_LEVELS: tuple[str, ...] = ("exact", "transliterated", "close")
#: Expected number of *other* people with the name in the city at or below which an exact (or
#: transliterated) name + city agreement reaches the link threshold on its own.
NAME_CITY_LINK_EXPECTED = 1 / 16
#: Kinds of the name + city evidence, as the explanation shows them (``name_city=unique(+3.6)``).
NAME_CITY_KINDS: tuple[str, ...] = ("shared", "unique", "other_city")
#: A profile located in another city than the record: moves are common (the generator's `hard` setting
#: moves 12% of people), so a small penalty that ranks such a pair below same-city ones, not a veto.
OTHER_CITY_BITS = -2.0
#: The name + city weight never takes a pair's score below ``review + 0.5``: a common name in the
#: same city stays in the queue (ranked low) rather than being dropped.
_NAME_CITY_FLOOR_ABOVE_REVIEW = 0.5


def name_city_bits(feat: Features, scored: pd.DataFrame, config: FuzzyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per pair, the bits a profile's name and location add (NaN where they do not apply) and their kind
    (index into :data:`NAME_CITY_KINDS`: ``unique`` — no one else has the name in the city — ``shared``,
    or ``other_city``, a fixed :data:`OTHER_CITY_BITS`).

    Applies to a pair whose names agree (:data:`NAME_CITY_LEVELS`), whose cities are the same, and where
    one side has no street, postcode or address line (a social profile: a display name and a location)
    while the other has. The frequency is counted in *people*, not records: records joined by the pairs
    already scoring at least ``link`` form provisional clusters. For each side's name key (consonant
    skeletons of first and last name without tussenvoegsel, sorted: both scripts, vowel variants and
    swapped fields give one key) we count the people holding it in that city (``n_city``) and anywhere
    (``n_all``), the profile's own cluster left out and the full record's counted, and keep the larger
    side (a typo on one side must not make a common name look rare). The expected number of *other*
    people who could own the profile is ``λ = (n_city − 1) + max(n_all, n_first × n_last / N) × s_city``:
    namesakes seen in the city, plus namesakes not in the data — the name's people (at least what its
    two parts' frequencies predict: the pool of names is finite, so at scale every combination of
    common parts recurs) times the city's share of the people. The weight is
    ``link − w(name level) + log2(λ_link / λ)`` (``λ_link`` = :data:`NAME_CITY_LINK_EXPECTED`; a typo,
    ``close``, counts 2 bits less): a name no one else has, in a town of at most 1/16 of the people,
    links on its own; a shared one goes to review ranked by ``λ``.

    The counts come from the run's population (a documented rule, not a trained table): a namesake
    arriving in the city later turns a future run's pair into a review item; earlier links keep their
    golden id through the previous xref. A profile whose location is another city than the record's
    gets :data:`OTHER_CITY_BITS` instead: it stays in review when the name agrees (people move and keep
    their profile), ranked below the same-city candidates.
    """
    from crmhub.reconcile.match import _components

    n_pairs = len(scored)
    bits = np.full(n_pairs, np.nan)
    kind = np.zeros(n_pairs, dtype=np.int64)
    if n_pairs == 0:
        return bits, kind
    left = scored["left"].to_numpy(dtype=np.int64)
    right = scored["right"].to_numpy(dtype=np.int64)
    levels = pd.Categorical(scored["name"])
    bare = (feat["street"] == 0) & (feat["postcode"] == 0) & (feat["line"] == 0)
    city = feat["city"]
    profile_pair = (
        _is(levels, *NAME_CITY_LEVELS) & _is(pd.Categorical(scored["address"]), "missing") & (bare[left] != bare[right])
    )
    elsewhere = profile_pair & _is(pd.Categorical(scored["city"]), "different")
    bits[elsewhere] = OTHER_CITY_BITS
    kind[elsewhere] = NAME_CITY_KINDS.index("other_city")
    eligible = profile_pair & _is(pd.Categorical(scored["city"]), "same") & (city[left] != 0)
    if not eligible.any():
        return bits, kind
    strong = scored["score"].to_numpy(dtype=float) >= config.link
    cluster = _components(len(city), left[strong], right[strong])
    key, parts = feat["k_name_key"], feat["k_name_key_parts"]
    has_key = key >= 0
    named = pd.DataFrame({"k": key[has_key], "c": city[has_key], "g": cluster[has_key]})
    by_name = named[["k", "g"]].drop_duplicates()
    by_city = named[named["c"] != 0].drop_duplicates()
    per_name = by_name.groupby("k").size()
    in_city = by_city.groupby(["k", "c"]).size()
    n_people = max(int(by_name["g"].nunique()), 1)
    part_people = pd.DataFrame(
        {"p": np.concatenate([parts[0][has_key], parts[1][has_key]]), "g": np.tile(cluster[has_key], 2)}
    ).drop_duplicates()
    per_part = part_people.groupby("p").size()
    with_city = pd.DataFrame({"c": city[city != 0], "g": cluster[city != 0]}).drop_duplicates()
    city_share = with_city.groupby("c").size() / max(len(with_city), 1)
    name_members = pd.MultiIndex.from_frame(by_name)
    city_members = pd.MultiIndex.from_frame(by_city)

    rows = np.flatnonzero(eligible)
    profile = np.where(bare[left[rows]], left[rows], right[rows])
    full = np.where(bare[left[rows]], right[rows], left[rows])
    c, g_p, g_r = city[full], cluster[profile], cluster[full]
    apart = (g_p != g_r).astype(float)
    n_city = np.ones(len(rows))
    n_all = np.ones(len(rows))
    by_parts = np.zeros(len(rows))
    for side in (profile, full):
        k = key[side]
        ok = k >= 0

        def held(members: pd.MultiIndex, *columns: np.ndarray) -> np.ndarray:
            return np.asarray(pd.MultiIndex.from_arrays(list(columns)).isin(members), dtype=float)

        # People with the key, P's cluster left out and R's counted (the names agree: R is one of them).
        city_count = in_city.reindex(pd.MultiIndex.from_arrays([k, c])).fillna(0).to_numpy(dtype=float)
        city_count = city_count - held(city_members, k, c, g_p) * apart + (1 - held(city_members, k, c, g_r))
        all_count = per_name.reindex(k).fillna(0).to_numpy(dtype=float)
        all_count = all_count - held(name_members, k, g_p) * apart + (1 - held(name_members, k, g_r))
        first = per_part.reindex(parts[0][side]).fillna(0).to_numpy(dtype=float)
        last = per_part.reindex(parts[1][side]).fillna(0).to_numpy(dtype=float)
        n_city = np.where(ok, np.maximum(n_city, city_count), n_city)
        n_all = np.where(ok, np.maximum(n_all, all_count), n_all)
        by_parts = np.where(ok, np.maximum(by_parts, first * last / n_people), by_parts)
    known = key[full] >= 0
    expected = (n_city - 1.0) + np.maximum(n_all, by_parts) * city_share.reindex(c).to_numpy(dtype=float)
    weights = config.model.weights() if config.model is not None else config.weights
    exact = weights["name"].get("exact", 9.0)
    level = np.asarray(levels[rows], dtype=object)
    level_weight = np.asarray([weights["name"].get(v, 0.0) for v in level.tolist()], dtype=float)
    typo = np.where(level == "close", exact - weights["name"].get("close", exact), 0.0)
    value = config.link - level_weight + np.log2(NAME_CITY_LINK_EXPECTED / np.maximum(expected, 1e-9)) - typo
    floor = config.review + _NAME_CITY_FLOOR_ABOVE_REVIEW - level_weight
    rows, value, floor, n_city = rows[known], value[known], floor[known], n_city[known]
    bits[rows] = np.round(np.clip(value, floor, TF_NAME_CITY_MAX), 1)
    kind[rows] = np.where(n_city == 1.0, NAME_CITY_KINDS.index("unique"), NAME_CITY_KINDS.index("shared"))
    return bits, kind


#: The most a name + city agreement adds (a very rare name in a small town is still one fact).
TF_NAME_CITY_MAX = 8.0


def _add_evidence(scored: pd.DataFrame, bits: np.ndarray, kind: np.ndarray) -> pd.DataFrame:
    """Add ``bits`` (NaN: none) to the pairs' scores and ``name_city=<kind>(+x)`` to their explanations."""
    has = ~np.isnan(bits)
    if not has.any():
        return scored
    out = scored.copy()
    out["score"] = np.where(has, np.round(out["score"].to_numpy(dtype=float) + np.nan_to_num(bits), 3), out["score"])
    explanation = pd.Categorical(out["explanation"])
    codes = explanation.codes.astype(np.int64)
    categories = [str(c) for c in explanation.categories]
    tenths = np.round(bits[has] * 10).astype(np.int64)
    n_kinds = len(NAME_CITY_KINDS)
    key = (codes[has] * n_kinds + kind[has]) * 100_000 + tenths + 50_000
    new_codes, new_keys = pd.factorize(key)
    labels = []
    for k in np.asarray(new_keys).tolist():
        base, rest = divmod(int(k), 100_000)
        code, which = divmod(base, n_kinds)
        labels.append(f"{categories[code]} name_city={NAME_CITY_KINDS[which]}({(rest - 50_000) / 10:+g})")
    codes[has] = len(categories) + new_codes
    out["explanation"] = pd.Categorical.from_codes(codes, categories=categories + labels)
    return out


def score_pairs(records: pd.DataFrame, config: FuzzyConfig) -> tuple[pd.DataFrame, BlockingReport]:
    """Block, compare and score ``records`` (the normalized frame); returns :data:`PAIR_COLUMNS`.

    With ``name_frequency`` on, a same-city name on a profile is weighed by how many people share it
    (:func:`name_city_bits`) once the other evidence has been scored.
    """
    feat = features(records)
    left, right, report = candidate_pairs(feat, config)
    levels = compare(feat, left, right)
    tf = tf_adjustment(feat, levels, config.model) if config.model is not None else None
    scored = score(levels, config, tf)
    if config.name_frequency:
        scored = _add_evidence(scored, *name_city_bits(feat, scored, config))
    return scored, report
