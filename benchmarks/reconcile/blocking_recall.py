"""Recall of candidate generation alone, per blocking key, on FEBRL 1–4 (or a generated data set).

Usage (from the repository root)::

    .venv/bin/python benchmarks/reconcile/blocking_recall.py [--datasets 1 2 3 4] [--keys ...]
    .venv/bin/python benchmarks/reconcile/blocking_recall.py --generated 10k hard

Blocking decides which pairs the scorer ever sees, so its recall bounds the engine's: a true pair that
shares no blocking key cannot link (except through a chain of other links). Printed per data set: true
pairs, for each key the true pairs it finds alone and the candidate pairs it costs, then the union of
the chosen keys (``--keys``, default the FEBRL rules' set): recall and candidate pairs per record.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def true_pair_codes(person: np.ndarray) -> np.ndarray:
    """Codes ``left * n + right`` of every pair of records with the same person id."""
    n = len(person)
    codes, _ = pd.factorize(person)
    order = np.argsort(codes, kind="stable")
    out = []
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    ends = np.r_[starts[1:], n]
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if e - s < 2:
            continue
        members = np.sort(order[s:e])
        i, j = np.triu_indices(e - s, k=1)
        out.append(members[i].astype(np.int64) * n + members[j])
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def measure(data: pd.DataFrame, rules_file: Path, keys: list[str] | None) -> None:
    from crmhub.reconcile import load_rules
    from crmhub.reconcile.blocking import extra_keys, pairs_multi
    from crmhub.reconcile.fuzzy import BLOCKING_KEYS, BlockingReport, candidate_pairs, features
    from crmhub.reconcile.normalize import normalize_contacts
    from crmhub.reconcile.pipeline import _check_contacts

    rules = load_rules(rules_file)
    contacts = _check_contacts(data.drop(columns=["person_id"]))
    records = normalize_contacts(contacts, phone_regions=rules.phone_regions, source_countries=rules.countries)
    feat = features(records)
    n = len(records)
    truth = true_pair_codes(data["person_id"].to_numpy())
    print(f"records {n}, true pairs {len(truth)}")
    config = rules.matching.fuzzy
    feat.update(extra_keys(feat))
    for key in BLOCKING_KEYS:
        values = feat[BLOCKING_KEYS[key]]
        rows = values if values.ndim == 2 else values[None, :]
        found = np.unique(pairs_multi(rows, config.max_block_size, BlockingReport()))
        if not len(found):
            continue
        hit = np.isin(truth, found).sum()
        print(f"  {key:>28}: recall {hit / max(len(truth), 1):.4f}  pairs/record {len(found) / n:6.2f}")
    if keys:
        config = dataclasses.replace(config, blocking=tuple(keys))
    left, right, report = candidate_pairs(feat, config)
    union = left * n + right
    found = np.isin(truth, union)
    hit = found.sum()
    reach = reachable(truth[found], truth, n)
    print(
        f"  {'union':>28}: recall {hit / max(len(truth), 1):.4f}  reachable {reach:.4f}  "
        f"pairs/record {len(union) / n:6.2f}  missed {len(truth) - hit}  skipped blocks {report.blocks_skipped}"
    )


def reachable(found: np.ndarray, truth: np.ndarray, n: int) -> float:
    """Pair recall if the scorer linked every true candidate pair and clustering closed them transitively."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(found)), (found // n, found % n)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return float(np.mean(labels[truth // n] == labels[truth % n])) if len(truth) else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["1", "2", "3", "4"])
    parser.add_argument("--generated", nargs=2, metavar=("SCALE", "NOISE"))
    parser.add_argument("--keys", nargs="+")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    import logging

    logging.disable(logging.WARNING)
    if args.generated:
        from bench import RULES, dataset

        data = pd.read_parquet(dataset(args.generated[0], args.generated[1], 7))
        print(f"generated {args.generated[0]} {args.generated[1]}: ", end="")
        measure(data, RULES, args.keys)
        return 0
    from febrl import RULES as FEBRL_RULES
    from febrl import load

    for name in args.datasets:
        print(f"FEBRL{name}: ", end="")
        measure(load(name), FEBRL_RULES, args.keys)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
