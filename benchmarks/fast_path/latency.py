"""Fast-path latency (issue 17): how long from a complaint on social to the suppression list and the queue.

Starts the local distributed stack (scheduler, dag-processor, triggerer, api-server, one Celery worker
on the local Redis, PostgreSQL metadata and warehouse: ``tests/ops/stack.py``, as
``tests/ops/test_distributed_stack.py`` does), a sandbox of ``--people`` people, loads it once through
the daily ingest DAGs and reconcile, and then, with the fast-path DAGs unpaused and nothing triggered
by hand:

- ``--n`` complaints: a new inbound Sprout message (``POST /_sandbox/messages``) from the handle of a
  person known in a CRM who is not suppressed yet, one every ``--spacing`` seconds;
- ``--webhooks`` complaints from a handle the CRM learns at the same moment: the person's HubSpot contact
  gets the handle (``crmhub_dev.sandbox.webhooks.change_contact``) and the sandbox posts the signed
  ``contact.propertyChange`` webhook to the API server's ``/crmhub-webhooks/hubspot``. Done when the
  HubSpot contact's golden record (with its e-mail address) is on the suppression list.

With ``dags/crmhub_writeback.py`` present (and no ``--no-writeback``) the write-back DAG runs too, and
``written`` is the time until ``audit.writeback_attempts`` records the follow-up task the CRM sandbox
created for the message.

For each it measures the seconds until the raw message landed, until the person is on
``mart.marketing_suppression`` and until the message is in ``mart.routing_queue``; prints median, p95
and max, the load average before and after, and writes the rows as JSON (``--out``).

    .venv/bin/python benchmarks/fast_path/latency.py --n 10 --webhooks 4 --people 200

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(PROJECT_DIR / "plugins"), str(PROJECT_DIR / "tools")]

from crmhub.config import load_sources  # noqa: E402
from crmhub_dev.localrun import local_airflow, sandbox_connections  # noqa: E402
from crmhub_dev.sandbox import datagen, message_corpus  # noqa: E402
from crmhub_dev.sandbox.server import SandboxServer  # noqa: E402
from crmhub_dev.sandbox.webhooks import DEFAULT_CLIENT_SECRET, WebhookSender, change_contact  # noqa: E402

PG_ADMIN = "postgres@127.0.0.1:5432"
BROKER = "redis://127.0.0.1:6379/0"
REDIS_DB = 2
#: seconds after a message is routed that the benchmark still waits for its write-back
WRITE_GRACE = 180.0
COMPLAINTS = [
    *(e[0] for e in message_corpus.INBOUND_NL + message_corpus.INBOUND_EN if e[2] == "complaint" and not e[3]),
    "Al twee weken wacht ik op mijn pakket, dit is echt slecht 😡",
    "Jullie klantenservice reageert gewoon niet, ik ben het zat",
    "Worst service ever, my refund still hasn't come through",
    "Mijn factuur klopt alweer niet, belachelijk",
]


def _understood_complaints() -> list[str]:
    """The texts the hub's classifier understands as complaints: this measures latency, not recall."""
    from crmhub.messages.core import classify

    texts = [t for t in COMPLAINTS if classify(f"@socialcrmhub {t}").complaint]
    if not texts:
        raise SystemExit("the classifier understands none of the benchmark's complaint texts as a complaint")
    return texts


def _stack_module() -> Any:
    spec = importlib.util.spec_from_file_location("crmhub_test_stack", PROJECT_DIR / "tests" / "ops" / "stack.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@dataclass
class Item:
    kind: str  # "pull" (Sprout message) or "webhook" (HubSpot change + Sprout message)
    guid: str
    hubspot_id: str | None
    posted: float
    landed: float | None = None
    suppressed: float | None = None
    routed: float | None = None
    written: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _db(name: str) -> str:
    with psycopg.connect(f"postgresql://{PG_ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN}/{name}"


def _drop(name: str) -> None:
    with psycopg.connect(f"postgresql://{PG_ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _one(warehouse: str, sql: str, *params: Any) -> Any:
    """One value; None while a load or a migration holds the tables (asked again on the next round)."""
    try:
        with psycopg.connect(f"postgresql://{warehouse}", autocommit=True) as conn:
            row = conn.execute(sql, params).fetchone()
    except psycopg.errors.DeadlockDetected:
        return None
    return row[0] if row else None


def _rows(warehouse: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(f"postgresql://{warehouse}", autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10, help="complaints posted on Sprout (pulled every minute)")
    parser.add_argument("--webhooks", type=int, default=4, help="complaints whose handle HubSpot learns (webhook)")
    parser.add_argument("--people", type=int, default=200, help="sandbox people (scale)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spacing", type=float, default=15.0, help="seconds between two posts")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for the last item")
    parser.add_argument(
        "--no-writeback", action="store_true", help="leave crmhub_writeback paused (default: measure it too)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the rows and figures as JSON here")
    args = parser.parse_args()

    stack_mod = _stack_module()
    suffix = uuid.uuid4().hex[:8]
    names = [f"crmhub_fpmeta_{suffix}", f"crmhub_fpwh_{suffix}"]
    metadata_db, warehouse_db = (_db(n) for n in names)
    home = Path(f"/tmp/crmhub-fast-path-{suffix}")
    stack = None
    data = datagen.generate(seed=args.seed, people=args.people, anchor=datagen.DEFAULT_ANCHOR)
    try:
        with SandboxServer(data=data) as sandbox:
            env = {
                **stack_mod.celery_env(metadata_db, BROKER),
                "CRMHUB_RETRIES": "1",
                "CRMHUB_RETRY_DELAY_SECONDS": "5",
                "AIRFLOW_CONN_CRMHUB_REDIS": f"redis://127.0.0.1:6379/{REDIS_DB}",
                "AIRFLOW_CONN_CRMHUB_HUBSPOT_WEBHOOKS": json.dumps(
                    {"conn_type": "generic", "password": DEFAULT_CLIENT_SECRET}
                ),
            }
            airflow = local_airflow(
                home,
                connections=sandbox_connections(sandbox),
                warehouse_url=f"postgresql://{warehouse_db}",
                data_dir=home / "data",
                extra_env=env,
            )
            airflow.migrate()
            airflow.import_pools(load_sources())
            stack = stack_mod.AirflowStack(airflow, metadata_db, home / "service-logs")
            started = time.monotonic()
            print(f"load average at start: {_load()} ({os.cpu_count()} cores)", flush=True)
            stack.start()
            wanted = {"crmhub_reconcile", "crmhub_fast_pull_sprout", "crmhub_fast_push_hubspot"}
            stack.wait_for(
                "the fast-path DAGs to be serialized",
                lambda: wanted <= {r[0] for r in stack.query("SELECT dag_id FROM serialized_dag")},
                timeout=300,
            )
            writeback = not args.no_writeback and (PROJECT_DIR / "dags" / "crmhub_writeback.py").exists()
            # reconcile starts once every source landed: its first (full) run then sees every source, as
            # after a nightly ingest (a first run on one source's Assets alone is another benchmark)
            airflow.run("dags", "unpause", "-y", "--treat-dag-id-as-regex", "^crmhub_(ingest_.*|fast_.*)$")
            _ingested(stack)
            pattern = "^crmhub_(reconcile" + ("|writeback" if writeback else "") + ")$"
            airflow.run("dags", "unpause", "-y", "--treat-dag-id-as-regex", pattern)
            # a paused DAG queues no Asset events: the initial load's reconcile is the one run started by hand
            airflow.run("dags", "trigger", "crmhub_reconcile")
            _initial_load(stack, warehouse_db)
            print(f"initial load done after {time.monotonic() - started:.0f} s; load {_load()}", flush=True)
            print("reconcile so far:", _reconcile_runs(stack), flush=True)
            items = _post(sandbox, stack, warehouse_db, args)
            _wait(items, warehouse_db, args.timeout, writeback)
            _report(items, args, stack)
    finally:
        if stack is not None:
            stack.stop()
        for name in names:
            _drop(name)
    return 0


def _ingested(stack: Any) -> None:
    """Every daily ingest ran once."""
    for name in load_sources():
        dag_id = f"crmhub_ingest_{name}"
        stack.wait_for(f"{dag_id}", lambda d=dag_id: any(s == "success" for _, s in stack.runs(d)), timeout=900)


def _initial_load(stack: Any, warehouse: str) -> None:
    """Reconcile loaded people and messages, nothing is queued, and the watcher is running."""

    def loaded() -> bool:
        failed = stack.query(
            "SELECT dag_id, task_id FROM task_instance WHERE state = 'failed' AND dag_id NOT LIKE %s", "crmhub_fast%"
        )
        if failed:
            raise SystemExit(f"a task failed during the initial load: {failed}; see {stack.airflow.home}/logs")
        try:
            return (_one(warehouse, "SELECT count(*) FROM core.interaction_understanding") or 0) > 0 and not [
                r for r in stack.runs("crmhub_reconcile") if r[1] in ("queued", "running")
            ]
        except psycopg.Error:
            return False

    stack.wait_for("reconcile with people and messages loaded, nothing queued", loaded, timeout=1200, every=5)
    stack.wait_for(
        "the Redis watcher running in the triggerer",
        lambda: stack.query("SELECT count(*) FROM trigger WHERE classpath LIKE %s", "%AwaitMessageTrigger")[0][0] > 0,
        timeout=300,
    )


def _post(sandbox: SandboxServer, stack: Any, warehouse: str, args: argparse.Namespace) -> list[Item]:
    suppressed = {r[0] for r in _rows(warehouse, "SELECT golden_id FROM mart.marketing_suppression")}
    known = _rows(
        warehouse,
        """SELECT DISTINCT ON (g.golden_id) g.golden_id, g.social_network, g.social_handle
           FROM core.golden_contacts g JOIN core.contact_xref x ON x.golden_id = g.golden_id AND x.is_current
           WHERE g.is_current AND NOT g.is_deleted AND g.social_handle IS NOT NULL
             AND g.social_network IN ('twitter', 'instagram') AND x.source IN ('hubspot', 'salesforce', 'dynamics')
           ORDER BY g.golden_id""",
    )
    live = {c["id"] for c in sandbox.data.hubspot_contacts if not c["archived"]}
    no_handle = _rows(
        warehouse,
        """SELECT DISTINCT ON (g.golden_id) g.golden_id, x.source_id
           FROM core.golden_contacts g JOIN core.contact_xref x ON x.golden_id = g.golden_id AND x.is_current
           WHERE g.is_current AND NOT g.is_deleted AND g.social_handle IS NULL AND x.source = 'hubspot'
           ORDER BY g.golden_id""",
    )
    pull_targets = [r for r in known if r[0] not in suppressed][: args.n]
    hook_targets = [r for r in no_handle if r[0] not in suppressed and r[1] in live][: args.webhooks]
    if len(pull_targets) < args.n or len(hook_targets) < args.webhooks:
        print(f"only {len(pull_targets)} + {len(hook_targets)} people qualify; raise --people", flush=True)
    sprout = sandbox.url("sprout")
    sender = WebhookSender(f"{stack.api_url}/crmhub-webhooks/hubspot")
    plan = [("pull", t) for t in pull_targets] + [("webhook", t) for t in hook_targets]
    plan.sort(key=lambda p: hash(p[1][0]))  # interleave the two kinds
    texts = _understood_complaints()
    items: list[Item] = []
    for i, (kind, target) in enumerate(plan):
        if i:
            time.sleep(args.spacing)
        text = texts[i % len(texts)]
        if kind == "pull":
            _, network, handle = target
            hubspot_id = None
        else:
            network, handle, hubspot_id = "twitter", f"fp{uuid.uuid4().hex[:10]}", target[1]
        posted = time.time()
        body = {"network": network, "handle": handle, "text": text}
        guid = requests.post(f"{sprout}/_sandbox/messages", json=body, timeout=10).json()["guid"]
        extra: dict[str, Any] = {}
        if hubspot_id:
            event = change_contact(sandbox.data, hubspot_id, twitterhandle=handle)
            response = sender.send([event])
            extra["webhook_status"] = response.status_code
        items.append(Item(kind, guid, hubspot_id, posted, extra=extra))
        print(f"posted {kind} {i + 1}/{len(plan)}", flush=True)
    return items


def _wait(items: list[Item], warehouse: str, timeout: float, writeback: bool) -> None:
    deadline = time.time() + timeout

    def done(i: Item) -> bool:  # a message the write-back leaves alone (no CRM to write to) waits WRITE_GRACE
        wrote = i.written or not writeback or (i.routed is not None and time.time() - i.routed > WRITE_GRACE)
        return bool(i.suppressed and i.routed and wrote)

    while time.time() < deadline and not all(done(i) for i in items):
        now = time.time()
        for item in items:
            if item.landed is None:
                stamp = _one(
                    warehouse,
                    "SELECT min(extracted_at) FROM raw.payloads WHERE source = 'sprout' AND source_id = %s",
                    item.guid,
                )
                item.landed = stamp.timestamp() if stamp else None
            routed = "SELECT count(*) FROM mart.routing_queue WHERE source = 'sprout' AND source_id = %s"
            if item.routed is None and _one(warehouse, routed, item.guid):
                item.routed = now
            written = """SELECT count(*) FROM audit.writeback_attempts WHERE message_source = 'sprout'
                         AND message_source_id = %s AND status IN ('created', 'skipped_already_written')"""
            if writeback and item.written is None and item.routed and _one(warehouse, written, item.guid):
                item.written = now  # the CRM sandbox answered 201 and the hub recorded the task
            if item.suppressed is None and _suppressed(warehouse, item):
                item.suppressed = now
        time.sleep(2)


def _suppressed(warehouse: str, item: Item) -> bool:
    if item.hubspot_id:  # the HubSpot contact's golden record (with its e-mail) is on the list
        sql = """SELECT count(*) FROM mart.marketing_suppression s
                 JOIN core.contact_xref x ON x.golden_id = s.golden_id AND x.is_current
                 WHERE x.source = 'hubspot' AND x.source_id = %s AND s.social_complaint_count > 0"""
        return bool(_one(warehouse, sql, item.hubspot_id))
    sql = """SELECT count(*) FROM mart.marketing_suppression s
             JOIN core.interaction_understanding u ON u.golden_id = s.golden_id
             WHERE u.source = 'sprout' AND u.source_id = %s AND u.complaint"""
    return bool(_one(warehouse, sql, item.guid))


def _reconcile_runs(stack: Any) -> dict[str, Any]:
    count, avg = stack.query(
        "SELECT count(*), avg(extract(epoch FROM end_date - start_date)) FROM dag_run "
        "WHERE dag_id = 'crmhub_reconcile' AND state = 'success'"
    )[0]
    return {"count": count, "avg_seconds": round(float(avg or 0), 1)}


def _report(items: list[Item], args: argparse.Namespace, stack: Any) -> None:
    figures: dict[str, Any] = {}
    for kind in ("pull", "webhook", "all"):
        chosen = [i for i in items if kind in ("all", i.kind)]
        for what in ("landed", "suppressed", "routed", "written"):
            done = [getattr(i, what) - i.posted for i in chosen if getattr(i, what)]
            if done:
                figures[f"{kind}.{what}"] = {
                    "n": len(chosen),
                    "done": len(done),
                    "median_s": round(statistics.median(done), 1),
                    "p95_s": round(_pct(done, 0.95), 1),
                    "max_s": round(max(done), 1),
                }
    figures["reconcile_runs"] = _reconcile_runs(stack)
    figures["load_average_end"] = _load()
    figures["command"] = " ".join(sys.argv)
    figures["at"] = datetime.now().isoformat(timespec="seconds")
    for key, value in figures.items():
        print(f"{key}: {value}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"figures": figures, "items": [asdict(i) for i in items]}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
