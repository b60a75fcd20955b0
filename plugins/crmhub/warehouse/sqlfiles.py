"""Read the warehouse SQL files and adapt their one placeholder style to each driver.

SQL files use ``:name`` placeholders; psycopg wants ``%(name)s`` and DuckDB ``$name``. A file
``name.<dialect>.sql`` overrides ``name.sql`` for that engine only, which keeps per-engine SQL
to the few places where the dialects really differ.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from crmhub import paths

WAREHOUSE_SQL_DIR = paths.SQL_DIR / "warehouse"
DIALECTS = ("duckdb", "postgresql")
_DDL_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+(?:\.(duckdb|postgresql))?\.sql$")
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def split_statements(text: str) -> list[str]:
    """Split a file into statements: full-line ``--`` comments dropped, ``;`` at line end ends one."""
    statements: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip().rstrip(";").strip()
            if stmt:
                statements.append(stmt)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        statements.append(rest)
    return statements


@cache
def load_statements(name: str, dialect: str) -> tuple[str, ...]:
    """Statements of ``load/<name>.sql`` (or its ``<name>.<dialect>.sql`` override)."""
    folder = WAREHOUSE_SQL_DIR / "load"
    path = folder / f"{name}.{dialect}.sql"
    if not path.exists():
        path = folder / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"warehouse SQL file not found: {path}")
    return tuple(split_statements(path.read_text(encoding="utf-8")))


def ddl_files(dialect: str) -> list[Path]:
    """Numbered DDL files for ``dialect`` in the order they must run."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}")
    files = []
    for path in sorted((WAREHOUSE_SQL_DIR / "ddl").glob("*.sql")):
        match = _DDL_NAME.match(path.name)
        if not match:
            raise ValueError(f"DDL file name must look like 010_name[.dialect].sql: {path}")
        if match.group(2) in (None, dialect):
            files.append(path)
    return files


def placeholders(sql: str) -> list[str]:
    """Names of the ``:name`` placeholders in ``sql``."""
    return _PLACEHOLDER.findall(sql)


def to_pyformat(sql: str) -> str:
    """``:name`` → ``%(name)s`` for psycopg (literal ``%`` escaped)."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql.replace("%", "%%"))


def to_dollar(sql: str) -> str:
    """``:name`` → ``$name`` for DuckDB."""
    return _PLACEHOLDER.sub(r"$\1", sql)
