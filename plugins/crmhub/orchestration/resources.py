"""Where tasks find the warehouse and the run folder: Connections first, environment second."""

from __future__ import annotations

import os
from pathlib import Path

from crmhub.paths import DATA_DIR

WAREHOUSE_CONN_ID = "crmhub_warehouse"


def warehouse_url() -> str | None:
    """The warehouse URL from the ``crmhub_warehouse`` Connection, else ``CRMHUB_WAREHOUSE_URL``.

    ``None`` means the embedded DuckDB default. A Connection keeps the password out of files.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(WAREHOUSE_CONN_ID)
    except AirflowNotFoundException:
        return os.environ.get("CRMHUB_WAREHOUSE_URL") or None
    uri = conn.get_uri()
    scheme, _, rest = uri.partition("://")
    return f"postgresql://{rest}" if scheme in ("postgres", "postgresql") else uri


def open_warehouse():  # type: ignore[no-untyped-def]
    """An open, migrated warehouse for a task; the caller closes it (``with`` block)."""
    from crmhub.warehouse import Warehouse, connect_warehouse

    url = warehouse_url()
    warehouse = Warehouse.from_url(url) if url else connect_warehouse()
    warehouse.migrate()
    return warehouse


def data_dir() -> Path:
    return Path(os.environ.get("CRMHUB_DATA_DIR", DATA_DIR))
