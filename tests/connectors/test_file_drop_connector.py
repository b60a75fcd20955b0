"""The CSV file drop: detection, mapping, rejection with a reason, consumption only after landing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crmhub.connectors.base import Window
from crmhub.connectors.file_drop import FileDropConnector, OptionsError
from crmhub.model import CONTACT_COLUMNS
from crmhub.stages.ingest import ingest
from crmhub.warehouse.api import Warehouse
from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.legacy_files import HEADER, SOURCE_OPTIONS, write_drop

ANCHOR = datagen.DEFAULT_ANCHOR
WINDOW = Window(None, ANCHOR)


def row(klantnr: str, first: str, last: str, **fields: str) -> dict[str, str]:
    base = dict.fromkeys(HEADER, "")
    base.update(KLANTNR=klantnr, VOORNAAM=first, ACHTERNAAM=last, STRAAT="KERKSTRAAT", HUISNR="12", TOEVOEGING="A",
                POSTCODE="1234AB", WOONPLAATS="AMSTERDAM", TELEFOON="020-1234567", MUTATIEDATUM="03-10-2026",
                STATUS="A")  # fmt: skip
    base.update(fields)
    return base


ROWS = [
    row("00010001", "ÉLODIE", "DUBOIS"),
    row("00010002", "JÜRGEN", "MÜLLER", LAND="DE", POSTCODE="50667", WOONPLAATS="KÖLN"),
    row("00010003", "JAN", "BERG", TUSSENVOEGSEL="VAN DER", EMAIL="Jan.vanderBerg@ziggo.nl"),
    row("00010004", "S.", "JANSEN", STATUS="V"),
    row("00010005", "SØREN", "JENSEN", MUTATIEDATUM=""),
    row("00010006", "ZAHRA", "KARIMI", TELEFOON="06-12345678"),
]
DATA = {"header": HEADER, "rows": ROWS}


def options(folder: Path, **overrides: object) -> dict:
    return {**SOURCE_OPTIONS, "folder": str(folder), **overrides}


def connector(folder: Path, **overrides: object) -> FileDropConnector:
    made = FileDropConnector.connect("legacy", options=options(folder, **overrides))
    assert isinstance(made, FileDropConnector)
    return made


def pull(source: FileDropConnector) -> list:
    return [record for page in source.extract("contacts", WINDOW) for record in page.records]


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    write_drop(DATA, folder, files=3)
    return folder


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


def test_each_file_kind_is_detected_by_encoding_and_delimiter(drop):
    source = connector(drop)
    pull(source)
    assert sorted(source.read_as.values()) == sorted([("cp1252", ";"), ("utf-8-sig", ","), ("utf-8", "|")])


def test_windows_1252_names_are_read_back_intact(drop):
    names = {r.payload["VOORNAAM"] for r in pull(connector(drop))}
    assert {"ÉLODIE", "JÜRGEN", "SØREN"} <= names


def test_a_tab_separated_file_is_detected_too(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    lines = ["\t".join(HEADER), "\t".join(ROWS[2][h] for h in HEADER)]
    (folder / "KLANTEN_tab.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    source = connector(folder)
    assert [r.source_id for r in pull(source)] == ["00010003"]
    assert source.read_as["KLANTEN_tab.csv"] == ("utf-8", "\t")


def test_one_page_per_file_and_one_record_per_row_with_file_and_line(drop):
    pages = list(connector(drop).extract("contacts", WINDOW))
    assert [p.endpoint for p in pages] == sorted(p.name for p in drop.glob("KLANTEN_*.csv"))
    records = [r for p in pages for r in p.records]
    assert sorted(r.source_id for r in records) == sorted(r["KLANTNR"] for r in ROWS)
    assert all(r.payload["_file"].startswith("KLANTEN_") and r.payload["_line"] >= 2 for r in records)


def test_updated_column_gives_the_business_time_or_else_the_export_time(drop):
    records = {r.source_id: r for r in pull(connector(drop))}
    assert records["00010001"].source_updated_at == datetime(2026, 10, 3, tzinfo=UTC)
    exported = datetime.fromtimestamp((drop / records["00010005"].payload["_file"]).stat().st_mtime, tz=UTC)
    assert records["00010005"].source_updated_at == exported


def test_columns_are_mapped_into_canonical_contacts(drop):
    source = connector(drop)
    contacts = source.to_canonical({"contacts": [r.payload for r in pull(source)]}).contacts
    assert list(contacts.columns) == CONTACT_COLUMNS
    jan = contacts.set_index("source_id").loc["00010003"]
    assert (jan["first_name"], jan["name_prefix"], jan["last_name"]) == ("JAN", "VAN DER", "BERG")
    assert (jan["address_line"], jan["postcode"], jan["phone"]) == ("KERKSTRAAT 12 A", "1234AB", "020-1234567")
    assert jan["email"] == "Jan.vanderBerg@ziggo.nl" and jan["country"] == "NL"  # the default country
    assert contacts.set_index("source_id").loc["00010002", "country"] == "DE"


def test_deletion_marker_rows_are_deleted_contacts(drop):
    source = connector(drop)
    contacts = source.to_canonical({"contacts": [r.payload for r in pull(source)]}).contacts
    assert set(contacts.loc[contacts["is_deleted"], "source_id"]) == {"00010004"}


def test_a_file_missing_a_mapped_column_is_rejected_with_the_reason_and_blocks_nothing(drop):
    bad = drop / "KLANTEN_bad.csv"
    bad.write_text("KLANTNR;VOORNAAM;ACHTERNAM\r\n1;JAN;JANSEN\r\n", encoding="utf-8")
    source = connector(drop)
    assert len(pull(source)) == len(ROWS)
    assert not bad.exists() and (drop / "rejected" / "KLANTEN_bad.csv").exists()
    reason = (drop / "rejected" / "KLANTEN_bad.csv.reason.txt").read_text(encoding="utf-8")
    assert "KLANTEN_bad.csv" in reason and "'TUSSENVOEGSEL'" in reason and "line 1" in reason


def test_a_row_in_no_candidate_encoding_is_rejected_alone_naming_file_and_line(drop):
    good = ";".join(ROWS[0][h] for h in HEADER).encode("cp1252")
    bad = ";".join(["00010099", "\x81\x8d\x90", *[""] * (len(HEADER) - 2)]).encode("latin-1")
    (drop / "KLANTEN_binary.csv").write_bytes(b"\r\n".join([";".join(HEADER).encode(), good, bad, b""]))
    source = connector(drop)
    ids = [r.source_id for r in pull(source)]
    assert "00010099" not in ids and ids.count("00010001") == 2  # the good row of that file is landed
    (rejected,) = source.rejected_rows
    assert (rejected.source_id, rejected.field) == ("00010099", "VOORNAAM")
    assert "KLANTEN_binary.csv: line 3" in rejected.reason and not (drop / "rejected" / "KLANTEN_binary.csv").exists()


def utf8_file_with_two_bad_bytes(folder: Path) -> Path:
    """A UTF-8 export in which one row carries two stray Windows-1252 bytes (issue 12)."""
    lines = [";".join(HEADER).encode()]
    for r in ROWS:
        values = [r[h] for h in HEADER]
        lines.append(";".join(values).encode("utf-8"))
    broken = [ROWS[0][h] for h in HEADER]
    broken[0], broken[1] = "00010077", "J\u00dcRGEN"
    lines.insert(3, ";".join(broken).encode("cp1252").replace(b"\xdc", b"\xdc\xfc"))
    path = folder / "KLANTEN_mixed.csv"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    return path


def test_two_bad_bytes_in_one_row_do_not_corrupt_the_other_rows_of_a_utf8_file(tmp_path):
    utf8_file_with_two_bad_bytes(tmp_path / "drop")
    source = connector(tmp_path / "drop")
    records = pull(source)
    assert source.read_as["KLANTEN_mixed.csv"][0] == "utf-8"
    names = {r.payload["ACHTERNAAM"] for r in records}
    assert "MÜLLER" in names and not any("Ã" in n for n in names)
    assert {r.payload["VOORNAAM"] for r in records} >= {"ÉLODIE", "JÜRGEN", "SØREN"}
    assert sorted(r.source_id for r in records) == sorted(r["KLANTNR"] for r in ROWS)


def test_the_undecodable_row_is_rejected_with_file_line_reason_and_its_bytes_escaped(tmp_path):
    utf8_file_with_two_bad_bytes(tmp_path / "drop")
    source = connector(tmp_path / "drop")
    (page,) = list(source.extract("contacts", WINDOW))
    (rejected,) = page.rejected
    assert (rejected.source_id, rejected.field, rejected.endpoint) == ("00010077", "VOORNAAM", "KLANTEN_mixed.csv")
    assert "KLANTEN_mixed.csv: line 4" in rejected.reason and "not valid utf-8" in rejected.reason
    payload = json.loads(rejected.payload)
    assert payload["_line"] == 4 and "J\\xdc\\xfcRGEN" in payload["_raw_line"]


def test_an_undecodable_row_is_quarantined_by_the_ingest_and_the_rest_lands(tmp_path, warehouse):
    utf8_file_with_two_bad_bytes(tmp_path / "drop")
    stats = ingest(connector(tmp_path / "drop"), "contacts", WINDOW, warehouse, "run-1")
    assert stats.landed == len(ROWS) and stats.quarantined == 1
    entry = warehouse.quarantine("open").iloc[0]
    assert (entry["source"], entry["source_id"]) == ("legacy", "00010077")
    assert "line 4" in entry["reason"]


def test_a_genuine_latin1_file_is_detected_and_read_intact(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    lines = [";".join(HEADER), *(";".join(r[h] for h in HEADER) for r in ROWS)]
    (folder / "KLANTEN_latin1.csv").write_bytes("\r\n".join(lines).encode("latin-1"))
    source = connector(folder)
    records = pull(source)
    assert source.read_as["KLANTEN_latin1.csv"][0] in ("cp1252", "latin_1", "iso8859_15")
    assert {r.payload["ACHTERNAAM"] for r in records} >= {"MÜLLER", "DUBOIS"}
    assert {r.payload["VOORNAAM"] for r in records} >= {"ÉLODIE", "JÜRGEN", "SØREN"}
    assert not source.rejected_rows


def test_a_row_with_a_bad_date_rejects_its_file_naming_column_and_line(drop):
    lines = [";".join(HEADER), ";".join(row("9", "A", "B", MUTATIEDATUM="2026/10/03")[h] for h in HEADER)]
    (drop / "KLANTEN_date.csv").write_text("\r\n".join(lines), encoding="utf-8")
    source = connector(drop)
    pull(source)
    assert source.rejected == [("KLANTEN_date.csv", source.rejected[0][1])]
    assert "line 2" in source.rejected[0][1] and "'MUTATIEDATUM'" in source.rejected[0][1]


def test_files_move_to_processed_only_on_commit(drop):
    source = connector(drop)
    pull(source)
    assert len(list(drop.glob("KLANTEN_*.csv"))) == 3 and not (drop / "processed").exists()
    source.commit("contacts")
    assert not list(drop.glob("KLANTEN_*.csv"))
    assert len(list((drop / "processed").glob("KLANTEN_*.csv"))) == 3


def test_a_file_is_never_read_twice(drop):
    source = connector(drop)
    assert pull(source)
    source.commit("contacts")
    assert pull(connector(drop)) == []


def test_an_identical_file_dropped_again_is_recognised_and_lands_nothing(drop, tmp_path):
    copy = tmp_path / "copy.csv"
    copy.write_bytes(sorted(drop.glob("KLANTEN_*.csv"))[0].read_bytes())
    first = connector(drop)
    pull(first)
    first.commit("contacts")
    (drop / "KLANTEN_again.csv").write_bytes(copy.read_bytes())
    second = connector(drop)
    assert pull(second) == []
    second.commit("contacts")
    note = (drop / "processed" / "KLANTEN_again.csv.duplicate.txt").read_text(encoding="utf-8")
    assert "identical" in note and "KLANTEN_" in note
    assert not (drop / "KLANTEN_again.csv").exists()


def test_a_failed_landing_leaves_the_files_for_the_next_run(drop, warehouse):
    source = connector(drop)
    warehouse.close()  # the landing cannot happen
    with pytest.raises(Exception):  # noqa: B017 - whatever the warehouse raises, the files stay
        ingest(source, "contacts", WINDOW, warehouse, "run-1")
    assert len(list(drop.glob("KLANTEN_*.csv"))) == 3


def test_ingest_lands_every_row_then_consumes_the_files(drop, warehouse):
    stats = ingest(connector(drop), "contacts", WINDOW, warehouse, "run-1")
    assert stats.landed == len(ROWS) and stats.pages == 3
    assert not list(drop.glob("KLANTEN_*.csv"))
    again = ingest(connector(drop), "contacts", WINDOW, warehouse, "run-2")
    assert again.records == 0 and again.landed == 0


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"folder": None}, "folder"),
        ({"id_column": ""}, "id_column"),
        ({"columns": {"voornaam": "VOORNAAM"}}, "columns.voornaam"),
        ({"columns": {}}, "columns"),
        ({"delimiter": ";;"}, "delimiter"),
        ({"encoding": "klingon"}, "encoding"),
        ({"deleted_values": "V", "deleted_column": None}, "deleted_column"),
        ({"colums": {}}, "colums"),
    ],
)
def test_invalid_options_are_refused_naming_the_key(tmp_path, overrides, key):
    with pytest.raises(OptionsError, match=f"option '{key}'"):
        FileDropConnector("legacy", None, {**options(tmp_path), **overrides})


def test_the_sandbox_drop_lands_every_derived_row(tmp_path, warehouse):
    data = datagen.generate(seed=9, people=80)
    write_drop(data, tmp_path / "drop")
    source = connector(tmp_path / "drop")
    stats = ingest(source, "contacts", WINDOW, warehouse, "run-1")
    truth = {
        r["source_id"] for p in data.ground_truth["persons"] for r in p["source_records"] if r["source"] == "legacy"
    }
    assert stats.landed == len(truth) and source.rejected == [] and stats.quality_warnings == 0
    assert ("cp1252", ";") in source.read_as.values()


def test_a_missing_drop_folder_is_created_and_reads_nothing(tmp_path):
    folder = tmp_path / "not-yet" / "legacy"
    assert pull(connector(folder)) == []
    assert folder.is_dir()
