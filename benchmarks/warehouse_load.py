"""Warehouse load cost on PostgreSQL: ``Warehouse.load_reconciled`` against a plain COPY, and an
incremental load (1% of records changed) against a full load.

    .venv/bin/python -m benchmarks.warehouse_load --scale 100000 1000000
    .venv/bin/python -m benchmarks.warehouse_load --scale 10000 --markdown

Per scale (N golden contacts; 1.3N source records in the xref, 2N lineage rows, 5N interactions,
N/20 opportunities, N/20 cases, 40 campaigns, 2% conflicts) a synthetic reconciled batch is written
to Parquet once, then every mode runs in its own process (peak memory = that process's
``ru_maxrss``) against its own throwaway database on ``--admin-url``'s server:

* ``copy``: the same frames COPY'd (CSV, one COPY per frame) into bare tables with the staging
  columns and no keys or indexes: the floor any loader into PostgreSQL pays.
* ``full``: ``load_reconciled`` of the whole batch into an empty, migrated warehouse.
* ``stage_full``: what the reconcile DAG's ``load`` task does on its first run: the stage
  (``crmhub.stages.reconcile_steps.load``) reads the run folder's Parquet files, finds no load state,
  hands the whole snapshot to ``load_reconciled`` into an empty migrated warehouse and keeps the
  rows' fingerprints (``crmhub.warehouse.delta``).
* ``stage_incremental``: the DAG's next run: on a clone of the ``stage_full`` database
  (``CREATE DATABASE ... TEMPLATE``, with its load state), the stage loads the next snapshot, in
  which 1% of the golden contacts (with their xref and lineage) and 1% of the interactions changed:
  it compares fingerprints and hands over only the changed rows. Incremental ÷ full compares these
  two, both measured end to end (reading files, comparing, loading, keeping the state).
* ``delta``: on another clone, ``load_reconciled`` of only the changed rows, without the
  comparison: the loader's share of the incremental run.

Throughput = rows handed to the loader (all frames) per second of wall time; peak memory = the
mode process's ``VmHWM`` (reading the Parquet batch included; the PostgreSQL server's memory is not
counted). Not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ADMIN_URL = os.environ.get("CRMHUB_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FRAMES = ("golden", "xref", "lineage", "conflicts", "interactions", "opportunities", "cases", "campaigns")
#: frame name -> staging table with the same columns (the COPY baseline's bare tables copy their shape)
STAGING = {
    "golden": "staging.golden_contacts",
    "xref": "staging.contact_xref",
    "lineage": "staging.golden_lineage",
    "conflicts": "staging.golden_conflicts",
    "interactions": "staging.interactions",
    "opportunities": "staging.opportunities",
    "cases": "staging.cases",
    "campaigns": "staging.campaigns",
}
#: frame name -> the reconcile run file the stage reads it from
RUN_FILES = {
    "golden": "golden",
    "xref": "xref",
    "lineage": "lineage",
    "conflicts": "conflicts",
    "interactions": "interactions_attached",
    "opportunities": "opportunities_attached",
    "cases": "cases_attached",
    "campaigns": "campaigns",
}
CHANGE_RATE = 0.01
FIRST = ["Jan", "Sanne", "Pieter", "Fatima", "Reza", "Emma", "Lucas", "Noor", "Daan", "Zahra", "Mila", "Sem"]
LAST = ["Vries", "Jansen", "Berg", "Bakker", "Karimi", "Visser", "Smit", "Meijer", "Ahmadi", "Mulder"]
CITIES = ["Amsterdam", "Utrecht", "Rotterdam", "Den Haag", "Eindhoven", "Groningen"]
NETWORKS = ["twitter", "instagram", "facebook", "linkedin"]


# -- data ------------------------------------------------------------------------------------------
def generate(n: int, seed: int = 11) -> dict[str, pd.DataFrame]:
    """A reconciled batch of ``n`` golden contacts in the loader's frame contracts."""
    from crmhub.model import CAMPAIGN_COLUMNS, CONFLICT_COLUMNS, GOLDEN_COLUMNS, LINEAGE_COLUMNS, conform
    from crmhub.warehouse import tables

    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2025-01-01", tz="UTC")
    gid = np.array([f"G{i:08d}" for i in range(n)], dtype=object)
    first = rng.choice(FIRST, n)
    has_social = rng.random(n) < 0.4
    golden = pd.DataFrame(
        {
            "golden_id": gid,
            "first_name": first,
            "name_prefix": np.where(rng.random(n) < 0.3, "van der", None),
            "last_name": rng.choice(LAST, n),
            "email": [f"{f.lower()}.{i}@example.nl" for i, f in enumerate(first)],
            "phone": [f"+316{x:08d}" for x in rng.integers(0, 99_999_999, n)],
            "street": "Kerkstraat",
            "house_number": rng.integers(1, 300, n).astype(str),
            "postcode": [f"{x} AB" for x in rng.integers(1000, 9999, n)],
            "city": rng.choice(CITIES, n),
            "country": "NL",
            "social_network": np.where(has_social, rng.choice(NETWORKS, n), None),
            "social_handle": np.where(has_social, [f"user{i}" for i in range(n)], None),
            "social_followers": np.where(has_social, rng.integers(0, 50_000, n).astype(float), np.nan),
            "source_updated_at": base + pd.to_timedelta(rng.integers(0, 200 * 86400, n), unit="s"),
            "is_deleted": rng.random(n) < 0.02,
        }
    )
    golden = conform(golden, GOLDEN_COLUMNS)
    second = rng.random(n) < 0.3
    xref = pd.concat(
        [
            pd.DataFrame({"source": "hubspot", "source_id": [f"hs{i}" for i in range(n)], "golden_id": gid}),
            pd.DataFrame(
                {
                    "source": "hootsuite",
                    "source_id": [f"twitter:user{i}" for i in np.flatnonzero(second)],
                    "golden_id": gid[second],
                    "match_rule": "social",
                }
            ),
        ],
        ignore_index=True,
    )
    xref = conform(xref, tables.LOAD_XREF_COLUMNS)
    lineage = conform(
        pd.DataFrame(
            {
                "golden_id": np.repeat(gid, 2),
                "attribute": np.tile(["email", "address"], n),
                "source": "hubspot",
                "source_id": np.repeat([f"hs{i}" for i in range(n)], 2),
                "source_updated_at": np.repeat(golden["source_updated_at"].to_numpy(), 2),
                "rule": "source_priority",
            }
        ),
        LINEAGE_COLUMNS,
    )
    c = rng.choice(n, max(1, n // 50), replace=False)
    conflicts = conform(
        pd.DataFrame(
            {
                "golden_id": gid[c],
                "attribute": "city",
                "chosen_source": "hubspot",
                "chosen_value": "Utrecht",
                "other_source": "hootsuite",
                "other_value": "Amsterdam",
                "rule": "source_priority",
            }
        ),
        CONFLICT_COLUMNS,
    )
    m = 5 * n
    owner = rng.integers(0, n, m)
    interactions = conform(
        pd.DataFrame(
            {
                "source": "hootsuite",
                "source_id": [f"msg{i}" for i in range(m)],
                "contact_source_id": [f"twitter:user{i}" for i in owner],
                "occurred_at": base + pd.to_timedelta(rng.integers(0, 300 * 86400, m), unit="s"),
                "channel": rng.choice(NETWORKS, m),
                "direction": np.where(rng.random(m) < 0.7, "inbound", "outbound"),
                "interaction_type": rng.choice(["mention", "dm", "reply", "comment"], m),
                "text": rng.choice(["Hoi! Vraag over mijn bestelling", "Top service 👍", "سلام، سفارش من کجاست؟"], m),
                "campaign": np.where(rng.random(m) < 0.1, rng.choice(["Spring Sale", "Summer Promo"], m), None),
                "golden_id": gid[owner],
            }
        ),
        tables.LOAD_INTERACTION_COLUMNS,
    )
    k = max(1, n // 20)
    o_owner = rng.integers(0, n, k)
    created = base + pd.to_timedelta(rng.integers(0, 300 * 86400, k), unit="s")
    closed = rng.random(k) < 0.6
    opportunities = conform(
        pd.DataFrame(
            {
                "source": "salesforce",
                "source_id": [f"006{i:09d}" for i in range(k)],
                "contact_source_id": [f"hs{i}" for i in o_owner],
                "name": "Deal",
                "stage": np.where(closed, "Closed Won", "Proposal"),
                "amount": rng.integers(100, 50_000, k).astype(float),
                "currency": "EUR",
                "is_closed": closed,
                "is_won": closed & (rng.random(k) < 0.5),
                "lead_source": "Social Media",
                "campaign_source_id": np.where(rng.random(k) < 0.3, "701A", None),
                "created_at": created,
                "closed_at": created + pd.Timedelta(days=30),
                "source_updated_at": created + pd.Timedelta(days=31),
                "is_deleted": False,
                "golden_id": gid[o_owner],
            }
        ),
        tables.LOAD_OPPORTUNITY_COLUMNS,
    )
    c_owner = rng.integers(0, n, k)
    opened = base + pd.to_timedelta(rng.integers(0, 300 * 86400, k), unit="s")
    done = rng.random(k) < 0.8
    cases = conform(
        pd.DataFrame(
            {
                "source": "salesforce",
                "source_id": [f"500{i:09d}" for i in range(k)],
                "contact_source_id": [f"hs{i}" for i in c_owner],
                "subject": "Vraag",
                "channel": rng.choice(["twitter", "email", "phone"], k),
                "status": np.where(done, "Closed", "New"),
                "priority": "Medium",
                "is_complaint": rng.random(k) < 0.2,
                "is_closed": done,
                "created_at": opened,
                "first_response_at": opened + pd.Timedelta(hours=2),
                "closed_at": np.where(done, opened + pd.Timedelta(hours=30), pd.NaT),
                "source_updated_at": opened + pd.Timedelta(days=2),
                "is_deleted": False,
                "golden_id": gid[c_owner],
            }
        ),
        tables.LOAD_CASE_COLUMNS,
    )
    campaigns = conform(
        pd.DataFrame(
            {
                "source": "salesforce",
                "source_id": ["701A", *[f"701{i:03d}" for i in range(39)]],
                "name": ["Spring Sale", *[f"Campaign {i}" for i in range(39)]],
                "channel": "social",
                "status": "Completed",
                "started_at": base,
                "ended_at": base + pd.Timedelta(days=60),
                "source_updated_at": base + pd.Timedelta(days=61),
                "is_deleted": False,
            }
        ),
        CAMPAIGN_COLUMNS,
    )
    return {
        "golden": golden,
        "xref": xref,
        "lineage": lineage,
        "conflicts": conflicts,
        "interactions": interactions,
        "opportunities": opportunities,
        "cases": cases,
        "campaigns": campaigns,
    }


def change(batch: dict[str, pd.DataFrame], rate: float = CHANGE_RATE, seed: int = 12) -> dict[str, pd.DataFrame]:
    """The changed rows of the next run: ``rate`` of the golden contacts (new city, later business
    time) with their xref and lineage rows, and ``rate`` of the interactions (edited text)."""
    rng = np.random.default_rng(seed)
    golden = batch["golden"]
    picked = rng.random(len(golden)) < rate
    g = golden[picked].copy()
    g["city"] = "Zwolle"
    g["source_updated_at"] = g["source_updated_at"] + pd.Timedelta(days=250)
    ids = set(g["golden_id"])
    lineage = batch["lineage"][batch["lineage"]["golden_id"].isin(ids)].copy()
    lineage["source_updated_at"] = lineage["golden_id"].map(
        dict(zip(g["golden_id"], g["source_updated_at"], strict=True))
    )
    inter = batch["interactions"]
    ichanged = inter[rng.random(len(inter)) < rate].copy()
    ichanged["text"] = ichanged["text"] + " (bewerkt)"
    empty = {name: frame.iloc[0:0] for name, frame in batch.items()}
    return {
        **empty,
        "golden": g,
        "xref": batch["xref"][batch["xref"]["golden_id"].isin(ids)],
        "lineage": lineage,
        "interactions": ichanged,
    }


def apply_changes(batch: dict[str, pd.DataFrame], delta: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The whole batch with the delta's rows replacing their originals (the snapshot a full reconcile gives)."""
    keys = {"golden": ["golden_id"], "lineage": ["golden_id", "attribute"], "interactions": ["source", "source_id"]}
    out = dict(batch)
    for name, key in keys.items():
        merged = pd.concat([batch[name], delta[name]], ignore_index=True)
        out[name] = merged.drop_duplicates(key, keep="last").reset_index(drop=True)
    return out


def rows_in(batch: dict[str, pd.DataFrame]) -> int:
    return sum(len(f) for f in batch.values())


# -- modes (each in its own process) ---------------------------------------------------------------
def read_batch(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in FRAMES}


def mode_copy(url: str, batch: dict[str, pd.DataFrame]) -> None:
    """COPY every frame as CSV into a bare table shaped like its staging table (no keys, no indexes)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        for name in batch:
            table = sql.Identifier("bench", name)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
            staging = sql.Identifier(*STAGING[name].split("."))
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {})").format(table, staging))
        with conn.transaction():
            for name, frame in batch.items():
                buffer = io.StringIO()
                frame.to_csv(buffer, index=False, header=False, date_format="%Y-%m-%d %H:%M:%S.%f%z")
                columns = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
                statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    sql.Identifier("bench", name), columns
                )
                with conn.cursor() as cur, cur.copy(statement) as copy:
                    copy.write(buffer.getvalue())


def mode_load(
    url: str, batch: dict[str, pd.DataFrame], run_id: str, migrate: bool, by_key: bool = False
) -> dict[str, int]:
    from crmhub.warehouse import LoadBatch, Warehouse

    with Warehouse.from_url(url) as wh:
        if migrate:
            wh.migrate()
        stats = wh.load_reconciled(LoadBatch(run_id, **batch), by_key=by_key)
        return stats.counts()


def peak_mb() -> float:
    """This process's peak resident memory in MB.

    ``VmHWM`` rather than ``ru_maxrss``: Linux keeps ``ru_maxrss`` across ``execve``, so a child
    started by a parent holding the generated batch would report the parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def mode_stage(url: str, run_folder: Path) -> dict[str, Any]:
    """The reconcile stage's load task on a run folder ``<data dir>/runs/<run>`` (state under
    ``<data dir>/state``)."""
    from crmhub.stages import reconcile_steps as stage
    from crmhub.warehouse import Warehouse

    data = run_folder.parents[1]
    with Warehouse.from_url(url) as wh:
        return stage.load(wh, stage.RunFiles(run_folder), run_folder.name, state_dir=stage.state_dir(data))


def child(args: argparse.Namespace) -> int:
    """One measured mode; prints a JSON line."""
    if args.mode.startswith("stage"):
        # imported before the clock starts: the task process has them loaded before it loads
        import crmhub.stages.reconcile_steps  # noqa: F401
        import crmhub.warehouse.delta  # noqa: F401

        started = time.perf_counter()
        result = mode_stage(args.url, Path(args.batch))
        seconds = time.perf_counter() - started
        counts = {k: v for k, v in result.items() if k != "run_id"}
        rows = int(result.get("snapshot_rows", 0))
        print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": round(peak_mb()), "counts": counts}))
        return 0
    batch = read_batch(Path(args.batch))
    started = time.perf_counter()
    counts = {}
    if args.mode == "copy":
        mode_copy(args.url, batch)
    elif args.mode == "migrate":
        from crmhub.warehouse import Warehouse

        with Warehouse.from_url(args.url) as wh:
            wh.migrate()
    else:
        counts = mode_load(args.url, batch, args.mode, migrate=False, by_key=args.mode == "delta")
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": rows_in(batch), "peak_mb": round(peak_mb()), "counts": counts}))
    return 0


# -- orchestration ---------------------------------------------------------------------------------
class Databases:
    """Throwaway databases on the admin URL's server, dropped at the end."""

    def __init__(self, admin_url: str) -> None:
        import psycopg

        self.admin = psycopg.connect(admin_url, autocommit=True)
        self.base = admin_url.rsplit("/", 1)[0]
        self.names: list[str] = []

    def create(self, template: str | None = None) -> tuple[str, str]:
        name = f"crmhub_bench_{uuid.uuid4().hex[:10]}"
        suffix = f' TEMPLATE "{template}"' if template else ""
        self.admin.execute(f'CREATE DATABASE "{name}"{suffix}')
        self.names.append(name)
        return name, f"{self.base}/{name}"

    def close(self) -> None:
        for name in self.names:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


def run_child(mode: str, url: str, batch: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.warehouse_load", "--child", mode, "--url", url, "--batch", str(batch)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_run(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    """``frames`` as the reconcile stage's run files, written the way the stage writes them."""
    from crmhub.stages.reconcile_steps import RunFiles

    files = RunFiles(folder)
    for name, frame in frames.items():
        files.write(RUN_FILES[name], frame)
    (folder / "merges.json").write_text("[]", encoding="utf-8")


def copy_state(data: Path, from_url: str, to_url: str) -> None:
    """Give a cloned database the load state of the one it was cloned from (state is per URL)."""
    import shutil

    from crmhub.warehouse.delta import LoadState
    from crmhub.warehouse.url import parse_url

    source = LoadState.for_warehouse(data / "state", parse_url(from_url).redacted()).folder
    target = LoadState.for_warehouse(data / "state", parse_url(to_url).redacted()).folder
    shutil.copytree(source, target)


def bench_scale(n: int, admin_url: str) -> dict[str, Any]:
    dbs = Databases(admin_url)
    try:
        with tempfile.TemporaryDirectory(prefix="crmhub-bench-") as tmp:
            folders = {k: Path(tmp) / k for k in ("full", "delta")}
            data = Path(tmp) / "data"
            t0 = time.perf_counter()
            batch = generate(n)
            delta = change(batch)
            for key, frames in (("full", batch), ("delta", delta)):
                folders[key].mkdir()
                for name, frame in frames.items():
                    frame.to_parquet(folders[key] / f"{name}.parquet", index=False)
            write_run(data / "runs" / "run-1", batch)
            write_run(data / "runs" / "run-2", apply_changes(batch, delta))
            generate_s = time.perf_counter() - t0
            del batch, delta
            _, migrate_url = dbs.create()  # the COPY baseline needs the staging tables' shapes
            run_child("migrate", migrate_url, folders["delta"])
            copy = run_child("copy", migrate_url, folders["full"])
            _, full_url = dbs.create()
            run_child("migrate", full_url, folders["delta"])
            full = run_child("full", full_url, folders["full"])
            stage_db, stage_url = dbs.create()
            run_child("migrate", stage_url, folders["delta"])
            stage_full = run_child("stage_full", stage_url, data / "runs" / "run-1")
            dbs.admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{stage_db}'")
            _, incr_url = dbs.create(template=stage_db)
            _, delta_url = dbs.create(template=stage_db)
            copy_state(data, stage_url, incr_url)
            incremental = run_child("stage_incremental", incr_url, data / "runs" / "run-2")
            delta_only = run_child("delta", delta_url, folders["delta"])
    finally:
        dbs.close()
    return {
        "contacts": n,
        "generate_s": round(generate_s, 1),
        "generate_peak_mb": round(peak_mb()),
        "copy": copy,
        "full": full,
        "stage_full": stage_full,
        "stage_incremental": incremental,
        "delta": delta_only,
    }


def summary(result: dict[str, Any]) -> dict[str, Any]:
    def rate(mode: str) -> float:
        return result[mode]["rows"] / result[mode]["seconds"]

    stage_full_s = result["stage_full"]["seconds"]
    incremental = result["stage_incremental"]
    return {
        "contacts": result["contacts"],
        "rows": result["full"]["rows"],
        "copy_s": round(result["copy"]["seconds"], 2),
        "copy_rows_per_s": round(rate("copy")),
        "full_s": round(result["full"]["seconds"], 2),
        "full_rows_per_s": round(rate("full")),
        "load_vs_copy": round(rate("full") / rate("copy"), 3),
        "stage_full_s": round(stage_full_s, 2),
        "stage_incremental_s": round(incremental["seconds"], 2),
        "incremental_vs_full": round(incremental["seconds"] / stage_full_s, 4),
        "incremental_handover": incremental["counts"].get("handover"),
        "incremental_handed_rows": incremental["counts"].get("handed_rows"),
        "incremental_diff_s": incremental["counts"].get("diff_seconds"),
        "delta_rows": result["delta"]["rows"],
        "delta_s": round(result["delta"]["seconds"], 2),
        "peak_mb": {m: result[m]["peak_mb"] for m in ("copy", "full", "stage_full", "stage_incremental", "delta")},
        "generate_peak_mb": result["generate_peak_mb"],
        "incremental_counts": incremental["counts"],
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts | rows loaded | COPY | load_reconciled (full) | load ÷ COPY "
        "| load task, first run (full) | load task, next run (1% changed) | incremental ÷ full "
        "| of which: compare / loader (changed rows only) | peak MB copy / full / task full / task next / delta |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p = r["peak_mb"]
        lines.append(
            f"| {r['contacts']:,} | {r['rows']:,} | {r['copy_s']} s ({r['copy_rows_per_s']:,} rows/s) "
            f"| {r['full_s']} s ({r['full_rows_per_s']:,} rows/s) | {r['load_vs_copy']:.0%} "
            f"| {r['stage_full_s']} s | {r['stage_incremental_s']} s "
            f"({r['incremental_handed_rows']:,} rows handed over) "
            f"| **{r['incremental_vs_full']:.2%}** | {r['incremental_diff_s']} s / {r['delta_s']} s "
            f"| {p['copy']:,} / {p['full']:,} / {p['stage_full']:,} / {p['stage_incremental']:,} / {p['delta']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", nargs="+", type=int, default=[100_000], help="golden contacts per run")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--batch", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.mode = args.child
        return child(args)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}")
    rows = []
    for n in args.scale:
        result = bench_scale(n, args.admin_url)
        rows.append(summary(result))
        print(json.dumps(rows[-1]), flush=True)
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
