"""Train the message model (:mod:`crmhub.messages.model`) on the hand-labelled training corpora, with
cross-validation, and freeze it as ``include/models/message_model.json``.

    python -m crmhub.messages.train_model --cv                 # 5-fold CV on the training corpus, prints figures
    python -m crmhub.messages.train_model --cv --no-rules      # text features only (no stacking)
    python -m crmhub.messages.train_model --write              # fit on all training corpora and freeze
    python -m crmhub.messages.train_model --write --balanced --lang-offsets   # + complaint offset per language

``--lang-offsets`` chooses, per detected language with at least 100 training rows, an offset on the
complaint logit by grouped cross-validation (parallel versions of one message in one fold), and writes it
to the model file; ``--guard`` is the probability a complaint with no rule evidence needs.

Only the corpora named with ``--corpus`` are read (default: ``tests/messages/train`` and
``tests/messages/dev``); the evaluation set ``tests/messages/eval`` is refused, so that it stays held out.
Cross-validation folds run over the first corpus only; the other corpora are always in the training part.
Multinomial logistic regression with L2, fitted by L-BFGS (scipy, in the lock; needed only here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from crmhub.messages.core import MODEL_FILE, WEIGHTS, Classifier
from crmhub.messages.model import INTENTS, rule_features, text_features

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_CORPORA = ("tests/messages/train/messages.jsonl", "tests/messages/dev/messages.jsonl")
GROUPS = ("nl", "en", "de", "fa", "mixed")
RULE_PREFIXES = ("r:", "ri:", "rr:", "c:")


def load(path: Path) -> list[dict[str, Any]]:
    if "eval" in path.parts:
        raise SystemExit(f"{path}: the evaluation set is held out and never trained on")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def featurize(clf: Classifier, rows: Sequence[dict[str, Any]], use_rules: bool) -> list[dict[str, float]]:
    """Per message: its text feature counts and (stacking) the rules' real-valued evidence."""
    out = []
    for row in rows:
        ev = clf.text_evidence(row["text"])
        feats: dict[str, float] = dict(Counter(text_features(clf.masked(ev.norm))))
        if use_rules:
            feats.update(rule_features(ev.scores, ev.rules, ev.cues))
        out.append(feats)
    return out


def vocabulary(feats: Sequence[dict[str, float]], min_count: int) -> list[str]:
    counts = Counter(f for fs in feats for f in fs)
    return sorted(f for f, c in counts.items() if c >= min_count or f.startswith(RULE_PREFIXES))


def matrix(feats: Sequence[dict[str, float]], vocab: Sequence[str]) -> Any:
    from scipy.sparse import csr_matrix

    index = {f: i for i, f in enumerate(vocab)}
    rows, cols, vals = [], [], []
    for r, fs in enumerate(feats):
        for f, v in fs.items():
            i = index.get(f)
            if i is not None:
                rows.append(r)
                cols.append(i)
                vals.append(v)
    return csr_matrix((vals, (rows, cols)), shape=(len(feats), len(vocab)), dtype=np.float64)


def fit(x: Any, y: np.ndarray, l2: Any, class_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features x intents) and bias minimising weighted cross-entropy + l2/2 * |W|^2 (``l2`` a
    number or one strength per feature)."""
    from scipy.optimize import minimize

    n, d = x.shape
    k = len(INTENTS)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), y] = 1.0
    sample_w = class_weight[y]
    sample_w = sample_w / sample_w.sum()
    l2 = np.broadcast_to(np.asarray(l2, dtype=np.float64), (d,))[:, None]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        value = -(sample_w * (onehot * logp).sum(axis=1)).sum() + 0.5 * (l2 * w * w).sum()
        grad_z = (np.exp(logp) - onehot) * sample_w[:, None]
        grad_w = x.T @ grad_z + l2 * w
        return value, np.concatenate([np.asarray(grad_w).ravel(), grad_z.sum(axis=0)])

    result = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x[: d * k].reshape(d, k), result.x[d * k :]


def penalties(vocab: Sequence[str], l2: float, rule_l2: float) -> np.ndarray:
    """L2 strength per feature: text features ``l2``, the rules' evidence ``rule_l2`` (trusted more)."""
    return np.array([rule_l2 if f.startswith(RULE_PREFIXES) else l2 for f in vocab])


def class_weights(y: np.ndarray, balanced: bool) -> np.ndarray:
    if not balanced:
        return np.ones(len(INTENTS))
    counts = np.bincount(y, minlength=len(INTENTS)).astype(float)
    return np.where(counts > 0, counts.sum() / (len(INTENTS) * np.maximum(counts, 1)), 0.0)


def scores(rows: Sequence[dict[str, Any]], predicted: Sequence[str]) -> dict[str, dict[str, float | None]]:
    """Complaint precision/recall and macro-F1 per language group and overall."""

    def block(idx: list[int]) -> dict[str, float | None]:
        gold = [rows[i]["intent"] for i in idx]
        pred = [predicted[i] for i in idx]
        f1s = []
        for intent in INTENTS:
            tp = sum(g == intent and p == intent for g, p in zip(gold, pred, strict=True))
            fp = sum(g != intent and p == intent for g, p in zip(gold, pred, strict=True))
            fn = sum(g == intent and p != intent for g, p in zip(gold, pred, strict=True))
            if intent in gold:
                f1s.append(2 * tp / (2 * tp + fp + fn))
            if intent == "complaint":
                precision = tp / (tp + fp) if tp + fp else None
                recall = tp / (tp + fn) if tp + fn else None
        return {"n": len(idx), "P": precision, "R": recall, "macroF1": sum(f1s) / len(f1s) if f1s else None}

    out = {"overall": block(list(range(len(rows))))}
    for group in GROUPS:
        idx = [i for i, r in enumerate(rows) if r["lang"] == group]
        if idx:
            out[group] = block(idx)
    return out


_ANCHOR = re.compile(r"\d+(?:[.,]\d+)?|[\u2190-\u2bff\U0001f000-\U0001faff]")


def groups(rows: Sequence[dict[str, Any]]) -> list[int]:
    """A group number per row that keeps parallel versions of one message together: rows with the same
    ``group`` field, and rows of one intent in different languages that share a number or emoji used by
    at most four rows of that intent ("500 Mbit" / "500er Vertrag", "E-104", "😤"). A heuristic: it also
    joins some unrelated messages (harmless: coarser folds) and misses translations without an anchor."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_key: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        if row.get("group"):
            by_key.setdefault(("group", str(row["group"])), []).append(i)
        for anchor in set(_ANCHOR.findall(row["text"])):
            by_key.setdefault((anchor, row["intent"]), []).append(i)
    for key, members in by_key.items():
        if key[0] != "group" and (len(members) > 4 or len({rows[i]["lang"] for i in members}) < 2):
            continue
        for i in members[1:]:
            parent[find(i)] = find(members[0])
    return [find(i) for i in range(len(rows))]


def folds(rows: Sequence[dict[str, Any]], k: int, seed: int, grouped: bool = True) -> list[int]:
    """Fold number per row, stratified by (language, intent); with ``grouped`` a group of parallel
    versions (:func:`groups`) goes to one fold, that of its first member."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: (rows[i]["lang"], rows[i]["intent"]))
    fold = [0] * len(rows)
    for rank, i in enumerate(order):
        fold[i] = rank % k
    if grouped:
        group = groups(rows)
        first: dict[int, int] = {}
        for i in order:
            fold[i] = first.setdefault(group[i], fold[i])
    return fold


def decide(
    z: np.ndarray,
    langs: Sequence[str],
    offsets: dict[str, float],
    no_evidence: np.ndarray,
    guard: float,
) -> list[str]:
    """Intents as the classifier decides them from logits ``z``: the complaint logit gets the offset of
    the message's detected language, and a complaint with no complaint evidence in the rules
    (``no_evidence``) needs a model probability of at least ``guard``."""
    z = np.array(z, dtype=np.float64)
    c = INTENTS.index("complaint")
    z[:, c] += np.array([offsets.get(lang, 0.0) for lang in langs])
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    out = []
    for i, row in enumerate(z):
        order = np.argsort(-row, kind="stable")
        j = order[0]
        if j == c and no_evidence[i] and p[i, c] < guard:
            j = order[1]
        out.append(INTENTS[j])
    return out


def out_of_fold_logits(
    args: argparse.Namespace, clf: Classifier, corpora: list[list[dict[str, Any]]]
) -> list[np.ndarray]:
    """Per CV seed: every row of the first corpus scored by a model fitted without its fold (the other
    corpora always in the training part)."""
    main_rows, extra_rows = corpora[0], [r for rows in corpora[1:] for r in rows]
    feats_main = featurize(clf, main_rows, not args.no_rules)
    feats_extra = featurize(clf, extra_rows, not args.no_rules)
    runs = []
    for seed in range(args.seeds):
        z = np.zeros((len(main_rows), len(INTENTS)))
        fold = folds(main_rows, args.folds, seed, grouped=not args.ungrouped)
        for f in range(args.folds):
            train_idx = [i for i in range(len(main_rows)) if fold[i] != f]
            test_idx = [i for i in range(len(main_rows)) if fold[i] == f]
            train_feats = [feats_main[i] for i in train_idx] + feats_extra
            train_y = np.array(
                [INTENTS.index(main_rows[i]["intent"]) for i in train_idx]
                + [INTENTS.index(r["intent"]) for r in extra_rows]
            )
            vocab = vocabulary(train_feats, args.min_count)
            w, b = fit(
                matrix(train_feats, vocab),
                train_y,
                penalties(vocab, args.l2, args.rule_l2),
                class_weights(train_y, args.balanced),
            )
            z[test_idx] = np.asarray(matrix([feats_main[i] for i in test_idx], vocab) @ w + b)
        z[:, INTENTS.index("complaint")] += args.complaint_offset
        runs.append(z)
    return runs


def averaged_scores(
    rows: Sequence[dict[str, Any]],
    runs: Sequence[np.ndarray],
    langs: Sequence[str],
    offsets: dict[str, float],
    no_evidence: np.ndarray,
    guard: float,
) -> dict[str, Any]:
    per_run = [scores(rows, decide(z, langs, offsets, no_evidence, guard)) for z in runs]
    averaged: dict[str, Any] = {}
    for group, first in per_run[0].items():
        averaged[group] = {"n": first["n"]}
        for key in ("P", "R", "macroF1"):
            values = [r[group][key] for r in per_run if r[group][key] is not None]
            averaged[group][key] = sum(values) / len(values) if values else None
    return averaged


def choose_offsets(
    rows: Sequence[dict[str, Any]],
    runs: Sequence[np.ndarray],
    langs: Sequence[str],
    no_evidence: np.ndarray,
    guard: float,
    min_rows: int = 100,
) -> dict[str, float]:
    """Per detected language with at least ``min_rows`` training rows: the complaint-logit offset (grid
    -1.0 .. +1.0 by 0.25) that maximises the smaller of complaint precision and recall of that language's
    out-of-fold predictions (the issue's target is both >= 0.90), averaged over the CV seeds; 0 unless
    another offset is better by at least 0.01 (ties go to the offset nearer 0)."""
    grid = [x / 4 for x in range(-4, 5)]
    chosen: dict[str, float] = {}
    for lang in sorted(set(langs)):
        idx = [i for i, x in enumerate(langs) if x == lang]
        if len(idx) < min_rows:
            continue
        gold = [rows[i]["complaint"] for i in idx]

        def balanced(offset: float, idx: list[int] = idx, lang: str = lang, gold: list[bool] = gold) -> float:
            total = 0.0
            for z in runs:
                pred = decide(z[idx], [lang] * len(idx), {lang: offset}, no_evidence[idx], guard)
                tp = sum(g and p == "complaint" for g, p in zip(gold, pred, strict=True))
                fp = sum(not g and p == "complaint" for g, p in zip(gold, pred, strict=True))
                fn = sum(g and p != "complaint" for g, p in zip(gold, pred, strict=True))
                total += min(tp / (tp + fp) if tp + fp else 0.0, tp / (tp + fn) if tp + fn else 0.0)
            return total / len(runs)

        value = {o: round(balanced(o), 4) for o in grid}
        best = max(grid, key=lambda o: (value[o], -abs(o)))
        chosen[lang] = best if value[best] >= value[0.0] + 0.01 else 0.0
    return chosen


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", action="append", help="labelled JSONL (repeat; first = CV corpus)")
    parser.add_argument("--cv", action="store_true", help="cross-validate and print the figures")
    parser.add_argument("--write", action="store_true", help="fit on all corpora and write the model file")
    parser.add_argument("--out", default=None, help=f"model file (default include/models/{MODEL_FILE})")
    parser.add_argument("--no-rules", action="store_true", help="text features only (no rule scores)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="CV repeats with other folds (figures averaged)")
    parser.add_argument("--l2", type=float, default=0.003, help="L2 strength on the weights")
    parser.add_argument("--rule-l2", type=float, default=0.003, help="L2 strength on the rule features")
    parser.add_argument("--min-count", type=int, default=2, help="text features seen fewer times are dropped")
    parser.add_argument("--balanced", action="store_true", help="weigh classes inversely to their counts")
    parser.add_argument("--complaint-offset", type=float, default=0.0, help="added to the complaint logit")
    parser.add_argument(
        "--guard",
        type=float,
        default=WEIGHTS["model_complaint_without_evidence"],
        help="model probability a complaint with no rule evidence needs (written to the model file)",
    )
    parser.add_argument(
        "--lang-offsets",
        action="store_true",
        help="choose a complaint-logit offset per detected language by cross-validation (and write it)",
    )
    parser.add_argument(
        "--drop-offset",
        action="append",
        default=[],
        metavar="LANG",
        help="leave this language's CV offset out of the model file (e.g. it measured worse on the dev half "
        "of an external set; docs/messages.md)",
    )
    parser.add_argument("--ungrouped", action="store_true", help="CV folds ignore groups of parallel versions")
    args = parser.parse_args(argv)
    paths = [ROOT / p for p in (args.corpus or DEFAULT_CORPORA)]
    corpora = [load(p) for p in paths]
    clf = Classifier.from_files(model_path=False)
    offsets: dict[str, float] = {}
    if args.cv or args.lang_offsets:
        main_rows = corpora[0]
        evidence = [clf.text_evidence(r["text"]) for r in main_rows]
        langs = [ev.language for ev in evidence]
        no_evidence = np.array([ev.scores["complaint"] <= 0 for ev in evidence])
        runs = out_of_fold_logits(args, clf, corpora)
        variants = [("no offsets", {})]
        if args.lang_offsets:
            offsets = choose_offsets(main_rows, runs, langs, no_evidence, args.guard)
            print(f"complaint offsets per detected language (CV): {offsets}")
            offsets = {k: v for k, v in offsets.items() if k not in args.drop_offset}
            variants.append(("with offsets", offsets))
        for label, chosen in variants:
            print(f"-- {label}, guard {args.guard}, {'ungrouped' if args.ungrouped else 'grouped'} folds")
            result = averaged_scores(main_rows, runs, langs, chosen, no_evidence, args.guard)
            for group, m in result.items():
                cells = " ".join(
                    f"{k}={'—' if v is None else (f'{v:.3f}' if isinstance(v, float) else v)}" for k, v in m.items()
                )
                print(f"{group:8s} {cells}")
    if args.write:
        rows = [r for rows in corpora for r in rows]
        feats = featurize(clf, rows, not args.no_rules)
        y = np.array([INTENTS.index(r["intent"]) for r in rows])
        vocab = vocabulary(feats, args.min_count)
        w, b = fit(matrix(feats, vocab), y, penalties(vocab, args.l2, args.rule_l2), class_weights(y, args.balanced))
        keep = [i for i in range(len(vocab)) if np.abs(w[i]).max() >= 1e-4]
        body = {
            "format": 1,
            "name": "logreg",
            "classes": list(INTENTS),
            "use_rules": not args.no_rules,
            "complaint_offset": args.complaint_offset,
            "complaint_offset_by_lang": {k: v for k, v in offsets.items() if v},
            "complaint_without_evidence": args.guard,
            "trained_on": [
                {"file": str(p.relative_to(ROOT)), "sha256": sha256(p), "messages": len(c)}
                for p, c in zip(paths, corpora, strict=True)
            ],
            "settings": {
                "l2": args.l2,
                "rule_l2": args.rule_l2,
                "min_count": args.min_count,
                "balanced": args.balanced,
                "lang_offsets_by": "grouped 5-fold CV x 3 seeds on the first corpus" if args.lang_offsets else None,
            },
            "features": [vocab[i] for i in keep],
            "weights": [[round(float(v), 4) for v in w[i]] for i in keep],
            "bias": [round(float(v), 4) for v in b],
        }
        version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
        body = {"version": version, "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **body}
        out = Path(args.out) if args.out else ROOT / "include" / "models" / MODEL_FILE
        out.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {out} version {version}: {len(keep)} features from {len(rows)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
