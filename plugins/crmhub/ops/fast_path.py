"""The fast path (issue 17): a complaint reaches the suppression list within minutes, not the next day.

Two ways in, configured under ``fast_path:`` in ``include/config/sources.yaml`` and validated here:

- **pull**: social sources are asked for new messages every few minutes; the interval is checked
  against the source's ``rate_limits`` (a fast pull may use at most ``budget_share`` of any limit);
- **push**: a source that sends webhooks (HubSpot) hands verified events to a Redis list and wakes
  the scheduler through a Redis pub/sub channel (an Airflow AssetWatcher listens on it); the DAG
  it triggers drains the list and pulls what changed.

The Redis list is the record of what arrived; the pub/sub message is only the wake-up (pub/sub keeps
nothing for a listener that is restarting), so a lost wake-up delays events until the next one or the
push DAG's backstop schedule, and loses none. Nothing personal goes through Redis: only object kinds,
counts, times and event ids.

``CRMHUB_FAST_PATH=off`` (or ``enabled: false``) turns the whole fast path off: no fast DAGs are built
and the webhook endpoint answers 503.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmhub.config import SOURCES_FILE, SourceConfig, load_sources
from crmhub.errors import ConfigError
from crmhub.yamlfile import read_yaml

SWITCH_ENV = "CRMHUB_FAST_PATH"
DEFAULT_BUDGET_SHARE = 0.5
KEY_PREFIX = "crmhub:webhooks"


@dataclass(frozen=True)
class PullSpec:
    """A social source polled every ``every_minutes`` for ``objects``."""

    source: str
    every_minutes: int
    objects: tuple[str, ...]
    requests_per_pull: int

    @property
    def cron(self) -> str:
        return "* * * * *" if self.every_minutes == 1 else f"*/{self.every_minutes} * * * *"


@dataclass(frozen=True)
class PushSpec:
    """A source whose webhooks trigger a pull of ``objects`` (the ones the events name)."""

    source: str
    objects: tuple[str, ...]
    backstop_minutes: int

    @property
    def channel(self) -> str:
        return f"{KEY_PREFIX}:{self.source}"

    @property
    def queue_key(self) -> str:
        return queue_key(self.source)


@dataclass(frozen=True)
class FastPathConfig:
    enabled: bool
    budget_share: float
    pulls: Mapping[str, PullSpec]
    pushes: Mapping[str, PushSpec]


def queue_key(source: str) -> str:
    return f"{KEY_PREFIX}:{source}:events"


def refused_key(source: str) -> str:
    return f"{KEY_PREFIX}:{source}:refused"


def switched_off(environ: Mapping[str, str] | None = None) -> bool:
    value = (environ if environ is not None else os.environ).get(SWITCH_ENV, "").strip().lower()
    return value in ("0", "off", "false", "no", "disabled")


def load_fast_path(
    path: Path | str = SOURCES_FILE,
    sources: Mapping[str, SourceConfig] | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastPathConfig:
    """Read and validate ``fast_path:``; every error names file, key and what is wrong."""
    path = Path(path)
    sources = load_sources(path) if sources is None else sources
    doc = read_yaml(path)
    raw = doc.get("fast_path") if isinstance(doc, dict) else None
    if raw is None:
        return FastPathConfig(False, DEFAULT_BUDGET_SHARE, {}, {})
    if not isinstance(raw, dict):
        raise ConfigError(path, "fast_path", "must be a mapping with enabled, pull and push")
    unknown = set(raw) - {"enabled", "budget_share", "pull", "push"}
    if unknown:
        raise ConfigError(
            path, f"fast_path.{sorted(unknown)[0]}", "unknown key; allowed: budget_share, enabled, pull, push"
        )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(path, "fast_path.enabled", "must be true or false")
    share = raw.get("budget_share", DEFAULT_BUDGET_SHARE)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ConfigError(path, "fast_path.budget_share", "must be a number > 0 and <= 1")
    pulls = {name: _pull(path, name, spec, sources, float(share)) for name, spec in _mapping(path, raw, "pull").items()}
    pushes = {name: _push(path, name, spec, sources) for name, spec in _mapping(path, raw, "push").items()}
    return FastPathConfig(enabled and not switched_off(environ), float(share), pulls, pushes)


def _mapping(path: Path, raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise ConfigError(path, f"fast_path.{key}", "must be a mapping of source name to settings")
    return value


def _source(path: Path, key: str, name: str, sources: Mapping[str, SourceConfig]) -> SourceConfig:
    if name not in sources:
        raise ConfigError(path, key, f"{name!r} is not an enabled source in sources:")
    return sources[name]


def _objects(path: Path, key: str, value: Any, source: SourceConfig) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(path, key, "must be a non-empty list of the source's objects")
    for i, obj in enumerate(value):
        if obj not in source.objects:
            raise ConfigError(path, f"{key}[{i}]", f"{obj!r} is not one of {list(source.objects)}")
    return tuple(value)


def _whole(path: Path, key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(path, key, f"must be a whole number from {low} to {high}")
    return value


def _pull(path: Path, name: str, spec: Any, sources: Mapping[str, SourceConfig], share: float) -> PullSpec:
    key = f"fast_path.pull.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(path, key, "must be a mapping with every_minutes, objects and requests_per_pull")
    unknown = set(spec) - {"every_minutes", "objects", "requests_per_pull"}
    if unknown:
        raise ConfigError(
            path, f"{key}.{sorted(unknown)[0]}", "unknown key; allowed: every_minutes, objects, requests_per_pull"
        )
    source = _source(path, key, name, sources)
    pull = PullSpec(
        source=name,
        every_minutes=_whole(path, f"{key}.every_minutes", spec.get("every_minutes"), 1, 60),
        objects=_objects(path, f"{key}.objects", spec.get("objects"), source),
        requests_per_pull=_whole(path, f"{key}.requests_per_pull", spec.get("requests_per_pull"), 1, 10_000),
    )
    over = budget_overruns(pull, source, share)
    if over:
        raise ConfigError(path, f"{key}.every_minutes", over[0])
    return pull


def _push(path: Path, name: str, spec: Any, sources: Mapping[str, SourceConfig]) -> PushSpec:
    key = f"fast_path.push.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(path, key, "must be a mapping with objects and backstop_minutes")
    unknown = set(spec) - {"objects", "backstop_minutes"}
    if unknown:
        raise ConfigError(path, f"{key}.{sorted(unknown)[0]}", "unknown key; allowed: backstop_minutes, objects")
    source = _source(path, key, name, sources)
    return PushSpec(
        source=name,
        objects=_objects(path, f"{key}.objects", spec.get("objects"), source),
        backstop_minutes=_whole(path, f"{key}.backstop_minutes", spec.get("backstop_minutes", 15), 1, 60),
    )


def _overused(every_minutes: int, requests_per_pull: int, source: SourceConfig, share: float) -> list[tuple[Any, int]]:
    """(rule, requests used in its window) for each rate limit the pulls would use more than ``share`` of.

    Within one limit window of ``per_seconds`` the pull runs ``ceil(per_seconds / interval)`` times,
    each sending ``requests_per_pull`` requests.
    """
    interval = every_minutes * 60
    out = []
    for rule in source.rate_limits:
        used = max(1, math.ceil(rule["per_seconds"] / interval)) * requests_per_pull
        if used > share * rule["requests"]:
            out.append((rule, used))
    return out


def budget_overruns(pull: PullSpec, source: SourceConfig, share: float) -> list[str]:
    """What is wrong with the pull's interval against the source's rate limits (empty: it fits)."""
    return [
        f"a pull every {pull.every_minutes} min sends {used} requests per {rule['per_seconds']:g} s, more than "
        f"{share:.0%} of the limit of {rule['requests']}; pull at most every "
        f"{min_interval_minutes(pull.requests_per_pull, source, share)} min"
        for rule, used in _overused(pull.every_minutes, pull.requests_per_pull, source, share)
    ]


def min_interval_minutes(requests_per_pull: int, source: SourceConfig, share: float) -> int:
    """The shortest whole-minute interval whose pulls fit every rate limit within ``share`` (60: none fits)."""
    return next((m for m in range(1, 61) if not _overused(m, requests_per_pull, source, share)), 60)


# -- the webhook queue (Redis) -----------------------------------------------------------------------
def enqueue(redis: Any, push: PushSpec, message: Mapping[str, Any]) -> None:
    """Keep the event batch in the list first, then wake the watcher (a lost wake-up loses nothing)."""
    body = json.dumps({**message, "received_ms": int(time.time() * 1000)}, separators=(",", ":"))
    redis.rpush(push.queue_key, body)
    redis.publish(push.channel, json.dumps({"source": push.source}))


def drain(redis: Any, push: PushSpec, limit: int = 10_000) -> list[dict[str, Any]]:
    """Take up to ``limit`` queued batches (atomically: a concurrent drain never sees the same one)."""
    pipe = redis.pipeline(transaction=True)
    pipe.lrange(push.queue_key, 0, limit - 1)
    pipe.ltrim(push.queue_key, limit, -1)
    items, _ = pipe.execute()
    out = []
    for item in items:
        try:
            out.append(json.loads(item))
        except ValueError:
            continue
    return out


def requeue(redis: Any, push: PushSpec, batches: list[dict[str, Any]]) -> None:
    """Put drained batches back at the head (a pull that failed must not drop what asked for it)."""
    if batches:
        redis.lpush(push.queue_key, *[json.dumps(b, separators=(",", ":")) for b in reversed(batches)])


def count_refused(redis: Any, source: str, reason: str) -> int:
    return int(redis.hincrby(refused_key(source), reason, 1))


def refused_counts(redis: Any, source: str) -> dict[str, int]:
    raw = redis.hgetall(refused_key(source)) or {}
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}
