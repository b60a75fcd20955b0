"""The canonical model: the column contracts that every stage hands to the next.

Stages exchange pandas DataFrames whose columns are exactly these lists, in this order.
Timestamps are timezone-aware UTC (``datetime64[ns, UTC]``); every text column may be null
(``None``/``pd.NA``) unless marked required. Keeping the contract in one module lets a connector,
the reconcile engine and the warehouse loader be written and tested apart.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

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

#: Optional profile fields a social-media export may carry next to ``CONTACT_COLUMNS`` (a Hootsuite or
#: Sprout profile shows these, a CRM record does not). Only reconcile reads them, as match evidence
#: (``crmhub.reconcile.profile``); they are not part of the contact contract the stages and the warehouse
#: exchange, so a frame without them is complete and an absent one is empty.
PROFILE_COLUMNS: list[str] = [
    "display_name",  # the name as the profile shows it ("Jan de Vries", "محمد رضایی"), one text
    "location",  # the profile's free-text location ("Utrecht", "Utrecht, NL")
    "bio",  # the profile's free-text bio; an e-mail, phone or profile URL in it is evidence
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
    deferred = _DEFERRED_TYPING.get()
    for col in columns:
        try:
            if col in TIMESTAMP_COLUMNS:
                out[col] = pd.to_datetime(out[col], utc=True)
            elif col in BOOL_COLUMNS:
                if deferred and pd.api.types.infer_dtype(out[col], skipna=True) not in ("boolean", "empty"):
                    raise TypeError(f"{col}: not all booleans")
                out[col] = out[col].astype("object").where(out[col].notna(), False).astype(bool)
            elif col in NUMERIC_COLUMNS:
                out[col] = pd.to_numeric(out[col], errors="raise").astype("float64")
            else:
                out[col] = out[col].astype("object").where(out[col].notna(), None)
        except (ValueError, TypeError, OverflowError):
            if not deferred:
                raise
            out[col] = out[col].astype("object")  # left for type_frame, which names the records
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------ record-level typing

_DEFERRED_TYPING: contextvars.ContextVar[bool] = contextvars.ContextVar("crmhub_deferred_typing", default=False)


@contextmanager
def deferred_typing() -> Iterator[None]:
    """Inside this block :func:`conform` keeps a column it cannot type as it is, instead of raising.

    The reconcile stage wraps every connector's ``to_canonical`` in it and then runs :func:`type_frame`
    over each frame, so one record with a value of the wrong type is set aside with its field and
    reason instead of failing the whole source (and, before, every source).
    """
    token = _DEFERRED_TYPING.set(True)
    try:
        yield
    finally:
        _DEFERRED_TYPING.reset(token)


@dataclass(frozen=True)
class TypeProblem:
    """A value that cannot be typed per the column contract: row position, column and why (no value)."""

    row: int
    column: str
    reason: str


def type_frame(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, list[TypeProblem]]:
    """Type every value of ``frame`` per the column contract; return the frame and what could not be typed.

    The rules (docs/reconcile.md, "Typing"):

    * text columns: text stays; a number with one text form is written as text (``12345`` →
      ``"12345"``, ``12345.0`` → ``"12345"``, ``1.5`` → ``"1.5"``), a date as ISO 8601; an object,
      a list, a boolean or bytes cannot be typed;
    * timestamp columns: datetimes, and ISO 8601 text (naive taken as UTC); anything else cannot;
    * boolean columns: booleans, ``0``/``1`` and the texts ``true``/``false``/``1``/``0``/empty;
    * numeric columns: numbers and numeric text; a boolean, NaN text or anything else cannot.

    A value that cannot be typed is set to null in the returned frame and reported as a
    :class:`TypeProblem`; the caller sets its record aside. Columns already of the contract's dtype are
    not looked at value by value, so a clean frame costs one dtype check per column.
    """
    import pandas as pd

    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ValueError(f"columns outside the canonical contract: {extra}")
    out = frame.reindex(columns=columns).reset_index(drop=True)
    problems: list[TypeProblem] = []
    for col in columns:
        series = out[col]
        if col in TIMESTAMP_COLUMNS:
            if isinstance(series.dtype, pd.DatetimeTZDtype):
                continue
            kind, typer = "timestamp", _as_timestamp
        elif col in BOOL_COLUMNS:
            if series.dtype == bool:
                continue
            kind, typer = "boolean", _as_bool
        elif col in NUMERIC_COLUMNS:
            if pd.api.types.is_float_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
                continue
            kind, typer = "number", _as_number
        else:
            if pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
                continue
            kind, typer = "text", _as_text
        values = []
        for pos, value in enumerate(series.tolist()):
            if _is_null(value):
                values.append(None)
                continue
            try:
                values.append(typer(value))
            except (TypeError, ValueError, OverflowError) as exc:
                values.append(None)
                problems.append(TypeProblem(pos, col, f"{col}: {exc or 'not a ' + kind}"))
        out[col] = pd.Series(values, dtype=object, index=out.index)
    return conform(out, columns), problems


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return value is pd.NaT or value is pd.NA or (hasattr(value, "dtype") and bool(pd.isna(value)))
    except (TypeError, ValueError):
        return False


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple | set):
        return "a list"
    return f"a {type(value).__name__}"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "b"):
        raise TypeError("a boolean where text is expected")
    if hasattr(value, "item") and not isinstance(value, dict | list):  # numpy scalars
        value = value.item()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise ValueError("a non-finite number where text is expected")
        if value == int(value):
            return str(int(value))
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{_kind(value)} where text is expected")


def _as_timestamp(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, datetime):
        try:
            stamp = pd.Timestamp(value)
        except (ValueError, OverflowError):
            raise ValueError("a timestamp outside the supported range (1677-2262)") from None
    elif isinstance(value, str) and value.strip():
        try:
            stamp = pd.Timestamp(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except (ValueError, OverflowError):
            raise ValueError("not an ISO 8601 timestamp in the supported range") from None
    else:
        raise TypeError(f"{_kind(value)} where a timestamp is expected")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


def _as_bool(value: Any) -> bool:
    if hasattr(value, "item") and not isinstance(value, dict | list):
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise TypeError(f"{_kind(value)} where a boolean is expected")


def _as_number(value: Any) -> float:
    if hasattr(value, "item") and not isinstance(value, dict | list):
        value = value.item()
    if isinstance(value, bool):
        raise TypeError("a boolean where a number is expected")
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError("not a number") from None
        if math.isfinite(number):
            return number
        raise ValueError("not a finite number")
    raise TypeError(f"{_kind(value)} where a number is expected")
