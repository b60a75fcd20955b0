"""Parse warehouse URLs, so every caller selects an engine the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from crmhub import paths

ENV_VAR = "CRMHUB_WAREHOUSE_URL"
#: Where the read-only copy of a DuckDB warehouse for BI tools goes: a path, or ``off`` for none.
BI_FILE_ENV = "CRMHUB_WAREHOUSE_BI_FILE"

Dialect = Literal["duckdb", "postgresql"]


@dataclass(frozen=True)
class WarehouseUrl:
    """A parsed warehouse URL: the engine plus a file path (DuckDB) or a libpq URL (PostgreSQL)."""

    dialect: Dialect
    path: Path | None = None  # DuckDB file, or None for an in-memory database
    dsn: str | None = None  # PostgreSQL connection URL as psycopg takes it

    def redacted(self) -> str:
        """The URL without a password, safe for logs and error messages."""
        if self.dialect == "duckdb":
            return f"duckdb://{self.path}" if self.path else "duckdb:///:memory:"
        parts = urlsplit(self.dsn or "")
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            netloc = f"{userinfo.split(':', 1)[0]}@{host}"
        return urlunsplit(parts._replace(netloc=netloc))


def parse_url(url: str) -> WarehouseUrl:
    """``duckdb:///abs/path.duckdb`` | ``duckdb:///:memory:`` | ``postgresql://user@host:port/db``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"warehouse URL needs a scheme (duckdb:// or postgresql://): {url!r}")
    scheme = scheme.lower()
    if scheme == "duckdb":
        if rest == "/:memory:":
            return WarehouseUrl("duckdb")
        if not rest.startswith("/"):
            raise ValueError(f"DuckDB URL must be duckdb:///<absolute path>, e.g. duckdb:///srv/wh.duckdb: {url!r}")
        # duckdb:///abs/x.duckdb; the SQLAlchemy-style duckdb:////abs/x.duckdb means the same
        return WarehouseUrl("duckdb", path=Path("/" + rest.lstrip("/")))
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return WarehouseUrl("postgresql", dsn="postgresql://" + rest)
    raise ValueError(f"unsupported warehouse URL scheme {scheme!r}; use duckdb:// or postgresql://")


def default_url() -> str:
    """The URL from ``CRMHUB_WAREHOUSE_URL``, else the embedded DuckDB file under the data dir."""
    return os.environ.get(ENV_VAR) or f"duckdb://{paths.DATA_DIR.resolve() / 'warehouse.duckdb'}"


def bi_file(url: WarehouseUrl) -> Path | None:
    """The read-only copy BI tools open beside a DuckDB warehouse file (``crmhub.warehouse.publish``).

    ``CRMHUB_WAREHOUSE_BI_FILE`` names it (relative to the warehouse's folder) or turns it ``off``;
    by default ``warehouse.duckdb`` publishes ``warehouse.bi.duckdb``. PostgreSQL and in-memory
    warehouses have none: PostgreSQL readers never block a load.
    """
    if url.dialect != "duckdb" or url.path is None:
        return None
    configured = os.environ.get(BI_FILE_ENV, "").strip()
    if configured.lower() in ("off", "none", "false", "0"):
        return None
    target = url.path.parent / configured if configured else url.path.with_name(f"{url.path.stem}.bi{url.path.suffix}")
    if target.resolve() == url.path.resolve():
        raise ValueError(f"{BI_FILE_ENV} must name another file than the warehouse itself ({url.path})")
    return target
