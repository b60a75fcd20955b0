"""A small reconcile run on top of a large warehouse: what one run of a few hundred changes costs.

    .venv/bin/python -m benchmarks.small_run --contacts 1000000 --changed 300 --messages 300 --warehouse postgres
    .venv/bin/python -m benchmarks.small_run --contacts 20000 --changed 300 --messages 300 --warehouse duckdb

Setup, built once per (contacts, history, warehouse) and cached under ``--data`` (outside the repo):

* ``contacts`` canonical contact records from the reconcile benchmark's generator
  (``benchmarks/reconcile/generate.py``, ``hard`` noise, seed 7; four sources, 1–4 records per
  person) and ``history`` social messages (``--history``, default 0.2 per contact) of its social
  records;
* a first reconcile run through the real stage functions (``match_and_survive`` then ``load``, with
  the load state under ``<data>/state``) into a warehouse of its own: a PostgreSQL database
  ``crmhub_small_run_<n>`` on ``--admin-url``'s server (kept as a template), or a DuckDB file;
* on PostgreSQL, once, ``VACUUM ANALYZE`` of that database: what autovacuum does in the minutes after
  a full load, before the next small run (a copy made at once would inherit the first run's dead
  staging rows and half-finished statistics; the copy's own counters start at zero, so autovacuum
  would never catch up during the measured run).

Each measured run works on a copy of that warehouse and state (``CREATE DATABASE ... TEMPLATE``, a
copied DuckDB file), so runs can be repeated. Its input is the next run's canonical files: the
same contacts with ``--changed`` records edited (new e-mail or address, a later business time) and
``--messages`` new inbound social messages (most from known social records, some from unknown
handles). The run calls ``match_and_survive`` and ``load`` as the reconcile DAG does, in a child
process (peak memory = that process's ``VmHWM``), and prints the seconds of every step: reading the
previous xref and decisions, matching and survivorship, attaching and filtering messages, writing
the run files, planning the handover, and each load statement (``load sql:`` lines are also inside
the ``load: ...`` steps that run them, e.g. the steward queue's statements). Canonicalize and the quality gates
are left out (they read raw payloads and run Great Expectations; see BENCHMARKS.md). Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("CRMHUB_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEFAULT_DATA = Path(os.environ.get("CRMHUB_BENCH_DATA", "/tmp/crmhub-bench/small_run"))
RULES = ROOT / "benchmarks" / "reconcile" / "rules.yaml"
TEXTS = [
    "Mijn bestelling is nog steeds niet geleverd, slechte service!",
    "Hoe kan ik mijn abonnement opzeggen?",
    "Top geholpen door jullie team, dank!",
    "Wat kost het pakket voor bedrijven?",
    "سلام، سفارش من کجاست؟",
    "Where is my refund? Third time asking.",
    "Goedemorgen allemaal, fijne dag!",  # intent other: kept, matches no routing rule, stays unrouted
]


# -- data --------------------------------------------------------------------------------------------
def contacts_frame(n: int) -> pd.DataFrame:
    """``n`` canonical contacts of the reconcile benchmark's generator (no truth column)."""
    sys.path.insert(0, str(ROOT / "benchmarks" / "reconcile"))
    from generate import generate

    from crmhub.model import CONTACT_COLUMNS, conform

    return conform(generate(n, "hard", 7).drop(columns="person_id"), CONTACT_COLUMNS)


def messages_frame(contacts: pd.DataFrame, m: int, seed: int, start: pd.Timestamp, prefix: str) -> pd.DataFrame:
    """``m`` inbound social messages, 95% from known social records, the rest from unknown handles."""
    from crmhub.model import INTERACTION_COLUMNS, conform

    rng = np.random.default_rng(seed)
    social = contacts.loc[contacts["source"] == "social", "source_id"].to_numpy(dtype=object)
    owner = social[rng.integers(0, len(social), m)] if len(social) else np.full(m, "social-unknown", dtype=object)
    unknown = rng.random(m) < 0.05
    owner = np.where(unknown, [f"social-unknown-{prefix}{i}" for i in range(m)], owner)
    frame = pd.DataFrame(
        {
            "source": "social",
            "source_id": [f"{prefix}msg{i}" for i in range(m)],
            "contact_source_id": owner,
            "occurred_at": start + pd.to_timedelta(rng.integers(0, 86400, m), unit="s"),
            "channel": "twitter",
            "direction": "inbound",
            "interaction_type": rng.choice(["mention", "dm", "reply"], m),
            "text": rng.choice(TEXTS, m),
            "thread_id": [f"{prefix}t{i}" for i in range(m)],
        }
    )
    return conform(frame, INTERACTION_COLUMNS)


def changed_contacts(contacts: pd.DataFrame, k: int, seed: int = 21) -> pd.DataFrame:
    """The contacts with ``k`` records edited the way a day of CRM work edits them: a new e-mail
    address (a third), a move (a third: new address line, postcode, city) or a new phone number,
    each with a business time after every existing one."""
    rng = np.random.default_rng(seed)
    out = contacts.copy()
    picked = rng.choice(len(out), size=min(k, len(out)), replace=False)
    later = out["source_updated_at"].max() + pd.Timedelta(hours=1)
    for j, pos in enumerate(picked.tolist()):
        kind = j % 3
        if kind == 0:
            out.at[pos, "email"] = f"nieuw.adres.{j}@example.org"
        elif kind == 1:
            out.at[pos, "address_line"] = f"Nieuwe Gracht {j + 1}"
            out.at[pos, "postcode"] = f"{1000 + j % 8999} ZZ"
            out.at[pos, "city"] = "Zwolle"
        else:
            out.at[pos, "phone"] = f"+3161{j:07d}"
        out.at[pos, "source_updated_at"] = later + pd.Timedelta(seconds=j)
    return out


# -- warehouses ----------------------------------------------------------------------------------------
def base_name(n: int, history: int) -> str:
    return f"crmhub_small_run_{n}_{history}"


def pg_admin(admin_url: str) -> Any:
    import psycopg

    return psycopg.connect(admin_url, autocommit=True)


def pg_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def warehouse_url(kind: str, admin_url: str, folder: Path, name: str) -> str:
    if kind == "postgres":
        return pg_url(admin_url, name)
    return f"duckdb:///{folder / (name + '.duckdb')}"


def clone_warehouse(kind: str, admin_url: str, folder: Path, base: str, clone: str) -> str:
    """A fresh copy of the built warehouse named ``clone``; returns its URL."""
    if kind == "postgres":
        with pg_admin(admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{clone}" WITH (FORCE)')
            admin.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{base}'")
            admin.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{base}"')
    else:
        shutil.copyfile(folder / f"{base}.duckdb", folder / f"{clone}.duckdb")
    return warehouse_url(kind, admin_url, folder, clone)


def migrate(url: str) -> None:
    from crmhub.warehouse import Warehouse

    with Warehouse.from_url(url) as wh:
        wh.migrate()


def drop_warehouse(kind: str, admin_url: str, folder: Path, name: str) -> None:
    if kind == "postgres":
        with pg_admin(admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        (folder / f"{name}.duckdb").unlink(missing_ok=True)


def copy_state(data: Path, from_url: str, to_url: str, into: Path) -> None:
    """The load (and reconcile) state of the warehouse at ``from_url`` as the state of the one at
    ``to_url``: both are kept per warehouse URL."""
    from crmhub.warehouse.delta import LoadState
    from crmhub.warehouse.url import parse_url

    src, dst = parse_url(from_url).redacted(), parse_url(to_url).redacted()
    load_from, load_to = LoadState.for_warehouse(data / "state", src), LoadState.for_warehouse(into / "state", dst)
    folders = [(load_from.folder, load_to.folder)]
    try:
        from crmhub.stages.reconcile_delta import ReconcileState
    except ImportError:  # code before incremental reconcile
        pass
    else:
        folders.append((ReconcileState(data / "state", src).folder, ReconcileState(into / "state", dst).folder))
    for source, target in folders:
        if source.exists():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)


# -- timing ------------------------------------------------------------------------------------------
class Steps:
    """Seconds per named step, filled by wrapping the functions the stages call."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started
            self.calls[name] += 1

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timed(name):
                return original(*args, **kwargs)

        setattr(owner, attr, timed)


def instrument(steps: Steps, warehouse: Any) -> None:
    """Time the parts of ``match_and_survive`` and ``load`` without changing what they do."""
    import crmhub.reconcile.pipeline as pipeline
    import crmhub.stages.reconcile_steps as stage
    import crmhub.warehouse.handover as handover
    import crmhub.warehouse.load as load

    steps.wrap(pipeline, "reconcile", "reconcile: match + survive")
    steps.wrap(pipeline, "attach_interactions", "reconcile: attach messages")
    steps.wrap(stage, "filter_interactions", "reconcile: understand + filter messages")
    steps.wrap(stage, "attach_golden_ids", "reconcile: attach opportunities/cases")
    steps.wrap(stage, "record_state", "reconcile: record state")
    steps.wrap(stage.RunFiles, "write", "reconcile: write run files")
    steps.wrap(stage.RunFiles, "read", "reconcile: read run files")
    steps.wrap(type(warehouse), "current_xref", "reconcile: read previous xref")
    steps.wrap(type(warehouse), "steward_decisions", "reconcile: read steward decisions")
    steps.wrap(handover, "plan_load", "load: plan handover (fingerprints)")
    steps.wrap(load, "prepare_frames", "load: prepare frames")
    steps.wrap(stage, "load_steward", "load: steward queue + merge log")
    try:
        import crmhub.stages.reconcile_delta as delta
    except ImportError:  # code before incremental reconcile
        pass
    else:
        steps.wrap(delta, "plan_scope", "reconcile: find the scope (seeds, keys, components)")
        steps.wrap(delta, "rows_to_reload", "reconcile: pick messages to reload")
        steps.wrap(delta, "context_xref", "reconcile: xref rows the messages read")
        steps.wrap(delta, "write_state", "reconcile: write the next run's state")
    steps.wrap(stage, "store_messages", "load: store message understanding")
    import crmhub.warehouse.message_store as message_store

    steps.wrap(message_store, "_route_new", "load: route messages (candidates + rules)")
    engine = warehouse.engine
    run_file, stage_frame = engine.run_file, engine.stage

    def timed_run_file(name: str, params: Any = None) -> int:
        with steps.timed(f"load sql: {name}"):
            return run_file(name, params)

    def timed_stage(table: str, frame: pd.DataFrame) -> int:
        with steps.timed("load sql: COPY into staging"):
            return stage_frame(table, frame)

    engine.run_file, engine.stage = timed_run_file, timed_stage


def peak_mb() -> float:
    """This process's peak resident memory (``VmHWM``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- stages --------------------------------------------------------------------------------------------
def run_stages(url: str, data: Path, run_id: str, steps: Steps | None) -> dict[str, Any]:
    """``match_and_survive`` then ``load`` on ``<data>/runs/<run_id>``, as the reconcile DAG calls them."""
    from crmhub.reconcile.rules import load_rules
    from crmhub.stages import reconcile_steps as stage
    from crmhub.warehouse import Warehouse

    rules = load_rules(RULES)
    files = stage.run_folder(data, run_id)
    with Warehouse.from_url(url) as wh:
        if steps is not None:
            instrument(steps, wh)
        t0 = time.perf_counter()
        reconciled = stage.match_and_survive(wh, files, run_id, rules=rules, **reconcile_kwargs(stage, data))
        t1 = time.perf_counter()
        loaded = stage.load(wh, files, run_id, state_dir=stage.state_dir(data))
        t2 = time.perf_counter()
    return {"reconcile_s": t1 - t0, "load_s": t2 - t1, "reconcile": reconciled, "load": loaded}


def reconcile_kwargs(stage: Any, data: Path) -> dict[str, Any]:
    """``state_dir`` for ``match_and_survive`` when the stage takes one (incremental reconcile)."""
    import inspect

    if "state_dir" in inspect.signature(stage.match_and_survive).parameters:
        return {"state_dir": stage.state_dir(data)}
    return {}


def write_inputs(folder: Path, contacts: pd.DataFrame, interactions: pd.DataFrame) -> None:
    from crmhub.stages.reconcile_steps import RunFiles

    files = RunFiles(folder)
    files.write("contacts", contacts)
    files.write("interactions", interactions)


def build(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Generate the data and load the first run (cached: a second call only checks the marker)."""
    marker = root / "built.json"
    if marker.exists():
        return prime(json.loads(marker.read_text()), root)
    from crmhub.warehouse import Warehouse

    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    contacts = contacts_frame(args.contacts)
    history = messages_frame(contacts, args.history, 1, pd.Timestamp("2025-06-01", tz="UTC"), "h")
    contacts.to_parquet(root / "contacts.parquet", index=False)
    history.to_parquet(root / "history.parquet", index=False)
    generated = time.perf_counter() - t0
    data = root / "data"
    write_inputs(data / "runs" / "build", contacts, history)
    del contacts, history
    name = base_name(args.contacts, args.history)
    if args.warehouse == "postgres":
        with pg_admin(args.admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    url = warehouse_url(args.warehouse, args.admin_url, root, name)
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    result = child(["build", url, str(data), "build"])
    info = {"url": url, "name": name, "generate_s": round(generated, 1), "first_run": result}
    marker.write_text(json.dumps(info, default=str))
    return prime(info, root)


def state_current(data: Path) -> bool:
    """Whether the kept reconcile state was written under these rules. Its fingerprint covers the
    rules as loaded, path included, so a cache built from another checkout (or before a change of
    the matcher's settings) would make every measured run a full one."""
    from crmhub.reconcile.rules import load_rules
    from crmhub.stages.reconcile_delta import rules_fingerprint

    wanted = rules_fingerprint(load_rules(RULES))
    for meta in (data / "state").glob("reconcile/*/state.json"):
        with contextlib.suppress(OSError, ValueError):
            if json.loads(meta.read_text(encoding="utf-8")).get("rules") == wanted:
                return True
    return False


def prime(info: dict[str, Any], root: Path) -> dict[str, Any]:
    """Give a warehouse built before incremental reconcile (or under other rules, see
    :func:`state_current`) its reconcile state: one full run on the same inputs (changes nothing in
    core) with the state directory, as the first run after an upgrade."""
    from crmhub.stages import reconcile_steps as stage

    data = root / "data"
    if not reconcile_kwargs(stage, data) or state_current(data):
        return info
    print("priming: the kept reconcile state is missing or from other rules; one full run", flush=True)
    info.pop("vacuumed", None)  # the full run leaves dead staging rows again
    build_run, prime_run = data / "runs" / "build", data / "runs" / "prime"
    prime_run.mkdir(parents=True, exist_ok=True)
    migrate(info["url"])
    for name in ("contacts", "interactions"):
        shutil.copyfile(build_run / f"{name}.parquet", prime_run / f"{name}.parquet")
    info["prime_run"] = child(["build", info["url"], str(data), "prime"])
    (root / "built.json").write_text(json.dumps(info, default=str))
    return info


def child(argv: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.small_run", "--child", *argv]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def child_main(mode: str, url: str, data: str, run_id: str) -> int:
    import crmhub.stages.reconcile_steps  # noqa: F401  (imported before the clock, as in a task)
    import crmhub.warehouse.handover  # noqa: F401

    steps = Steps() if mode == "measure" else None
    started = time.perf_counter()
    result = run_stages(url, Path(data), run_id, steps)
    total = time.perf_counter() - started
    out = {
        "total_s": total,
        "reconcile_s": result["reconcile_s"],
        "load_s": result["load_s"],
        "peak_mb": round(peak_mb()),
        "steps": dict(steps.seconds) if steps else {},
        "calls": dict(steps.calls) if steps else {},
        "reconcile_stats": {
            k: result["reconcile"].get(k)
            for k in ("source_records", "golden", "reconcile", "interactions_attached", "merges", "splits")
        },
        "load_stats": {
            k: result["load"].get(k)
            for k in ("handover", "handover_reason", "snapshot_rows", "handed_rows", "diff_seconds")
            + ("golden_received", "golden_opened", "golden_closed", "xref_opened", "interactions_inserted")
        },
    }
    print(json.dumps(out, default=str))
    return 0


def settle(args: argparse.Namespace, root: Path, built: dict[str, Any]) -> None:
    """Migrate the built warehouse (DDL added since it was built) and, on PostgreSQL, vacuum and
    analyze it once, as autovacuum would between a full run and the next small one (module doc)."""
    migrate(built["url"])
    if args.warehouse != "postgres" or built.get("vacuumed"):
        return
    started = time.perf_counter()
    with pg_admin(pg_url(args.admin_url, built["name"])) as con:
        con.execute("VACUUM ANALYZE")
    built["vacuumed"] = round(time.perf_counter() - started, 1)
    (root / "built.json").write_text(json.dumps(built, default=str))


def measure(args: argparse.Namespace, root: Path, built: dict[str, Any]) -> dict[str, Any]:
    """One small run on a fresh copy of the built warehouse and its state."""
    contacts = pd.read_parquet(root / "contacts.parquet")
    history = pd.read_parquet(root / "history.parquet")
    now = max(history["occurred_at"].max(), contacts["source_updated_at"].max()) + pd.Timedelta(days=1)
    new = messages_frame(contacts, args.messages, 2, now, "n")
    run_data = root / "measure"
    shutil.rmtree(run_data, ignore_errors=True)
    run_id = "small-run"
    write_inputs(
        run_data / "runs" / run_id,
        changed_contacts(contacts, args.changed),
        pd.concat([history, new], ignore_index=True),
    )
    del contacts, history
    clone = f"{built['name']}_run"
    url = clone_warehouse(args.warehouse, args.admin_url, root, built["name"], clone)
    copy_state(root / "data", built["url"], url, run_data)
    migrate(url)  # DDL added since the warehouse was built (idempotent, not measured)
    try:
        return child(["measure", url, str(run_data), run_id])
    finally:
        if not args.keep:
            drop_warehouse(args.warehouse, args.admin_url, root, clone)


def report(result: dict[str, Any], changed: int, new: int) -> str:
    lines = [f"{'step':<48} {'seconds':>9}"]
    for name, seconds in sorted(result["steps"].items(), key=lambda kv: -kv[1]):
        if seconds >= 0.005:
            lines.append(f"{name:<48} {seconds:>9.3f}")
    lines.append(f"{'match_and_survive (stage, total)':<48} {result['reconcile_s']:>9.2f}")
    lines.append(f"{'load (stage, total)':<48} {result['load_s']:>9.2f}")
    lines.append(f"{'TOTAL reconcile + load':<48} {result['total_s']:>9.2f}")
    lines.append(f"peak memory (VmHWM of the run's process): {result['peak_mb']} MB")
    stats = result.get("reconcile_stats") or {}
    scope = stats.get("source_records") or 0
    messages = stats.get("interactions_attached") or 0
    total = result["total_s"] or float("nan")
    lines.append(
        f"throughput: {changed} changed records + {new} new messages in {total:.2f} s "
        f"({(changed + new) / total:,.0f} changes/s); reconciled {scope:,} records in scope "
        f"({scope / total:,.0f}/s), handed on {messages:,} messages"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000, help="canonical contact records")
    parser.add_argument("--history", type=int, default=None, help="social messages already loaded (0.2/contact)")
    parser.add_argument("--changed", type=int, default=300, help="contacts edited in the small run")
    parser.add_argument("--messages", type=int, default=300, help="new social messages in the small run")
    parser.add_argument("--warehouse", choices=["postgres", "duckdb"], default="postgres")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="cache folder (outside the repo)")
    parser.add_argument("--repeat", type=int, default=1, help="small runs to measure (each on a fresh copy)")
    parser.add_argument("--keep", action="store_true", help="keep the measured warehouse copy")
    parser.add_argument("--child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(*args.child)
    if args.history is None:
        args.history = args.contacts // 5
    root = args.data / f"{args.warehouse}_{args.contacts}_{args.history}"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    built = build(args, root)
    first = built["first_run"]["total_s"]
    print(f"warehouse: {args.contacts:,} contacts, {args.history:,} messages; first run {first:.1f} s")
    if args.repeat:
        settle(args, root, built)
    for i in range(args.repeat):
        result = measure(args, root, built)
        print(
            f"\nsmall run {i + 1}: {args.changed} changed contacts, {args.messages} new messages "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        print(report(result, args.changed, args.messages))
        print(f"load average after the run: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        print(json.dumps({k: v for k, v in result.items() if k not in ("steps", "calls")}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
