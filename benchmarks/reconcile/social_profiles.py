"""How far social profiles link today: the generator's social records reduced to what a profile shows.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reconcile/social_profiles.py [--scale 10k] [--noise hard easy]

The generator's ``social`` records carry e-mail, phone and a full address like a CRM record; a
Hootsuite or Sprout profile shows a display name, a handle and a free-text location. Here every social
record keeps only its name, handle and city (as the location); e-mail, phone and address are removed.
Printed per noise level, for the true person pairs between a social record and a CRM record: the
share linked, the share waiting in the review queue (a steward would see them), and the share lost;
plus pairwise precision/recall/F1 over all records (rules-file weights, ``benchmarks/reconcile/rules.yaml``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def as_profiles(data: pd.DataFrame) -> pd.DataFrame:
    """Social records with only name, handle and location (city)."""
    out = data.copy()
    social = out["source"] == "social"
    for column in ("email", "phone", "address_line", "postcode", "country"):
        out.loc[social, column] = None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="10k")
    parser.add_argument("--noise", nargs="+", default=["hard", "easy"])
    parser.add_argument("--extra-keys", nargs="*", default=[], help="blocking keys added to the default set")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    logging.disable(logging.WARNING)
    from bench import RULES, dataset, pair_metrics

    from crmhub.model import CONTACT_COLUMNS
    from crmhub.reconcile import load_rules, reconcile

    rules = load_rules(RULES)
    if args.extra_keys:
        from crmhub.reconcile.fuzzy import DEFAULT_BLOCKING

        keys = (*(rules.matching.fuzzy.blocking or DEFAULT_BLOCKING), *args.extra_keys)
        fuzzy = dataclasses.replace(rules.matching.fuzzy, blocking=keys)
        rules = dataclasses.replace(rules, matching=dataclasses.replace(rules.matching, fuzzy=fuzzy))
    for noise in args.noise:
        data = as_profiles(pd.read_parquet(dataset(args.scale, noise, 7)))
        result = reconcile(data[[c for c in CONTACT_COLUMNS if c in data.columns]], rules)
        joined = data[["source", "source_id", "person_id"]].merge(
            result.xref[["source", "source_id", "golden_id"]], on=["source", "source_id"]
        )
        metrics = pair_metrics(joined["golden_id"].to_numpy(), joined["person_id"].to_numpy())
        social, crm = joined[joined["source"] == "social"], joined[joined["source"] != "social"]
        true_pairs = social.merge(crm, on="person_id", suffixes=("_s", "_c"))
        linked = true_pairs["golden_id_s"] == true_pairs["golden_id_c"]
        queue = result.review
        queued_keys = set(zip(queue["left_source_id"], queue["right_source_id"], strict=True))
        queued_keys |= {(b, a) for a, b in queued_keys}
        in_queue = pd.Series(
            [(s, c) in queued_keys for s, c in zip(true_pairs["source_id_s"], true_pairs["source_id_c"], strict=True)],
            index=true_pairs.index,
        )
        total = max(len(true_pairs), 1)
        print(
            f"{args.scale} {noise}: social-CRM true pairs {len(true_pairs)}: linked {linked.sum() / total:.3f}, "
            f"in review queue {(in_queue & ~linked).sum() / total:.3f}, lost {(~in_queue & ~linked).sum() / total:.3f}"
            f" | all records P {metrics['precision']:.4f} R {metrics['recall']:.4f} F1 {metrics['f1']:.4f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
