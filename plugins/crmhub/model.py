"""The canonical model: the column contracts that every stage hands to the next.

Stages exchange pandas DataFrames whose columns are exactly these lists, in this order.
Timestamps are timezone-aware UTC (``datetime64[ns, UTC]``); every text column may be null
(``None``/``pd.NA``) unless marked required. Keeping the contract in one module lets a connector,
the reconcile engine and the warehouse loader be written and tested apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported when used: DAG files import this module at parse time
    import pandas as pd

#: One row per contact record as a source system holds it, after the connector's mapping.
CONTACT_COLUMNS: list[str] = [
    "source",  # required: configured source name, e.g. "hubspot"
    "source_id",  # required: the record's id in that source ("twitter:jan_devries" for social-only)
    "source_created_at",  # business timestamp from the source
    "source_updated_at",  # required: the source's last-modified business timestamp
    "first_name",
    "name_prefix",  # Dutch tussenvoegsel as given by the source, if the source splits it
    "last_name",
    "email",
    "phone",
    "address_line",  # street + house number (+ addition) as one line, as the source gives it
    "postcode",
    "city",
    "country",
    "social_network",  # twitter | facebook | instagram | linkedin
    "social_handle",  # without the leading @
    "company",
    "is_deleted",  # bool: archived/deleted in the source
    "merged_into_source_id",  # the source merged this record into that record (same source); else null
    "social_followers",  # followers of the social profile (the "social value"), where the API offers it
]

#: One row per interaction (message, reply, note, ...) with the contact it belongs to in its source.
INTERACTION_COLUMNS: list[str] = [
    "source",  # required
    "source_id",  # required: the interaction's id in the source
    "contact_source_id",  # source_id of the contact in the same source; null when unattributed
    "occurred_at",  # required: business timestamp of the interaction
    "channel",  # twitter | facebook | instagram | linkedin | email | phone | ...
    "direction",  # inbound | outbound
    "interaction_type",  # mention | reply | dm | post | comment | note | email | call | case
    "text",
    "campaign",
    "thread_id",
]

#: One row per sales opportunity (HubSpot deal, Salesforce Opportunity, ...).
OPPORTUNITY_COLUMNS: list[str] = [
    "source",  # required
    "source_id",  # required
    "contact_source_id",  # the primary contact's source_id in the same source; null when none
    "name",
    "stage",  # the vendor's stage name as given
    "amount",  # float, in ``currency``
    "currency",  # ISO 4217
    "is_closed",  # bool
    "is_won",  # bool
    "lead_source",  # e.g. "Social Media", "Web"
    "campaign_source_id",  # the campaign's source_id in the same source
    "created_at",  # business timestamp the opportunity was created
    "closed_at",  # close date (expected or actual)
    "source_updated_at",  # required
    "is_deleted",
]

#: One row per service case / ticket (Salesforce Case, ...).
CASE_COLUMNS: list[str] = [
    "source",  # required
    "source_id",  # required
    "contact_source_id",
    "subject",
    "channel",  # where the question came in: twitter | facebook | instagram | email | phone | web | ...
    "status",  # the vendor's status as given
    "priority",
    "is_complaint",  # bool: the case is a complaint (type/reason says so)
    "is_closed",  # bool
    "created_at",  # required
    "first_response_at",
    "closed_at",
    "source_updated_at",  # required
    "is_deleted",
]

#: One row per marketing campaign (Salesforce Campaign, HubSpot campaign, Hootsuite/Sprout tag).
CAMPAIGN_COLUMNS: list[str] = [
    "source",  # required
    "source_id",  # required
    "name",  # required: campaigns are joined across sources on the normalized name
    "channel",  # social | email | web | event | ...
    "status",
    "started_at",
    "ended_at",
    "source_updated_at",  # required
    "is_deleted",
]

#: Golden (survived) contact attributes, one row per golden_id. Produced by reconcile.
GOLDEN_COLUMNS: list[str] = [
    "golden_id",  # required: stable across runs
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
    "social_network",
    "social_handle",
    "social_followers",  # highest follower count among the contributing social profiles
    "company",
    "source_updated_at",  # newest business timestamp among the contributing source records
    "is_deleted",  # bool: every contributing source record is deleted
]

#: Which source record belongs to which golden record, and why.
XREF_COLUMNS: list[str] = ["source", "source_id", "golden_id", "match_rule", "match_key"]

#: Where each golden attribute came from.
LINEAGE_COLUMNS: list[str] = [
    "golden_id",
    "attribute",  # attribute or attribute group name, e.g. "email" or "address"
    "source",
    "source_id",
    "source_updated_at",
    "rule",  # e.g. "source_priority", "most_recent"
]

#: Disagreements between contributing records, logged for stewards.
CONFLICT_COLUMNS: list[str] = [
    "golden_id",
    "attribute",
    "chosen_source",
    "chosen_value",
    "other_source",
    "other_value",
    "rule",
]

#: One row per expectation result of a quality gate (stored in audit.quality_results).
QUALITY_RESULT_COLUMNS: list[str] = [
    "run_id",
    "stage",
    "suite",
    "expectation",
    "column_name",
    "severity",
    "success",
    "observed_value",
    "unexpected_count",
    "element_count",
    "validated_at",
]

#: One row per held-back record and failed rule (stored in audit.quarantine).
QUARANTINE_COLUMNS: list[str] = [
    "source",
    "source_id",
    "stage",
    "suite",
    "expectation",
    "reason",
    "run_id",
    "payload",
    "quarantined_at",
]

#: One row per pair a steward should look at (stored in core.review_queue).
REVIEW_COLUMNS: list[str] = [
    "left_source",
    "left_source_id",
    "left_golden_id",
    "right_source",
    "right_source_id",
    "right_golden_id",
    "score",
    "reason",  # review_band | refused_link
    "rule",  # the rule that proposed the pair: fuzzy, email, social, phone
    "explanation",  # per-field agreement levels and weights; no values
]

TIMESTAMP_COLUMNS = {
    "source_created_at",
    "source_updated_at",
    "occurred_at",
    "created_at",
    "closed_at",
    "first_response_at",
    "started_at",
    "ended_at",
}
BOOL_COLUMNS = {"is_deleted", "is_closed", "is_won", "is_complaint"}
NUMERIC_COLUMNS = {"amount", "social_followers"}


def empty_frame(columns: list[str]) -> pd.DataFrame:
    """An empty frame with the contract's columns and dtypes, for sources with nothing new."""
    import pandas as pd

    return conform(pd.DataFrame(columns=columns), columns)


def conform(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return ``frame`` with exactly ``columns`` in order and the contract's dtypes.

    Missing columns are added as nulls; extra columns are a programming error and raise.
    """
    import pandas as pd

    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ValueError(f"columns outside the canonical contract: {extra}")
    out = frame.reindex(columns=columns)
    for col in columns:
        if col in TIMESTAMP_COLUMNS:
            out[col] = pd.to_datetime(out[col], utc=True)
        elif col in BOOL_COLUMNS:
            out[col] = out[col].astype("object").where(out[col].notna(), False).astype(bool)
        elif col in NUMERIC_COLUMNS:
            out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
        else:
            out[col] = out[col].astype("object").where(out[col].notna(), None)
    return out.reset_index(drop=True)
