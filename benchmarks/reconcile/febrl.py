"""FEBRL 1–4 (public record-linkage benchmark, Australian records) through the hub and Splink 5, side by side.

Usage (from the repository root)::

    .venv/bin/python benchmarks/reconcile/febrl.py [--datasets 1 2 3 4] [--engines hub hub-shipped splink]

Each data set is split over two CRM sources (originals in ``febrl_a``, duplicates in ``febrl_b``;
FEBRL4: file a and file b) and given to both engines with **name and address only** (given name,
surname, street number + street (+ address_2 after a comma), suburb as city, postcode; no date of
birth, no social security number, no country). Engines:

* ``hub``: a match model trained on the data set itself (``crmhub.reconcile.train.train``:
  u from random pairs, m by EM, no labels), then ``reconcile`` with that frozen model; street, number,
  postcode and city as four comparisons (``address="fields"``: Febrl corrupts each field on its own
  and makes no households; chosen on FEBRL1/2, see BENCHMARKS.md);
* ``hub-combined``: the same with the address as one comparison (``place``, the CRM default);
* ``hub-shipped``: ``reconcile`` with the repository's model (``include/models/match_model.json``,
  trained on the Dutch/Persian generator), nothing learned from FEBRL;
* ``splink``: Splink 5 (DuckDB), untuned documented recipe (see :func:`run_splink`).

Metrics: pairwise precision, recall, F1 against the FEBRL record ids (``rec-<n>-org`` /
``rec-<n>-dup-<k>``: same ``n`` = same person).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FILES = {"1": ["dataset1.csv"], "2": ["dataset2.csv"], "3": ["dataset3.csv"], "4": ["dataset4a.csv", "dataset4b.csv"]}
RULES = HERE / "febrl_rules.yaml"


def load(dataset: str) -> pd.DataFrame:
    """The data set as canonical contacts plus ``person_id`` (the truth)."""
    frames = []
    for name in FILES[dataset]:
        raw = pd.read_csv(HERE / "febrl" / name, dtype=str, skipinitialspace=True, keep_default_na=False)
        raw.columns = [c.strip() for c in raw.columns]
        frames.append(raw)
    raw = pd.concat(frames, ignore_index=True)
    raw = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    is_dup = raw["rec_id"].str.contains("-dup-")
    line = (raw["street_number"] + " " + raw["address_1"]).str.strip()
    line = line.where(raw["address_2"] == "", line + ", " + raw["address_2"])
    out = pd.DataFrame(
        {
            "source": np.where(is_dup, "febrl_b", "febrl_a"),
            "source_id": raw["rec_id"],
            "source_updated_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "first_name": raw["given_name"],
            "last_name": raw["surname"],
            "address_line": line,
            "postcode": raw["postcode"],
            "city": raw["suburb"],
        }
    ).replace("", None)
    out["person_id"] = raw["rec_id"].str.extract(r"rec-(\d+)")[0].to_numpy()
    return out


def pair_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    from bench import pair_metrics as metrics

    return metrics(predicted, truth)


def run_hub(data: pd.DataFrame, shipped: bool, address: str = "fields") -> tuple[np.ndarray, dict[str, object]]:
    from crmhub.reconcile import load_rules, reconcile
    from crmhub.reconcile.match_model import load_model
    from crmhub.reconcile.train import train, with_model

    rules = load_rules(RULES)
    contacts = data.drop(columns=["person_id"])
    started = time.perf_counter()
    if shipped:
        model = load_model(ROOT / "include" / "models" / "match_model.json")
    else:
        model = train(contacts, rules, trained_on="febrl", address=address)
    trained = time.perf_counter() - started
    result = reconcile(contacts, with_model(rules, model))
    seconds = time.perf_counter() - started
    gid = result.xref.set_index(["source", "source_id"])["golden_id"]
    labels = gid.reindex(pd.MultiIndex.from_frame(data[["source", "source_id"]])).to_numpy()
    info = {"seconds": seconds, "train_seconds": trained, "link": model.link, "review_queue": len(result.review)}
    return labels, info


def run_splink(data: pd.DataFrame) -> tuple[np.ndarray, dict[str, object]]:
    """Splink's documented FEBRL-style recipe, untuned, on the same name + address fields."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    sys.path.insert(0, str(HERE))
    number = data["address_line"].fillna("").str.extract(r"^(\d+)")[0]
    street = data["address_line"].fillna("").str.replace(r"^\d+\s*", "", regex=True).str.split(",").str[0]
    frame = pd.DataFrame(
        {
            "unique_id": np.arange(len(data)),
            "given_name": data["first_name"],
            "surname": data["last_name"],
            "street_number": number,
            "address_1": street.replace("", None),
            "suburb": data["city"],
            "postcode": data["postcode"],
        }
    )
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.PostcodeComparison("postcode") if False else cl.LevenshteinAtThresholds("postcode", [1]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("postcode"),
            block_on("street_number", "suburb"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(DuckDBAPI().register(frame), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname"), block_on("postcode", "street_number")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.95).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    labels = clusters.set_index("unique_id")["cluster_id"].reindex(frame["unique_id"]).to_numpy()
    return labels, {"seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(FILES), choices=list(FILES))
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["hub", "hub-shipped", "splink"],
        choices=["hub", "hub-combined", "hub-shipped", "splink"],
    )
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)
    print(f"{'data':>7} {'records':>7} {'engine':>11} {'precision':>9} {'recall':>7} {'F1':>7} {'seconds':>7}")
    for dataset in args.datasets:
        data = load(dataset)
        for engine in args.engines:
            if engine == "splink":
                labels, info = run_splink(data)
            else:
                address = "combined" if engine == "hub-combined" else "fields"
                labels, info = run_hub(data, shipped=engine == "hub-shipped", address=address)
            m = pair_metrics(labels, data["person_id"].to_numpy())
            print(
                f"FEBRL{dataset:>2} {len(data):>7} {engine:>11} {m['precision']:9.4f} {m['recall']:7.4f} "
                f"{m['f1']:7.4f} {info['seconds']:7.1f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
