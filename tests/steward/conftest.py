"""Fixtures: a migrated warehouse on DuckDB (a fresh file) and on the real PostgreSQL (a throwaway database)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from throwaway_pg import throwaway_database

from crmhub.warehouse import Warehouse

SCHEMAS = ("raw", "staging", "core", "mart", "audit", "ops")


@pytest.fixture(scope="session")
def steward_pg_url() -> Iterator[str]:
    with throwaway_database("crmhub_steward_test_") as url:
        yield url


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def wh(request: pytest.FixtureRequest, tmp_path) -> Iterator[Warehouse]:
    """A migrated, empty warehouse on each engine."""
    if request.param == "duckdb":
        url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("steward_pg_url")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS {} CASCADE".format(", ".join(SCHEMAS)))
    with Warehouse.from_url(url) as warehouse:
        warehouse.migrate()
        yield warehouse
