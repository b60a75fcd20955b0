"""Train the match model from data, explicitly, and show what a new model would change.

``u`` (how often a level occurs between two random records) is counted on random record pairs; ``m``
(how often it occurs between two records of one person) is estimated by expectation maximisation on
the blocked candidate pairs with ``u`` held fixed (Fellegi–Sunter, as Splink estimates it), plus every
steward ``link`` decision as a labelled match. Term-frequency tables count names, streets, postcodes and
cities. The link threshold is the lowest score at which the expected precision of the pairs scoring at
least that much reaches the target (default 0.99); the review threshold is where a pair's match
probability falls below 2%.

Retraining never happens inside a run. From the command line::

    python -m crmhub.reconcile.train --contacts export.csv --rules include/config/precedence.yaml \\
        [--decisions decisions.csv] [--previous-xref xref.csv] [--target-precision 0.99] \\
        [--out include/models/match_model.json] [--diff-out model_diff.csv] [--write]

prints the weights and thresholds that would change and reconciles the same input with the current
and the new model: every source record that would move to another golden id is listed (counts in the
terminal, rows in ``--diff-out``). Only ``--write`` replaces the model file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmhub.reconcile.fuzzy import PLACE_LEVELS, compare, conflict_name_levels, features, tf_adjustment
from crmhub.reconcile.match import DEFAULT_WEIGHTS, FuzzyConfig, sorted_unique
from crmhub.reconcile.match_model import MatchModel, load_model
from crmhub.reconcile.normalize import normalize_contacts
from crmhub.reconcile.rules import PrecedenceRules

_NAME_LEVELS = ("exact", "close", "initial", "similar_first", "partial", "same_first", "same_last", "different")
_KEY_LEVELS: dict[str, tuple[str, ...]] = {
    "email": ("same", "different"),
    "phone": ("same", "different"),
    "social": ("same", "different"),
    "handle_name": ("full", "initial", "none"),
}
#: The model's comparisons and their levels (best first; ``missing`` never carries weight). The address
#: is one comparison (``place``: :data:`crmhub.reconcile.fuzzy.PLACE_LEVELS`) so that one physical
#: address is counted once; :data:`FIELD_LEVELS` is the earlier per-field form (``--address fields``).
MODEL_LEVELS: dict[str, tuple[str, ...]] = {"name": _NAME_LEVELS, "place": PLACE_LEVELS, **_KEY_LEVELS}
#: Street, number, postcode and city as four independent comparisons: their weights add up for one address.
FIELD_LEVELS: dict[str, tuple[str, ...]] = {
    "name": _NAME_LEVELS,
    "street": ("exact", "close", "similar", "different"),
    "number": ("same", "same_number", "different"),
    "postcode": ("same", "close", "different"),
    "city": ("same", "close", "different"),
    **_KEY_LEVELS,
}
ADDRESS_FORMS = {"combined": MODEL_LEVELS, "fields": FIELD_LEVELS}
_NO_MISSING = {"handle_name"}  # "none" is an observed level there, not a missing value
TF_FIELDS = {"first": ("v_names", "first"), "last": ("v_names", "last"), "street": ("v_streets", "street"),
             "postcode": ("v_postcodes", "postcode"), "city": ("v_cities", "city")}  # fmt: skip


def _pattern_counts(
    levels: pd.DataFrame, model_levels: dict[str, tuple[str, ...]], weight: np.ndarray | None = None
) -> pd.DataFrame:
    cols = list(model_levels)
    frame = levels[cols].astype(str)
    frame["n"] = 1.0 if weight is None else weight
    return frame.groupby(cols, observed=True, sort=False)["n"].sum().reset_index()


def _level_shares(
    patterns: pd.DataFrame, weight: np.ndarray, levels: tuple[str, ...], comparison: str
) -> dict[str, float]:
    """Share of each level among patterns (weighted), over non-missing levels, Laplace-smoothed."""
    counts = pd.Series(weight, index=patterns.index).groupby(patterns[comparison].to_numpy()).sum()
    present = np.asarray([counts.get(level, 0.0) for level in levels], dtype=float) + 0.5
    return dict(zip(levels, (present / present.sum()).tolist(), strict=True))


def _likelihood(patterns: pd.DataFrame, probs: dict[str, dict[str, float]]) -> np.ndarray:
    """log2 of the product of the patterns' level probabilities (missing levels count 1)."""
    total = np.zeros(len(patterns), dtype=float)
    for comparison, table in probs.items():
        logs = {level: math.log2(max(p, 1e-12)) for level, p in table.items()}
        total += patterns[comparison].map(logs).fillna(0.0).to_numpy(dtype=float)
    return total


def _tf_tables(feat: dict[str, Any], min_count: int) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    tables, floors = {}, {}
    for name, (vocab_key, code_key) in TF_FIELDS.items():
        codes = feat[code_key]
        codes = codes[codes != 0]
        present = max(len(codes), 1)
        counts = np.bincount(codes, minlength=len(feat[vocab_key]))
        keep = np.flatnonzero(counts >= min_count)
        vocab = feat[vocab_key]
        tables[name] = {str(vocab[i]): round(float(counts[i] / present), 8) for i in keep.tolist() if vocab[i] != ""}
        floors[name] = max(min_count - 1, 1) / 2 / present
    return tables, floors


#: Training sessions: (blocking keys, comparisons left out of that session's EM).
SESSIONS: tuple[tuple[tuple[str, ...], frozenset[str]], ...] = (
    (("b_sorted_name",), frozenset({"name"})),
    (("address", "b_pc_number", "b_street_number"), frozenset({"place", "street", "number", "postcode", "city"})),
)
#: Comparisons whose m comes from steward links only (else the rules' default weight).
_FIXED = frozenset({"handle_name"})


def _session_pairs(feat: dict[str, Any], keys: tuple[str, ...], max_block: int) -> tuple[np.ndarray, np.ndarray]:
    from crmhub.reconcile.fuzzy import BlockingReport, _pairs_within

    report = BlockingReport()
    parts = [_pairs_within(feat[k], max_block, report) for k in keys]
    codes = sorted_unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
    n = max(len(feat["first"]), 1)
    return codes // n, codes % n


def _em(
    patterns: pd.DataFrame,
    model_levels: dict[str, tuple[str, ...]],
    u: dict[str, dict[str, float]] | None,
    labelled: pd.DataFrame | None,
    max_iterations: int,
    fixed_m: dict[str, dict[str, float]] | None = None,
    fixed_u: dict[str, dict[str, float]] | None = None,
) -> tuple[dict[str, dict[str, float]], float, int]:
    """EM for m (and the match share) over pattern counts, u fixed; ``fixed_m``: estimate the share only."""
    u = fixed_u if fixed_u is not None else u
    assert u is not None
    comparisons = list(fixed_m) if fixed_m is not None else list(u)
    m = fixed_m or {c: {lv: 0.5 ** (i + 1) for i, lv in enumerate(model_levels[c])} for c in comparisons}
    m = {c: {lv: p / sum(t.values()) for lv, p in t.items()} for c, t in m.items()}
    share = 0.5
    counts = patterns["n"].to_numpy(dtype=float)
    u_log = _likelihood(patterns, {c: u[c] for c in comparisons})
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007
        log_ratio = _likelihood(patterns, m) - u_log + math.log2(share / (1 - share))
        posterior = 1 / (1 + np.exp2(-np.clip(log_ratio, -60, 60)))
        weight = posterior * counts
        new_share = min(max(float(weight.sum() / counts.sum()), 1e-6), 0.999)
        if fixed_m is None:
            new_m = {}
            for c in comparisons:
                if labelled is not None:
                    both = pd.concat([patterns.assign(w=weight), labelled.assign(w=labelled["n"])], ignore_index=True)
                    new_m[c] = _level_shares(both, both["w"].to_numpy(), model_levels[c], c)
                else:
                    new_m[c] = _level_shares(patterns, weight, model_levels[c], c)
            delta = max(abs(new_m[c][lv] - m[c][lv]) for c in m for lv in m[c])
            m = new_m
        else:
            delta = abs(new_share - share)
        share = new_share
        if delta < 1e-7:
            break
    return m, share, iterations


def train(
    contacts: pd.DataFrame,
    rules: PrecedenceRules,
    *,
    decisions: pd.DataFrame | None = None,
    target_precision: float = 0.99,
    random_pairs: int = 1_000_000,
    min_count: int = 10,
    max_iterations: int = 50,
    seed: int = 1,
    trained_on: str = "",
    address: str = "combined",
    household: bool = False,
) -> MatchModel:
    """Estimate a :class:`MatchModel` from ``contacts`` (canonical records) under ``rules``' blocking.

    ``address``: ``combined`` (one ``place`` comparison, the default) or ``fields`` (street, number,
    postcode and city separately; their weights add up for one address, kept for comparison).
    ``household``: add ``home_name`` (see :func:`_home_name`; combined form only). Off by default: the
    link threshold derived from the model's own probabilities falls with it (14.9 instead of 16.5 on the
    generator) and lets the households back in; with a threshold chosen on labelled data it helps.
    """
    model_levels = ADDRESS_FORMS[address]
    from crmhub.reconcile.pipeline import _check_contacts
    from crmhub.reconcile.review import check_decisions, decision_constraints

    frame = _check_contacts(contacts)
    frame = frame.drop_duplicates(["source", "source_id"], keep="last").reset_index(drop=True)
    records = normalize_contacts(frame, phone_regions=rules.phone_regions, source_countries=rules.countries)
    feat = features(records)
    n = len(records)
    config = dataclasses.replace(rules.matching.fuzzy, model=None)
    from crmhub.reconcile.fuzzy import candidate_pairs

    left, right, _ = candidate_pairs(feat, config)
    blocked = _pattern_counts(compare(feat, left, right), model_levels)

    rng = np.random.default_rng(seed)
    k = int(min(random_pairs, n * (n - 1) // 2))
    a, b = rng.integers(0, n, k), rng.integers(0, n, k)
    keep = a != b
    random = _pattern_counts(compare(feat, np.minimum(a, b)[keep], np.maximum(a, b)[keep]), model_levels)
    u = {c: _level_shares(random, random["n"].to_numpy(), model_levels[c], c) for c in model_levels}

    labelled = None
    decided = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, bool))
    steward = check_decisions(decisions)
    if not steward.empty:
        links, split_left, split_right, _ = decision_constraints(records, steward)
        decided = (
            np.concatenate([links["left"].to_numpy(dtype=np.int64), split_left]),
            np.concatenate([links["right"].to_numpy(dtype=np.int64), split_right]),
            np.r_[np.ones(len(links), bool), np.zeros(len(split_left), bool)],
        )
        if not links.empty:
            labelled = _pattern_counts(
                compare(feat, links["left"].to_numpy(dtype=np.int64), links["right"].to_numpy(dtype=np.int64)),
                model_levels,
            )

    # m by EM with u fixed, one session per blocking family: the comparisons a session blocks on are
    # left out of its likelihood (pairs chosen for agreeing on them say nothing about their m).
    max_block = config.max_block_size
    estimates: dict[str, list[dict[str, float]]] = {}
    iterations = 0
    for keys, excluded in SESSIONS:
        s_left, s_right = _session_pairs(feat, keys, max_block)
        if len(s_left) == 0:
            continue
        session = _pattern_counts(compare(feat, s_left, s_right), model_levels)
        estimated = [c for c in model_levels if c not in excluded and c not in _FIXED]
        m_session, _, its = _em(session, model_levels, {c: u[c] for c in estimated}, labelled, max_iterations)
        iterations += its
        for c in estimated:
            estimates.setdefault(c, []).append(m_session[c])
    m: dict[str, dict[str, float]] = {}
    for c, levels in model_levels.items():
        if c in _FIXED:  # not estimable without labels: the rules' default weight, as m = u * 2^weight
            base = {lv: u[c][lv] * 2 ** DEFAULT_WEIGHTS[c].get(lv, 0.0) for lv in levels}
            if labelled is not None:
                base = _level_shares(labelled, labelled["n"].to_numpy(), levels, c)
            total = sum(base.values())
            m[c] = {lv: p / total for lv, p in base.items()}
        elif c in estimates:
            m[c] = {lv: float(np.mean([e[lv] for e in estimates[c]])) for lv in levels}
        else:
            m[c] = dict(u[c])
    # The match share among all candidates, m and u now fixed: the prior.
    _, share, _ = _em(blocked, model_levels, None, None, max_iterations, fixed_m=m, fixed_u=u)
    prior = min(max(share * len(left) / max(n * (n - 1) / 2, 1), 1e-12), 0.5)

    comparisons: dict[str, dict[str, dict[str, float]]] = {}
    for c, levels in model_levels.items():
        comparisons[c] = {lv: {"m": round(m[c][lv], 8), "u": round(u[c][lv], 10)} for lv in levels}
        if c not in _NO_MISSING:
            comparisons[c]["missing"] = {"m": 1.0, "u": 1.0}
    if household and "place" in model_levels:
        comparisons["home_name"] = _home_name(feat, m, u, max_block, max_iterations)
    tf, floors = _tf_tables(feat, min_count)
    model = MatchModel(comparisons=comparisons, prior=prior, tf=tf, tf_floor=floors, target_precision=target_precision)

    # Thresholds from the blocked pairs' scores under the model (with term frequencies).
    link, review = _thresholds(_scores(feat, left, right, model), model.prior_bits, target_precision)
    threshold_from = "model"
    d_left, d_right, is_link = decided
    if is_link.sum() >= MIN_DECISIONS and (~is_link).sum() >= MIN_DECISIONS:
        # Pairs the household guard refuses never link, whatever their score: left out of the count.
        guarded = compare(feat, d_left, d_right)["name"].isin(conflict_name_levels(config)).to_numpy()
        labelled_link = _labelled_threshold(
            _scores(feat, d_left, d_right, model)[~guarded], is_link[~guarded], target_precision
        )
        if labelled_link is not None:
            link, threshold_from = labelled_link, "steward_decisions"
            review = min(review, link)
    trained = {
        "on": trained_on,
        "records": n,
        "candidate_pairs": len(left),
        "random_pairs": int(keep.sum()),
        "steward_links": 0 if labelled is None else int(labelled["n"].sum()),
        "em_iterations": iterations,
        "match_share_of_candidates": round(share, 6),
        "min_count": min_count,
        "address": address,
        "household": bool(household and "place" in model_levels),
        "link_threshold_from": threshold_from,
    }
    return dataclasses.replace(model, link=link, review=review, trained=trained)


def _home_name(
    feat: dict[str, Any],
    m: dict[str, dict[str, float]],
    u: dict[str, dict[str, float]],
    max_block: int,
    max_iterations: int,
) -> dict[str, dict[str, float]]:
    """The name's ``u`` where the address is the same, as a correction on top of the name's weight.

    Fellegi–Sunter assumes the name and the address agree independently among non-matches; households
    break that: two people at one address share a family name and often related first names far more
    than two random records. On the same-address pairs, EM with every ``m`` and the e-mail/phone/social
    ``u`` fixed estimates the one free table, the name's level shares among non-matches there
    (``u_home``). The level's extra weight is ``log2(u / u_home)`` (stored as m = u, u = u_home), so a
    same-address pair's name counts ``log2(m / u_home)`` in total.
    """
    s_left, s_right = _session_pairs(feat, ("address",), max_block)
    cols = ["name", "email", "phone", "social"]
    levels = compare(feat, s_left, s_right)
    levels = levels[(levels["place"].astype(str) == "same").to_numpy()]
    patterns = levels[cols].astype(str).assign(n=1.0).groupby(cols, sort=False)["n"].sum().reset_index()
    counts = patterns["n"].to_numpy(dtype=float)
    others = {c: u[c] for c in cols[1:]}
    m_log = _likelihood(patterns, {c: m[c] for c in cols})
    u_other_log = _likelihood(patterns, others)
    name_levels = [lv for lv in u["name"] if lv != "missing"]
    u_home = dict(u["name"])
    share = 0.5
    for _ in range(max_iterations):
        u_log = u_other_log + _likelihood(patterns, {"name": u_home})
        ratio = m_log - u_log + math.log2(share / (1 - share))
        posterior = 1 / (1 + np.exp2(-np.clip(ratio, -60, 60)))
        share = min(max(float((posterior * counts).sum() / counts.sum()), 1e-6), 0.999)
        new = _level_shares(patterns, (1 - posterior) * counts, tuple(name_levels), "name")
        delta = max(abs(new[lv] - u_home[lv]) for lv in name_levels)
        u_home = new
        if delta < 1e-7:
            break
    table = {lv: {"m": round(u["name"][lv], 10), "u": round(u_home[lv], 10)} for lv in name_levels}
    table["missing"] = {"m": 1.0, "u": 1.0}
    return table


def _is_level(levels: pd.Series, name: str) -> np.ndarray:
    return (levels.astype(str) == name).to_numpy()


#: Steward links and splits each needed before the link threshold comes from decisions.
MIN_DECISIONS = 50


def _scores(feat: dict[str, Any], left: np.ndarray, right: np.ndarray, model: MatchModel) -> np.ndarray:
    """The model's score (level weights plus term-frequency bits) of each pair."""
    levels = compare(feat, left, right)
    weights = model.weights()
    scores = np.zeros(len(levels), dtype=float)
    for c in weights:
        scores += levels[c].astype(str).map(weights[c]).fillna(0.0).to_numpy(dtype=float)
    return scores + tf_adjustment(feat, levels, model)


def _labelled_threshold(scores: np.ndarray, is_link: np.ndarray, target: float) -> float | None:
    """The lowest score at which the decided pairs scoring at least that much are ``target`` precise.

    The model's own probabilities are overconfident where its independence assumptions fail
    (households), so with enough steward decisions — best a random sample of candidate pairs, since
    decisions taken from the review queue cover only the scores between the thresholds — the labels
    set the threshold. None when no score reaches the target.
    """
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], is_link[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    # Only cut between distinct scores: every pair at the threshold is linked.
    last_of_score = np.r_[ranked[1:] != ranked[:-1], True]
    ok = np.flatnonzero((precision >= target) & last_of_score)
    if len(ok) == 0:
        return None
    return round(float(ranked[ok[-1]]), 2)


def _thresholds(scores: np.ndarray, prior_bits: float, target: float) -> tuple[float, float]:
    """``(link, review)``: link = lowest score whose pairs at or above it have expected precision >=
    ``target``; review = the score where a pair's match probability is 2%."""
    if len(scores) == 0:
        return 12.0, 5.0
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    prob = 1 / (1 + np.exp2(-np.clip(ranked + prior_bits, -60, 60)))
    precision = np.cumsum(prob) / np.arange(1, len(prob) + 1)
    ok = np.flatnonzero(precision >= target)
    # The marginal pair at the threshold must itself be more likely a match than not.
    link = float(ranked[ok[-1]]) if len(ok) else float(ranked[0])
    link = max(link, -prior_bits)
    review = float(math.log2(0.02 / 0.98) - prior_bits)
    return round(link, 2), round(min(review, link), 2)


# ---------------------------------------------------------------------------------------------- diff


def weight_changes(old: MatchModel | None, new: MatchModel) -> pd.DataFrame:
    """One row per level weight or threshold that differs by at least 0.01 bit."""
    rows = []
    old_w = old.weights() if old is not None else {}
    for c, levels in new.weights().items():
        for lv, w in levels.items():
            before = old_w.get(c, {}).get(lv)
            if before is None or abs(before - w) >= 0.01:
                rows.append({"item": f"{c}.{lv}", "old": before, "new": w})
    for name in ("link", "review", "prior"):
        before = getattr(old, name) if old is not None else None
        after = getattr(new, name)
        if before is None or abs(before - after) > 1e-9:
            rows.append({"item": name, "old": before, "new": after})
    return pd.DataFrame(rows, columns=["item", "old", "new"])


def model_diff(
    contacts: pd.DataFrame,
    rules: PrecedenceRules,
    new: MatchModel,
    previous_xref: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What replacing the rules' model by ``new`` would change on ``contacts`` (``diff.DIFF_COLUMNS``)."""
    from crmhub.reconcile.diff import diff_results
    from crmhub.reconcile.pipeline import reconcile

    old_result = reconcile(contacts, rules, previous_xref, decisions=decisions)
    new_result = reconcile(contacts, with_model(rules, new), previous_xref, decisions=decisions)
    return diff_results(old_result, new_result)


def with_model(rules: PrecedenceRules, model: MatchModel, keep_thresholds: bool = False) -> PrecedenceRules:
    """``rules`` with ``model`` as its fuzzy model (and the model's thresholds unless told otherwise)."""
    fuzzy: FuzzyConfig = rules.matching.fuzzy
    changes: dict[str, Any] = {"model": model}
    if not keep_thresholds:
        changes.update(link=model.link, review=model.review)
    matching = dataclasses.replace(rules.matching, fuzzy=dataclasses.replace(fuzzy, **changes))
    return dataclasses.replace(rules, matching=matching)


# ---------------------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    from crmhub.errors import ConfigError, SourceDataError
    from crmhub.reconcile.files import read_contacts, read_table
    from crmhub.reconcile.rules import DEFAULT_RULES_FILE, load_rules

    parser = argparse.ArgumentParser(prog="python -m crmhub.reconcile.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", nargs="+", required=True, help="canonical contact files (CSV or Parquet)")
    parser.add_argument("--rules", default=str(DEFAULT_RULES_FILE))
    parser.add_argument("--out", help="model file to write (default: the rules file's model)")
    parser.add_argument("--decisions", help="steward decisions CSV: links are labelled matches")
    parser.add_argument("--previous-xref", help="the last run's xref, so the diff shows golden id moves")
    parser.add_argument("--target-precision", type=float, default=0.99)
    parser.add_argument("--random-pairs", type=int, default=1_000_000)
    parser.add_argument("--min-count", type=int, default=10, help="values rarer than this are not stored")
    parser.add_argument(
        "--address", choices=list(ADDRESS_FORMS), default="combined", help="one address comparison or four"
    )
    parser.add_argument("--household", action="store_true", help="add the same-address name correction")
    parser.add_argument("--diff-out", help="write every golden change the new model causes to this CSV")
    parser.add_argument("--write", action="store_true", help="replace the model file (default: dry run)")
    args = parser.parse_args(argv)
    try:
        rules = load_rules(args.rules)
        contacts = read_contacts(args.contacts)
        decisions = read_table(args.decisions) if args.decisions else None
        previous = read_table(args.previous_xref) if args.previous_xref else None
    except (ConfigError, SourceDataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    old = rules.matching.fuzzy.model
    target = Path(args.out or rules.matching.fuzzy.model_file or "include/models/match_model.json")
    if old is None and target.is_file():
        old = load_model(target)
    names = ", ".join(Path(p).name for p in args.contacts)
    new = train(
        contacts,
        rules,
        decisions=decisions,
        target_precision=args.target_precision,
        random_pairs=args.random_pairs,
        min_count=args.min_count,
        trained_on=names,
        address=args.address,
        household=args.household,
    )
    changes = weight_changes(old, new)
    base_rules = with_model(rules, old) if old is not None else rules
    diff = model_diff(contacts, base_rules, new, previous, decisions)
    summary = {
        "model_file": str(target),
        "old_version": old.version if old is not None else None,
        "new_version": new.version,
        "weights_changed": len(changes),
        "golden_changes": diff["kind"].value_counts().to_dict() if not diff.empty else {},
        "records_moving": int((diff["kind"] == "moved").sum()) if not diff.empty else 0,
        "written": bool(args.write),
    }
    print(changes.to_string(index=False) if not changes.empty else "no weight or threshold changes")
    print(json.dumps(summary, indent=2, sort_keys=True, default=str))  # counts only: no personal data
    if args.diff_out:
        diff.to_csv(args.diff_out, index=False)
    if args.write:
        new.save(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
