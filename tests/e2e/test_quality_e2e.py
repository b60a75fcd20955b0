"""Quality gates through a real Airflow: a broken sandbox pull is stopped before anything is loaded,
and a mapping defect is quarantined with its reason while the rest of the run loads.

The sandbox here carries deliberate data defects (not HTTP faults): a message in a state Hootsuite
does not document, and a social profile of a network the hub does not know.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.server import SandboxServer

from .conftest import LOGICAL_DATE, make_airflow


@pytest.fixture(scope="module")
def defect_sandbox() -> Iterator[SandboxServer]:
    data = datagen.generate(seed=11, people=30, anchor=datagen.DEFAULT_ANCHOR)
    with SandboxServer(data=data) as server:
        yield server


def test_a_pull_with_an_unknown_message_state_is_stopped_before_landing(defect_sandbox, migrated_home, tmp_path):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    airflow = make_airflow(defect_sandbox, migrated_home, url, tmp_path, CRMHUB_RETRIES="0")
    broken = defect_sandbox.data.hootsuite_messages[5]
    broken["state"] = "QUEUED_FOR_MARS"
    try:
        result = airflow.dags_test("crmhub_ingest_hootsuite", LOGICAL_DATE, check=False)
    finally:
        broken["state"] = "SENT"
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "quality gate raw_hootsuite_messages@1" in output
    assert "expect_column_values_to_be_in_set(state): 1 unexpected of" in output
    assert f"e.g. source ids {broken['id']}" in output
    assert broken["text"] not in output  # no message text (personal data) in the task log
    with Warehouse.from_url(url) as warehouse:
        assert not warehouse.has_raw("hootsuite", "messages")
        assert warehouse.has_raw("hootsuite", "social_profiles")  # the task before it was fine
        failed = warehouse.query(
            "SELECT expectation, unexpected_count FROM audit.quality_results "
            "WHERE stage = 'raw_hootsuite_messages' AND NOT success"
        )
    assert failed.to_dict("records") == [{"expectation": "expect_column_values_to_be_in_set", "unexpected_count": 1}]


def test_messages_of_an_unknown_network_are_quarantined_with_their_reason_and_the_rest_loads(
    defect_sandbox, migrated_home, tmp_path
):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    airflow = make_airflow(defect_sandbox, migrated_home, url, tmp_path)
    profile = next(p for p in defect_sandbox.data.hootsuite_profiles if p["type"] == "INSTAGRAM")
    profile["type"] = "MASTODON"  # a network the connector maps to a channel no mart knows
    try:
        ingest = airflow.dags_test("crmhub_ingest_hootsuite", LOGICAL_DATE)
        reconcile = airflow.dags_test("crmhub_reconcile", LOGICAL_DATE)
    finally:
        profile["type"] = "INSTAGRAM"
    on_profile = {
        str(m["id"])
        for m in defect_sandbox.data.hootsuite_messages
        if str(m["socialProfile"]["id"]) == str(profile["id"])
    }
    assert on_profile

    with Warehouse.from_url(url) as warehouse:
        held = warehouse.quarantine()
        loaded = set(warehouse.query("SELECT source_id FROM core.interactions")["source_id"])
        stages = warehouse.query("SELECT stage, success FROM audit.quality_results")
    interactions = held[held["stage"] == "canonical_interactions"]
    assert set(interactions["source_id"]) == on_profile
    assert set(interactions["expectation"]) == {"expect_column_values_to_be_in_set(channel)"}
    assert interactions["reason"].str.startswith("channel is one the marts know").all()
    assert not loaded & on_profile and loaded  # held back, and everything else loaded
    contacts = held[held["stage"] == "canonical_contacts"]
    assert len(contacts) and contacts["source_id"].str.startswith("mastodon:").all()

    assert {
        "raw_hootsuite_messages",
        "raw_hootsuite_social_profiles",
        "canonical_contacts",
        "canonical_interactions",
        "golden_contacts",
        "warehouse_current_versions",
        "warehouse_load_counts",
    } <= set(stages["stage"])
    profile_results = stages[stages["stage"] == "raw_hootsuite_social_profiles"]
    assert not profile_results["success"].all()  # the unknown profile type is a recorded warning
    assert (tmp_path / "data_docs" / "index.html").is_file()
    assert "Data Docs:" in reconcile.stdout + reconcile.stderr
    assert ingest.returncode == 0 and reconcile.returncode == 0
