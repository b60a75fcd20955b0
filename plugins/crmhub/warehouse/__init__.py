"""One warehouse API over DuckDB (embedded default) and PostgreSQL; the SQL lives in include/sql.

Select the engine by URL: ``duckdb:///abs/path.duckdb`` or ``postgresql://user@host:port/db``
(``connect_warehouse()`` reads ``CRMHUB_WAREHOUSE_URL``). No Airflow imports here.
"""

from crmhub.warehouse.api import Warehouse, connect_warehouse
from crmhub.warehouse.engine import WarehouseLockedError
from crmhub.warehouse.load import LoadBatch, LoadIntegrityError, LoadStats
from crmhub.warehouse.tables import RAW_COLUMNS
from crmhub.warehouse.url import WarehouseUrl, parse_url

__all__ = [
    "RAW_COLUMNS",
    "LoadBatch",
    "LoadIntegrityError",
    "LoadStats",
    "Warehouse",
    "WarehouseLockedError",
    "WarehouseUrl",
    "connect_warehouse",
    "parse_url",
]
