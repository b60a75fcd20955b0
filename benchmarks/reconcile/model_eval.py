"""Train a match model on one generated data set and compare it with the rules-file weights on others.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reconcile/model_eval.py [--address combined|fields] [--household] \\
        [--decisions 20000] [--eval 10k:hard 10k:easy 100k:hard 100k:easy] [--out /tmp/model.json]

Training set: the generator at ``--train-scale``/``--train-noise``/``--train-seed`` (default 100k hard,
seed 11); evaluation sets: the benchmark's (seed 7), so the labels the figures are measured on are never
seen by training. ``--decisions N`` labels N candidate pairs of the *training* set, drawn at random, as
steward decisions (link if the generator says one person, else split) — what stewards working a random
sample would give ``train``. Printed per evaluation set: pairwise precision, recall, F1 of the rules-file
weights and of the model (``benchmarks/reconcile/rules.yaml`` either way).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def contact_columns(data: pd.DataFrame) -> pd.DataFrame:
    from crmhub.model import CONTACT_COLUMNS

    return data[[c for c in CONTACT_COLUMNS if c in data.columns]]


def sample_decisions(data: pd.DataFrame, rules: object, n: int, seed: int = 3) -> pd.DataFrame:
    """``n`` random candidate pairs of ``data`` labelled from its ``person_id`` (decision CSV columns)."""
    from crmhub.reconcile.fuzzy import candidate_pairs, features
    from crmhub.reconcile.normalize import normalize_contacts
    from crmhub.reconcile.pipeline import _check_contacts

    frame = _check_contacts(contact_columns(data)).drop_duplicates(["source", "source_id"], keep="last")
    person = data.loc[frame.index, "person_id"].to_numpy()
    frame = frame.reset_index(drop=True)
    records = normalize_contacts(frame, phone_regions=rules.phone_regions, source_countries=rules.countries)
    left, right, _ = candidate_pairs(features(records), rules.matching.fuzzy)
    pick = np.random.default_rng(seed).choice(len(left), size=min(n, len(left)), replace=False)
    left, right = left[pick], right[pick]
    return pd.DataFrame(
        {
            "left_source": frame["source"].to_numpy()[left],
            "left_source_id": frame["source_id"].to_numpy()[left],
            "right_source": frame["source"].to_numpy()[right],
            "right_source_id": frame["source_id"].to_numpy()[right],
            "decision": np.where(person[left] == person[right], "link", "split"),
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-scale", default="100k")
    parser.add_argument("--train-noise", default="hard")
    parser.add_argument("--train-seed", type=int, default=11)
    parser.add_argument("--address", choices=["combined", "fields"], default="combined")
    parser.add_argument("--household", action="store_true")
    parser.add_argument("--decisions", type=int, default=0, help="label this many training candidate pairs")
    parser.add_argument("--eval", nargs="+", default=["10k:hard", "10k:easy"])
    parser.add_argument("--eval-seed", type=int, default=7, help="7: the benchmark's sets; 11 with 10k: dev")
    parser.add_argument("--link", type=float, help="override the model's link threshold (one chosen on dev data)")
    parser.add_argument("--out", help="also write the trained model here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    logging.disable(logging.WARNING)
    from bench import RULES, dataset, pair_metrics

    from crmhub.reconcile import load_rules, reconcile
    from crmhub.reconcile.train import train, with_model

    rules = load_rules(RULES)
    training = pd.read_parquet(dataset(args.train_scale, args.train_noise, args.train_seed))
    decisions = sample_decisions(training, rules, args.decisions) if args.decisions else None
    started = time.perf_counter()
    model = train(
        contact_columns(training),
        rules,
        decisions=decisions,
        address=args.address,
        household=args.household,
        trained_on=f"generator {args.train_scale} {args.train_noise} seed {args.train_seed}",
    )
    if args.link is not None:
        model = dataclasses.replace(model, link=args.link)
    print(
        f"trained in {time.perf_counter() - started:.0f} s: link {model.link} review {model.review} "
        f"(threshold from {model.trained.get('link_threshold_from')})"
    )
    if args.out:
        model.save(args.out)
    for spec in args.eval:
        scale, noise = spec.split(":")
        data = pd.read_parquet(dataset(scale, noise, args.eval_seed))
        for name, used in (("rules", rules), ("model", with_model(rules, model))):
            result = reconcile(contact_columns(data), used)
            joined = data[["source", "source_id", "person_id"]].merge(
                result.xref[["source", "source_id", "golden_id"]], on=["source", "source_id"], how="left"
            )
            m = pair_metrics(joined["golden_id"].to_numpy(), joined["person_id"].to_numpy())
            print(f"{scale:>5} {noise:>4} {name:>5} P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
