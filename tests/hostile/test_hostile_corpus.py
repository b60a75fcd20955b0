"""The hostile-input corpus through the whole hub: HubSpotConnector → ingest → reconcile → load.

Every case in ``hubspot_contacts.yaml`` is served by the imitation list endpoint between good
records; each must end as the corpus says (accepted with its golden values, or quarantined with a
reason naming the field), and every other record of the page, pull and run must land. Page faults
(an HTML page with status 200, a cut-off page, a 401) are retried or fail naming the page without
losing the pages fetched before. Runs on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import yaml
from throwaway_pg import throwaway_database

from crmhub.config import SourceConfig
from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.stages.ingest import ingest
from crmhub.warehouse import Warehouse

from .imitation import Fault, Imitation, page_bodies, record_bytes, serve

CORPUS = yaml.safe_load((Path(__file__).with_name("hubspot_contacts.yaml")).read_text(encoding="utf-8"))["cases"]
UNTIL = datetime(2026, 11, 2, tzinfo=UTC)
RUN_ID = "hostile-run"
PAGE_SIZE = 5
SOURCE = SourceConfig(
    name="hubspot",
    connector="hubspot",
    conn_id="crmhub_hubspot",
    schedule="@daily",
    objects=("contacts",),
    pool="crmhub_hubspot",
)
GOOD_PEOPLE = [
    ("Sanne", "Bakker", "Haarlem"),
    ("Daan", "de Vries", "Utrecht"),
    ("Fatima", "El Amrani", "Rotterdam"),
    ("Luuk", "Jansen", "Zwolle"),
    ("Noor", "van den Berg", "Leiden"),
    ("Sven", "Visser", "Groningen"),
    ("Yara", "Smit", "Delft"),
    ("Milan", "Meijer", "Arnhem"),
    ("Lotte", "Mulder", "Breda"),
    ("Bram", "Bos", "Tilburg"),
    ("Zeynep", "Yilmaz", "Almere"),
    ("Ruben", "Dekker", "Enschede"),
]
CASE_NAMES = ["Hendriks", "Brouwer", "Dijkstra", "Koster", "Prins", "Huisman", "Peters", "Kuipers"]


def contact(source_id: str | None, first: str, last: str, city: str, email: str) -> dict[str, Any]:
    return {
        "id": source_id,
        "createdAt": "2026-09-01T08:00:00Z",
        "updatedAt": "2026-10-15T12:00:00Z",
        "archived": False,
        "properties": {
            "firstname": first,
            "lastname": last,
            "email": email,
            "city": city,
            "country": "NL",
            "lastmodifieddate": "2026-10-15T12:00:00Z",
        },
    }


def good_records() -> list[dict[str, Any]]:
    return [
        contact(str(9001 + i), first, last, city, f"{first}.{last.replace(' ', '')}@example.nl".lower())
        for i, (first, last, city) in enumerate(GOOD_PEOPLE)
    ]


def case_record(index: int, case: dict[str, Any]) -> tuple[str | None, bytes]:
    """The case's record as body bytes, and its id (None when the case removes it)."""
    last = CASE_NAMES[index % len(CASE_NAMES)] + "-" + chr(ord("a") + index)
    record = contact(str(2001 + index), "Case", last, "Amersfoort", f"case{index}@example.nl")
    record["properties"].update(
        {k: v.replace("{LONG_TEXT}", "Lang bedrijf " * 770) for k, v in (case.get("properties") or {}).items()}
    )
    for key, value in (case.get("record") or {}).items():
        if value is None:
            record.pop(key, None)
        elif key == "properties" and isinstance(value, dict):
            record["properties"].update(value)
        else:
            record[key] = value
    if case.get("marker"):
        record["properties"]["email"] = f"{case['marker']}@example.nl"
    raw_bytes = {name: bytes.fromhex(value) for name, value in (case.get("bytes_hex") or {}).items()}
    body = record_bytes(record, case.get("raw") or {}, raw_bytes)
    return record.get("id"), body


def corpus_pages() -> tuple[list[bytes], dict[str, str | None]]:
    """Pages with a hostile record after every good one (then the rest), and each case's record id."""
    good = [json.dumps(r, ensure_ascii=False).encode() for r in good_records()]
    ids: dict[str, str | None] = {}
    hostile = []
    for index, case in enumerate(CORPUS):
        ids[case["case"]], body = case_record(index, case)
        hostile.append(body)
    mixed: list[bytes] = []
    for i in range(max(len(good), len(hostile))):
        mixed += good[i : i + 1] + hostile[i : i + 1]
    return page_bodies(mixed, PAGE_SIZE), ids


@contextmanager
def new_warehouse(engine: str, folder: Path) -> Iterator[Warehouse]:
    if engine == "duckdb":
        with Warehouse.from_url(f"duckdb://{folder / 'warehouse.duckdb'}") as wh:
            wh.migrate()
            yield wh
        return
    with throwaway_database("crmhub_hostile_") as url, Warehouse.from_url(url) as wh:
        wh.migrate()
        yield wh


ENGINES = ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Warehouse]:
    with new_warehouse(request.param, tmp_path) as wh:
        yield wh


def connector(imitation: Imitation) -> HubSpotConnector:
    built = HubSpotConnector.connect(
        "hubspot", requests.Session(), imitation.url, Credentials(password="hostile-test-token"), {"page_size": 5}
    )
    assert isinstance(built, HubSpotConnector)
    return built


def run_hub(warehouse: Warehouse, data_dir: Path, imitation: Imitation) -> Any:
    """Ingest the imitation's contacts, then every reconcile step the reconcile DAG runs, in its order."""
    stats = ingest(connector(imitation), "contacts", Window(since=None, until=UNTIL), warehouse, RUN_ID)
    files = stage.run_folder(data_dir, RUN_ID)
    stage.canonicalize(warehouse, files, RUN_ID, sources={"hubspot": SOURCE})
    stage.validate_canonical(warehouse, files, RUN_ID)
    stage.match_and_survive(warehouse, files, RUN_ID, rules=load_rules())
    stage.validate(warehouse, files, RUN_ID)
    stage.load(warehouse, files, RUN_ID, state_dir=stage.state_dir(data_dir))
    stage.validate_warehouse(warehouse, files, RUN_ID)
    return stats


def landed_ids(warehouse: Warehouse) -> set[str]:
    return set(warehouse.query("SELECT source_id FROM core.contact_xref WHERE is_current")["source_id"])


def golden_of(warehouse: Warehouse, source_id: str) -> dict[str, Any]:
    frame = warehouse.query(
        "SELECT g.* FROM core.golden_contacts g JOIN core.contact_xref x ON x.golden_id = g.golden_id "
        "WHERE x.is_current AND g.is_current AND x.source = 'hubspot' AND x.source_id = :id",
        {"id": source_id},
    )
    assert len(frame) == 1, f"record {source_id}: {len(frame)} current golden rows"
    row = frame.iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in row.items()} if hasattr(row, "items") else {}


@pytest.fixture(scope="module", params=ENGINES)
def corpus_run(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[tuple[Warehouse, dict[str, str | None]]]:
    """The whole corpus through the hub once per engine; every case test reads its outcome."""
    folder = tmp_path_factory.mktemp(f"hostile-{request.param}")
    pages, ids = corpus_pages()
    with new_warehouse(request.param, folder) as warehouse, serve(Imitation(pages)) as imitation:
        run_hub(warehouse, folder / "data", imitation)
        yield warehouse, ids


def test_every_good_record_lands_whatever_hostile_records_share_its_pages(corpus_run) -> None:
    warehouse, _ = corpus_run
    good = {r["id"] for r in good_records()}
    assert good <= landed_ids(warehouse)


@pytest.mark.parametrize("case", CORPUS, ids=[c["case"] for c in CORPUS])
def test_each_hostile_record_ends_as_the_corpus_says(corpus_run, case: dict[str, Any]) -> None:
    warehouse, ids = corpus_run
    source_id = ids[case["case"]]
    expect = case["expect"]
    quarantine = warehouse.query(
        "SELECT source_id, stage, expectation, reason, payload FROM audit.quarantine WHERE source = 'hubspot'"
    )
    if source_id is None:
        mine = quarantine[quarantine["payload"].fillna("").str.contains(case["marker"], regex=False)]
    else:
        mine = quarantine[quarantine["source_id"] == source_id]
    if expect["outcome"] == "quarantined":
        assert not mine.empty, f"{case['case']}: not in audit.quarantine"
        said = " ".join(mine["reason"].fillna("") + " " + mine["expectation"].fillna(""))
        assert expect["field"] in said, f"{case['case']}: quarantine reason does not name {expect['field']}: {said}"
        assert mine["payload"].notna().all(), "the quarantined record's raw text is kept"
        if source_id is not None:
            assert source_id not in landed_ids(warehouse)
        return
    assert expect["outcome"] == "accepted"
    assert mine.empty, f"{case['case']}: quarantined: {mine['reason'].tolist()}"
    assert source_id in landed_ids(warehouse)
    golden = golden_of(warehouse, source_id)
    for column, value in (expect.get("golden") or {}).items():
        assert golden[column] == value, f"{case['case']}: golden {column} is {golden[column]!r}"


def test_an_html_page_with_status_200_is_retried_and_the_pull_completes(warehouse: Warehouse) -> None:
    pages = page_bodies([json.dumps(r).encode() for r in good_records()], PAGE_SIZE)
    with serve(Imitation(pages, faults={2: Fault("html200")})) as imitation:
        stats = ingest(connector(imitation), "contacts", Window(since=None, until=UNTIL), warehouse, RUN_ID)
    assert imitation.requests.count(2) == 2
    assert stats.landed == len(GOOD_PEOPLE)


def test_a_cut_off_page_served_once_is_retried_and_the_pull_completes(warehouse: Warehouse) -> None:
    pages = page_bodies([json.dumps(r).encode() for r in good_records()], PAGE_SIZE)
    with serve(Imitation(pages, faults={3: Fault("truncated")})) as imitation:
        stats = ingest(connector(imitation), "contacts", Window(since=None, until=UNTIL), warehouse, RUN_ID)
    assert imitation.requests.count(3) == 2
    assert stats.landed == len(GOOD_PEOPLE)


@pytest.mark.parametrize("fault", ["html200", "401"])
def test_a_page_that_never_reads_fails_naming_it_after_the_pages_before_it_landed(
    warehouse: Warehouse, fault: str
) -> None:
    pages = page_bodies([json.dumps(r).encode() for r in good_records()], PAGE_SIZE)
    with (
        serve(Imitation(pages, faults={3: Fault(fault, times=100)})) as imitation,
        pytest.raises(Exception, match=r"page 3") as failure,
    ):
        ingest(connector(imitation), "contacts", Window(since=None, until=UNTIL), warehouse, RUN_ID)
    assert "hubspot" in str(failure.value) and "/crm/v3/objects/contacts" in str(failure.value)
    landed = warehouse.query("SELECT count(*) AS n FROM raw.payloads WHERE source = 'hubspot'")["n"].iloc[0]
    assert landed == 2 * PAGE_SIZE
