"""Write-back against the HubSpot sandbox over real HTTP, into real DuckDB and PostgreSQL warehouses.

The warehouse is seeded with what reconcile and routing leave behind (golden contacts, their xref
to sandbox HubSpot contacts, routed messages); the stage then writes through the real connector.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from throwaway_pg import throwaway_database

from crmhub.config import SourceConfig
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RetryPolicy
from crmhub.connectors.registry import connector_class
from crmhub.connectors.writeback import idempotency_key
from crmhub.paths import CONFIG_DIR
from crmhub.reconcile.rules import PrecedenceRules, load_rules
from crmhub.stages.writeback import WritebackReport, run_writeback
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.server import SandboxServer

SCHEMAS = ("raw", "staging", "core", "mart", "audit", "ops")
HUBSPOT = SourceConfig(
    name="hubspot",
    connector="hubspot",
    conn_id="crmhub_hubspot",
    schedule="0 2 * * *",
    objects=("contacts",),
    pool="crmhub_hubspot_api",
    rate_limits=({"requests": 100, "per_seconds": 10}, {"requests": 5, "per_seconds": 1, "paths": ["/search"]}),
)
T0 = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)


def key_for(message: str, kind: str = "task") -> str:
    """The idempotency key of a sprout message's follow-up in HubSpot."""
    return idempotency_key("sprout", message, "hubspot", kind)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with throwaway_database("crmhub_wb_") as url:
        yield url


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    """A migrated, empty warehouse on each engine."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS {} CASCADE".format(", ".join(SCHEMAS)))
    with Warehouse.from_url(url) as wh:
        wh.migrate()
        yield wh


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh HubSpot portal per test, so what one test wrote never meets another."""
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=300, search_rate_limit_interval_ms=300)
    with SandboxServer(seed=5, people=60, vendors=("hubspot",), hubspot_settings=settings) as server:
        yield server


@dataclass
class Hub:
    """The sandbox portal and the warehouse, with the few moves a write-back test makes."""

    sandbox: SandboxServer
    warehouse: Warehouse
    attempts_per_request: int = 6

    @property
    def app(self) -> Any:
        return self.sandbox.apps["hubspot"]

    def contacts(self, *, with_handle: bool | None = None) -> list[dict[str, Any]]:
        live = [c for c in self.sandbox.data.hubspot_contacts if not c["archived"]]
        if with_handle is not None:
            live = [c for c in live if bool(c["properties"].get("twitterhandle")) == with_handle]
        return live

    def contact(self, contact_id: str) -> dict[str, Any]:
        return next(c for c in self.sandbox.data.hubspot_contacts if c["id"] == contact_id)

    def tasks(self, key: str | None = None) -> list[dict[str, Any]]:
        tasks = self.app.state.tasks
        return [t for t in tasks if key is None or t["properties"].get("crmhub_writeback_key") == key]

    def route(self, contact_id: str, *, handle: str | None = "new_handle", followers: float | None = 4321,
              department: str = "service", intent: str = "complaint") -> str:  # fmt: skip
        """A golden person linked to this HubSpot contact with one routed message; returns its id."""
        golden = f"G-{uuid.uuid4().hex[:8]}"
        message = f"tw-{uuid.uuid4().hex[:10]}"
        engine = self.warehouse.engine
        common = {"run": "reconcile-1", "at": T0, "g": golden, "m": message, "c": contact_id}
        with engine.transaction():
            engine.execute(
                "INSERT INTO core.golden_contacts (golden_id, social_network, social_handle, social_followers, "
                "source_updated_at, is_deleted, change_hash, valid_from, is_current, loaded_run_id, loaded_at) "
                "VALUES (:g, 'twitter', :handle, :followers, :at, FALSE, 'h', :at, TRUE, :run, :at)",
                {**common, "handle": handle, "followers": followers},
            )
            engine.execute(
                "INSERT INTO core.contact_xref (source, source_id, golden_id, match_rule, valid_from, is_current, "
                "loaded_run_id, loaded_at, is_deleted) VALUES ('hubspot', :c, :g, 'email', :at, TRUE, :run, :at, "
                "FALSE)",
                common,
            )
            engine.execute(
                "INSERT INTO core.interactions (source, source_id, occurred_at, channel, direction, "
                "interaction_type, text, golden_id, loaded_run_id, loaded_at) VALUES ('sprout', :m, :at, "
                "'twitter', 'inbound', 'mention', 'Al drie dagen geen internet', :g, :run, :at)",
                common,
            )
            engine.execute(
                "INSERT INTO core.routing_queue (source, source_id, golden_id, occurred_at, channel, intent, "
                "department, rule, priority, sla_hours, routed_at, loaded_run_id, loaded_at) VALUES ('sprout', :m, "
                ":g, :at, 'twitter', :intent, :dept, 'complaint', 'high', 1, :at, :run, :at)",
                {**common, "intent": intent, "dept": department},
            )
        return message

    def connect(self, source: SourceConfig) -> Any:
        """The connector as ingest builds it, on the sandbox, with short back-off for the tests."""
        cls = connector_class(source.connector)
        connector = cls.connect(
            source.name, requests.Session(), self.sandbox.hubspot_url, Credentials(password=hubspot.DEFAULT_TOKEN)
        )
        connector.apply_rate_limits(source.rate_limits)
        connector.http.policy = RetryPolicy(max_attempts=self.attempts_per_request, base_backoff=0.05, max_backoff=0.5)
        return connector

    def run(self, *, dry_run: bool = False, rules: PrecedenceRules | None = None, run_id: str = "wb-1",
            **kwargs: Any) -> WritebackReport:  # fmt: skip
        return run_writeback(
            self.warehouse, {"hubspot": HUBSPOT}, self.connect, run_id=run_id, dry_run=dry_run, rules=rules,
            echo=lambda _line: None, **kwargs,
        )  # fmt: skip

    def attempts(self) -> list[dict[str, Any]]:
        frame = self.warehouse.query("SELECT * FROM audit.writeback_attempts ORDER BY attempt_id")
        return frame.to_dict("records")


@pytest.fixture
def hub(sandbox: SandboxServer, warehouse: Warehouse) -> Hub:
    sandbox.clear_faults()
    return Hub(sandbox, warehouse)


@pytest.fixture
def crm_leads_social(tmp_path: Path) -> PrecedenceRules:
    """precedence.yaml with the CRMs ahead of the social tools for the social group."""
    text = (CONFIG_DIR / "precedence.yaml").read_text(encoding="utf-8")
    old = "sources: [hootsuite, sprout, hubspot, salesforce]"
    assert old in text
    path = tmp_path / "precedence.yaml"
    path.write_text(text.replace(old, "sources: [hubspot, salesforce, hootsuite, sprout]"), encoding="utf-8")
    return load_rules(path)
