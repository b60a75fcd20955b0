"""Source configuration (``include/config/sources.yaml``), validated on load.

Every error names the file, the key path and what is wrong, so a data engineer can fix the YAML
without reading Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crmhub.connectors.registry import connector_class
from crmhub.errors import ConfigError
from crmhub.paths import CONFIG_DIR
from crmhub.yamlfile import read_yaml

__all__ = ["SOURCES_FILE", "SourceConfig", "load_sources", "read_yaml", "validate_schedule"]

SOURCES_FILE = CONFIG_DIR / "sources.yaml"
#: the presets Airflow's cron timetable accepts besides a cron expression (ingest DAGs pull data intervals,
#: so ``@once`` and an unscheduled source have no place here)
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
_SOURCE_KEYS = {
    "connector",
    "conn_id",
    "schedule",
    "objects",
    "pool",
    "pool_slots",
    "pool_size",
    "rate_limits",
    "overlap_minutes",
    "options",
    "enabled",
    "owner",
    "tags",
}


@dataclass(frozen=True)
class SourceConfig:
    """One configured source: which plugin, which Connection, when and what to pull."""

    name: str
    connector: str
    conn_id: str | None  # None for sources that need no Connection (a local file drop)
    schedule: str
    objects: tuple[str, ...]
    pool: str
    pool_slots: int = 1
    pool_size: int = 2  # slots of the vendor's Airflow pool: concurrent tasks calling its API
    #: the vendor's documented request limits: ({"requests": n, "per_seconds": s, "paths": [...]}, ...)
    rate_limits: tuple[Mapping[str, Any], ...] = ()
    overlap: timedelta = timedelta(hours=1)
    options: Mapping[str, Any] = field(default_factory=dict)
    owner: str = "crmhub"
    tags: tuple[str, ...] = ()


def load_sources(path: Path | str = SOURCES_FILE) -> dict[str, SourceConfig]:
    """Load and validate every enabled source."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("sources"), dict) or not doc["sources"]:
        raise ConfigError(path, "sources", "must be a mapping of source name to settings")
    sources: dict[str, SourceConfig] = {}
    for name, raw in doc["sources"].items():
        key = f"sources.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(path, key, "source names must be identifiers (letters, digits, _)")
        if not isinstance(raw, dict):
            raise ConfigError(path, key, "must be a mapping")
        unknown = set(raw) - _SOURCE_KEYS
        if unknown:
            raise ConfigError(path, f"{key}.{sorted(unknown)[0]}", f"unknown key; allowed: {sorted(_SOURCE_KEYS)}")
        if raw.get("enabled", True) is False:
            continue
        for required in ("connector", "schedule"):
            if not isinstance(raw.get(required), str) or not raw[required]:
                raise ConfigError(path, f"{key}.{required}", "required text value is missing")
        try:
            cls = connector_class(raw["connector"])
        except LookupError as exc:
            raise ConfigError(path, f"{key}.connector", str(exc)) from exc
        if cls.uses_connection and (not isinstance(raw.get("conn_id"), str) or not raw["conn_id"]):
            raise ConfigError(path, f"{key}.conn_id", "required text value is missing")
        objects = raw.get("objects", list(cls.objects))
        if not isinstance(objects, list) or not objects:
            raise ConfigError(path, f"{key}.objects", "must be a non-empty list")
        for i, obj in enumerate(objects):
            if obj not in cls.objects:
                raise ConfigError(path, f"{key}.objects[{i}]", f"{obj!r} is not one of {list(cls.objects)}")
        overlap = raw.get("overlap_minutes", 60)
        if not isinstance(overlap, int) or overlap < 0:
            raise ConfigError(path, f"{key}.overlap_minutes", "must be a whole number of minutes >= 0")
        slots = raw.get("pool_slots", 1)
        if not isinstance(slots, int) or slots < 1:
            raise ConfigError(path, f"{key}.pool_slots", "must be a whole number >= 1")
        pool_size = raw.get("pool_size", 2)
        if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
            raise ConfigError(path, f"{key}.pool_size", "must be a whole number >= 1")
        rate_limits = _rate_limits(path, f"{key}.rate_limits", raw.get("rate_limits", []))
        options = raw.get("options", {})
        if not isinstance(options, dict):
            raise ConfigError(path, f"{key}.options", "must be a mapping")
        _check_options(path, f"{key}.options", options, cls.options_spec)
        tags = raw.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ConfigError(path, f"{key}.tags", "must be a list of text")
        validate_schedule(path, f"{key}.schedule", raw["schedule"])
        sources[name] = SourceConfig(
            name=name,
            connector=raw["connector"],
            conn_id=raw.get("conn_id"),
            schedule=raw["schedule"],
            objects=tuple(objects),
            pool=str(raw.get("pool", f"crmhub_{name}")),
            pool_slots=slots,
            pool_size=pool_size,
            rate_limits=rate_limits,
            overlap=timedelta(minutes=overlap),
            options=options,
            owner=str(raw.get("owner", "crmhub")),
            tags=tuple(tags),
        )
    return sources


def _rate_limits(path: Path, key: str, value: Any) -> tuple[Mapping[str, Any], ...]:
    """Validate ``rate_limits``: a list of {requests: int >= 1, per_seconds: number > 0, paths: [text]}."""
    if not isinstance(value, list):
        raise ConfigError(path, key, "must be a list of {requests, per_seconds, paths}")
    out = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(path, where, "must be a mapping with requests and per_seconds")
        unknown = set(item) - {"requests", "per_seconds", "paths"}
        if unknown:
            raise ConfigError(
                path, f"{where}.{sorted(unknown)[0]}", "unknown key; allowed: paths, per_seconds, requests"
            )
        requests = item.get("requests")
        if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
            raise ConfigError(path, f"{where}.requests", "must be a whole number >= 1")
        per_seconds = item.get("per_seconds")
        if not isinstance(per_seconds, int | float) or isinstance(per_seconds, bool) or per_seconds <= 0:
            raise ConfigError(path, f"{where}.per_seconds", "must be a number of seconds > 0")
        paths = item.get("paths", [])
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
            raise ConfigError(path, f"{where}.paths", "must be a list of path fragments")
        out.append({"requests": requests, "per_seconds": float(per_seconds), "paths": tuple(paths)})
    return tuple(out)


def validate_schedule(path: Path | str, key: str, value: Any) -> str:
    """A five-field cron expression (``0 2 * * *``) or one of :data:`SCHEDULE_PRESETS`; else a ConfigError."""
    from croniter import croniter

    if isinstance(value, str) and value.strip() in SCHEDULE_PRESETS:
        return value.strip()
    if isinstance(value, str) and len(value.split()) == 5 and croniter.is_valid(value):
        return value
    raise ConfigError(
        path, key, f"must be a cron expression like '0 2 * * *' or one of {', '.join(SCHEDULE_PRESETS)}; got {value!r}"
    )


def _check_options(path: Path, key: str, options: Mapping[str, Any], spec: Mapping[str, Any] | None) -> None:
    """Every option is one the plugin declares (``Connector.options_spec``), of a type it accepts."""
    if spec is None:  # a plugin that declares no options (e.g. one outside this package): not checked
        return
    for name, value in options.items():
        option = spec.get(name) if isinstance(name, str) else None
        if option is None:
            allowed = ", ".join(sorted(spec)) or "(none)"
            raise ConfigError(path, f"{key}.{name}", f"unknown option; allowed: {allowed}")
        if not option.accepts(value):
            raise ConfigError(path, f"{key}.{name}", f"must be {option.describe()}, got {type(value).__name__}")
