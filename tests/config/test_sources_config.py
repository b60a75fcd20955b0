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


# -- issue 13: schedule and connector options are validated ---------------------------------------------
HS = "sources:\n  hs:\n    connector: hubspot\n    conn_id: c\n"


@pytest.mark.parametrize("schedule", ["x", "'0 2 * *'", "'61 2 * * *'", "'@sometimes'", "'5'", "'@once'"])
def test_a_schedule_that_is_not_cron_or_a_preset_is_refused_naming_the_key(tmp_path, schedule):
    path = write(tmp_path, f"{HS}    schedule: {schedule}\n")
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert raised.value.key == "sources.hs.schedule" and str(path) in str(raised.value)
    assert "cron expression" in raised.value.reason


@pytest.mark.parametrize("schedule", ["'0 2 * * *'", "'*/15 * * * *'", "'@daily'", "'@hourly'"])
def test_cron_expressions_and_airflow_presets_are_accepted(tmp_path, schedule):
    assert load_sources(write(tmp_path, f"{HS}    schedule: {schedule}\n"))["hs"].schedule == schedule.strip("'")


def test_an_unknown_connector_option_is_refused_naming_the_allowed_ones(tmp_path):
    path = write(tmp_path, f"{HS}    schedule: '@daily'\n    options: {{page_size: 50, pagesize: 50}}\n")
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert raised.value.key == "sources.hs.options.pagesize" and str(path) in str(raised.value)
    assert "unknown option" in raised.value.reason and "page_size" in raised.value.reason
    assert "search_page_size" in raised.value.reason


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ("{page_size: many}", "page_size"),
        ("{page_size: true}", "page_size"),
        ("{social_properties: [a]}", "social_properties"),
    ],
)
def test_a_connector_option_of_the_wrong_type_is_refused(tmp_path, options, key):
    path = write(tmp_path, f"{HS}    schedule: '@daily'\n    options: {options}\n")
    with pytest.raises(ConfigError) as raised:
        load_sources(path)
    assert raised.value.key == f"sources.hs.options.{key}" and "must be" in raised.value.reason


def test_options_are_checked_against_each_plugins_own_list(tmp_path):
    body = (
        "sources:\n  sf:\n    connector: salesforce\n    conn_id: c\n    schedule: '@daily'\n"
        "    options: {api_version: '60.0', social_handle_field: null, currency: EUR}\n"
        "  dyn:\n    connector: dynamics\n    conn_id: c\n    schedule: '@daily'\n    options: {history_days: 3}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_sources(write(tmp_path, body))  # salesforce's options pass; history_days is no Dynamics option
    assert raised.value.key == "sources.dyn.options.history_days" and "complaint_case_types" in raised.value.reason


def test_the_shipped_sources_yaml_declares_only_options_its_plugins_read():
    sources = load_sources()
    assert sources["legacy"].options["folder"] and sources["salesforce"].options["batch_size"] == 2000
