"""The fast path is configuration: validated against each source's rate limits, and can be switched off."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crmhub.config import SOURCES_FILE
from crmhub.errors import ConfigError
from crmhub.ops.fast_path import load_fast_path


def _write(tmp_path: Path, fast_path: dict) -> Path:
    doc = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))
    doc["fast_path"] = fast_path
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_the_shipped_config_pulls_sprout_every_minute_hootsuite_every_five_and_takes_hubspot_webhooks():
    config = load_fast_path(environ={})
    assert config.enabled
    assert {n: p.every_minutes for n, p in config.pulls.items()} == {"sprout": 1, "hootsuite": 5}
    assert set(config.pushes) == {"hubspot"}


def test_a_pull_that_would_use_more_than_its_share_of_the_rate_limit_is_refused(tmp_path):
    path = _write(tmp_path, {"budget_share": 0.5, "pull": {"sprout": {"every_minutes": 1, "objects": ["messages"],
                                                                    "requests_per_pull": 40}}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"fast_path\.pull\.sprout\.every_minutes.*40 requests per 60 s"):
        load_fast_path(path, environ={})


def test_the_error_names_the_shortest_interval_that_fits(tmp_path):
    # Dataverse: 6000 requests per 300 s; half of that is 3000, i.e. 3 pulls of 1000 (every 2 min), not 5
    path = _write(tmp_path, {"budget_share": 0.5, "pull": {"dynamics": {"every_minutes": 1, "objects": ["contacts"],
                                                                      "requests_per_pull": 1000}}})  # fmt: skip
    with pytest.raises(ConfigError, match="5000 requests per 300 s.*pull at most every 2 min"):
        load_fast_path(path, environ={})


def test_an_unknown_source_is_named(tmp_path):
    path = _write(
        tmp_path, {"pull": {"twitter": {"every_minutes": 5, "objects": ["messages"], "requests_per_pull": 1}}}
    )
    with pytest.raises(ConfigError, match=r"fast_path\.pull\.twitter.*not an enabled source"):
        load_fast_path(path, environ={})


def test_an_object_the_source_does_not_offer_is_named(tmp_path):
    path = _write(tmp_path, {"push": {"hubspot": {"objects": ["tickets"]}}})
    with pytest.raises(ConfigError, match=r"fast_path\.push\.hubspot\.objects\[0\]"):
        load_fast_path(path, environ={})


@pytest.mark.parametrize("value", ["off", "0", "false"])
def test_the_environment_switch_turns_the_fast_path_off(value):
    assert not load_fast_path(environ={"CRMHUB_FAST_PATH": value}).enabled


def test_enabled_false_turns_it_off(tmp_path):
    assert not load_fast_path(_write(tmp_path, {"enabled": False}), environ={}).enabled
