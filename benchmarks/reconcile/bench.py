"""Benchmark the reconcile engine against Splink 5 (DuckDB backend) on the same labelled data.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reconcile/bench.py --scale 10k 100k --noise easy hard
    .venv/bin/python benchmarks/reconcile/bench.py --scale 1M --noise hard

For every (scale, noise) the data is generated once (cached under ``data/bench/``), then each engine
runs in its own child process so that its peak RSS is its own. Printed per engine: pairwise precision,
recall and F1 against the truth, wall-clock seconds of the matching work (reading the file excluded),
and the child's peak RSS. A JSON line per run is appended to ``data/bench/results.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / "data" / "bench"
RULES = HERE / "rules.yaml"
SCALES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}


def pair_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 over record pairs, from cluster labels (no pair enumeration)."""

    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    frame = pd.DataFrame({"p": pd.factorize(predicted)[0], "t": pd.factorize(truth)[0]})
    true_pos = pairs(frame.groupby(["p", "t"]).size().to_numpy())
    pred_pairs = pairs(frame.groupby("p").size().to_numpy())
    true_pairs = pairs(frame.groupby("t").size().to_numpy())
    precision = true_pos / pred_pairs if pred_pairs else 1.0
    recall = true_pos / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs, "predicted_pairs": pred_pairs}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ engines


def run_hub(data_file: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    """The hub reads only the contact columns, so the truth column is not part of its peak memory."""
    import pyarrow.parquet as pq

    from crmhub.model import CONTACT_COLUMNS
    from crmhub.reconcile import load_rules, reconcile

    rules = load_rules(RULES)
    # Optional contract columns the generator does not write (e.g. merged_into_source_id) are absent.
    present = set(pq.read_schema(data_file).names)
    contacts = pd.read_parquet(data_file, columns=[c for c in CONTACT_COLUMNS if c in present])
    started = time.perf_counter()
    result = reconcile(contacts, rules)
    seconds = time.perf_counter() - started
    del contacts
    extra = {"review_queue": len(result.review), "scored_pairs": len(result.pairs)}
    return result.xref[["source", "source_id", "golden_id"]], {"seconds": seconds, **extra}


def _splink_input(data: pd.DataFrame) -> pd.DataFrame:
    """Light, standard cleaning a Splink user would do (lower case, no spaces, digits only)."""

    def text(col: pd.Series) -> pd.Series:
        return (
            col.astype("object")
            .where(col.notna(), None)
            .map(lambda v: None if v is None else " ".join(str(v).lower().split()) or None)
        )

    surname = (data["name_prefix"].fillna("").astype(str) + " " + data["last_name"].fillna("").astype(str)).str.strip()
    phone = data["phone"].fillna("").astype(str).str.replace(r"\D", "", regex=True).str[-9:]
    street_number = data["address_line"].fillna("").astype(str).str.extract(r"(\d+)")[0]
    return pd.DataFrame(
        {
            "unique_id": np.arange(len(data)),
            "first_name": text(data["first_name"]),
            "surname": text(surname.where(surname != "", None)),
            "email": text(data["email"]),
            "phone": phone.where(phone.str.len() == 9, None),
            "postcode": data["postcode"].fillna("").astype(str).str.replace(" ", "").str.upper().replace("", None),
            "house_number": street_number.where(street_number.notna(), None),
            "city": text(data["city"]),
        }
    )


def run_splink(data_file: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    data = pd.read_parquet(data_file)
    frame = _splink_input(data)
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name"),
            cl.NameComparison("surname"),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("house_number"),
            cl.ExactMatch("city"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("postcode", "house_number"),
            block_on("first_name", "surname"),
            block_on("surname", "postcode"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on("email")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode", "house_number"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    labels = clusters.set_index("unique_id")["cluster_id"].reindex(frame["unique_id"]).to_numpy()
    out = pd.DataFrame({"source": data["source"], "source_id": data["source_id"], "golden_id": labels})
    return out, {"seconds": seconds}


ENGINES = {"hub": run_hub, "splink": run_splink}


def worker(engine: str, data_file: Path) -> dict[str, object]:
    assigned, info = ENGINES[engine](data_file)
    peak = peak_rss_mb()  # the engine's run, before the scoring below adds its own frames
    truth = pd.read_parquet(data_file, columns=["source", "source_id", "person_id"])
    joined = truth.merge(assigned, on=["source", "source_id"], how="left")
    metrics = pair_metrics(joined["golden_id"].to_numpy(), joined["person_id"].to_numpy())
    return {"engine": engine, "records": len(truth), **info, **metrics, "peak_rss_mb": peak}


# ---------------------------------------------------------------------------------------------- main


def dataset(scale: str, noise: str, seed: int) -> Path:
    from generate import generate  # benchmarks/reconcile/generate.py, next to this file

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"contacts_{scale}_{noise}_{seed}.parquet"
    if not path.exists():
        generate(SCALES[scale], noise, seed).to_parquet(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", nargs="+", default=["10k", "100k"], choices=list(SCALES))
    parser.add_argument("--noise", nargs="+", default=["easy", "hard"], choices=["easy", "hard"])
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.data))))
        return 0
    sys.path.insert(0, str(HERE))
    print(
        f"{'scale':>6} {'noise':>5} {'engine':>7} {'precision':>9} {'recall':>7} {'F1':>7} {'seconds':>8} {'RSS MB':>7}"
    )
    for scale in args.scale:
        for noise in args.noise:
            path = dataset(scale, noise, args.seed)
            for engine in args.engines:
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", engine, "--data", str(path)],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    print(f"{scale:>6} {noise:>5} {engine:>7} FAILED: {done.stderr.strip().splitlines()[-1:]}")
                    continue
                row = json.loads(done.stdout.strip().splitlines()[-1])
                row.update(scale=scale, noise=noise, seed=args.seed)
                with (CACHE / "results.jsonl").open("a", encoding="utf-8") as out:
                    out.write(json.dumps(row) + "\n")
                print(
                    f"{scale:>6} {noise:>5} {engine:>7} {row['precision']:9.4f} {row['recall']:7.4f} {row['f1']:7.4f} "
                    f"{row['seconds']:8.1f} {row['peak_rss_mb']:7.0f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
