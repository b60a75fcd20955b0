"""The source configuration is validated on load, with errors naming file and key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmhub.config import load_sources
from crmhub.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_every_source():
    sources = load_sources()
    assert {"hubspot", "hootsuite"} <= set(sources)
    assert sources["hootsuite"].objects == ("social_profiles", "messages")


def test_overlap_is_read_in_minutes(tmp_path):
    path = write(
        tmp_path,
        "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: '@daily'\n    overlap_minutes: 90\n",
    )
    assert load_sources(path)["hs"].overlap == timedelta(minutes=90)


def test_rate_limits_and_pool_size_are_read(tmp_path):
    path = write(
        tmp_path,
        "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: '@daily'\n    pool_size: 3\n"
        "    rate_limits:\n      - {requests: 100, per_seconds: 10}\n"
        "      - {requests: 5, per_seconds: 1, paths: [/search]}\n",
    )
    source = load_sources(path)["hs"]
    assert source.pool_size == 3
    assert source.rate_limits == (
        {"requests": 100, "per_seconds": 10.0, "paths": ()},
        {"requests": 5, "per_seconds": 1.0, "paths": ("/search",)},
    )


def test_disabled_source_is_skipped(tmp_path):
    path = write(
        tmp_path,
        "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: '@daily'\n    enabled: false\n"
        "  ht:\n    connector: hootsuite\n    conn_id: c\n    schedule: '@daily'\n",
    )
    assert list(load_sources(path)) == ["ht"]


@pytest.mark.parametrize(
    ("body", "key", "reason"),
    [
        ("sources: []\n", "sources", "mapping"),
        ("sources:\n  hs:\n    conn_id: c\n    schedule: x\n", "sources.hs.connector", "missing"),
        ("sources:\n  hs:\n    connector: nosuch\n    conn_id: c\n    schedule: x\n", "sources.hs.connector", "nosuch"),
        (
            "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: x\n    objects: [contacts, x]\n",
            "sources.hs.objects[1]",
            "'x'",
        ),
        (
            "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: x\n    colour: red\n",
            "sources.hs.colour",
            "unknown",
        ),
        (
            "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: x\n    overlap_minutes: -5\n",
            "sources.hs.overlap_minutes",
            ">= 0",
        ),
        (
            "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: x\n    pool_size: 0\n",
            "sources.hs.pool_size",
            ">= 1",
        ),
        (
            "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n    schedule: x\n"
            "    rate_limits: [{requests: 10, per_seconds: 0}]\n",
            "sources.hs.rate_limits[0].per_seconds",
            "> 0",
        ),
        ("sources:\n  hs:\n    connector: hubspot\n    schedule: x\n", "sources.hs.conn_id", "missing"),
        ("sources:\n  hs: [\n", "line", "invalid YAML"),
    ],
)
def test_broken_config_names_file_key_and_reason(tmp_path, body, key, reason):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    message = str(raised.value)
    assert str(path) in message
    assert key in raised.value.key
    assert reason in message
