"""The read-only BI role: ``crmhub_bi`` may SELECT the mart views and nothing else (PostgreSQL).

The SQL lives in ``include/sql/warehouse/bi`` so a DBA can also run it with ``psql -f``; this
module runs the same files: the group role and its grants after a migrate, and optionally one
login user in it. psql's ``:"login"`` variable is filled in here as a quoted identifier, and a
password is SCRAM-hashed on the client so the clear text never reaches the server's logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from crmhub.errors import CrmHubError
from crmhub.warehouse import sqlfiles
from crmhub.warehouse.api import Warehouse

BI_ROLE = "crmhub_bi"
BI_SQL_DIR = sqlfiles.WAREHOUSE_SQL_DIR / "bi"
_LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class BiRoleError(CrmHubError):
    """The BI role cannot be set up as asked (wrong engine, unsafe login name or login role)."""


@dataclass(frozen=True)
class BiRoleResult:
    """What ``apply_bi_role`` did, for the command's one-line summary (no personal data)."""

    role: str
    mart_views: tuple[str, ...]
    login: str | None = None
    login_created: bool = False
    password_set: bool = False


def _script(name: str, login: str | None = None, conn: object | None = None) -> str:
    """The text of ``bi/<name>`` with psql's ``:"login"`` replaced by the quoted identifier."""
    text = (BI_SQL_DIR / name).read_text(encoding="utf-8")
    if login is None:
        return text
    from psycopg import sql

    return text.replace(':"login"', sql.Identifier(login).as_string(conn))


def mart_views(wh: Warehouse) -> tuple[str, ...]:
    """``mart.<view>`` names in the warehouse, sorted."""
    if wh.dialect == "duckdb":
        query = "SELECT view_name AS name FROM duckdb_views() WHERE schema_name = 'mart' ORDER BY 1"
    else:
        query = "SELECT table_name AS name FROM information_schema.views WHERE table_schema = 'mart' ORDER BY 1"
    return tuple(f"mart.{name}" for name in wh.query(query)["name"])


def apply_bi_role(wh: Warehouse, login: str | None = None, password: str | None = None) -> BiRoleResult:
    """Migrate, then (re)apply the ``crmhub_bi`` grants; with ``login``, create/update that login user.

    Must run as the owner of the mart views (the user that migrates), so later migrates keep
    granting new views through the default privileges.
    """
    if wh.dialect != "postgresql":
        raise BiRoleError(
            "the BI role needs a PostgreSQL warehouse: DuckDB has no roles. Point BI tools at the DuckDB "
            "warehouse's published read-only copy instead (`python -m crmhub bi-copy` prints where it is "
            "and how to connect); never at the live file, which would lock the loads out."
        )
    if login is not None and not _LOGIN_NAME.match(login):
        raise BiRoleError(f"login name {login!r} must be lower-case letters, digits and _ (at most 63)")
    wh.migrate()
    conn = wh.engine.conn  # type: ignore[attr-defined]  # psycopg connection (PostgresEngine)
    created = password_set = False
    with conn.transaction():
        conn.execute(_script("010_role.sql"))
        if login is not None:
            created = _ensure_login(conn, login)
            conn.execute(_script("030_login_settings.sql", login, conn))
            if password is not None:
                _set_password(conn, login, password)
                password_set = True
    return BiRoleResult(BI_ROLE, mart_views(wh), login, created, password_set)


def _ensure_login(conn: object, login: str) -> bool:
    """Create the login role unless it exists; refuse to turn a privileged role into a BI user."""
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls, "
        "rolname = current_user, rolcanlogin FROM pg_roles WHERE rolname = %s",
        (login,),
    ).fetchone()
    if row is None:
        conn.execute(_script("020_login_create.sql", login, conn))  # type: ignore[attr-defined]
        return True
    privileged, is_me, can_login = row
    if privileged or is_me or not can_login:
        raise BiRoleError(
            f"role {login!r} exists and is not a plain login role (superuser, createrole, createdb, "
            "replication, bypassrls, the current user or NOLOGIN): pick another name for the BI user"
        )
    return False


def _set_password(conn: object, login: str, password: str) -> None:
    """ALTER ROLE ... PASSWORD with a client-side SCRAM hash (what psql's \\password does)."""
    from psycopg import sql

    if not password:
        raise BiRoleError("the BI user's password is empty")
    hashed = conn.pgconn.encrypt_password(  # type: ignore[attr-defined]
        password.encode("utf-8"), login.encode("utf-8"), b"scram-sha-256"
    )
    conn.execute(  # type: ignore[attr-defined]
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(login), sql.Literal(hashed.decode("ascii")))
    )


def other_database_script(database: str) -> str:
    """``bi/040_other_databases.sql`` for ``database``: revoke PUBLIC's CONNECT and TEMPORARY there.

    Not run by :func:`apply_bi_role` (other databases are the cluster DBA's); the DBA runs it.
    """
    quoted = '"' + database.replace('"', '""') + '"'
    return (BI_SQL_DIR / "040_other_databases.sql").read_text(encoding="utf-8").replace(':"database"', quoted)


def bi_sql_files() -> list[Path]:
    """The role SQL files in the order a DBA runs them with psql."""
    return sorted(BI_SQL_DIR.glob("*.sql"))
