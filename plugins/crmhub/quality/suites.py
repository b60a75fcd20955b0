"""Expectation suite files: the project's own small JSON format, checked on load without GX.

A suite lives in ``include/gx/<stage>.json``::

    {
      "name": "golden_contacts",
      "version": 1,
      "description": "optional",
      "expectations": [
        {
          "type": "expect_column_values_to_match_regex",        # any GX Core expectation type
          "kwargs": {"column": "postcode", "regex": "^\\\\d{4} [A-Z]{2}$"},
          "where": [{"column": "country", "op": "==", "value": "NL"}],   # optional, AND-ed
          "severity": "warning",                                  # blocking | warning
          "on_failure": "stop",                                   # blocking only: stop | quarantine
          "description": "optional, why the rule exists"
        }
      ]
    }

``where`` replaces GX's string ``row_condition`` (deprecated since GX 1.9): each clause is
``{"column", "op", "value"}`` with ``op`` one of ``==, !=, <, <=, >, >=, in, not_in`` or
``is_null`` / ``is_not_null`` (no value). The structure is checked here so a broken file fails
fast with the file and key; the expectation type and kwargs are checked by GX when the suite
is built (``crmhub.quality.gates``).

``on_failure`` decides what a failing *blocking* expectation does: ``stop`` (the default) fails the
task before anything is loaded; ``quarantine`` moves the failing rows to the quarantine table with
the reason and lets the rest through. Quarantine only works for row-level expectations (GX reports
which rows failed); a table-level or erroring one still stops the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmhub import paths
from crmhub.errors import ConfigError

SEVERITIES = ("blocking", "warning")
ON_FAILURE = ("stop", "quarantine")
COMPARISON_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in")
NULLITY_OPS = ("is_null", "is_not_null")
_SUITE_KEYS = {"name", "version", "description", "expectations"}
_EXPECTATION_KEYS = {"type", "kwargs", "where", "severity", "on_failure", "description"}
#: Set by the gate itself; a suite that set them would silently change what is validated.
_RESERVED_KWARGS = {"row_condition", "condition_parser", "result_format", "catch_exceptions"}


@dataclass(frozen=True)
class WhereClause:
    """One AND-ed row filter: the expectation only looks at rows where it holds."""

    column: str
    op: str
    value: Any = None

    def describe(self) -> str:
        if self.op in NULLITY_OPS:
            return f"{self.column} {self.op.replace('_', ' ')}"
        return f"{self.column} {self.op} {self.value!r}"


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation as written in the suite file; ``key`` locates it for error messages."""

    type: str
    kwargs: dict[str, Any]
    severity: str
    key: str
    where: tuple[WhereClause, ...] = ()
    description: str = ""
    on_failure: str = "stop"  # stop | quarantine; only meaningful for blocking expectations

    @property
    def column(self) -> str | None:
        """The column(s) the expectation looks at, for reports; None for table-level rules."""
        if "column" in self.kwargs:
            return str(self.kwargs["column"])
        for list_key in ("column_list", "column_set"):
            if list_key in self.kwargs:
                return ",".join(str(c) for c in self.kwargs[list_key])
        if "column_A" in self.kwargs and "column_B" in self.kwargs:
            return f"{self.kwargs['column_A']},{self.kwargs['column_B']}"
        return None

    @property
    def reads(self) -> tuple[str, ...]:
        """Every column the expectation reads (kwargs and where clauses); empty for table-level rules."""
        names: dict[str, None] = {}
        for key in ("column", "column_A", "column_B"):
            if key in self.kwargs:
                names[str(self.kwargs[key])] = None
        for key in ("column_list", "column_set"):
            for col in self.kwargs.get(key, []):
                names[str(col)] = None
        for clause in self.where:
            names[clause.column] = None
        return tuple(names)

    @property
    def label(self) -> str:
        """Short human name, e.g. ``expect_column_values_to_be_unique(golden_id)``."""
        text = f"{self.type}({self.column or ''})"
        if self.where:
            text += " where " + " and ".join(c.describe() for c in self.where)
        return text


@dataclass(frozen=True)
class SuiteSpec:
    """A whole suite file; ``qualified_name`` (``name@version``) is what results record."""

    name: str
    version: int
    path: Path
    expectations: tuple[ExpectationSpec, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.name}@{self.version}"


def suite_path(stage: str, suite_dir: Path | str = paths.GX_DIR) -> Path:
    """Where the suite for ``stage`` lives: one file per stage keeps suites reviewable in git."""
    return Path(suite_dir) / f"{stage}.json"


def load_suite(stage: str, suite_dir: Path | str = paths.GX_DIR) -> SuiteSpec:
    """Read and structurally check the suite for ``stage``; raise ``ConfigError`` on any defect."""
    path = suite_path(stage, suite_dir)
    if not path.is_file():
        raise ConfigError(str(path), "<file>", f"no suite file for stage {stage!r}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(str(path), "<file>", f"not valid JSON: {exc}") from exc
    return parse_suite(raw, path)


def parse_suite(raw: Any, path: Path) -> SuiteSpec:
    """Check the parsed JSON of a suite file; split from ``load_suite`` so it is testable alone."""
    file = str(path)
    if not isinstance(raw, dict):
        raise ConfigError(file, "<file>", "must be a JSON object")
    unknown = sorted(set(raw) - _SUITE_KEYS)
    if unknown:
        raise ConfigError(file, unknown[0], f"unknown key; allowed: {sorted(_SUITE_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(file, "name", "missing or not a non-empty string")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(file, "version", "missing or not a positive integer")
    items = raw.get("expectations")
    if not isinstance(items, list) or not items:
        raise ConfigError(file, "expectations", "missing or not a non-empty list")
    specs = tuple(_parse_expectation(item, f"expectations[{i}]", file) for i, item in enumerate(items))
    return SuiteSpec(
        name=name,
        version=version,
        path=path,
        expectations=specs,
        description=str(raw.get("description", "")),
    )


def _parse_expectation(item: Any, key: str, file: str) -> ExpectationSpec:
    if not isinstance(item, dict):
        raise ConfigError(file, key, "must be a JSON object")
    unknown = sorted(set(item) - _EXPECTATION_KEYS)
    if unknown:
        raise ConfigError(file, f"{key}.{unknown[0]}", f"unknown key; allowed: {sorted(_EXPECTATION_KEYS)}")
    etype = item.get("type")
    if not isinstance(etype, str) or not etype.startswith("expect_"):
        raise ConfigError(file, f"{key}.type", "missing or not a GX expectation type ('expect_...')")
    severity = item.get("severity")
    if severity not in SEVERITIES:
        reason = "missing" if severity is None else f"{severity!r} is not allowed"
        raise ConfigError(file, f"{key}.severity", f"{reason}; must be one of {', '.join(SEVERITIES)}")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise ConfigError(file, f"{key}.kwargs", "must be a JSON object")
    reserved = sorted(set(kwargs) & _RESERVED_KWARGS)
    if reserved:
        raise ConfigError(file, f"{key}.kwargs.{reserved[0]}", "set by the gate; use 'where' for row filters")
    on_failure = item.get("on_failure", "stop")
    if on_failure not in ON_FAILURE:
        allowed = ", ".join(ON_FAILURE)
        raise ConfigError(file, f"{key}.on_failure", f"{on_failure!r} is not allowed; must be one of {allowed}")
    if on_failure == "quarantine" and severity != "blocking":
        raise ConfigError(file, f"{key}.on_failure", "only blocking expectations quarantine; warnings never stop a row")
    where_raw = item.get("where", [])
    if not isinstance(where_raw, list):
        raise ConfigError(file, f"{key}.where", "must be a list of clauses")
    where = tuple(_parse_where(c, f"{key}.where[{j}]", file) for j, c in enumerate(where_raw))
    return ExpectationSpec(
        type=etype,
        kwargs=dict(kwargs),
        severity=severity,
        key=key,
        where=where,
        description=str(item.get("description", "")),
        on_failure=on_failure,
    )


def _parse_where(clause: Any, key: str, file: str) -> WhereClause:
    if not isinstance(clause, dict):
        raise ConfigError(file, key, "must be a JSON object with column, op and value")
    unknown = sorted(set(clause) - {"column", "op", "value"})
    if unknown:
        raise ConfigError(file, f"{key}.{unknown[0]}", "unknown key; allowed: column, op, value")
    column, op = clause.get("column"), clause.get("op")
    if not isinstance(column, str) or not column:
        raise ConfigError(file, f"{key}.column", "missing or not a string")
    if op in NULLITY_OPS:
        if "value" in clause:
            raise ConfigError(file, f"{key}.value", f"{op} takes no value")
        return WhereClause(column, op)
    if op not in COMPARISON_OPS:
        allowed = ", ".join(COMPARISON_OPS + NULLITY_OPS)
        raise ConfigError(file, f"{key}.op", f"{op!r} is not allowed; must be one of {allowed}")
    if "value" not in clause or clause["value"] is None:
        raise ConfigError(file, f"{key}.value", f"{op} needs a non-null value (use is_null for nulls)")
    value = clause["value"]
    if op in ("in", "not_in") and not (isinstance(value, list) and value):
        raise ConfigError(file, f"{key}.value", f"{op} needs a non-empty list")
    return WhereClause(column, op, value)
