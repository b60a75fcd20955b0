"""Fixtures: every warehouse test runs on DuckDB (a fresh file) and on the real PostgreSQL.

PostgreSQL isolation: one throwaway database ``crmhub_test_<random>`` per session (created via
the ``postgres`` database, dropped at the end); each test starts from empty schemas.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from crmhub.warehouse import Warehouse

ADMIN_URL = os.environ.get("CRMHUB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SCHEMAS = ("raw", "staging", "core", "mart", "audit")


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """The URL of a new empty PostgreSQL database ``<prefix><random>``, dropped afterwards."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this session, dropped afterwards."""
    with throwaway_database("crmhub_test_") as url:
        yield url


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A URL to an empty warehouse database of each engine."""
    if request.param == "duckdb":
        return f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    pg = request.getfixturevalue("pg_url")
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS {} CASCADE".format(", ".join(SCHEMAS)))
    return pg


@pytest.fixture
def wh(url: str) -> Iterator[Warehouse]:
    """A migrated warehouse on each engine."""
    with Warehouse.from_url(url) as warehouse:
        warehouse.migrate()
        yield warehouse
