"""canonicalize isolates records: one bad value, one future date or one raising mapping holds back that
record alone (audit.quarantine, stage canonicalize), never a source or the run (issue 12)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from crmhub.config import SourceConfig
from crmhub.errors import ConfigError
from crmhub.model import CONTACT_COLUMNS, TypeProblem, type_frame
from crmhub.quality.canonical import load_canonical_config
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def hubspot_contact(source_id: str, updated: str = "2026-10-01T10:00:00Z", **props: object) -> dict:
    properties = {"firstname": "Jan", "lastname": "Jansen", "email": f"jan{source_id}@example.nl", **props}
    return {"id": source_id, "properties": properties, "createdAt": "2026-01-01T10:00:00Z", "updatedAt": updated,
            "archived": False}  # fmt: skip


def source(name: str) -> SourceConfig:
    return SourceConfig(name, "hubspot", None, "@daily", ("contacts",), "pool")


SOURCES = {"hubspot": source("hubspot"), "crm2": source("crm2")}


def land(wh: Warehouse, source_name: str, payloads: list[dict], extracted_at: datetime = NOW) -> None:
    rows = []
    for payload in payloads:
        text = json.dumps(payload, sort_keys=True)
        rows.append(
            {
                "source": source_name,
                "object_type": "contacts",
                "source_id": payload["id"],
                "source_updated_at": pd.to_datetime(payload["updatedAt"], errors="coerce", utc=True),
                "payload": text,
                "payload_hash": hashlib.sha256(text.encode()).hexdigest(),
                "run_id": "ingest",
                "extracted_at": extracted_at,
            }
        )
    wh.land_raw(pd.DataFrame(rows))


@pytest.fixture
def wh(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb://{tmp_path / 'w.duckdb'}") as warehouse:
        warehouse.migrate()
        yield warehouse


def run(wh: Warehouse, tmp_path: Path, run_id: str = "run-1") -> tuple[stage.RunFiles, dict]:
    files = stage.run_folder(tmp_path / "data", run_id)
    return files, stage.canonicalize(wh, files, run_id, sources=SOURCES, now=NOW)


def open_entries(wh: Warehouse) -> pd.DataFrame:
    return wh.quarantine("open").query("stage == 'canonicalize'")


# --------------------------------------------------------------------------------- wrong JSON types


def test_a_number_in_a_text_field_is_written_as_its_text(wh, tmp_path):
    land(wh, "hubspot", [hubspot_contact("1", firstname=12345)])
    files, _ = run(wh, tmp_path)
    contacts = files.read("contacts")  # the run file is Parquet: this read failed with ArrowTypeError before
    assert contacts.set_index("source_id").loc["1", "first_name"] == "12345"
    assert open_entries(wh).empty


def test_an_object_in_a_text_field_quarantines_that_record_alone_and_every_source_goes_on(wh, tmp_path):
    land(wh, "hubspot", [hubspot_contact("1", firstname={"nl": "Jan"}), hubspot_contact("2")])
    land(wh, "crm2", [hubspot_contact("7")])
    files, stats = run(wh, tmp_path)
    contacts = files.read("contacts")
    assert sorted(zip(contacts["source"], contacts["source_id"], strict=True)) == [("crm2", "7"), ("hubspot", "2")]
    entry = open_entries(wh).iloc[0]
    assert (entry["source"], entry["source_id"], entry["stage"]) == ("hubspot", "1", "canonicalize")
    assert entry["expectation"] == "canonical_type(contacts.first_name)"
    assert "first_name" in entry["reason"] and "object" in entry["reason"]
    assert json.loads(entry["payload"])["first_name"] == {"nl": "Jan"}
    assert stats["hubspot"]["quarantined"] == 1 and stats["crm2"]["quarantined"] == 0


def test_a_mapping_that_raises_for_one_record_quarantines_that_record_naming_it(wh, tmp_path):
    land(wh, "hubspot", [hubspot_contact("1", updated="yesterday"), hubspot_contact("2")])
    land(wh, "crm2", [hubspot_contact("7")])
    files, _ = run(wh, tmp_path)
    assert sorted(files.read("contacts")["source_id"]) == ["2", "7"]
    entry = open_entries(wh).iloc[0]
    assert (entry["source"], entry["source_id"]) == ("hubspot", "1")
    assert entry["expectation"] == "mapping_error(contacts.(mapping))"
    assert "ValueError" in entry["reason"]


def test_a_record_that_types_cleanly_again_resolves_its_entry(wh, tmp_path):
    land(wh, "hubspot", [hubspot_contact("1", updated="2026-10-01T10:00:00Z", firstname=["Jan"])])
    run(wh, tmp_path, "run-1")
    land(wh, "hubspot", [hubspot_contact("1", updated="2026-10-02T10:00:00Z")])
    files, _ = run(wh, tmp_path, "run-2")
    assert list(files.read("contacts")["source_id"]) == ["1"]
    assert open_entries(wh).empty
    assert len(wh.quarantine("resolved")) == 1


def test_type_frame_coerces_numbers_to_text_and_names_untypeable_values():
    frame = pd.DataFrame(
        {
            "source": ["s", "s", "s", "s"],
            "source_id": ["1", "2", "3", "4"],
            "source_updated_at": ["2026-10-01T10:00:00Z", "not a date", None, "2026-10-01"],
            "first_name": [12345, 12.0, True, "Jan"],
            "social_followers": ["12", "many", None, 3],
        }
    )
    typed, problems = type_frame(frame, CONTACT_COLUMNS)
    assert typed["first_name"].tolist()[:2] == ["12345", "12"]
    assert typed["social_followers"].tolist()[0] == 12.0
    named = {(p.row, p.column) for p in problems}
    assert named == {(1, "source_updated_at"), (2, "first_name"), (1, "social_followers")}
    assert all(isinstance(p, TypeProblem) and p.column in p.reason for p in problems)


# ------------------------------------------------------------------------------- future timestamps


def test_a_contact_dated_2099_is_quarantined_and_a_later_correction_wins(wh, tmp_path):
    land(wh, "hubspot", [hubspot_contact("1", firstname="Jan")], extracted_at=NOW - timedelta(days=30))
    land(wh, "hubspot", [hubspot_contact("1", updated="2099-01-01T00:00:00Z", firstname="Jxn")])
    files, _ = run(wh, tmp_path, "run-1")
    entry = open_entries(wh).iloc[0]
    assert (entry["source_id"], entry["expectation"]) == ("1", "future_timestamp(contacts.source_updated_at)")
    assert "source_updated_at" in entry["reason"]
    # until corrected, the record's newest plausible version is used, never the 2099 one
    contacts = files.read("contacts")
    assert contacts.loc[0, "first_name"] == "Jan" and contacts.loc[0, "source_updated_at"].year == 2026

    land(wh, "hubspot", [hubspot_contact("1", updated="2026-11-01T09:00:00Z", firstname="Johan")],
         extracted_at=NOW + timedelta(hours=1))  # fmt: skip
    files, _ = run(wh, tmp_path, "run-2")
    contacts = files.read("contacts")
    assert contacts.loc[0, "first_name"] == "Johan"
    assert contacts.loc[0, "source_updated_at"] == pd.Timestamp("2026-11-01T09:00:00Z")
    assert open_entries(wh).empty  # the correction superseded the 2099 version


def test_a_timestamp_within_the_tolerance_is_accepted(wh, tmp_path):
    land(wh, "hubspot", [hubspot_contact("1", updated=(NOW + timedelta(hours=12)).isoformat())])
    files, _ = run(wh, tmp_path)
    assert list(files.read("contacts")["source_id"]) == ["1"]
    assert open_entries(wh).empty


def test_the_tolerance_is_read_from_canonical_yaml(tmp_path):
    path = tmp_path / "canonical.yaml"
    path.write_text("version: 1\nfuture_tolerance: 12h\n", encoding="utf-8")
    assert load_canonical_config(path).future_tolerance == timedelta(hours=12)


@pytest.mark.parametrize(
    ("text", "key"),
    [("future_tolerance: soon\n", "future_tolerance"), ("tolerance: 1d\n", "tolerance"), ("version: 2\n", "version")],
)
def test_a_broken_canonical_yaml_names_file_and_key(tmp_path, text, key):
    path = tmp_path / "canonical.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_canonical_config(path)
    assert exc.value.key == key and "canonical.yaml" in str(exc.value)


def test_the_shipped_canonical_yaml_loads():
    assert load_canonical_config().future_tolerance == timedelta(days=1)
