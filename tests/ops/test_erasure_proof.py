"""The search that proves an erasure finds the person's e-mail and phone in any table, any column type
and any formatting, on DuckDB and PostgreSQL, and in any file, without false hits on other numbers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pandas as pd
import psycopg
import pytest

from crmhub.ops.proof import Identifiers, scan_files, scan_warehouse
from crmhub.warehouse import Warehouse

ADMIN_URL = os.environ.get("CRMHUB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PERSON = Identifiers.of(["Jan.Jansen@Example.nl"], ["+31 6 12345678"])


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path) -> Iterator[Warehouse]:
    if request.param == "duckdb":
        with Warehouse.from_url(f"duckdb://{tmp_path / 'w.duckdb'}") as wh:
            wh.migrate()
            yield wh
        return
    name = f"crmhub_test_proof_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with Warehouse.from_url(f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}") as wh:
            wh.migrate()
            yield wh
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_search_finds_the_person_in_a_table_nobody_registered_in_any_formatting(warehouse):
    warehouse.engine.execute("CREATE TABLE mart.adhoc (id INTEGER, note TEXT, amount NUMERIC(10, 2))")
    rows = [
        (1, "mail to JAN.JANSEN@example.NL please"),
        (2, "call back on 06-12 34 56 78"),
        (3, "another person: +31 6 1234 5679, order 2026-11-02 12:00"),
    ]
    for row_id, note in rows:
        warehouse.engine.execute("INSERT INTO mart.adhoc VALUES (:id, :note, 9.5)", {"id": row_id, "note": note})

    assert scan_warehouse(warehouse, PERSON) == {"mart.adhoc": 2}


def test_the_search_of_a_warehouse_without_the_person_finds_nothing(warehouse):
    warehouse.engine.execute("CREATE TABLE mart.adhoc (note TEXT)")
    warehouse.engine.execute("INSERT INTO mart.adhoc VALUES ('jan.jansen@example.com, 06-12345670')")

    assert scan_warehouse(warehouse, PERSON) == {}


def test_the_search_reads_parquet_csv_in_windows_1252_and_json_files(tmp_path):
    pd.DataFrame({"email": ["jan.jansen@example.nl"]}).to_parquet(tmp_path / "run.parquet")
    (tmp_path / "drop.csv").write_bytes("NAAM;TELEFOON\r\nJansen é;06-12345678\r\n".encode("cp1252"))
    (tmp_path / "clean.json").write_text('{"phone": "+31 6 87654321"}', encoding="utf-8")
    (tmp_path / "warehouse.duckdb").write_bytes(b"jan.jansen@example.nl")  # searched through SQL instead

    assert scan_files([tmp_path], PERSON) == {str(tmp_path / "drop.csv"): 1, str(tmp_path / "run.parquet"): 1}
