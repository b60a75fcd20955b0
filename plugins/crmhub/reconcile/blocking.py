"""Typo-tolerant blocking keys: phonetic names, initials with a postcode, a street's stem with the town.

The exact keys of :mod:`crmhub.reconcile.fuzzy` (same name, same postcode + number, ...) miss a pair
whose every shared field has a typo: ``Lazavroff``/``Lazaroff`` at ``7256``/``7257`` with
``Leahy lose``/``Leahy close``. On FEBRL3 that is ~8% of the true pairs. The keys here survive one
typo in the field they summarise:

* ``soundex_name``: Soundex of one name word with the initial of the other (either order, so swapped
  first/last names share it) — a surname typo keeps its sound, a first-name typo its initial;
* ``postcode_initial``: postcode + the initial of either name word (both names may carry typos);
* ``street_stem_city``, ``street_stem_postcode``: the first four letters of the street + city, or +
  postcode (the street's tail and one of the place fields may be wrong);
* ``name_number``: either name word + house number (a moved-in-the-data postcode and street typo).

Each record holds two values of a key (one per name word); two records are candidates when any value
is shared. Blocks larger than ``max_block_size`` are skipped like every other block, so cost stays
bounded; the keys are not in the default set (CRM data with e-mail and phone does not need them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_SOUNDEX = str.maketrans(
    "bfpvcgjkqsxzdtlmnr",
    "111122222222334556",
)


def soundex(value: str) -> str:
    """American Soundex of a folded name ("smith" and "smyth" → ``s530``); "" for no letters."""
    letters = [ch for ch in value if "a" <= ch <= "z"]
    if not letters:
        return ""
    out, last = [letters[0]], letters[0].translate(_SOUNDEX)
    for ch in letters[1:]:
        code = ch.translate(_SOUNDEX)
        if code.isdigit() and code != last:
            out.append(code)
        if ch not in "hw":
            last = code
        if len(out) == 4:
            break
    return "".join(out).ljust(4, "0")


def _codes(values: list[str]) -> np.ndarray:
    """Integer codes; "" is -1 (no key)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object))
    empty = np.flatnonzero(np.asarray(uniques, dtype=object) == "")
    out = codes.astype(np.int64)
    if len(empty):
        out[out == empty[0]] = -1
    return out


def _pair_key(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One code per (a, b) where both are present (>= 0), else -1."""
    present = (a >= 0) & (b >= 0)
    width = int(b.max(initial=0)) + 1
    return np.where(present, a * width + b, -1)


def extra_keys(feat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per record, the typo-tolerant keys as ``(k, n)`` arrays (one row per name word; -1 = no key)."""
    names = feat["v_names"]
    first, last = feat["first"], feat["last"]
    sx_vocab = np.asarray([soundex(v) for v in names.tolist()], dtype=object)
    initial_vocab = np.asarray([v[:1] for v in names.tolist()], dtype=object)
    sx = _codes(sx_vocab.tolist())  # per vocabulary entry
    ini = _codes(initial_vocab.tolist())
    sx_first, sx_last = sx[first], sx[last]
    ini_first, ini_last = ini[first], ini[last]
    # Same code space for both orders: soundex × initial.
    n_ini = int(ini.max(initial=0)) + 1
    soundex_name = np.stack(
        [
            np.where((sx_last >= 0) & (ini_first >= 0), sx_last * n_ini + ini_first, -1),
            np.where((sx_first >= 0) & (ini_last >= 0), sx_first * n_ini + ini_last, -1),
        ]
    )
    postcode = np.where(feat["postcode"] != 0, feat["postcode"], -1)
    postcode_initial = np.stack([_pair_key(postcode, ini_first), _pair_key(postcode, ini_last)])
    streets = feat["v_streets"]
    stem = _codes([v[:4] if len(v) >= 4 else "" for v in streets.tolist()])[feat["street"]]
    city = np.where(feat["city"] != 0, feat["city"], -1)
    street_stem_city = _pair_key(stem, city)[None, :]
    street_stem_postcode = _pair_key(stem, postcode)[None, :]
    number = np.where(feat["number"] != 0, feat["number"], -1)
    name_first = np.where(first != 0, first, -1)
    name_last = np.where(last != 0, last, -1)
    name_number = np.stack([_pair_key(name_first, number), _pair_key(name_last, number)])
    return {
        "m_soundex_name": soundex_name,
        "m_postcode_initial": postcode_initial,
        "m_street_stem_city": street_stem_city,
        "m_street_stem_postcode": street_stem_postcode,
        "m_name_number": name_number,
    }


def pairs_multi(keys: np.ndarray, max_block: int, report: object) -> np.ndarray:
    """Pairs ``left < right`` (codes ``left * n + right``) of records sharing any value of a ``(k, n)`` key.

    A record is counted once per block even when two of its values fall into it.
    """
    from crmhub.reconcile.fuzzy import _pairs_within  # the single-valued blocker, reused per row

    k, n = keys.shape
    if k == 1:
        return _pairs_within(keys[0], max_block, report)
    # Records as (block, position) rows; a block is all rows with one key value.
    flat = keys.ravel()
    pos = np.tile(np.arange(n, dtype=np.int64), k)
    present = flat >= 0
    frame = pd.DataFrame({"key": flat[present], "pos": pos[present]}).drop_duplicates()
    if frame.empty:
        return np.empty(0, dtype=np.int64)
    # _pairs_within wants one key per entry: entries are (key, pos) rows, positions mapped back after.
    entry_keys = frame["key"].to_numpy()
    entry_pos = frame["pos"].to_numpy()
    codes = _pairs_within(entry_keys, max_block, report)
    m = len(entry_keys)
    a, b = entry_pos[codes // max(m, 1)], entry_pos[codes % max(m, 1)]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    return lo[keep] * n + hi[keep]
