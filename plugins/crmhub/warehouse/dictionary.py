"""The data dictionary of the BI marts, generated from the database catalog.

Descriptions live next to the DDL as ``COMMENT ON VIEW/COLUMN`` statements (include/sql/warehouse/
ddl/15x_mart_*.sql); this module reads them back from the catalog of a migrated warehouse, so the
dictionary can only describe views and columns that really exist. Types are shown in PostgreSQL's
spelling on both engines, so DuckDB and PostgreSQL give the same document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crmhub.errors import CrmHubError
from crmhub.warehouse import sqlfiles
from crmhub.warehouse.api import Warehouse

COMMAND = "python -m crmhub dictionary --out docs/data_dictionary.md"
#: DuckDB's type names → PostgreSQL's (the ones the mart views use).
_DUCKDB_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
}


class DictionaryError(CrmHubError):
    """A mart view or column has no description (add a COMMENT ON next to its DDL)."""


@dataclass(frozen=True)
class ColumnDoc:
    name: str
    type: str
    description: str | None


@dataclass(frozen=True)
class ViewDoc:
    name: str  # mart.<view>
    description: str | None
    columns: tuple[ColumnDoc, ...]


def read_marts(wh: Warehouse) -> list[ViewDoc]:
    """Every view of the mart schema with its columns, types and comments, sorted by name."""
    if wh.dialect == "duckdb":
        views = wh.query("SELECT view_name AS name, comment FROM duckdb_views() WHERE schema_name = 'mart'")
        columns = wh.query(
            "SELECT table_name AS view, column_name AS name, data_type AS type, comment, column_index AS pos "
            "FROM duckdb_columns() WHERE schema_name = 'mart'"
        )
        columns["type"] = [_DUCKDB_TYPES.get(t, t.lower()) for t in columns["type"]]
    else:
        views = wh.query(
            "SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'mart' AND c.relkind = 'v'"
        )
        columns = wh.query(
            "SELECT c.relname AS view, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, "
            "col_description(c.oid, a.attnum) AS comment, a.attnum AS pos "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = 'mart' AND c.relkind = 'v'"
        )
    docs = []
    for view in sorted(views.to_dict("records"), key=lambda v: v["name"]):
        own = columns[columns["view"] == view["name"]].sort_values("pos")
        docs.append(
            ViewDoc(
                name=f"mart.{view['name']}",
                description=_text(view["comment"]),
                columns=tuple(ColumnDoc(c["name"], c["type"], _text(c["comment"])) for c in own.to_dict("records")),
            )
        )
    return docs


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def undocumented(docs: list[ViewDoc]) -> list[str]:
    """``mart.view`` and ``mart.view.column`` names that have no description."""
    missing = []
    for view in docs:
        if view.description is None:
            missing.append(view.name)
        missing.extend(f"{view.name}.{c.name}" for c in view.columns if c.description is None)
    return missing


def render_markdown(docs: list[ViewDoc], settings: dict[str, int]) -> str:
    """The dictionary as Markdown (deterministic: same schema, same text)."""
    lines = [
        "# Data dictionary: BI marts",
        "",
        f"Generated from the warehouse catalog by `{COMMAND}`; do not edit by hand. The descriptions are",
        "the `COMMENT ON` statements next to each view's DDL in `include/sql/warehouse/ddl/15x_mart_*.sql`:",
        "change them there and regenerate (a test fails when this file is out of date).",
        "",
        "The marts are views in the schema `mart`, the same on DuckDB and PostgreSQL. On PostgreSQL, BI tools",
        "log in as a member of the read-only role `crmhub_bi`, which can read these views and nothing else",
        "(`python -m crmhub bi-role --warehouse-url URL --login NAME`; SQL in `include/sql/warehouse/bi/`).",
        "Times are UTC (`timestamp with time zone`). `golden_id` joins the marts to each other.",
        "",
        "Configured values templated into the views (`include/config/marts.yaml`, applied on migrate):",
        "",
    ]
    lines += [f"- `{name}`: {value}" for name, value in sorted(settings.items())]
    lines += ["", "| view | what it answers |", "|---|---|"]
    lines += [f"| [`{v.name}`](#{v.name.replace('.', '')}) | {_cell(v.description)} |" for v in docs]
    for view in docs:
        lines += ["", f"## {view.name}", "", _cell(view.description), "", "| column | type | description |"]
        lines += ["|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {_cell(c.description)} |" for c in view.columns]
    return "\n".join(lines) + "\n"


def _cell(text: str | None) -> str:
    return (text or "**(no description)**").replace("|", "\\|").replace("\n", " ")


def generate(wh: Warehouse) -> str:
    """The dictionary of ``wh`` (migrated); raises DictionaryError if anything is undocumented."""
    docs = read_marts(wh)
    missing = undocumented(docs)
    if missing:
        raise DictionaryError(
            f"{len(missing)} mart view(s)/column(s) have no description; add COMMENT ON statements next to "
            f"their DDL: {', '.join(missing)}"
        )
    return render_markdown(docs, sqlfiles.load_mart_settings())


def generate_from_ddl(tmp_dir: Path) -> str:
    """The dictionary of a fresh DuckDB warehouse migrated from the repository's DDL (no server needed)."""
    with Warehouse.from_url(f"duckdb://{Path(tmp_dir).resolve() / 'dictionary.duckdb'}") as wh:
        wh.migrate()
        return generate(wh)
