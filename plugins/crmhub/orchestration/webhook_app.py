"""Webhook receiver in the Airflow API server (issue 17): ``POST /crmhub-webhooks/<source>``.

Mounted by ``plugins/crmhub_webhooks_plugin.py``. A request is verified in the core
(:mod:`crmhub.connectors.hubspot_webhooks`: signature v3, timestamp at most 5 minutes old) before
anything else; a refused one answers 401 (400 for a body that is not an event array), is counted in
Redis (``crmhub:webhooks:<source>:refused``, by reason) and logged by reason only, and is never
queued. An accepted batch goes to the Redis list and wakes the push DAG's Asset watcher
(:func:`crmhub.ops.fast_path.enqueue`). The endpoint needs no Airflow login: the signature is the
authentication, as HubSpot cannot log in.

Settings: the app's client secret is the password of the ``crmhub_hubspot_webhooks`` Connection; the
Redis is the ``crmhub_redis`` Connection (both from the environment, a secrets backend or the metadata
DB). ``CRMHUB_WEBHOOK_BASE_URL`` is the public base URL HubSpot calls when a proxy sits in front of
the API server (the signature covers the full URL HubSpot used).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from crmhub.connectors.hubspot_webhooks import MAX_BODY_BYTES, WebhookRefused, parse_events, verify_v3

log = logging.getLogger(__name__)

URL_PREFIX = "/crmhub-webhooks"
SECRET_CONN_IDS = {"hubspot": "crmhub_hubspot_webhooks"}
BASE_URL_ENV = "CRMHUB_WEBHOOK_BASE_URL"
_CACHE_SECONDS = 60.0
_cache: dict[str, tuple[float, Any]] = {}


def connection(conn_id: str) -> Any:
    """An Airflow Connection, cached for a minute (a rotated secret applies within it)."""
    hit = _cache.get(conn_id)
    if hit and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    try:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
    except Exception:  # outside a task (the API server): the secrets backends and the metadata DB
        from airflow.models.connection import Connection

        conn = Connection.get_connection_from_secrets(conn_id)
    _cache[conn_id] = (time.monotonic(), conn)
    return conn


def signed_url(request: Request) -> str:
    """The URL HubSpot called: the request's own, or the public base URL in front of the same path."""
    base = os.environ.get(BASE_URL_ENV, "").strip().rstrip("/")
    if not base:
        return str(request.url)
    query = request.url.query
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


def create_app() -> FastAPI:
    app = FastAPI(title="Social CRM Hub webhooks", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/hubspot")
    async def hubspot(request: Request) -> JSONResponse:
        return await _receive("hubspot", request)

    @app.get("/status")
    async def status() -> JSONResponse:
        """Counts only: queued batches and refused requests per source and reason."""
        from crmhub.ops import fast_path
        from crmhub.orchestration.fast_path import redis_client

        config = _fast_path()
        redis = redis_client()
        body = {
            "enabled": config.enabled,
            "sources": {
                name: {"queued": int(redis.llen(push.queue_key)), "refused": fast_path.refused_counts(redis, name)}
                for name, push in config.pushes.items()
            },
        }
        return JSONResponse(body)

    return app


def _fast_path() -> Any:
    from crmhub.ops.fast_path import load_fast_path

    return load_fast_path()


async def _receive(source: str, request: Request) -> JSONResponse:
    from crmhub.ops import fast_path
    from crmhub.orchestration.fast_path import redis_client

    config = _fast_path()
    push = config.pushes.get(source)
    if not config.enabled or push is None:
        return JSONResponse({"error": "the fast path is off for this source"}, status_code=503)
    body = await request.body()
    redis = redis_client()
    try:
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRefused("too_large", "the body is larger than the hub accepts")
        try:
            secret = connection(SECRET_CONN_IDS[source]).password or ""
        except Exception:  # no Connection: nothing can be verified, so nothing is accepted
            secret = ""
        verify_v3(secret, request.method, signed_url(request), body, dict(request.headers))
        batch = parse_events(body)
    except WebhookRefused as refused:
        fast_path.count_refused(redis, source, refused.reason)
        log.warning("%s webhook refused: %s", source, refused.reason)
        status = 400 if refused.reason in ("bad_body", "too_large") else 401
        return JSONResponse({"error": str(refused)}, status_code=status)
    fast_path.enqueue(redis, push, batch.as_message())
    log.info("%s webhook queued: %d events, objects %s", source, batch.events, list(batch.objects))
    return JSONResponse({"queued": batch.events}, status_code=200)
