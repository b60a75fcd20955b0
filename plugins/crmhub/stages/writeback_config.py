"""``include/config/writeback.yaml``: which CRMs receive write-back, in which order, and what.

Validated on load; every error names the file and the key (``targets[1].service_kind``).
``CRMHUB_WRITEBACK=off`` in the environment switches write-back off without editing the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmhub import paths
from crmhub.connectors.writeback import CASE, TASK
from crmhub.errors import ConfigError
from crmhub.yamlfile import read_yaml

WRITEBACK_CONFIG = paths.CONFIG_DIR / "writeback.yaml"
#: canonical fields the hub can enrich a CRM contact with
ENRICH_FIELDS = ("social_handle", "social_followers")


@dataclass(frozen=True)
class Target:
    """One CRM that receives write-back."""

    source: str
    enabled: bool = True
    service_kind: str = TASK


@dataclass(frozen=True)
class WritebackConfig:
    enabled: bool
    targets: tuple[Target, ...]
    enrich_enabled: bool = True
    #: canonical field -> precedence.yaml attribute that decides who leads it
    enrich_fields: Mapping[str, str] = field(default_factory=dict)
    message_links: Mapping[str, str] = field(default_factory=dict)
    file: str = "<memory>"

    def active_targets(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.enabled) if self.enabled else ()


def _keys(path: Path, key: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(path, key, "must be a mapping")
    for name in value:
        if name not in allowed:
            raise ConfigError(path, f"{key}.{name}" if key != "(file)" else str(name),
                              f"unknown key (allowed: {', '.join(sorted(allowed))})")  # fmt: skip
    return value


def _bool(path: Path, key: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ConfigError(path, key, f"must be true or false, not {value!r}")
    return value


def load_writeback(path: Path | str | None = None) -> WritebackConfig:
    """Read and validate ``writeback.yaml``."""
    path = Path(path) if path is not None else WRITEBACK_CONFIG
    doc = _keys(path, "(file)", read_yaml(path), {"enabled", "targets", "enrich", "message_links"})
    raw_targets = doc.get("targets")
    if not isinstance(raw_targets, list):
        raise ConfigError(path, "targets", "must be a list of {source, enabled, service_kind}")
    targets: list[Target] = []
    for i, item in enumerate(raw_targets):
        key = f"targets[{i}]"
        item = _keys(path, key, item, {"source", "enabled", "service_kind"})
        if not isinstance(item.get("source"), str) or not item["source"]:
            raise ConfigError(path, f"{key}.source", "must name a source of sources.yaml")
        if item["source"] in {t.source for t in targets}:
            raise ConfigError(path, f"{key}.source", f"{item['source']!r} is listed twice")
        kind = item.get("service_kind", TASK)
        if kind not in (TASK, CASE):
            raise ConfigError(path, f"{key}.service_kind", f"must be {TASK} or {CASE}, not {kind!r}")
        targets.append(Target(item["source"], _bool(path, f"{key}.enabled", item.get("enabled"), True), kind))
    enrich = _keys(path, "enrich", doc.get("enrich") or {}, {"enabled", "fields"})
    fields = _keys(path, "enrich.fields", enrich.get("fields") or {}, set(ENRICH_FIELDS))
    for name, attribute in fields.items():
        if not isinstance(attribute, str) or not attribute:
            raise ConfigError(path, f"enrich.fields.{name}", "must name a precedence.yaml attribute")
    links = _keys(path, "message_links", doc.get("message_links") or {}, set(doc.get("message_links") or {}))
    for name, template in links.items():
        if not isinstance(template, str) or "{source_id}" not in template:
            raise ConfigError(path, f"message_links.{name}", "must be a URL template containing {source_id}")
    switched_off = os.environ.get("CRMHUB_WRITEBACK", "on").strip().lower() == "off"
    return WritebackConfig(
        enabled=_bool(path, "enabled", doc.get("enabled"), True) and not switched_off,
        targets=tuple(targets),
        enrich_enabled=_bool(path, "enrich.enabled", enrich.get("enabled"), True),
        enrich_fields={str(k): str(v) for k, v in fields.items()},
        message_links={str(k): str(v) for k, v in links.items()},
        file=str(path),
    )
