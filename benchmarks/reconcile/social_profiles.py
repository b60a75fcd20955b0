"""How far social profiles link: the generator's social records reduced to what a profile shows.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reconcile/social_profiles.py [--scale 10k] [--noise hard easy]
        [--no-name-frequency] [--bio-share 0.2] [--extra-keys soundex_name first_name_city last_name_city]

The generator's ``social`` records carry e-mail, phone and a full address like a CRM record; a
Hootsuite or Sprout profile shows a display name, a handle, a free-text location and a bio. Here every
social record becomes such a profile (:func:`as_profiles`): ``display_name`` (the record's name as one
text, in the script it was generated in), its handle, ``location`` (the record's city) and, for a share
of them (``--bio-share``, default 0.2, drawn with a fixed seed), a ``bio`` holding the person's e-mail
address as the record had it; e-mail, phone, address and the split name fields are removed.

The rules are ``benchmarks/reconcile/rules.yaml`` plus, unless ``--no-name-frequency``, the name + city
frequency evidence (``name_frequency: true`` with the ``name_skeleton`` blocking key). Printed per noise
level: for the true person pairs between a profile and a CRM record, the share linked, waiting in the
review queue and lost; of the profiles with a true pair in the queue, the share whose best-scored pairs
are all true (the queue is ranked by score: what a steward sees first); the precision of the profile ↔
CRM links; and pairwise precision/recall/F1 over all records.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import random
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def as_profiles(data: pd.DataFrame, bio_share: float = 0.2, seed: int = 15) -> pd.DataFrame:
    """Social records as a profile shows them: display name, handle, location and sometimes a bio."""
    out = data.copy()
    social = (out["source"] == "social").to_numpy()
    parts = out[["first_name", "name_prefix", "last_name"]].astype(object)
    shown = [
        " ".join(str(v) for v in row if v is not None and not pd.isna(v)) or None for row in parts.itertuples(False)
    ]
    rng = random.Random(seed)
    email = out["email"].astype(object)
    bios = [
        f"Koffie, fietsen en data. Mail: {email.iat[i]}"
        if social[i] and not pd.isna(email.iat[i]) and rng.random() < bio_share
        else None
        for i in range(len(out))
    ]
    out["display_name"] = [s if social[i] else None for i, s in enumerate(shown)]
    out["location"] = out["city"].where(social, None)
    out["bio"] = bios
    for column in ("first_name", "name_prefix", "last_name", "email", "phone", "address_line", "postcode", "city",
                   "country"):  # fmt: skip
        out.loc[social, column] = None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="10k")
    parser.add_argument("--noise", nargs="+", default=["hard", "easy"])
    parser.add_argument("--extra-keys", nargs="*", default=[], help="blocking keys added to the default set")
    parser.add_argument("--no-name-frequency", action="store_true", help="without the name + city evidence")
    parser.add_argument("--bio-share", type=float, default=0.2, help="share of profiles whose bio holds an e-mail")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    logging.disable(logging.WARNING)
    from bench import RULES, dataset, pair_metrics

    from crmhub.model import CONTACT_COLUMNS, PROFILE_COLUMNS
    from crmhub.reconcile import load_rules, reconcile
    from crmhub.reconcile.fuzzy import DEFAULT_BLOCKING

    rules = load_rules(RULES)
    keys = (*(rules.matching.fuzzy.blocking or DEFAULT_BLOCKING), *args.extra_keys)
    fuzzy = dataclasses.replace(rules.matching.fuzzy, blocking=keys)
    if not args.no_name_frequency:
        fuzzy = dataclasses.replace(fuzzy, blocking=(*keys, "name_skeleton"), name_frequency=True)
    rules = dataclasses.replace(rules, matching=dataclasses.replace(rules.matching, fuzzy=fuzzy))
    for noise in args.noise:
        data = as_profiles(pd.read_parquet(dataset(args.scale, noise, 7)), args.bio_share)
        columns = [c for c in (*CONTACT_COLUMNS, *PROFILE_COLUMNS) if c in data.columns]
        result = reconcile(data[columns], rules)
        joined = data[["source", "source_id", "person_id"]].merge(
            result.xref[["source", "source_id", "golden_id"]], on=["source", "source_id"]
        )
        metrics = pair_metrics(joined["golden_id"].to_numpy(), joined["person_id"].to_numpy())
        social, crm = joined[joined["source"] == "social"], joined[joined["source"] != "social"]
        true_pairs = social.merge(crm, on="person_id", suffixes=("_s", "_c"))
        linked = true_pairs["golden_id_s"] == true_pairs["golden_id_c"]
        linked_pairs = social.merge(crm, on="golden_id", suffixes=("_s", "_c"))
        link_precision = (linked_pairs["person_id_s"] == linked_pairs["person_id_c"]).mean()
        queue = result.review
        queued_keys = set(zip(queue["left_source_id"], queue["right_source_id"], strict=True))
        queued_keys |= {(b, a) for a, b in queued_keys}
        in_queue = pd.Series(
            [(s, c) in queued_keys for s, c in zip(true_pairs["source_id_s"], true_pairs["source_id_c"], strict=True)],
            index=true_pairs.index,
        )
        # Ranked by score: for a profile with a true pair in the queue, are its best-scored pairs all true?
        queued = pd.concat(
            [
                queue[["left_source_id", "right_source_id", "score"]].set_axis(["profile", "other", "score"], axis=1),
                queue[["right_source_id", "left_source_id", "score"]].set_axis(["profile", "other", "score"], axis=1),
            ]
        )
        queued = queued[queued["profile"].isin(set(social["source_id"]))]
        person = dict(zip(joined["source_id"], joined["person_id"], strict=True))
        truth = [person[a] == person[b] for a, b in zip(queued["profile"], queued["other"], strict=True)]
        queued = queued.assign(true=truth)
        at_best = queued[queued["score"] == queued.groupby("profile")["score"].transform("max")]
        with_true = queued.groupby("profile")["true"].any()
        best_right = at_best.groupby("profile")["true"].all()[with_true[with_true].index]
        total = max(len(true_pairs), 1)
        print(
            f"{args.scale} {noise}: profile-CRM true pairs {len(true_pairs)}: linked {linked.sum() / total:.3f}, "
            f"in review queue {(in_queue & ~linked).sum() / total:.3f}, lost {(~in_queue & ~linked).sum() / total:.3f}"
            f" | best-ranked right {best_right.mean() if len(best_right) else 0:.3f} of {len(best_right)} profiles"
            f" | profile-CRM links {len(linked_pairs)} P {link_precision:.4f}"
            f" | all records P {metrics['precision']:.4f} R {metrics['recall']:.4f} F1 {metrics['f1']:.4f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
