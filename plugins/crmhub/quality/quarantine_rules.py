"""Set rows that fail ``on_failure: quarantine`` rules aside, with the rule and the reason.

A quarantined row is excluded from the load instead of stopping it, and it never vanishes: the
stage stores it in ``audit.quarantine`` (one row per record and failed rule). Rows are re-derived
from raw on every run, so once the cause is fixed (a suite rule, a connector mapping, the source
record itself) the record simply passes, is loaded, and its quarantine entry is marked resolved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from crmhub.model import QUARANTINE_COLUMNS
from crmhub.quality.report import ValidationReport


@dataclass
class GateResult:
    """What a quarantining gate let through and what it set aside."""

    report: ValidationReport
    passed: pd.DataFrame
    quarantined: pd.DataFrame  # QUARANTINE_COLUMNS

    @property
    def quarantined_records(self) -> int:
        """Distinct records set aside (a record failing two rules counts once)."""
        if self.quarantined.empty:
            return 0
        return int(self.quarantined[["source", "source_id"]].drop_duplicates().shape[0])


def empty_quarantine() -> pd.DataFrame:
    """A quarantine frame with no rows, for stages where nothing failed."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})
    frame["quarantined_at"] = pd.to_datetime(frame["quarantined_at"], utc=True)
    return frame


def apply_quarantine(
    report: ValidationReport,
    frame: pd.DataFrame,
    *,
    source_column: str = "source",
    id_column: str = "source_id",
) -> GateResult:
    """Split ``frame`` by the report's quarantining failures; the frame must be the validated one.

    Rows flagged only by ``stop`` rules or warnings stay in ``passed``: stop rules are raised by
    the caller (``report.raise_if_blocking(allow_quarantine=True)``), warnings never hold a row back.
    """
    report._check_frame(frame)
    failures = report.quarantine_failures
    if not failures:
        return GateResult(report, frame, empty_quarantine())
    now = datetime.now(UTC)
    flagged: set[int] = set()
    records: list[dict[str, Any]] = []
    payloads: dict[int, str] = {}
    for outcome in failures:
        reason = outcome.description or outcome.label
        for pos in outcome.unexpected_rows:
            flagged.add(pos)
            row = frame.iloc[pos]
            if pos not in payloads:
                payloads[pos] = row_json(row)
            records.append(
                {
                    "source": _text(row.get(source_column)),
                    "source_id": _text(row.get(id_column)),
                    "stage": report.stage,
                    "suite": report.suite,
                    "expectation": outcome.label,
                    "reason": reason,
                    "run_id": report.run_id,
                    "payload": payloads[pos],
                    "quarantined_at": now,
                }
            )
    keep = [i not in flagged for i in range(len(frame))]
    quarantined = pd.DataFrame.from_records(records, columns=QUARANTINE_COLUMNS)
    quarantined["quarantined_at"] = pd.to_datetime(quarantined["quarantined_at"], utc=True)
    return GateResult(report, frame[keep], quarantined)


def row_json(row: pd.Series) -> str:
    """The row as JSON text (nulls left out), so a steward sees what was held back."""
    values = {str(k): _json_value(v) for k, v in row.items() if not _missing(v)}
    return json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)


def _json_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, list | tuple | dict):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)
