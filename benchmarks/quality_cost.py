"""What the quality gates cost: the reconcile DAG's steps with and without validation.

    .venv/bin/python benchmarks/quality_cost.py                  # 10k, 100k and 1M contacts
    .venv/bin/python benchmarks/quality_cost.py --scales 10k 100k --markdown

For each scale (contacts; 5x as many interactions, as the design's benchmark asks) a synthetic
canonical batch is generated once, with 0.1% of the rows carrying a defect the gates quarantine.
Each mode then runs in its own process, so peak memory (``ru_maxrss``) is that mode's alone:

* ``without``: match_and_survive → load (DuckDB)
* ``with``: validate_canonical → match_and_survive → validate → load → validate_warehouse,
  results and quarantine stored in the warehouse and Data Docs built, as the DAG does.

Both modes use the real stage functions (``crmhub.stages.reconcile_steps``) and hand files through a run
folder like the DAG's tasks. ``canonicalize`` (raw JSON → canonical frames) is left out of both:
it is identical in both modes and depends on the raw payload shape, not on validation.
Not a test: it takes minutes at 1M contacts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCALES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
DEFECT_RATE = 0.001
FIRST = ["Jan", "Sanne", "Pieter", "Fatima", "Reza", "Emma", "Lucas", "Noor", "Daan", "Zahra", "Mila", "Sem"]
LAST = ["de Vries", "Jansen", "van den Berg", "Bakker", "Karimi", "Visser", "Smit", "Meijer", "Ahmadi", "Mulder"]
COUNTRIES = ["NL", "Netherlands", "Nederland", "BE", "DE"]
NETWORKS = ["twitter", "instagram", "facebook", "linkedin"]


def generate(contacts: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Canonical contacts (75% CRM, 25% social, half of those linkable by handle) and 5x interactions."""
    from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, conform

    rng = np.random.default_rng(seed)
    n_crm = int(contacts * 0.75)
    n_social = contacts - n_crm
    base = pd.Timestamp("2025-01-01", tz="UTC")
    first = rng.choice(FIRST, n_crm)
    last = rng.choice(LAST, n_crm)
    idx = np.arange(n_crm)
    handles = np.array([f"user{i}" for i in range(n_crm)], dtype=object)
    has_handle = rng.random(n_crm) < 0.3
    crm = pd.DataFrame(
        {
            "source": "hubspot",
            "source_id": (idx + 1000).astype(str),
            "source_created_at": base + pd.to_timedelta(rng.integers(0, 200, n_crm), unit="D"),
            "source_updated_at": base + pd.to_timedelta(rng.integers(200 * 86400, 300 * 86400, n_crm), unit="s"),
            "first_name": first,
            "last_name": last,
            "email": [f"{f.lower()}.{i}@example.nl" for f, i in zip(first, idx, strict=True)],
            "phone": [f"06-{n:08d}" for n in rng.integers(10_000_000, 99_999_999, n_crm)],
            "address_line": [f"Kerkstraat {n}" for n in rng.integers(1, 300, n_crm)],
            "postcode": [f"{n} AB" for n in rng.integers(1000, 9999, n_crm)],
            "city": "Utrecht",
            "country": rng.choice(COUNTRIES, n_crm),
            "social_network": np.where(has_handle, "twitter", None),
            "social_handle": np.where(has_handle, handles, None),
            "is_deleted": rng.random(n_crm) < 0.05,
        }
    )
    linked = rng.random(n_social) < 0.5
    social_handles = np.where(linked, rng.choice(handles[has_handle], n_social), [f"fan{i}" for i in range(n_social)])
    networks = np.where(linked, "twitter", rng.choice(NETWORKS, n_social))
    social = pd.DataFrame(
        {
            "source": "hootsuite",
            "source_id": [f"{n}:{h}" for n, h in zip(networks, social_handles, strict=True)],
            "source_created_at": base,
            "source_updated_at": base + pd.to_timedelta(rng.integers(0, 300 * 86400, n_social), unit="s"),
            "social_network": networks,
            "social_handle": social_handles,
            "is_deleted": False,
        }
    ).drop_duplicates(["source", "source_id"])
    frame = conform(pd.concat([crm, social], ignore_index=True), CONTACT_COLUMNS)
    # Quarantined: a network no matcher knows. (A missing timestamp would stop the run without the
    # gate, since the matcher refuses it, so the two modes could not run the same batch.)
    broken = (frame["source"] == "hootsuite").to_numpy() & (rng.random(len(frame)) < DEFECT_RATE * 4)
    frame.loc[broken, "social_network"] = "mastodon"

    n_int = contacts * 5
    owners = rng.choice(social["source_id"].to_numpy(), n_int)
    channel = np.array([o.split(":", 1)[0] for o in owners], dtype=object)
    channel[rng.random(n_int) < DEFECT_RATE] = "fax"  # quarantined: unknown channel
    interactions = conform(
        pd.DataFrame(
            {
                "source": "hootsuite",
                "source_id": (np.arange(n_int) + 4_000_000_000).astype(str),
                "contact_source_id": owners,
                "occurred_at": base + pd.to_timedelta(rng.integers(0, 300 * 86400, n_int), unit="s"),
                "channel": channel,
                "direction": rng.choice(["inbound", "outbound"], n_int),
                "interaction_type": "reply",
                "text": "@someone thanks for reaching out",
                "thread_id": None,
            }
        ),
        INTERACTION_COLUMNS,
    )
    return frame, interactions


def run_mode(mode: str, batch_dir: Path, work: Path) -> dict[str, Any]:
    """One mode in this process: each step's seconds, and the process's peak memory."""
    from crmhub.reconcile.rules import load_rules
    from crmhub.stages import reconcile_steps as stage
    from crmhub.warehouse import Warehouse

    files = stage.run_folder(work, "bench")
    for name in ("contacts", "interactions"):
        frame = pd.read_parquet(batch_dir / f"{name}.parquet")
        files.write(f"canonical_{name}", frame)
        files.write(name, frame)
    docs = work / "data_docs"
    steps: dict[str, float] = {}

    def timed(name: str, fn: Any) -> None:
        started = time.perf_counter()
        fn()
        steps[name] = round(time.perf_counter() - started, 2)

    with Warehouse.from_url(f"duckdb://{work / 'warehouse.duckdb'}") as wh:
        wh.migrate()
        rules = load_rules()
        if mode == "with":
            timed("validate_canonical", lambda: stage.validate_canonical(wh, files, "bench", docs_dir=docs))
        timed("match_and_survive", lambda: stage.match_and_survive(wh, files, "bench", rules=rules))
        if mode == "with":
            timed("validate", lambda: stage.validate(wh, files, "bench", docs_dir=docs))
        timed("load", lambda: stage.load(wh, files, "bench", state_dir=stage.state_dir(work)))
        if mode == "with":
            timed("validate_warehouse", lambda: stage.validate_warehouse(wh, files, "bench", docs_dir=docs))
        quarantined = len(wh.quarantine()) if mode == "with" else 0
    return {
        "mode": mode,
        "steps": steps,
        "seconds": round(sum(steps.values()), 2),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "quarantined": quarantined,
    }


def bench_scale(label: str, contacts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"crmhub-bench-{label}-") as tmp:
        batch = Path(tmp) / "batch"
        batch.mkdir()
        frame, interactions = generate(contacts)
        frame.to_parquet(batch / "contacts.parquet", index=False)
        interactions.to_parquet(batch / "interactions.parquet", index=False)
        out: dict[str, Any] = {"scale": label, "contacts": len(frame), "interactions": len(interactions)}
        for mode in ("without", "with"):
            work = Path(tmp) / mode
            work.mkdir()
            cmd = [sys.executable, __file__, "--child", mode, str(batch), str(work)]
            env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{label}/{mode} failed:\n{done.stderr[-3000:]}")
            out[mode] = json.loads(done.stdout.strip().splitlines()[-1])
        out["overhead_pct"] = round(100 * (out["with"]["seconds"] / out["without"]["seconds"] - 1), 1)
        return out


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts | interactions | without validation | with validation | overhead | peak MB without / with "
        "| validation steps (s) | quarantined entries |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        w = r["with"]["steps"]
        gates = ", ".join(f"{k} {w[k]}" for k in ("validate_canonical", "validate", "validate_warehouse"))
        lines.append(
            f"| {r['contacts']:,} | {r['interactions']:,} | {r['without']['seconds']} s | {r['with']['seconds']} s "
            f"| {r['overhead_pct']:+.1f}% | {r['without']['peak_mb']:,} / {r['with']['peak_mb']:,} "
            f"| {gates} | {r['with']['quarantined']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), default=list(SCALES))
    parser.add_argument("--markdown", action="store_true", help="also print a BENCHMARKS.md table")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BATCH", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, batch, work = args.child
        print(json.dumps(run_mode(mode, Path(batch), Path(work))))
        return 0
    rows = []
    for label in args.scales:
        row = bench_scale(label, SCALES[label])
        rows.append(row)
        print(
            f"{label:>5} contacts: without {row['without']['seconds']:>8.2f} s ({row['without']['peak_mb']} MB peak)"
            f" | with {row['with']['seconds']:>8.2f} s ({row['with']['peak_mb']} MB peak)"
            f" | overhead {row['overhead_pct']:+.1f}% | steps without {row['without']['steps']}"
            f" with {row['with']['steps']}",
            flush=True,
        )
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
