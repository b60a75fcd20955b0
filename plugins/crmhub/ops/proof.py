"""Prove an erasure: search every table and every file the hub owns for the person's identifiers.

The erasure deletes what the registry and the file scrubbers know about; this search knows nothing
about where data *should* be. It looks for the normalized e-mail addresses (case-insensitive substring)
and phone numbers (any formatting: the last nine digits inside a run of digits and separators) in

* every column of every table and view of every schema of the warehouse (except the catalogs),
  narrowed in SQL and confirmed in Python;
* every file under the data folder and the file-drop folders: Parquet by content, everything else as
  text (the warehouse's own DuckDB files are searched through SQL, not as bytes).

The result is counts per place (never the identifier); anything found fails the erasure loudly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmhub.ops.identifiers import norm_email, norm_phone

if TYPE_CHECKING:
    from crmhub.warehouse import Warehouse

_PHONE_RUN = re.compile(r"\+?\d[\d\s().\-/]{6,}\d")
_SKIP_TYPES = re.compile(r"^(bool|boolean|date|time|timestamp|interval|double|real|float|numeric|decimal|uuid)", re.I)
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")
#: warehouse files: searched through SQL (their bytes are compressed pages, not text)
WAREHOUSE_SUFFIXES = (".duckdb", ".duckdb.wal", ".wal")


class ErasureNotProven(RuntimeError):
    """The search after an erasure still found the person; the message lists where (counts only)."""


@dataclass(frozen=True)
class Identifiers:
    emails: frozenset[str]
    phones: frozenset[str]  # last nine digits

    @classmethod
    def of(cls, emails: Iterable[str], phones: Iterable[str]) -> Identifiers:
        return cls(
            frozenset(e for e in (norm_email(v) for v in emails) if e),
            frozenset(p for p in (norm_phone(v) for v in phones) if p),
        )

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones)

    def count_in(self, text: str) -> int:
        """How many of the identifiers occur in ``text``."""
        lowered = text.lower()
        found = sum(1 for e in self.emails if e in lowered)
        if self.phones:
            runs = {re.sub(r"\D", "", m) for m in _PHONE_RUN.findall(text)}
            found += sum(1 for p in self.phones if any(p in run for run in runs))
        return found


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scan_warehouse(warehouse: Warehouse, ids: Identifiers) -> dict[str, int]:
    """Rows mentioning the identifiers, per table; empty means none anywhere."""
    if not ids:
        return {}
    columns = warehouse.query(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "ORDER BY table_schema, table_name, ordinal_position"
    )
    params: dict[str, Any] = {f"e{i}": e for i, e in enumerate(sorted(ids.emails))}
    params |= {f"p{i}": p for i, p in enumerate(sorted(ids.phones))}
    hits: dict[str, int] = {}
    for (schema, table), cols in columns.groupby(["table_schema", "table_name"], sort=True):
        if schema in _SYSTEM_SCHEMAS or str(schema).startswith("pg_"):
            continue
        typed = zip(cols["column_name"], cols["data_type"], strict=True)
        names = [c for c, t in typed if not _SKIP_TYPES.match(str(t))]
        if not names:
            continue
        texts = [f"CAST({_quote(c)} AS VARCHAR)" for c in names]
        conditions = []
        for text in texts:
            conditions += [f"strpos(lower({text}), :{k}) > 0" for k in params if k.startswith("e")]
            digits = f"regexp_replace({text}, '[^0-9]', '', 'g')"
            conditions += [f"strpos({digits}, :{k}) > 0" for k in params if k.startswith("p")]
        sql = f"SELECT {', '.join(texts)} FROM {_quote(schema)}.{_quote(table)} WHERE {' OR '.join(conditions)}"
        _, rows = warehouse.engine.fetch(sql, params)
        found = sum(1 for row in rows if any(v is not None and ids.count_in(str(v)) for v in row))
        if found:
            hits[f"{schema}.{table}"] = found
    return hits


def _file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype(str).to_csv(index=False)
    content = path.read_bytes()
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="ignore")


def scan_files(roots: Iterable[Path], ids: Identifiers, *, skip: Iterable[Path] = ()) -> dict[str, int]:
    """Files under ``roots`` mentioning the identifiers: ``{path: identifiers found}``."""
    if not ids:
        return {}
    skipped = {Path(p).resolve() for p in skip}
    seen: set[Path] = set()
    hits: dict[str, int] = {}
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            resolved = path.resolve()
            if resolved in seen or resolved in skipped or path.name.endswith(WAREHOUSE_SUFFIXES):
                continue
            seen.add(resolved)
            try:
                found = ids.count_in(_file_text(path))
            except Exception as exc:  # noqa: BLE001 - an unreadable file cannot be proven clean
                hits[f"{path} (unreadable: {type(exc).__name__})"] = 1
                continue
            if found:
                hits[str(path)] = found
    return hits
