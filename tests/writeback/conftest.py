"""Write-back against the CRM sandboxes over real HTTP, into real DuckDB and PostgreSQL warehouses.

The warehouse is seeded with what reconcile and routing leave behind (golden contacts, their xref
to a sandbox CRM's contacts, routed messages); the stage then writes through the real connector. The
tests hold no warehouse connection while the stage runs (each move opens it briefly), as a DAG task
and a reconcile load share a DuckDB file.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from throwaway_pg import throwaway_database

from crmhub.config import SourceConfig, load_sources
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RetryPolicy
from crmhub.connectors.registry import connector_class
from crmhub.connectors.writeback import idempotency_key
from crmhub.paths import CONFIG_DIR
from crmhub.reconcile.rules import PrecedenceRules, load_rules
from crmhub.stages.writeback import WritebackReport, run_writeback
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.dynamics import DynamicsSettings
from crmhub_dev.sandbox.salesforce import SalesforceSettings
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
#: Salesforce and Dynamics as shipped in include/config/sources.yaml (options: External ID field, columns)
SHIPPED = load_sources()
SOURCES: dict[str, SourceConfig] = {"hubspot": HUBSPOT, "salesforce": SHIPPED["salesforce"],
                                    "dynamics": SHIPPED["dynamics"]}  # fmt: skip
T0 = datetime(2026, 10, 30, 9, 0, tzinfo=UTC)


def key_for(message: str, kind: str = "task", crm: str = "hubspot") -> str:
    """The idempotency key of a sprout message's follow-up in ``crm``."""
    return idempotency_key("sprout", message, crm, kind)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with throwaway_database("crmhub_wb_") as url:
        yield url


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a migrated, empty warehouse on each engine (closed again: nobody holds it)."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS {} CASCADE".format(", ".join(SCHEMAS)))
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    return url


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh HubSpot portal per test, so what one test wrote never meets another."""
    settings = hubspot.HubSpotSettings(rate_limit_interval_ms=300, search_rate_limit_interval_ms=300)
    with SandboxServer(seed=5, people=60, vendors=("hubspot",), hubspot_settings=settings) as server:
        yield server


@pytest.fixture
def crm_sandbox() -> Iterator[SandboxServer]:
    """A fresh Salesforce org and Dynamics environment per test (overload answers wait 0 s)."""
    settings = {"salesforce": SalesforceSettings(retry_after_seconds=0),
                "dynamics": DynamicsSettings(throttle_retry_after=0)}  # fmt: skip
    with SandboxServer(seed=5, people=60, vendors=("salesforce", "dynamics"), settings=settings) as server:
        yield server


@dataclass
class Hub:
    """A sandbox CRM and the warehouse, with the few moves a write-back test makes.

    ``crm`` is the CRM the seeded people's leading record lives in (hubspot, salesforce, dynamics).
    """

    sandbox: SandboxServer
    url: str | None
    crm: str = "hubspot"
    attempts_per_request: int = 6

    @property
    def app(self) -> Any:
        return self.sandbox.apps[self.crm]

    def open(self) -> Warehouse:
        assert self.url is not None
        return Warehouse.from_url(self.url)

    # -- HubSpot's portal --------------------------------------------------------------------------
    def contacts(self, *, with_handle: bool | None = None) -> list[dict[str, Any]]:
        live = [c for c in self.sandbox.data.hubspot_contacts if not c["archived"]]
        if with_handle is not None:
            live = [c for c in live if bool(c["properties"].get("twitterhandle")) == with_handle]
        return live

    def contact(self, contact_id: str) -> dict[str, Any]:
        return next(c for c in self.sandbox.data.hubspot_contacts if c["id"] == contact_id)

    def tasks(self, key: str | None = None) -> list[dict[str, Any]]:
        tasks = self.sandbox.apps["hubspot"].state.tasks
        return [t for t in tasks if key is None or t["properties"].get("crmhub_writeback_key") == key]

    # -- the warehouse ------------------------------------------------------------------------------
    def route(self, contact_id: str, *, handle: str | None = "new_handle", followers: float | None = 4321,
              department: str = "service", intent: str = "complaint") -> str:  # fmt: skip
        """A golden person linked to this CRM contact with one routed message; returns its id."""
        golden = f"G-{uuid.uuid4().hex[:8]}"
        message = f"tw-{uuid.uuid4().hex[:10]}"
        common = {"run": "reconcile-1", "at": T0, "g": golden, "m": message, "c": contact_id, "crm": self.crm}
        with self.open() as wh, wh.engine.transaction():
            engine = wh.engine
            engine.execute(
                "INSERT INTO core.golden_contacts (golden_id, social_network, social_handle, social_followers, "
                "source_updated_at, is_deleted, change_hash, valid_from, is_current, loaded_run_id, loaded_at) "
                "VALUES (:g, 'twitter', :handle, :followers, :at, FALSE, 'h', :at, TRUE, :run, :at)",
                {**common, "handle": handle, "followers": followers},
            )
            engine.execute(
                "INSERT INTO core.contact_xref (source, source_id, golden_id, match_rule, valid_from, is_current, "
                "loaded_run_id, loaded_at, is_deleted) VALUES (:crm, :c, :g, 'email', :at, TRUE, :run, :at, FALSE)",
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

    def attempts(self) -> list[dict[str, Any]]:
        with self.open() as wh:
            frame = wh.query("SELECT * FROM audit.writeback_attempts ORDER BY attempt_id")
        return frame.to_dict("records")

    # -- the stage -----------------------------------------------------------------------------------
    def connect(self, source: SourceConfig) -> Any:
        """The connector as ingest builds it, on the sandbox, with short back-off for the tests."""
        fields = self.sandbox.airflow_connections()[source.name]
        credentials = Credentials(login=fields.get("login"), password=fields.get("password"),
                                  extra=fields.get("extra") or {})  # fmt: skip
        cls = connector_class(source.connector)
        connector = cls.connect(
            source.name, requests.Session(), self.sandbox.url(source.name), credentials, dict(source.options) or None
        )
        connector.apply_rate_limits(source.rate_limits)
        connector.http.policy = RetryPolicy(max_attempts=self.attempts_per_request, base_backoff=0.05, max_backoff=0.5)
        return connector

    def run(self, *, dry_run: bool = False, rules: PrecedenceRules | None = None, run_id: str = "wb-1",
            opener: Callable[[], Warehouse] | None = None, connect: Callable[[SourceConfig], Any] | None = None,
            **kwargs: Any) -> WritebackReport:  # fmt: skip
        return run_writeback(
            opener or self.open, {self.crm: SOURCES[self.crm]}, connect or self.connect, run_id=run_id,
            dry_run=dry_run, rules=rules, echo=lambda _line: None, **kwargs,
        )  # fmt: skip


def killed_on_record(hub: Hub) -> Callable[[], Warehouse]:
    """A warehouse opener whose first attempt row kills the process: it dies right after the vendor
    answered and before the hub recorded the answer."""

    def opener() -> Warehouse:
        wh = hub.open()
        real_run_file = wh.engine.run_file

        def run_file(name: str, params: Any = None) -> int:
            if name == "writeback_attempt_insert":
                raise KeyboardInterrupt("killed")
            return real_run_file(name, params)

        wh.engine.run_file = run_file  # type: ignore[method-assign]
        return wh

    return opener


@pytest.fixture
def hub(sandbox: SandboxServer, warehouse_url: str) -> Hub:
    sandbox.clear_faults()
    return Hub(sandbox, warehouse_url)


def precedence(tmp_path: Path, sources: str) -> PrecedenceRules:
    """precedence.yaml with the ``social`` group's sources replaced."""
    text = (CONFIG_DIR / "precedence.yaml").read_text(encoding="utf-8")
    old = "sources: [hootsuite, sprout, hubspot, salesforce]"
    assert old in text
    path = tmp_path / "precedence.yaml"
    path.write_text(text.replace(old, f"sources: [{sources}]"), encoding="utf-8")
    return load_rules(path)


@pytest.fixture
def crm_leads_social(tmp_path: Path) -> PrecedenceRules:
    """precedence.yaml with the CRMs ahead of the social tools for the social group."""
    return precedence(tmp_path, "hubspot, salesforce, dynamics, hootsuite, sprout")
