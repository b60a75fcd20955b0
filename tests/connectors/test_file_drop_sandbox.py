"""The legacy CRM's export data: a third of the people, in the shape an AS400-era customer file has."""

from __future__ import annotations

import re

import pytest

from crmhub_dev.sandbox import datagen
from crmhub_dev.sandbox.legacy_files import FILE_KINDS, HEADER, write_drop


@pytest.fixture(scope="module")
def data() -> datagen.SandboxData:
    return datagen.generate(seed=21, people=300)


def legacy_truth(data: datagen.SandboxData) -> dict[str, dict]:
    return {r["source_id"]: {**r, "person": p} for p in data.ground_truth["persons"] for r in p["source_records"]
            if r["source"] == "legacy"}  # fmt: skip


def test_about_thirty_percent_of_the_people_are_in_the_legacy_file(data):
    rows = data.vendors["legacy"]["rows"]
    assert 0.2 * 300 < len(rows) < 0.4 * 300
    assert set(legacy_truth(data)) == {r["KLANTNR"] for r in rows}


def test_rows_look_like_a_legacy_export(data):
    rows = data.vendors["legacy"]["rows"]
    dutch = [r for r in rows if r["LAND"] in ("", "NL", "NEDERLAND")]
    assert all(re.fullmatch(r"[0-9]{4}[A-Z]{2}", r["POSTCODE"]) for r in dutch)
    assert all(r["ACHTERNAAM"] == r["ACHTERNAAM"].upper() for r in rows)
    assert any(re.fullmatch(r"0[1-9][0-9]-[0-9]{7}", r["TELEFOON"]) for r in rows)
    assert any(re.fullmatch(r"[A-Z]\.", r["VOORNAAM"]) for r in rows)  # initials only
    assert any(r["EMAIL"] == "" for r in rows) and all(
        re.fullmatch(r"\d{2}-\d{2}-\d{4}", r["MUTATIEDATUM"]) for r in rows
    )


def test_deleted_customers_are_marked_v_and_archived_in_the_truth(data):
    truth = legacy_truth(data)
    deleted = {r["KLANTNR"] for r in data.vendors["legacy"]["rows"] if r["STATUS"] == "V"}
    assert deleted and deleted == {sid for sid, rec in truth.items() if rec["archived"]}


def test_some_people_have_the_address_from_before_they_moved(data):
    truth = legacy_truth(data)
    moved = [r for r in data.vendors["legacy"]["rows"]
             if r["WOONPLAATS"] != truth[r["KLANTNR"]]["person"]["address"]["city"].upper()]  # fmt: skip
    assert 0 < len(moved) < len(truth) / 2


def test_the_data_is_deterministic_for_a_seed(data):
    assert datagen.generate(seed=21, people=300).vendors["legacy"] == data.vendors["legacy"]


def test_write_drop_writes_each_file_kind_readable_in_its_encoding(data, tmp_path):
    paths = write_drop(data, tmp_path, files=3)
    assert len(paths) == 3
    for path, (encoding, delimiter) in zip(paths, FILE_KINDS, strict=True):
        text = path.read_bytes().decode(encoding)
        assert text.splitlines()[0].lstrip("\ufeff").split(delimiter) == HEADER
    assert paths[1].read_bytes().startswith(b"\xef\xbb\xbf") and not paths[2].read_bytes().startswith(b"\xef\xbb\xbf")
    assert not paths[0].read_bytes().isascii()  # the Windows-1252 file holds accented names
    with pytest.raises(UnicodeDecodeError):
        paths[0].read_bytes().decode("utf-8")
