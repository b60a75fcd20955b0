"""Routing (issue 14; DESIGN.md §3.11): which department follows up a social message, how urgently.

Core (no Airflow). ``include/config/routing.yaml`` lists rules (first match wins) on the message's
intent and the person's CRM context (open case, open deal), a priority from social value (followers)
and customer value (won amounts), and SLA hours per department and priority. :func:`route` is a pure
function over a frame of messages with their context; the warehouse keeps its answers in
``core.routing_queue`` (:mod:`crmhub.warehouse.message_store`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub import paths
from crmhub.errors import ConfigError
from crmhub.messages.core import INTENTS
from crmhub.yamlfile import read_yaml

DEPARTMENTS: tuple[str, ...] = ("service", "sales", "marketing")
ROUTING_CONFIG = paths.CONFIG_DIR / "routing.yaml"
#: Columns :func:`route` returns (one row per routed message).
ROUTE_COLUMNS: list[str] = ["source", "source_id", "department", "rule", "owner", "priority", "sla_hours"]


@dataclass(frozen=True)
class RoutingRule:
    name: str
    department: str
    intents: tuple[str, ...] | None = None
    open_case: bool | None = None
    open_deal: bool | None = None
    assign: str | None = None


@dataclass(frozen=True)
class RoutingConfig:
    rules: tuple[RoutingRule, ...]
    followers: tuple[tuple[float, int], ...]
    customer_value: tuple[tuple[float, int], ...]
    intent_points: Mapping[str, int]
    levels: tuple[tuple[str, int], ...]
    sla_hours: Mapping[str, Mapping[str, float]]
    deal_owner: Mapping[str, tuple[str, str]]  # source -> (object type, dotted field)


def load_routing(path: Path | str | None = None) -> RoutingConfig:
    """Read and validate ``routing.yaml``; errors name the file and the key."""
    path = Path(path) if path is not None else ROUTING_CONFIG
    doc = read_yaml(path)
    if not isinstance(doc, dict):
        raise ConfigError(path, "(file)", "must be a mapping with rules, priority, sla_hours")
    for key in doc:
        if key not in ("rules", "priority", "sla_hours", "deal_owner"):
            raise ConfigError(path, str(key), "unknown key (allowed: deal_owner, priority, rules, sla_hours)")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ConfigError(path, "rules", "must be a non-empty list of rules")
    rules = []
    for i, item in enumerate(raw_rules):
        key = f"rules[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(path, key, "must be a mapping with name, when, department")
        for k in item:
            if k not in ("name", "when", "department", "assign"):
                raise ConfigError(path, f"{key}.{k}", "unknown key (allowed: assign, department, name, when)")
        department = item.get("department")
        if department not in DEPARTMENTS:
            raise ConfigError(path, f"{key}.department", f"must be one of {', '.join(DEPARTMENTS)}, not {department!r}")
        when = item.get("when") or {}
        if not isinstance(when, dict):
            raise ConfigError(path, f"{key}.when", "must be a mapping of conditions")
        intents = None
        for k, v in when.items():
            if k == "intent":
                if not isinstance(v, list) or any(x not in INTENTS for x in v):
                    raise ConfigError(path, f"{key}.when.intent", f"must be a list of intents ({', '.join(INTENTS)})")
                intents = tuple(v)
            elif k in ("open_case", "open_deal"):
                if not isinstance(v, bool):
                    raise ConfigError(path, f"{key}.when.{k}", f"must be true or false, not {v!r}")
            else:
                raise ConfigError(path, f"{key}.when.{k}", "unknown condition (allowed: intent, open_case, open_deal)")
        assign = item.get("assign")
        if assign not in (None, "deal_owner"):
            raise ConfigError(path, f"{key}.assign", f"only deal_owner is known, not {assign!r}")
        rules.append(
            RoutingRule(
                name=str(item.get("name") or f"rule_{i + 1}"),
                department=department,
                intents=intents,
                open_case=when.get("open_case"),
                open_deal=when.get("open_deal"),
                assign=assign,
            )
        )
    priority = doc.get("priority") or {}
    if not isinstance(priority, dict):
        raise ConfigError(path, "priority", "must be a mapping")
    levels = _levels(path, priority.get("levels", [{"name": "normal", "min_points": 0}]))
    sla = doc.get("sla_hours") or {}
    if not isinstance(sla, dict):
        raise ConfigError(path, "sla_hours", "must be a mapping of department to {priority: hours}")
    sla_hours: dict[str, dict[str, float]] = {}
    for dept, per in sla.items():
        if dept not in DEPARTMENTS or not isinstance(per, dict):
            raise ConfigError(path, f"sla_hours.{dept}", "must be a department with a mapping of priority to hours")
        for level, hours in per.items():
            if level not in {name for name, _ in levels}:
                raise ConfigError(path, f"sla_hours.{dept}.{level}", "not a priority level of priority.levels")
            if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
                raise ConfigError(
                    path, f"sla_hours.{dept}.{level}", f"must be a positive number of hours, not {hours!r}"
                )
        sla_hours[dept] = {str(k): float(v) for k, v in per.items()}
    owners: dict[str, tuple[str, str]] = {}
    for source, spec in (doc.get("deal_owner") or {}).items():
        if not isinstance(spec, dict) or not all(isinstance(spec.get(k), str) for k in ("object", "field")):
            raise ConfigError(path, f"deal_owner.{source}", "must be {object: <raw object type>, field: <dotted path>}")
        owners[str(source)] = (spec["object"], spec["field"])
    intent_points = priority.get("intent", {}) or {}
    if not isinstance(intent_points, dict) or any(k not in INTENTS for k in intent_points):
        raise ConfigError(path, "priority.intent", "must map intents to points")
    return RoutingConfig(
        rules=tuple(rules),
        followers=_tiers(path, "priority.followers", priority.get("followers", [])),
        customer_value=_tiers(path, "priority.customer_value", priority.get("customer_value", [])),
        intent_points={str(k): int(v) for k, v in intent_points.items()},
        levels=levels,
        sla_hours=sla_hours,
        deal_owner=owners,
    )


def _tiers(path: Path, key: str, value: Any) -> tuple[tuple[float, int], ...]:
    if not isinstance(value, list):
        raise ConfigError(path, key, "must be a list of {min, points}")
    out = []
    for i, tier in enumerate(value):
        if (
            not isinstance(tier, dict)
            or not isinstance(tier.get("min"), int | float)
            or not isinstance(tier.get("points"), int)
        ):
            raise ConfigError(path, f"{key}[{i}]", "must be {min: <number>, points: <whole number>}")
        out.append((float(tier["min"]), int(tier["points"])))
    return tuple(sorted(out, reverse=True))


def _levels(path: Path, value: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(path, "priority.levels", "must be a non-empty list of {name, min_points}")
    out = []
    for i, level in enumerate(value):
        if (
            not isinstance(level, dict)
            or not isinstance(level.get("name"), str)
            or not isinstance(level.get("min_points"), int)
        ):
            raise ConfigError(path, f"priority.levels[{i}]", "must be {name: <text>, min_points: <whole number>}")
        out.append((level["name"], int(level["min_points"])))
    return tuple(sorted(out, key=lambda x: -x[1]))


def _points(tiers: tuple[tuple[float, int], ...], value: Any) -> int:
    if value is None or pd.isna(value):
        return 0
    return next((points for minimum, points in tiers if float(value) >= minimum), 0)


def route(messages: pd.DataFrame, config: RoutingConfig) -> pd.DataFrame:
    """One row per message a rule matches (``ROUTE_COLUMNS``).

    ``messages`` columns: ``source``, ``source_id``, ``intent``, ``open_case`` (bool), ``open_deal`` (bool),
    ``deal_owner`` (text or null), ``followers`` and ``customer_value`` (numbers or null).
    """
    out = []
    for m in messages.to_dict("records"):
        for rule in config.rules:
            if rule.intents is not None and m.get("intent") not in rule.intents:
                continue
            if rule.open_case is not None and bool(m.get("open_case")) != rule.open_case:
                continue
            if rule.open_deal is not None and bool(m.get("open_deal")) != rule.open_deal:
                continue
            points = (
                _points(config.followers, m.get("followers"))
                + _points(config.customer_value, m.get("customer_value"))
                + config.intent_points.get(str(m.get("intent")), 0)
            )
            priority = next((name for name, minimum in config.levels if points >= minimum), config.levels[-1][0])
            owner = m.get("deal_owner") if rule.assign == "deal_owner" else None
            out.append(
                {
                    "source": m["source"],
                    "source_id": m["source_id"],
                    "department": rule.department,
                    "rule": rule.name,
                    "owner": None if owner is None or pd.isna(owner) else str(owner),
                    "priority": priority,
                    "sla_hours": config.sla_hours.get(rule.department, {}).get(priority),
                }
            )
            break
    return pd.DataFrame(out, columns=ROUTE_COLUMNS)
