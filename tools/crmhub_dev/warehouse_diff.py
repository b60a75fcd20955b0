"""Do two warehouses hold the same data? A refactor's proof that behaviour did not change.

``python -m crmhub warehouse-diff BEFORE AFTER`` digests every warehouse table of both (warehouse URLs
or DuckDB files), leaving out what differs between two runs of the same data by construction: the run
id, when a row was extracted, loaded, validated or routed, and surrogate keys. It prints one line per
table and exits 1 when any table differs, naming the columns whose values differ (never the values).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from crmhub.warehouse import tables
from crmhub.warehouse.api import Warehouse

#: columns of every table that record *in which run* a row was written or its surrogate key
RUN_BOOKKEEPING: frozenset[str] = frozenset({*tables.AUDIT_COLUMNS, *tables.SURROGATE_KEYS, "run_id"})
#: per table, the columns that record *when* the hub wrote a row (not business time)
LOAD_TIMES: dict[str, frozenset[str]] = {
    "audit.load_audit": frozenset({"started_at", "finished_at"}),
    "audit.interaction_filter_counts": frozenset({"counted_at"}),
    "audit.quality_results": frozenset({"validated_at"}),
    "raw.payloads": frozenset({"extracted_at"}),
    "core.routing_queue": frozenset({"routed_at"}),
    "core.interaction_understanding": frozenset({"first_loaded_at"}),
    "core.contact_xref": frozenset({"valid_from", "valid_to"}),
}


def _url(target: str) -> str:
    return target if "://" in target else f"duckdb:///{Path(target).resolve()}"


def _column_digests(wh: Warehouse, table: str, columns: list[str]) -> dict[str, str]:
    """Per column, an order-independent digest of its values (so a difference can be named)."""
    quoted = tables.quote_columns(table, columns)
    _, rows = wh.engine.fetch(f"SELECT {quoted} FROM {tables.quote_table(table)}")
    digests: dict[str, str] = {}
    for index, column in enumerate(columns):
        values = sorted(json.dumps(_plain(row[index]), ensure_ascii=False, default=str) for row in rows)
        digests[column] = hashlib.sha256("\n".join(values).encode("utf-8")).hexdigest()
    digests["(rows)"] = str(len(rows))
    return digests


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _digests_or_none(wh: Warehouse, table: str, columns: list[str]) -> dict[str, str] | None:
    """None when the warehouse has no such table (built by a version of the hub before the table)."""
    try:
        return _column_digests(wh, table, columns)
    except Exception as exc:  # noqa: BLE001 - each engine raises its own "no such table"
        if "exist" in str(exc).lower() or "not found" in str(exc).lower():
            return None
        raise


def compare(before: str, after: str) -> dict[str, list[str]]:
    """Table -> the columns that differ (empty list: identical; ``["(table)"]``: only in one of them)."""
    result: dict[str, list[str]] = {}
    with Warehouse.from_url(_url(before)) as a, Warehouse.from_url(_url(after)) as b:
        for table in sorted(tables.TABLES):
            ignore = RUN_BOOKKEEPING | LOAD_TIMES.get(table, frozenset())
            columns = [c for c in tables.columns_of(table) if c not in ignore]
            left, right = _digests_or_none(a, table, columns), _digests_or_none(b, table, columns)
            if left is None or right is None:
                result[table] = [] if left is right else ["(table)"]
                continue
            result[table] = [c for c in left if left[c] != right[c]]
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("before", help="warehouse URL or DuckDB file")
    parser.add_argument("after", help="warehouse URL or DuckDB file")


def run(args: argparse.Namespace) -> int:
    differences = compare(args.before, args.after)
    for table, columns in differences.items():
        print(f"{table}: {'identical' if not columns else 'differs in ' + ', '.join(columns)}")
    changed = sum(1 for columns in differences.values() if columns)
    print(
        f"warehouse-diff: {len(differences) - changed} of {len(differences)} tables identical "
        "(run ids and load times left out)"
    )
    return 1 if changed else 0
