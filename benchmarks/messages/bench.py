"""Message understanding against the hand-labelled evaluation set: quality per language, speed, memory.

    .venv/bin/python -m benchmarks.messages.bench                      # eval set, 50 timing passes
    .venv/bin/python -m benchmarks.messages.bench --repeat 200 --markdown
    .venv/bin/python -m benchmarks.messages.bench --set tests/messages/dev/messages.jsonl
    .venv/bin/python -m benchmarks.messages.bench --external            # other people's data, no eval set

Quality (one pass over the set) per gold language and overall: complaint precision and recall,
F1 per intent, macro-F1 over the five intents, language and sentiment accuracy. Speed: the set is
classified ``--repeat`` times in this one process (one core), messages per second over the whole
timing loop. Memory: peak RSS of the process (``resource.getrusage``) and the peak traced Python
allocation during one classification pass (``tracemalloc``). Targets (issue 14): complaint precision and
recall >= 0.90 in every language, macro-F1 >= 0.85 overall, >= 2,000 messages/s.

``--external`` measures instead on labelled messages written by other people (prepared by
``scripts/prepare_external_messages.py`` into ``tests/messages/external/data``; see docs/messages.md,
"Measurements on other data"): complaint precision and recall per set, split (``dev`` may be read for
error analysis, ``test`` is only ever counted) and subset, and sentiment accuracy where the set has it.
Nothing the classifier was built or tuned from is in those sets; the evaluation set is not read.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from crmhub.messages import INTENTS, Classifier

ROOT = Path(__file__).resolve().parents[2]
EVAL_SET = ROOT / "tests" / "messages" / "eval" / "messages.jsonl"
EXTERNAL_DIR = ROOT / "tests" / "messages" / "external" / "data"
#: external set -> its subsets (name, row filter)
EXTERNAL_SUBSETS: dict[str, tuple[tuple[str, Any], ...]] = {
    "complaints_en": (
        ("annotated brand tweets", lambda r: not r["domain"].startswith("random")),
        ("with random tweets", lambda r: True),
    ),
    "germeval2017_de": (("addressed to @DB_Bahn/@DB_Info", lambda r: r["addressed"]),),
}
GROUPS = ("nl", "en", "fa", "fa-latin", "de", "mixed")


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def metrics(rows: list[dict[str, Any]], predicted: list[Any]) -> dict[str, Any]:
    """Complaint precision/recall, per-intent F1, macro-F1, language and sentiment accuracy."""
    tp = sum(1 for r, p in zip(rows, predicted, strict=True) if r["complaint"] and p.complaint)
    fp = sum(1 for r, p in zip(rows, predicted, strict=True) if not r["complaint"] and p.complaint)
    fn = sum(1 for r, p in zip(rows, predicted, strict=True) if r["complaint"] and not p.complaint)
    f1: dict[str, float | None] = {}
    for intent in INTENTS:
        itp = sum(1 for r, p in zip(rows, predicted, strict=True) if r["intent"] == intent and p.intent == intent)
        ifp = sum(1 for r, p in zip(rows, predicted, strict=True) if r["intent"] != intent and p.intent == intent)
        ifn = sum(1 for r, p in zip(rows, predicted, strict=True) if r["intent"] == intent and p.intent != intent)
        f1[intent] = _ratio(2 * itp, 2 * itp + ifp + ifn)
    present = [v for k, v in f1.items() if v is not None and any(r["intent"] == k for r in rows)]
    n = len(rows)
    return {
        "n": n,
        "complaint_precision": _ratio(tp, tp + fp),
        "complaint_recall": _ratio(tp, tp + fn),
        "f1": f1,
        "macro_f1": sum(present) / len(present) if present else None,
        "intent_accuracy": _ratio(sum(1 for r, p in zip(rows, predicted, strict=True) if r["intent"] == p.intent), n),
        "language_accuracy": _ratio(sum(1 for r, p in zip(rows, predicted, strict=True) if r["lang"] == p.language), n),
        "sentiment_accuracy": _ratio(
            sum(1 for r, p in zip(rows, predicted, strict=True) if r["sentiment"] == p.sentiment), n
        ),
    }


def group_of(row: dict[str, Any]) -> str:
    return "fa-latin" if row["lang"] == "fa" and row.get("script") == "latin" else row["lang"]


def evaluate(rows: list[dict[str, Any]], clf: Classifier) -> dict[str, Any]:
    predicted = [clf.classify(r["text"]) for r in rows]
    result = {"overall": metrics(rows, predicted)}
    for group in GROUPS:
        idx = [i for i, r in enumerate(rows) if group_of(r) == group or (group == "fa" and r["lang"] == "fa")]
        if idx:
            result[group] = metrics([rows[i] for i in idx], [predicted[i] for i in idx])
    hard = [i for i, r in enumerate(rows) if r.get("hard")]
    result["hard cases"] = metrics([rows[i] for i in hard], [predicted[i] for i in hard])
    return result


def speed(rows: list[dict[str, Any]], clf: Classifier, repeat: int) -> dict[str, float]:
    texts = [r["text"] for r in rows]
    start = time.perf_counter()
    for _ in range(repeat):
        for text in texts:
            clf.classify(text)
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    for text in texts:
        clf.classify(text)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "messages": len(texts) * repeat,
        "seconds": elapsed,
        "per_second": len(texts) * repeat / elapsed,
        "traced_peak_mb": traced_peak / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def report(quality: dict[str, Any], perf: dict[str, float], markdown: bool) -> str:
    head = ["group", "n", "compl. P", "compl. R", *[f"F1 {i}" for i in INTENTS], "macro-F1", "lang acc", "sent acc"]
    lines = []
    for group, m in quality.items():
        cells = [
            group,
            str(m["n"]),
            _fmt(m["complaint_precision"]),
            _fmt(m["complaint_recall"]),
            *[_fmt(m["f1"][i]) for i in INTENTS],
            _fmt(m["macro_f1"]),
            _fmt(m["language_accuracy"]),
            _fmt(m["sentiment_accuracy"]),
        ]
        lines.append(cells)
    out = _table(head, lines, markdown)
    out.append("")
    out.append(
        f"speed: {perf['messages']} messages in {perf['seconds']:.2f} s on one core = "
        f"{perf['per_second']:,.0f} messages/s; peak RSS {perf['peak_rss_mb']:.0f} MB, "
        f"peak traced allocation of one pass {perf['traced_peak_mb']:.2f} MB"
    )
    return "\n".join(out)


def _complaint_pr(rows: list[dict[str, Any]], predicted: list[Any]) -> tuple[int, int, float | None, float | None]:
    labelled = [(r, p) for r, p in zip(rows, predicted, strict=True) if r.get("complaint") is not None]
    tp = sum(1 for r, p in labelled if r["complaint"] and p.complaint)
    fp = sum(1 for r, p in labelled if not r["complaint"] and p.complaint)
    fn = sum(1 for r, p in labelled if r["complaint"] and not p.complaint)
    return len(labelled), tp + fn, _ratio(tp, tp + fp), _ratio(tp, tp + fn)


def external(model: str | None, directory: Path, markdown: bool) -> str:
    """Complaint P/R (and sentiment accuracy) on each prepared external set, per split and subset."""
    from crmhub.paths import CONFIG_DIR
    from crmhub.yamlfile import read_yaml

    sets = sorted(directory.glob("*.jsonl"))
    if not sets:
        return f"no external sets in {directory}: run scripts/prepare_external_messages.py first"
    lexicon = read_yaml(CONFIG_DIR / "messages" / "lexicon.yaml")
    base = Classifier.from_files(model_path=False if model == "none" else model)
    head = ["set", "subset", "split", "n", "complaints", "compl. P", "compl. R", "F1", "sent acc (n)"]
    lines = []
    for path in sets:
        name = path.stem
        brands = json.loads(path.with_suffix(".brands.json").read_text(encoding="utf-8"))
        clf = Classifier(lexicon, brands, base.model)
        rows = load(path)
        predicted = [clf.classify(r["text"], lang=r.get("lang")) for r in rows]
        subsets = EXTERNAL_SUBSETS.get(name, (("all", lambda r: True),))
        for label, keep in subsets:
            for split in ("dev", "test", "all"):
                idx = [i for i, r in enumerate(rows) if keep(r) and split in ("all", r["split"])]
                sub, pred = [rows[i] for i in idx], [predicted[i] for i in idx]
                n, positives, precision, recall = _complaint_pr(sub, pred)
                f1 = (
                    2 * precision * recall / (precision + recall)
                    if precision is not None and recall and precision + recall
                    else None
                )
                with_sent = [(r, p) for r, p in zip(sub, pred, strict=True) if r.get("sentiment")]
                sent = _ratio(sum(1 for r, p in with_sent if r["sentiment"] == p.sentiment), len(with_sent))
                sent_cell = f"{_fmt(sent)} ({len(with_sent)})" if with_sent else "—"
                lines.append(
                    [name, label, split, str(n), str(positives), _fmt(precision), _fmt(recall), _fmt(f1), sent_cell]
                )
        if name == "germeval2017_de":
            for split in ("dev", "test", "all"):
                sub = [(r, p) for r, p in zip(rows, predicted, strict=True) if split in ("all", r["split"])]
                acc = _ratio(sum(1 for r, p in sub if r["sentiment"] == p.sentiment), len(sub))
                lines.append(
                    [
                        name,
                        "all relevant tweets (sentiment only)",
                        split,
                        str(len(sub)),
                        "—",
                        "—",
                        "—",
                        "—",
                        f"{_fmt(acc)} ({len(sub)})",
                    ]
                )
    out = _table(head, lines, markdown)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default=str(EVAL_SET), help="labelled JSONL (default: the evaluation set)")
    parser.add_argument("--repeat", type=int, default=50, help="timing passes over the set (scale factor)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument(
        "--model", default=None, help="message model file (default: the repository's; 'none' = rules only)"
    )
    parser.add_argument(
        "--external",
        nargs="?",
        const=str(EXTERNAL_DIR),
        default=None,
        help="measure on the prepared external sets (directory; default tests/messages/external/data) "
        "instead of the evaluation set",
    )
    args = parser.parse_args(argv)
    if args.external:
        print(external(args.model, Path(args.external), args.markdown))
        return 0
    rows = load(Path(args.set))
    clf = Classifier.from_files(model_path=False if args.model == "none" else args.model)
    clf.classify("warm-up")
    print(f"classifier: {clf.model_id}")
    quality = evaluate(rows, clf)
    perf = speed(rows, clf, max(1, args.repeat))
    if args.json:
        print(json.dumps({"quality": quality, "speed": perf}, indent=2))
    else:
        print(report(quality, perf, args.markdown))
    return 0


def _table(head: list[str], lines: list[list[str]], markdown: bool) -> list[str]:
    """The rows as a Markdown table or as aligned plain-text columns."""
    if markdown:
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(c) + " |" for c in lines)]
    widths = [max(len(row[i]) for row in [head, *lines]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in [head, *lines]]


if __name__ == "__main__":
    sys.exit(main())
