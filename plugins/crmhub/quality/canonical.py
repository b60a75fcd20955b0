"""Record-level isolation in ``canonicalize``: typing per the canonical contract and future timestamps.

Connector output is typed per :mod:`crmhub.model` (:func:`crmhub.model.type_frame`) before any gate
runs. A record whose value cannot be typed, whose business timestamp lies further in the future than
``future_tolerance`` (``include/config/canonical.yaml``), or whose mapping raised in the connector is
quarantined alone (``audit.quarantine``, stage ``canonicalize``) with the source, record id, field and
reason; every other record of every source goes on. See docs/quality.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.errors import ConfigError
from crmhub.model import QUARANTINE_COLUMNS
from crmhub.paths import CONFIG_DIR
from crmhub.quality.quarantine_rules import empty_quarantine, row_json

CANONICAL_CONFIG_FILE = CONFIG_DIR / "canonical.yaml"
#: ``audit.quarantine.stage`` and ``suite`` of the entries written here.
STAGE = "canonicalize"
SUITE = "canonical_contract"
#: Business timestamps that must not lie in the future. Planned dates (an opportunity's expected
#: ``closed_at``, a campaign's ``started_at``/``ended_at``) may, and are not checked.
BUSINESS_TIMESTAMPS: tuple[str, ...] = (
    "source_updated_at",
    "source_created_at",
    "occurred_at",
    "created_at",
    "first_response_at",
)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class CanonicalConfig:
    future_tolerance: timedelta = timedelta(days=1)


def load_canonical_config(path: Path | str = CANONICAL_CONFIG_FILE) -> CanonicalConfig:
    """Read and validate ``canonical.yaml``; a missing file gives the defaults, a wrong one a ConfigError."""
    from crmhub.yamlfile import read_yaml

    path = Path(path)
    if not path.exists():
        return CanonicalConfig()
    doc = read_yaml(path)
    if doc is None:
        return CanonicalConfig()
    if not isinstance(doc, dict):
        raise ConfigError(path, "(file)", "must be a mapping")
    unknown = sorted(set(doc) - {"version", "future_tolerance"})
    if unknown:
        raise ConfigError(path, unknown[0], "unknown key; known: version, future_tolerance")
    if doc.get("version", 1) != 1:
        raise ConfigError(path, "version", f"unsupported version {doc.get('version')!r}; expected 1")
    return CanonicalConfig(future_tolerance=parse_duration(path, "future_tolerance", doc.get("future_tolerance", "1d")))


def parse_duration(path: Path | str, key: str, value: Any) -> timedelta:
    """``90m``, ``12h``, ``1d`` (or a number of seconds) → timedelta; anything else is a ConfigError."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    match = _DURATION.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(path, key, f"must be a duration like 30m, 12h or 1d, got {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def future_cutoff(config: CanonicalConfig, now: datetime | None = None) -> pd.Timestamp:
    """The latest business timestamp accepted now."""
    return pd.Timestamp((now or datetime.now(UTC)) + config.future_tolerance)


def future_rows(frame: pd.DataFrame, cutoff: pd.Timestamp) -> list[tuple[int, str]]:
    """``(row position, column)`` of every business timestamp later than ``cutoff``."""
    found = []
    for col in BUSINESS_TIMESTAMPS:
        if col in frame.columns:
            late = (frame[col] > cutoff).fillna(False).to_numpy(dtype=bool)
            found.extend((int(pos), col) for pos in late.nonzero()[0])
    return found


@dataclass(frozen=True)
class HeldBack:
    """One record set aside by ``canonicalize``: which, in which frame and field, and why (no value)."""

    source_id: str | None
    frame: str  # contacts, interactions, ... or the raw object type for a mapping that raised
    field: str  # the canonical column; "(mapping)" when the connector's mapping raised
    check: str  # canonical_type | future_timestamp | mapping_error | source_mapping_error
    reason: str
    payload: str


def quarantine_entries(source: str, held: list[HeldBack], run_id: str, now: datetime | None = None) -> pd.DataFrame:
    """Quarantine rows (QUARANTINE_COLUMNS): ``expectation`` is ``<check>(<frame>.<field>)``.

    The field is part of the key (``stage, expectation, source, source_id``), so a record failing in two
    fields has two entries; ``reason`` says what is wrong without the value (the payload holds it).
    """
    if not held:
        return empty_quarantine()
    stamp = now or datetime.now(UTC)
    rows = [
        {
            "source": source,
            "source_id": h.source_id,
            "stage": STAGE,
            "suite": SUITE,
            "expectation": f"{h.check}({h.frame}.{h.field})",
            "reason": h.reason,
            "run_id": run_id,
            "payload": h.payload,
            "quarantined_at": stamp,
        }
        for h in held
    ]
    out = pd.DataFrame.from_records(rows, columns=QUARANTINE_COLUMNS)
    out["quarantined_at"] = pd.to_datetime(out["quarantined_at"], utc=True)
    return out


def payload_of(row: pd.Series | dict[str, Any]) -> str:
    """A held-back record as JSON (a canonical row, or a raw payload for a mapping that raised)."""
    if isinstance(row, pd.Series):
        return row_json(row)
    return json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
