"""The legacy CRM's CSV exports: about 30% of the people, as an AS400-era customer file would hold them.

Why: the file-drop source has to cope with what old systems write: upper-case names with the
tussenvoegsel in its own field, initials instead of first names, ``020-1234567`` phone numbers,
``1234AB`` postcodes, ``dd-mm-yyyy`` dates, a status letter for deleted customers (``V``: vervallen),
addresses from before the person moved, empty e-mail fields, and files in three encodings and delimiters.
There is no API: :func:`derive` makes the rows (registered in the ground truth) and :func:`write_drop`
writes them as export files into the drop folder.

The ``options`` block for ``include/config/sources.yaml`` that reads these files (also :data:`SOURCE_OPTIONS`)::

    legacy:
      plugin: file_drop
      options:
        folder: drop/legacy
        pattern: "KLANTEN_*.csv"
        id_column: KLANTNR
        updated_column: MUTATIEDATUM
        updated_format: "%d-%m-%Y"
        default_country: NL
        deleted_column: STATUS
        deleted_values: ["V"]
        columns:
          first_name: VOORNAAM
          name_prefix: TUSSENVOEGSEL
          last_name: ACHTERNAAM
          address_line: [STRAAT, HUISNR, TOEVOEGING]
          postcode: POSTCODE
          city: WOONPLAATS
          country: LAND
          phone: TELEFOON
          email: EMAIL
          company: BEDRIJF
"""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from crmhub_dev.sandbox.datagen import CITIES, STREETS, DeriveContext, SandboxData

HEADER = ["KLANTNR", "VOORNAAM", "TUSSENVOEGSEL", "ACHTERNAAM", "STRAAT", "HUISNR", "TOEVOEGING", "POSTCODE",
          "WOONPLAATS", "LAND", "TELEFOON", "EMAIL", "BEDRIJF", "MUTATIEDATUM", "STATUS"]  # fmt: skip
SOURCE_OPTIONS: dict[str, Any] = {
    "folder": "drop/legacy",
    "pattern": "KLANTEN_*.csv",
    "id_column": "KLANTNR",
    "updated_column": "MUTATIEDATUM",
    "updated_format": "%d-%m-%Y",
    "default_country": "NL",
    "deleted_column": "STATUS",
    "deleted_values": ["V"],
    "columns": {
        "first_name": "VOORNAAM",
        "name_prefix": "TUSSENVOEGSEL",
        "last_name": "ACHTERNAAM",
        "address_line": ["STRAAT", "HUISNR", "TOEVOEGING"],
        "postcode": "POSTCODE",
        "city": "WOONPLAATS",
        "country": "LAND",
        "phone": "TELEFOON",
        "email": "EMAIL",
        "company": "BEDRIJF",
    },
}
#: (encoding, delimiter) of the export files, in turn: the old Windows export tool, a newer one, a script
FILE_KINDS = [("cp1252", ";"), ("utf-8-sig", ","), ("utf-8", "|")]


def _legacy_phone(e164: str) -> str:
    """``+31201234567`` -> ``020-1234567``; mobiles ``06-12345678``; abroad as ``0032...``."""
    if not e164.startswith("+31"):
        return "00" + e164[1:]
    national = "0" + e164[3:]
    if national.startswith("06"):
        return f"06-{national[2:]}"
    return f"{national[:3]}-{national[3:]}"  # the sandbox's area codes are all two digits after the 0


def derive(ctx: DeriveContext) -> dict[str, Any]:
    """Rows of the legacy customer file for about 30% of the people; registers each in the ground truth."""
    rng = ctx.rng
    rows: list[dict[str, str]] = []
    number = 10_000 + rng.randrange(5_000)
    for person in ctx.persons:
        if rng.random() >= 0.3:
            continue
        number += rng.randint(1, 40)
        klantnr = f"{number:08d}"  # AS400 numeric key, zero-padded
        first, last = person["latin"] if person["kind"] == "persian" else (person["first_name"], person["last_name"])
        address = dict(person["address"])
        moved = rng.random() < 0.3  # the legacy file has the address from before the move
        if moved:
            city, lo, hi, _ = rng.choice(CITIES)
            letters = f"{rng.choice('ABDEGHJKLMNPRSTXZ')}{rng.choice('ABDEHKLMNPRSTZ')}"
            address = {
                "street": rng.choice(STREETS),
                "house_number": str(rng.randint(1, 180)),
                "house_number_addition": None,
                "postcode": f"{rng.randint(lo, hi)} {letters}",
                "city": city,
                "country": "NL",
            }
        shown_first = f"{first[0]}." if rng.random() < 0.15 else first.upper()
        status = "V" if rng.random() < 0.08 else "A"
        changed = ctx.when(ctx.start - timedelta(days=900), ctx.anchor - timedelta(days=2))
        email = person["email"] if rng.random() < 0.7 else ""
        rows.append(
            {
                "KLANTNR": klantnr,
                "VOORNAAM": shown_first,
                "TUSSENVOEGSEL": (person["name_prefix"] or "").upper() if person["kind"] != "persian" else "",
                "ACHTERNAAM": last.upper(),
                "STRAAT": address["street"].upper(),
                "HUISNR": address["house_number"],
                "TOEVOEGING": (address["house_number_addition"] or "").upper(),
                "POSTCODE": address["postcode"].replace(" ", "") if address["country"] == "NL" else address["postcode"],
                "WOONPLAATS": address["city"].upper(),
                "LAND": rng.choice(["", "NL", "NEDERLAND"]) if address["country"] == "NL" else address["country"],
                "TELEFOON": _legacy_phone(person["phone"]) if rng.random() < 0.85 else "",
                "EMAIL": email.upper() if email and rng.random() < 0.2 else email,
                "BEDRIJF": (person["company"] or "").upper(),
                "MUTATIEDATUM": changed.strftime("%d-%m-%Y"),
                "STATUS": status,
            }
        )
        ctx.add_record(person, klantnr, archived=status == "V")
    return {"header": list(HEADER), "rows": rows}


def write_drop(data: SandboxData | dict[str, Any], folder: Path | str, *, files: int = 3) -> list[Path]:
    """Write the legacy rows into ``folder`` as ``files`` export files of the kinds in :data:`FILE_KINDS`.

    The files are named ``KLANTEN_<yyyymmdd>_<n>.csv`` after their export day, and their modification
    time is that export time (the source uses it when a row has no MUTATIEDATUM). Returns the paths.
    """
    legacy = data.vendors["legacy"] if isinstance(data, SandboxData) else data
    anchor = data.anchor if isinstance(data, SandboxData) else None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = legacy["rows"]
    count = max(1, files)
    chunks = [rows[index::count] for index in range(count)]
    _accented_first(chunks)
    written = []
    for index, chunk in enumerate(chunks):
        encoding, delimiter = FILE_KINDS[index % len(FILE_KINDS)]
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=legacy["header"], delimiter=delimiter, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(chunk)
        exported = (anchor or _now()) - timedelta(days=count - index)
        path = folder / f"KLANTEN_{exported:%Y%m%d}_{index + 1}.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        os.utime(path, (exported.timestamp(), exported.timestamp()))
        written.append(path)
    return written


def _accented_first(chunks: list[list[dict[str, str]]]) -> None:
    """Give the Windows-1252 file a row with accented letters (if any has them), so it differs from UTF-8."""

    def accented(row: dict[str, str]) -> bool:
        return any(not value.isascii() for value in row.values())

    if not chunks or any(accented(row) for row in chunks[0]):
        return
    for chunk in chunks[1:]:
        for i, row in enumerate(chunk):
            if accented(row) and chunks[0]:
                chunk[i], chunks[0][0] = chunks[0][0], row
                return


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
