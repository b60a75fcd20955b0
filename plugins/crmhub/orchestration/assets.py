"""The Assets the hub produces: one per landed source object, one for the reconciled warehouse."""

from __future__ import annotations

from airflow.sdk import Asset


def raw_asset(source: str, object_type: str) -> Asset:
    return Asset(name=f"crmhub_raw_{source}_{object_type}", uri=f"crmhub://raw/{source}/{object_type}")


WAREHOUSE_ASSET = Asset(name="crmhub_warehouse_core", uri="crmhub://warehouse/core")
