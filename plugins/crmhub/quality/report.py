"""What a quality gate found, in a form that holds no personal data.

GX results carry the offending cell values; these classes keep only counts and row positions so a
report can go to logs, task XComs and the warehouse results table without leaking a customer's
e-mail or phone number. Row positions are 0-based positions in the validated frame
(``frame.iloc``), not index labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from crmhub.errors import QualityGateFailed
from crmhub.model import QUALITY_RESULT_COLUMNS

#: Columns of ``ValidationReport.to_frame()``: the warehouse quality-results contract.
RESULT_COLUMNS = QUALITY_RESULT_COLUMNS

MAX_EXAMPLES = 3


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation.

    ``unexpected_rows`` lists every failing row for quarantining rules (``on_failure: quarantine``)
    and the first 20 for the others, which only need counts and examples (``crmhub.quality.gates``).
    """

    stage: str
    suite: str
    expectation: str  # GX expectation type
    label: str  # human name incl. column and row filter, used in messages and quarantine reasons
    column: str | None
    severity: str  # blocking | warning
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    element_count: int | None
    unexpected_rows: tuple[int, ...] = ()
    row_level: bool = False  # True when GX reported which rows failed (column/row map expectations)
    error: str | None = None  # the expectation itself could not run (e.g. missing column)
    on_failure: str = "stop"  # what a blocking failure does: stop | quarantine
    description: str = ""  # why the rule exists (from the suite file); the quarantine reason

    @property
    def example_rows(self) -> tuple[int, ...]:
        """Up to three failing row positions, enough to find the rows without listing them all."""
        return self.unexpected_rows[:MAX_EXAMPLES]

    @property
    def quarantines(self) -> bool:
        """A failed blocking rule whose rows can be set aside instead of stopping the run."""
        return (
            not self.success
            and self.severity == "blocking"
            and self.on_failure == "quarantine"
            and self.row_level
            and self.error is None
        )

    def summary(self, example_ids: Sequence[object] | None = None) -> str:
        """One line naming the rule, the count and examples; never a cell value.

        ``example_ids`` (one per validated row, e.g. vendor record ids) replaces row positions in
        the examples; pass it only for identifiers that are not personal data.
        """
        if self.error:
            return f"{self.label}: could not run ({self.error})"
        if self.unexpected_count is None:
            return f"{self.label}: observed {self.observed_value}"
        text = f"{self.label}: {self.unexpected_count} unexpected of {self.element_count} rows"
        if self.example_rows:
            if example_ids is not None:
                text += ", e.g. source ids " + ", ".join(str(example_ids[r]) for r in self.example_rows)
            else:
                text += ", e.g. row positions " + ", ".join(str(r) for r in self.example_rows)
        return text


@dataclass
class ValidationReport:
    """All outcomes of one suite on one frame; decides whether the gate blocks."""

    stage: str
    suite: str
    run_id: str
    validated_at: datetime
    row_count: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    docs_index: Path | None = None  # Data Docs index.html, when docs were built

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.severity == "blocking" and not o.success]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        """Failed warning expectations: reported and stored, never stop a load."""
        return [o for o in self.outcomes if o.severity == "warning" and not o.success]

    @property
    def success(self) -> bool:
        """True when nothing blocking failed (warnings do not count)."""
        return not self.blocking_failures

    @property
    def quarantine_failures(self) -> list[ExpectationOutcome]:
        """Failed blocking rules whose rows go to quarantine (``on_failure: quarantine``)."""
        return [o for o in self.outcomes if o.quarantines]

    @property
    def stopping_failures(self) -> list[ExpectationOutcome]:
        """Failed blocking rules that must stop the run even when quarantine is in use."""
        return [o for o in self.blocking_failures if not o.quarantines]

    def raise_if_blocking(self, *, allow_quarantine: bool = False, example_ids: Sequence[object] | None = None) -> None:
        """Raise ``QualityGateFailed`` naming the suite and every failing blocking expectation.

        With ``allow_quarantine`` the caller has set the quarantined rows aside, so only the
        rules that stop (``on_failure: stop``, table-level or erroring) raise.
        """
        failures = self.stopping_failures if allow_quarantine else self.blocking_failures
        if not failures:
            return
        lines = [
            f"quality gate {self.suite} (stage {self.stage}, run {self.run_id}): "
            f"{len(failures)} blocking expectation(s) failed on {self.row_count} rows"
        ]
        ids = list(example_ids) if example_ids is not None else None
        lines += [f"  - {o.summary(ids)}" for o in failures]
        raise QualityGateFailed("\n".join(lines))

    def failing_rows(self, severity: str | None = "blocking") -> dict[int, list[str]]:
        """Row position -> labels of the failed row-level expectations (``severity=None``: all)."""
        rows: dict[int, list[str]] = {}
        for o in self.outcomes:
            if o.success or (severity is not None and o.severity != severity):
                continue
            for pos in o.unexpected_rows:
                rows.setdefault(pos, []).append(o.label)
        return rows

    def failing_row_mask(self, frame: pd.DataFrame, severity: str | None = "blocking") -> pd.Series:
        """Boolean Series on ``frame.index``: True for rows a failed row-level expectation flagged."""
        return failing_row_mask(self, frame, severity)

    def split(self, frame: pd.DataFrame, severity: str | None = "blocking") -> tuple[pd.DataFrame, pd.DataFrame]:
        """(passing rows, failing rows + ``quarantine_reason``), so failing rows never vanish.

        Table-level failures flag no rows; check ``unplaceable_failures`` before trusting the split.
        Complete only for quarantining rules (see ``ExpectationOutcome``); the stages use
        ``crmhub.quality.quarantine_rules.apply_quarantine``, which splits by exactly those.
        """
        self._check_frame(frame)
        rows = self.failing_rows(severity)
        mask = failing_row_mask(self, frame, severity)
        bad = frame[mask.to_numpy()].copy()
        positions = [i for i, flagged in enumerate(mask.to_numpy()) if flagged]
        bad["quarantine_reason"] = ["; ".join(rows[p]) for p in positions]
        return frame[~mask.to_numpy()], bad

    def unplaceable_failures(self, severity: str | None = "blocking") -> list[ExpectationOutcome]:
        """Failed expectations that name no rows (table-level or errored): quarantine cannot fix them."""
        return [
            o
            for o in self.outcomes
            if not o.success
            and (severity is None or o.severity == severity)
            and (not o.row_level or o.error is not None)
        ]

    def to_frame(self) -> pd.DataFrame:
        """One row per expectation in ``RESULT_COLUMNS`` order, ready for the results table."""
        records = [
            {
                "run_id": self.run_id,
                "stage": o.stage,
                "suite": o.suite,
                "expectation": o.expectation,
                "column_name": o.column,
                "severity": o.severity,
                "success": o.success,
                "observed_value": o.observed_value,
                "unexpected_count": o.unexpected_count,
                "element_count": o.element_count,
                "validated_at": self.validated_at,
            }
            for o in self.outcomes
        ]
        out = pd.DataFrame.from_records(records, columns=RESULT_COLUMNS)
        out["success"] = out["success"].astype(bool)
        for col in ("unexpected_count", "element_count"):
            out[col] = out[col].astype("Int64")
        out["validated_at"] = pd.to_datetime(out["validated_at"], utc=True)
        for col in ("run_id", "stage", "suite", "expectation", "column_name", "severity", "observed_value"):
            out[col] = out[col].astype("object").where(out[col].notna(), None)
        return out

    def _check_frame(self, frame: pd.DataFrame) -> None:
        if len(frame) != self.row_count:
            raise ValueError(
                f"frame has {len(frame)} rows but the report validated {self.row_count}; "
                "row positions only apply to the validated frame"
            )


def failing_row_mask(report: ValidationReport, frame: pd.DataFrame, severity: str | None = "blocking") -> pd.Series:
    """Boolean Series on ``frame.index`` marking rows the report's failed expectations flagged."""
    report._check_frame(frame)
    flags = [False] * len(frame)
    for pos in report.failing_rows(severity):
        flags[pos] = True
    return pd.Series(flags, index=frame.index, dtype=bool, name="quality_failed")


def summarize(reports: Sequence[ValidationReport]) -> str:
    """A log line per report: counts only, safe for task logs."""
    return "\n".join(
        f"{r.suite} ({r.stage}): {len(r.outcomes)} expectations, "
        f"{len(r.blocking_failures)} blocking failed, {len(r.warnings)} warnings, {r.row_count} rows"
        for r in reports
    )
