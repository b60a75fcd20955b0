"""The read-only BI role: a real login user in ``crmhub_bi`` reads every mart and nothing else.

PostgreSQL only (DuckDB has no roles). Each test gets an empty, migrated warehouse in the session's
throwaway database and its own login user, dropped afterwards; ``crmhub_bi`` itself is a cluster
role shared by the test databases and left in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import psycopg
import pytest
from conftest import ADMIN_URL, SCHEMAS, throwaway_database
from psycopg import errors
from wh_helpers import raw_record

from crmhub.cli import main
from crmhub.warehouse import Warehouse
from crmhub.warehouse.bi import BI_ROLE, BiRoleError, apply_bi_role, other_database_script

pytestmark = pytest.mark.postgres

FORBIDDEN_SCHEMAS = ("raw", "staging", "core", "audit", "ops")
MARTS = {
    "mart.campaign_revenue",
    "mart.customer_360",
    "mart.interaction_timeline",
    "mart.marketing_suppression",
    "mart.routing_queue",
    "mart.service_questions",
    "mart.social_to_opportunity",
}


@pytest.fixture
def owner(pg_url: str) -> Iterator[Warehouse]:
    """The warehouse owner's connection to an empty, migrated warehouse with one customer in it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS {} CASCADE".format(", ".join((*SCHEMAS, "ops"))))
    with Warehouse.from_url(pg_url) as wh:
        wh.migrate()
        now = datetime.now(UTC)
        wh.engine.execute(
            "INSERT INTO core.golden_contacts (golden_id, first_name, source_updated_at, is_deleted, change_hash, "
            "valid_from, is_current, loaded_run_id, loaded_at) "
            "VALUES ('G1', 'Jan', :now, false, 'h', :now, true, 'run-1', :now)",
            {"now": now},
        )
        yield wh


@pytest.fixture
def login() -> Iterator[str]:
    """A fresh login user name, dropped after the test."""
    name = f"bi_test_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def bi_connect(pg_url: str, user: str, password: str) -> psycopg.Connection:
    """Connect as the BI login user (the server trusts local connections; the password is set anyway)."""
    base, database = pg_url.rsplit("/", 1)
    host = base.split("@", 1)[1]
    return psycopg.connect(f"postgresql://{user}:{password}@{host}/{database}", autocommit=True)


def relations(owner: Warehouse, schemas: tuple[str, ...]) -> list[str]:
    frame = owner.query(
        "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
        "WHERE table_schema = ANY(:schemas) ORDER BY 1",
        {"schemas": list(schemas)},
    )
    return frame["name"].tolist()


def test_the_bi_user_reads_every_mart_through_the_views(owner: Warehouse, pg_url: str, login: str) -> None:
    result = apply_bi_role(owner, login, "pw-for-test")
    assert set(result.mart_views) == MARTS and result.login_created and result.password_set
    with bi_connect(pg_url, login, "pw-for-test") as bi:
        for view in sorted(MARTS):
            bi.execute(f"SELECT * FROM {view}").fetchall()
        assert bi.execute("SELECT golden_id FROM customer_360").fetchall() == [("G1",)]  # search_path = mart


def test_the_bi_user_cannot_read_raw_staging_core_audit_or_ops(owner: Warehouse, pg_url: str, login: str) -> None:
    apply_bi_role(owner, login)
    forbidden = relations(owner, FORBIDDEN_SCHEMAS)
    assert {"core.golden_contacts", "raw.payloads", "audit.quarantine", "audit.load_audit"} <= set(forbidden)
    with bi_connect(pg_url, login, "") as bi:
        for table in forbidden:
            with pytest.raises(errors.InsufficientPrivilege):
                bi.execute(f"SELECT 1 FROM {table} LIMIT 1")


def test_the_bi_user_cannot_write_even_in_a_read_write_transaction(owner: Warehouse, pg_url: str, login: str) -> None:
    apply_bi_role(owner, login)
    with bi_connect(pg_url, login, "") as bi:
        with pytest.raises(errors.ReadOnlySqlTransaction):
            bi.execute("CREATE TEMP TABLE scratch (a int)")  # read-only by default, even for temp tables
        bi.execute("SET default_transaction_read_only = off")  # the user may lift the default...
        attempts = [  # ...but has no privilege to write anywhere
            "UPDATE core.golden_contacts SET first_name = 'x'",
            "DELETE FROM raw.payloads",
            "INSERT INTO audit.quarantine (source) VALUES ('x')",
            "TRUNCATE staging.golden_contacts",
            "CREATE TABLE mart.mine (a int)",
            "CREATE TABLE public.mine (a int)",
            "CREATE VIEW mart.mine AS SELECT 1 AS a",
            "DROP VIEW mart.customer_360",
            "ALTER VIEW mart.customer_360 RENAME TO c360",
            "COMMENT ON VIEW mart.customer_360 IS 'x'",
        ]
        for statement in attempts:
            with pytest.raises(errors.InsufficientPrivilege):
                bi.execute(statement)
        for view in sorted(MARTS):  # the views are not auto-updatable anyway; no write privilege either
            (writable,) = bi.execute(
                "SELECT has_table_privilege(%s, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')", (view,)
            ).fetchone()
            assert not writable, view
    assert owner.query("SELECT count(*) AS n FROM mart.customer_360")["n"][0] == 1


def test_reapplying_takes_back_a_stray_grant_and_covers_new_views(owner: Warehouse, pg_url: str, login: str) -> None:
    apply_bi_role(owner, login)
    owner.engine.execute("GRANT SELECT ON core.golden_contacts TO crmhub_bi")
    owner.engine.execute("GRANT USAGE ON SCHEMA core TO crmhub_bi")
    owner.engine.execute("CREATE VIEW mart.zz_new AS SELECT 1 AS answer")
    again = apply_bi_role(owner, login)
    assert not again.login_created
    with bi_connect(pg_url, login, "") as bi:
        with pytest.raises(errors.InsufficientPrivilege):
            bi.execute("SELECT 1 FROM core.golden_contacts")
        assert bi.execute("SELECT answer FROM mart.zz_new").fetchall() == [(1,)]


def test_a_privileged_existing_role_is_not_made_a_bi_user(owner: Warehouse) -> None:
    with pytest.raises(BiRoleError, match="not a plain login role"):
        apply_bi_role(owner, "postgres")


def test_the_bi_role_needs_postgresql(tmp_path) -> None:
    with Warehouse.from_url(f"duckdb://{tmp_path / 'w.duckdb'}") as wh, pytest.raises(BiRoleError, match="read-only"):
        apply_bi_role(wh)


def test_the_command_applies_the_role_and_creates_the_login(
    owner: Warehouse, pg_url: str, login: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BI_TEST_PASSWORD", "from-env")
    code = main(["bi-role", "--warehouse-url", pg_url, "--login", login, "--password-env", "BI_TEST_PASSWORD"])
    assert code == 0
    out = capsys.readouterr().out
    assert "crmhub_bi" in out and "7 mart view(s)" in out and "from-env" not in out
    with bi_connect(pg_url, login, "from-env") as bi:
        assert bi.execute("SELECT count(*) FROM mart.customer_360").fetchone() == (1,)


# -- issue 12: read-only by privilege, no temporary objects, no other databases ------------------------

#: Every way a login without write privileges could still write once it lifts read-only.
WRITES_WITHOUT_GRANTS = [
    "CREATE TEMP TABLE scratch (a int)",
    "CREATE TEMP SEQUENCE scratch_seq",
    "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE TABLE public.mine (a int)",
    "CREATE SCHEMA mine",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x'::bytea)",
]


@pytest.mark.parametrize("statement", WRITES_WITHOUT_GRANTS)
@pytest.mark.parametrize("lift", ["SET default_transaction_read_only = off", "SET TRANSACTION READ WRITE"])
def test_the_bi_user_cannot_write_after_lifting_read_only(
    owner: Warehouse, pg_url: str, login: str, lift: str, statement: str
) -> None:
    apply_bi_role(owner, login)
    with bi_connect(pg_url, login, "") as bi:
        bi.autocommit = lift.startswith("SET default")
        bi.execute(lift)
        assert bi.execute("SHOW transaction_read_only").fetchone() == ("off",)  # read-write as far as it goes
        with pytest.raises(errors.InsufficientPrivilege):
            bi.execute(statement)


def test_public_may_not_create_temporary_objects_in_the_warehouse_but_the_loader_may(
    owner: Warehouse, login: str
) -> None:
    apply_bi_role(owner, login)
    grants = owner.query(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, "
        "a.privilege_type FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database()"
    )
    temp = set(grants[grants["privilege_type"] == "TEMPORARY"]["grantee"])
    assert "PUBLIC" not in temp and BI_ROLE not in temp and login not in temp
    (me,) = owner.query("SELECT current_user AS me")["me"]
    assert me in temp
    owner.land_raw(pd.DataFrame([raw_record("1", "2025-01-01", {"a": 1})]))  # the loader's TEMP landing table
    assert owner.table_counts()["raw.payloads"] == 1


def test_the_bi_role_is_granted_connect_on_the_warehouse_database_only(owner: Warehouse, login: str) -> None:
    """``crmhub_bi`` is a cluster role: other test sessions' warehouses (``crmhub_test_*``, made by
    parallel workers running this same script) may grant it too, so those are the only others allowed;
    a script granting beyond its own database would show up on ``postgres``/``test``/templates."""
    apply_bi_role(owner, login)
    granted = owner.query(
        "SELECT d.datname, r.rolname FROM pg_database d, aclexplode(d.datacl) a, pg_roles r "
        "WHERE a.privilege_type = 'CONNECT' AND a.grantee = r.oid AND r.rolname IN (:r, :l)",
        {"r": BI_ROLE, "l": login},
    )
    (database,) = owner.query("SELECT current_database() AS d")["d"]
    mine = granted[granted["datname"] == database]
    elsewhere = granted[granted["datname"] != database]
    assert mine["rolname"].tolist() == [BI_ROLE]
    assert login not in set(elsewhere["rolname"])
    assert all(name.startswith("crmhub_test_") for name in elsewhere["datname"]), elsewhere["datname"].tolist()


def test_the_bi_user_cannot_connect_to_a_database_whose_public_connect_was_revoked_as_documented(
    owner: Warehouse, pg_url: str, login: str
) -> None:
    apply_bi_role(owner, login)
    with throwaway_database("crmhub_test_other_") as other:
        name = other.rsplit("/", 1)[1]
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(other_database_script(name))
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            bi_connect(other, login, "")
