"""The webhook endpoint in the API server's plugin: verified requests are queued and wake the watcher;
refused ones answer 401, are counted and never queued. Real Redis (127.0.0.1:6379), a database of its own."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from crmhub.ops import fast_path
from crmhub.orchestration import webhook_app
from crmhub_dev.sandbox.webhooks import WebhookSender

REDIS_DB = 13
SECRET = "endpoint-test-secret"
URL = "http://testserver/crmhub-webhooks/hubspot"
EVENTS = [{"eventId": 9, "subscriptionType": "contact.propertyChange", "objectId": 101, "occurredAt": 1_700_000_000_000,
           "propertyName": "email", "propertyValue": "private@example.nl"}]  # fmt: skip


@pytest.fixture
def redis(monkeypatch) -> Iterator[redis_lib.Redis]:
    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_REDIS", f"redis://127.0.0.1:6379/{REDIS_DB}")
    monkeypatch.setenv("AIRFLOW_CONN_CRMHUB_HUBSPOT_WEBHOOKS", json.dumps({"conn_type": "generic", "password": SECRET}))
    monkeypatch.delenv("CRMHUB_FAST_PATH", raising=False)
    monkeypatch.setattr(webhook_app, "_cache", {})
    client = redis_lib.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.delete(fast_path.queue_key("hubspot"), fast_path.refused_key("hubspot"))
    yield client
    client.delete(fast_path.queue_key("hubspot"), fast_path.refused_key("hubspot"))


@pytest.fixture
def api() -> TestClient:
    from fastapi import FastAPI

    app = FastAPI()
    app.mount(webhook_app.URL_PREFIX, webhook_app.create_app())
    return TestClient(app)


def _post(api: TestClient, secret: str = SECRET, age_ms: int = 0, body: bytes | None = None):
    body = json.dumps(EVENTS).encode() if body is None else body
    headers = WebhookSender(URL, secret).headers(body, timestamp_ms=int(time.time() * 1000) - age_ms)
    return api.post("/crmhub-webhooks/hubspot", content=body, headers=headers)


def test_a_signed_webhook_is_queued_without_property_values(api, redis):
    response = _post(api)
    assert response.status_code == 200 and response.json() == {"queued": 1}
    (queued,) = [json.loads(item) for item in redis.lrange(fast_path.queue_key("hubspot"), 0, -1)]
    assert queued["objects"] == ["contacts"] and queued["earliest_ms"] == EVENTS[0]["occurredAt"]
    assert "private@example.nl" not in json.dumps(queued)


def test_a_signed_webhook_wakes_the_watcher_channel(api, redis):
    listener = redis.pubsub()
    listener.subscribe(f"{fast_path.KEY_PREFIX}:hubspot")
    listener.get_message(timeout=1)  # the subscribe confirmation
    _post(api)
    message = listener.get_message(timeout=5)
    listener.close()
    assert message and message["type"] == "message" and json.loads(message["data"]) == {"source": "hubspot"}


def test_a_wrong_signature_is_refused_counted_and_not_queued(api, redis):
    response = _post(api, secret=SECRET[::-1])
    assert response.status_code == 401
    assert redis.llen(fast_path.queue_key("hubspot")) == 0
    assert fast_path.refused_counts(redis, "hubspot") == {"bad_signature": 1}


def test_a_stale_timestamp_is_refused_counted_and_not_queued(api, redis):
    response = _post(api, age_ms=6 * 60 * 1000)
    assert response.status_code == 401
    assert redis.llen(fast_path.queue_key("hubspot")) == 0
    assert fast_path.refused_counts(redis, "hubspot") == {"stale_timestamp": 1}


def test_the_status_page_shows_counts_only(api, redis):
    _post(api)
    _post(api, secret="wrong")
    assert api.get("/crmhub-webhooks/status").json() == {
        "enabled": True,
        "sources": {"hubspot": {"queued": 1, "refused": {"bad_signature": 1}}},
    }


def test_the_switch_off_answers_503_and_queues_nothing(api, redis, monkeypatch):
    monkeypatch.setenv("CRMHUB_FAST_PATH", "off")
    assert _post(api).status_code == 503
    assert redis.llen(fast_path.queue_key("hubspot")) == 0
