"""The fast-path DAGs: frequent social pulls, and a webhook DAG woken by an Asset watcher on Redis pub/sub."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
import redis as redis_lib

from crmhub.config import load_sources
from crmhub.ops import fast_path
from crmhub.ops.fast_path import load_fast_path
from crmhub.orchestration.assets import raw_asset
from crmhub.orchestration.fast_path import REDIS_CONN_ID, build_fast_pull_dag, build_fast_push_dag, webhook_asset
from crmhub.paths import PROJECT_DIR

SOURCES = load_sources()
CONFIG = load_fast_path(sources=SOURCES, environ={})


def test_social_sources_are_pulled_every_minute_with_data_intervals():
    dag = build_fast_pull_dag(SOURCES["sprout"], CONFIG.pulls["sprout"])
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression == "* * * * *"
    (task,) = dag.tasks
    assert task.pool == SOURCES["sprout"].pool and [o.uri for o in task.outlets] == [
        raw_asset("sprout", "messages").uri
    ]


def test_the_push_dag_runs_on_the_webhook_asset_or_the_backstop():
    dag = build_fast_push_dag(SOURCES["hubspot"], CONFIG.pushes["hubspot"])
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert dag.timetable.asset_condition.name == "crmhub_webhooks_hubspot"
    (task,) = dag.tasks
    assert {o.uri for o in task.outlets} == {raw_asset("hubspot", o).uri for o in ("contacts", "deals", "notes")}


def test_the_webhook_asset_is_watched_on_the_sources_redis_channel():
    (watcher,) = webhook_asset(CONFIG.pushes["hubspot"]).watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "airflow.providers.redis.triggers.redis_await_message.AwaitMessageTrigger"
    assert kwargs == {"channels": ["crmhub:webhooks:hubspot"], "redis_conn_id": REDIS_CONN_ID, "poll_interval": 1.0}


def test_a_queued_webhook_fires_the_watchers_trigger(monkeypatch):
    """What the triggerer runs: the event arrives once the endpoint's enqueue publishes the wake-up."""
    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_REDIS", "redis://127.0.0.1:6379/13")
    push = CONFIG.pushes["hubspot"]
    trigger = webhook_asset(push).watchers[0].trigger
    client = redis_lib.Redis(host="127.0.0.1", port=6379, db=13)

    async def first_event():
        events = trigger.run().__aiter__()
        waiting = asyncio.ensure_future(events.__anext__())
        for _ in range(50):  # publish until the trigger has subscribed (pub/sub keeps nothing before)
            await asyncio.sleep(0.2)
            if waiting.done():
                break
            fast_path.enqueue(client, push, {"objects": ["contacts"], "events": 1})
        return await asyncio.wait_for(waiting, 5)

    try:
        event = asyncio.run(first_event())
    finally:
        client.delete(push.queue_key)
    assert event.payload["channel"] == push.channel and json.loads(event.payload["data"]) == {"source": "hubspot"}


def test_switched_off_there_are_no_fast_path_dags():
    code = (
        "import runpy; g = runpy.run_path('dags/crmhub_fast_path.py'); "
        "print(sorted(k for k in g if k.startswith('crmhub_fast')))"
    )
    env = {**os.environ, "CRMHUB_FAST_PATH": "off", "PYTHONPATH": f"{PROJECT_DIR / 'plugins'}"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_DIR, env=env, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("name", ["sprout", "hootsuite"])
def test_a_fast_pull_uses_at_most_half_of_the_sources_rate_limit(name):
    pull, source = CONFIG.pulls[name], SOURCES[name]
    for rule in source.rate_limits:
        pulls_per_window = max(1, -(-rule["per_seconds"] // (pull.every_minutes * 60)))
        assert pulls_per_window * pull.requests_per_pull <= rule["requests"] / 2
