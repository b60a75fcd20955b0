"""The warehouse's table whitelist: every identifier the Python side puts into SQL comes from here.

The DDL lives in ``include/sql/warehouse/ddl``; ``tests/warehouse`` checks that these column
lists match the database, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Literal

from crmhub.model import (
    CAMPAIGN_COLUMNS,
    CASE_COLUMNS,
    CONFLICT_COLUMNS,
    GOLDEN_COLUMNS,
    INTERACTION_COLUMNS,
    LINEAGE_COLUMNS,
    OPPORTUNITY_COLUMNS,
    QUALITY_RESULT_COLUMNS,
    QUARANTINE_COLUMNS,
    REVIEW_COLUMNS,
    XREF_COLUMNS,
)

Kind = Literal["text", "timestamp", "bool", "int", "float"]

#: The raw landing record (docs/architecture.md), one per source record.
RAW_COLUMNS: list[str] = [
    "source",
    "object_type",
    "source_id",
    "source_updated_at",
    "payload",
    "payload_hash",
    "run_id",
    "extracted_at",
]

#: The interaction frame handed to the loader: the canonical columns plus the golden link.
LOAD_INTERACTION_COLUMNS: list[str] = [*INTERACTION_COLUMNS, "golden_id"]

#: Opportunities and cases handed to the loader: canonical columns plus the contact's golden id.
LOAD_OPPORTUNITY_COLUMNS: list[str] = [*OPPORTUNITY_COLUMNS, "golden_id"]
LOAD_CASE_COLUMNS: list[str] = [*CASE_COLUMNS, "golden_id"]

#: The xref handed to the loader: the reconcile xref plus the source record's own delete/merge state.
XREF_RECORD_COLUMNS: list[str] = ["is_deleted", "merged_into_source_id"]
LOAD_XREF_COLUMNS: list[str] = [*XREF_COLUMNS, *XREF_RECORD_COLUMNS]

#: Golden events of one load (reconcile's merge log), one row each. ``event`` ``merge``: the loser's
#: current version is closed naming the winner; ``split``: the winner is the golden ID that stays,
#: the loser the new golden ID records split off to (see ``crmhub.warehouse.load.merges_frame``).
MERGE_COLUMNS: list[str] = ["winner_golden_id", "loser_golden_id", "event"]

#: Golden attributes covered by ``change_hash``: a new version only when one of these changes.
#: ``source_updated_at`` is left out so a touched-but-unchanged source record adds no version.
GOLDEN_HASHED: list[str] = [c for c in GOLDEN_COLUMNS if c not in ("golden_id", "source_updated_at")]

_TIMESTAMPS = {
    "source_updated_at",
    "source_created_at",
    "occurred_at",
    "extracted_at",
    "valid_from",
    "valid_to",
    "loaded_at",
    "started_at",
    "finished_at",
    "first_interaction_at",
    "last_interaction_at",
    "version_valid_from",
    "validated_at",
    "created_at",
    "closed_at",
    "first_response_at",
    "ended_at",
}
_BOOLS = {"is_deleted", "is_current", "success", "is_closed", "is_won", "is_complaint"}
_FLOATS = {"amount", "social_followers", "open_opportunity_amount"}
_INTS = {
    "unexpected_count",
    "element_count",
    "contact_sk",
    "xref_sk",
    "audit_id",
    "source_count",
    "source_record_count",
    "interaction_count",
    "open_case_count",
    "open_complaint_count",
    "open_opportunity_count",
}


def kind_of(column: str) -> Kind:
    """Storage kind of a column, by the project-wide naming of columns."""
    if column in _TIMESTAMPS:
        return "timestamp"
    if column in _BOOLS:
        return "bool"
    if column in _INTS:
        return "int"
    if column in _FLOATS:
        return "float"
    return "text"


QUALITY_COLUMNS = QUALITY_RESULT_COLUMNS

#: Golden attributes in the order of the original DDL (020); later columns were added by 100 (ALTER).
_GOLDEN_ATTRS = [c for c in GOLDEN_COLUMNS if c not in ("golden_id", "social_followers")]

#: Every readable relation and its columns, in DDL order.
TABLES: dict[str, list[str]] = {
    "raw.payloads": RAW_COLUMNS,
    "core.golden_contacts": [
        "contact_sk",
        "golden_id",
        *_GOLDEN_ATTRS,
        "change_hash",
        "valid_from",
        "valid_to",
        "is_current",
        "loaded_run_id",
        "loaded_at",
        "social_followers",
        "merged_into_golden_id",
    ],
    "core.contact_xref": [
        "xref_sk",
        *XREF_COLUMNS,
        "valid_from",
        "valid_to",
        "is_current",
        "loaded_run_id",
        "loaded_at",
        *XREF_RECORD_COLUMNS,
    ],
    "core.interactions": [*LOAD_INTERACTION_COLUMNS, "loaded_run_id", "loaded_at"],
    "core.golden_lineage": [*LINEAGE_COLUMNS, "loaded_run_id", "loaded_at"],
    "core.golden_conflicts": ["run_id", *CONFLICT_COLUMNS, "loaded_at"],
    "audit.load_audit": [
        "audit_id",
        "run_id",
        "stage",
        "started_at",
        "finished_at",
        "status",
        "row_counts",
        "error",
    ],
    "audit.quality_results": QUALITY_COLUMNS,
    "mart.customer_360": [
        "golden_id",
        "first_name",
        "name_prefix",
        "last_name",
        "email",
        "phone",
        "street",
        "house_number",
        "house_number_addition",
        "postcode",
        "city",
        "country",
        "company",
        "social_network",
        "social_handle",
        "source_count",
        "source_record_count",
        "sources",
        "interaction_count",
        "first_interaction_at",
        "last_interaction_at",
        "last_interaction_channel",
        "version_valid_from",
        "social_followers",
        "social_handles",
        "open_case_count",
        "open_complaint_count",
        "open_opportunity_count",
        "open_opportunity_amount",
        "open_opportunity_currencies",
        "last_interaction_type",
        "last_interaction_direction",
        "last_complaint_at",
        "last_complaint_channel",
        "last_complaint_kind",
        "understood_message_count",
        "sentiment_recent",
        "sentiment_previous",
        "sentiment_trend",
    ],
}

#: Staging tables the loader copies frames into, with the frame columns they take.
STAGING: dict[str, list[str]] = {
    "staging.golden_contacts": [
        *[c for c in GOLDEN_COLUMNS if c != "social_followers"],
        "change_hash",
        "social_followers",
    ],
    "staging.contact_xref": LOAD_XREF_COLUMNS,
    "staging.interactions": LOAD_INTERACTION_COLUMNS,
    "staging.golden_lineage": LINEAGE_COLUMNS,
    "staging.golden_conflicts": CONFLICT_COLUMNS,
    "staging.quality_results": QUALITY_COLUMNS,
}

# -- issue 5: every source's opportunities, cases and campaigns (ddl 110-112) ----------------------
TABLES["core.campaigns"] = [*CAMPAIGN_COLUMNS, "loaded_run_id", "loaded_at"]
TABLES["core.opportunities"] = [*LOAD_OPPORTUNITY_COLUMNS, "loaded_run_id", "loaded_at"]
TABLES["core.cases"] = [*LOAD_CASE_COLUMNS, "loaded_run_id", "loaded_at"]
STAGING["staging.campaigns"] = CAMPAIGN_COLUMNS
STAGING["staging.opportunities"] = LOAD_OPPORTUNITY_COLUMNS
STAGING["staging.cases"] = LOAD_CASE_COLUMNS
STAGING["staging.golden_merges"] = MERGE_COLUMNS
#: issue 12: the staged golden contacts set aside while a split's first pass runs (ddl 160)
STAGING["staging.golden_parked"] = STAGING["staging.golden_contacts"]

#: issue 17: the records of an incremental reconcile run's scope and their golden IDs (ddl 175)
STAGING["staging.review_scope"] = ["source", "source_id", "golden_id"]

#: Session-private landing table for ``land_raw`` (a TEMP table, hence unqualified).
RAW_LANDING = "raw_landing"

#: Tables ``table_counts`` reports on (everything but audit).
COUNTED: list[str] = [t for t in TABLES if not t.startswith("audit.")]

#: Bookkeeping columns a checksum ignores: they record when/by whom, not what.
AUDIT_COLUMNS = {"loaded_run_id", "loaded_at"}
#: Surrogate keys come from sequences, so they follow load order, not content: a backfill loaded out
#: of order must checksum like an in-order load.
SURROGATE_KEYS = {"contact_sk", "xref_sk"}


def checksum_columns(table: str) -> list[str]:
    """Columns whose content ``Warehouse.checksum`` digests."""
    return [c for c in columns_of(table) if c not in AUDIT_COLUMNS and c not in SURROGATE_KEYS]


def columns_of(table: str) -> list[str]:
    """The whitelisted columns of ``table``; unknown tables raise."""
    if table in TABLES:
        return TABLES[table]
    if table in STAGING:
        return STAGING[table]
    if table == RAW_LANDING:
        return RAW_COLUMNS
    raise ValueError(f"not a warehouse table: {table!r} (known: {sorted(TABLES)})")


def quote_table(table: str) -> str:
    """``schema.table`` as quoted identifiers, after checking the whitelist."""
    columns_of(table)
    return ".".join(f'"{part}"' for part in table.split("."))


def quote_columns(table: str, columns: list[str]) -> str:
    """Comma-separated quoted column list, each checked against ``table``'s whitelist."""
    allowed = set(columns_of(table))
    bad = [c for c in columns if c not in allowed]
    if bad:
        raise ValueError(f"columns {bad} are not whitelisted for {table}")
    return ", ".join(f'"{c}"' for c in columns)


# -- GDPR operations (issue 7: crmhub.ops) --------------------------------------------------------
#: Keyed hashes of erased people's identifiers; ingest drops records that match (crmhub.ops.suppression).
TABLES["ops.suppression"] = ["key_hash", "key_kind", "erasure_id", "added_at"]
#: One row per erasure request, counts only (crmhub.ops.erasure).
TABLES["audit.erasure_log"] = [
    "erasure_id",
    "run_id",
    "identifier_kind",
    "requested_at",
    "finished_at",
    "status",
    "row_counts",
    "vendor_requests",
]
_TIMESTAMPS |= {"added_at", "requested_at"}


# -- quality gates: quarantine (appended by the quality-gates work; see docs/quality.md) ----------

TABLES["audit.quarantine"] = [
    *QUARANTINE_COLUMNS[:7],
    "last_run_id",
    "payload",
    "quarantined_at",
    "last_seen_at",
    "resolved",
    "resolved_at",
    "resolved_run_id",
]
STAGING["staging.quarantine"] = QUARANTINE_COLUMNS
_TIMESTAMPS.update({"quarantined_at", "last_seen_at", "resolved_at"})
_BOOLS.update({"resolved"})


# -- steward review and merge log (issue 4: crmhub.warehouse.steward, docs/reconcile.md) ----------
REVIEW_QUEUE_STAGING = REVIEW_COLUMNS
MERGE_LOG_STAGING: list[str] = [
    "merge_id",
    "winner_golden_id",
    "loser_golden_id",
    "rule",
    "records",
    "loser_records",
    "event",  # issue 12: 'merge' or 'split' (ddl 160)
]
TABLES["core.review_queue"] = ["run_id", *REVIEW_QUEUE_STAGING, "loaded_at"]
TABLES["core.steward_decisions"] = [
    "decision_id",
    "left_source",
    "left_source_id",
    "right_source",
    "right_source_id",
    "decision",
    "restore_golden_id",
    "decided_by",
    "decided_at",
]
TABLES["core.golden_merge_log"] = [
    "merge_id",
    "run_id",
    *MERGE_LOG_STAGING[1:-1],
    "merged_at",
    "undone",
    "undone_at",
    "undone_by",
    "event",
]
STAGING["staging.review_queue"] = REVIEW_QUEUE_STAGING
STAGING["staging.merge_log"] = MERGE_LOG_STAGING
_TIMESTAMPS.update({"decided_at", "merged_at", "undone_at"})
_BOOLS.update({"undone"})

# -- issue 14: message understanding, interaction filter counts, routing queue (ddl 113-115) --------
from crmhub.messages.filter import UNDERSTANDING_COLUMNS  # noqa: E402  (core module, no warehouse import)

ROUTING_STAGING: list[str] = [
    "source",
    "source_id",
    "golden_id",
    "occurred_at",
    "channel",
    "intent",
    "department",
    "rule",
    "owner",
    "priority",
    "sla_hours",
]
FILTER_COUNT_STAGING: list[str] = ["rule", "channel", "messages"]
TABLES["core.interaction_understanding"] = [*UNDERSTANDING_COLUMNS, "first_loaded_at", "loaded_run_id", "loaded_at"]
TABLES["audit.interaction_filter_counts"] = ["run_id", *FILTER_COUNT_STAGING, "counted_at"]
TABLES["core.routing_queue"] = [*ROUTING_STAGING, "routed_at", "loaded_run_id", "loaded_at"]
STAGING["staging.interaction_understanding"] = UNDERSTANDING_COLUMNS
STAGING["staging.interaction_filter_counts"] = FILTER_COUNT_STAGING
STAGING["staging.routing_queue"] = ROUTING_STAGING
_TIMESTAMPS.update({"first_loaded_at", "counted_at", "routed_at"})
_BOOLS.update({"complaint", "kept"})
_INTS.update({"messages", "understood_message_count"})
_FLOATS.update({"sentiment_recent", "sentiment_previous"})
_FLOATS.update({"sla_hours"})
