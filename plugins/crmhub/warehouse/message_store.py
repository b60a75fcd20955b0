"""Message understanding, interaction filter counts and the routing queue in the warehouse (issue 14).

Runs after the reconcile load, in its own transaction under the load lock: stores the run's
understanding (``core.interaction_understanding``, upserted, unchanged rows untouched), replaces the
run's filter counts (``audit.interaction_filter_counts``) and routes every kept inbound social message
of a known person not routed before (``core.routing_queue``, insert only), reading the CRM context the
load just wrote. A failure leaves these three as they were; the next run (or a retry) repeats it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from crmhub.messages.filter import UNDERSTANDING_COLUMNS
from crmhub.messages.routing import RoutingConfig, load_routing, route
from crmhub.warehouse import frames, tables
from crmhub.warehouse.engine import Engine
from crmhub.warehouse.load import LOAD_LOCK
from crmhub.warehouse.sqlfiles import load_statements


def store_messages(
    engine: Engine,
    run_id: str,
    understanding: pd.DataFrame,
    counts_by_channel: list[dict[str, Any]],
    *,
    routing: RoutingConfig | None = None,
    at: datetime | None = None,
) -> dict[str, int]:
    """Store understanding and filter counts, then route new messages; returns counts (no personal data)."""
    at = at or datetime.now(UTC)
    routing = routing or load_routing()
    params = {"run_id": run_id, "loaded_at": at}
    understood = frames.prepare(
        understanding,
        UNDERSTANDING_COLUMNS,
        name="interaction understanding",
        required=["source", "source_id", "occurred_at", "language", "intent", "sentiment", "explanation", "model"],
        key=["source", "source_id"],
    )
    counts = frames.prepare(
        pd.DataFrame(counts_by_channel, columns=tables.FILTER_COUNT_STAGING),
        tables.FILTER_COUNT_STAGING,
        name="interaction filter counts",
        required=tables.FILTER_COUNT_STAGING,
        key=["rule", "channel"],
    )
    with engine.transaction():
        engine.run_file("lock", {"lock_name": LOAD_LOCK})
        engine.run_file("understanding_clear")
        if len(understood):
            engine.stage("staging.interaction_understanding", understood)
        if len(counts):
            engine.stage("staging.interaction_filter_counts", counts)
        updated = engine.run_file("understanding_update", params)
        inserted = engine.run_file("understanding_insert", params)
        engine.run_file("filter_counts_replace", params)
        routed = _route_new(engine, routing, params)
        engine.run_file("understanding_clear")
    return {"understanding_updated": updated, "understanding_inserted": inserted, "routed": routed}


def _route_new(engine: Engine, routing: RoutingConfig, params: dict[str, Any]) -> int:
    (statement,) = load_statements("routing_candidates", engine.dialect)
    names, data = engine.fetch(statement)
    todo = pd.DataFrame(data, columns=names)
    if todo.empty:
        return 0
    todo["deal_owner"] = [
        _deal_owner(engine, routing, s, i) if isinstance(i, str) else None
        for s, i in zip(todo["deal_source"], todo["deal_source_id"], strict=True)
    ]
    routed = route(todo, routing)
    if routed.empty:
        return 0
    context = todo[["source", "source_id", "golden_id", "occurred_at", "channel", "intent"]]
    queue = routed.merge(context, on=["source", "source_id"], how="left")
    staged = frames.prepare(
        queue[tables.ROUTING_STAGING],
        tables.ROUTING_STAGING,
        name="routing queue",
        required=["source", "source_id", "occurred_at", "department", "rule", "priority"],
        key=["source", "source_id"],
    )
    engine.stage("staging.routing_queue", staged)
    return engine.run_file("routing_insert", params)


def _deal_owner(engine: Engine, routing: RoutingConfig, source: str, deal_id: str) -> str | None:
    """The owner of a deal from its newest raw payload (``deal_owner`` in routing.yaml); null if unknown."""
    spec = routing.deal_owner.get(source)
    if spec is None:
        return None
    object_type, field = spec
    _, rows = engine.fetch(
        "SELECT payload FROM raw.payloads WHERE source = :source AND object_type = :object_type "
        "AND source_id = :source_id ORDER BY source_updated_at DESC, extracted_at DESC LIMIT 1",
        {"source": source, "object_type": object_type, "source_id": deal_id},
    )
    if not rows:
        return None
    try:
        value: Any = json.loads(rows[0][0])
    except (TypeError, ValueError):
        return None
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return None if value in (None, "") else str(value)
