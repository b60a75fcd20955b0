"""CSV file drop: contact exports of legacy (AS400-era) CRMs, read from a folder.

Each export file that matches ``pattern`` in ``folder`` is one page; each row one raw contact. The
files are what the legacy system wrote, so the connector detects instead of assuming: the encoding
(UTF-8, UTF-8 with BOM, else Windows-1252) and the delimiter (``;``, ``,``, ``|`` or tab, sniffed
on the header). A file that cannot be read as mapped (undecodable, a mapped column missing, a row
with the wrong number of fields, a row without an id, a date that does not parse) is moved to
``rejected/`` with ``<file>.reason.txt`` naming the file, column and line, and never blocks the others.

Good files are moved to ``processed/`` only in :meth:`FileDropConnector.commit`, which the ingest stage
calls after the raw payloads landed: a failed landing leaves them for the next run. Moved files are out
of the pattern's folder, so no file is read twice; a content hash kept in ``processed/manifest.jsonl``
also recognises an identical file dropped again, which is moved to ``processed/`` with a note and lands
nothing.

The pull window does not apply: every file in the folder is new by construction (files leave the
folder once landed), so ``extract`` reads them all whatever the window.

Options (``sources.yaml``)::

    folder: drop/legacy            # relative to CRMHUB_DATA_DIR
    pattern: "*.csv"
    id_column: KLANTNR
    updated_column: MUTATIEDATUM   # optional; else the file's modification (export) time
    updated_format: "%d-%m-%Y"     # optional; else ISO-8601
    default_country: NL            # optional, for rows without a country
    encoding: cp1252               # optional override of the detection
    delimiter: ";"                 # optional override of the detection
    deleted_column: STATUS         # optional deletion marker
    deleted_values: ["V"]          # "vervallen"
    columns:                       # canonical contact column -> header (or list of headers, joined)
      first_name: VOORNAAM
      last_name: ACHTERNAAM
      address_line: [STRAAT, HUISNR, TOEVOEGING]
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from crmhub import paths
from crmhub.connectors.base import CanonicalBatch, Connector, Page, RawRecord, Window
from crmhub.connectors.credentials import Credentials
from crmhub.model import CONTACT_COLUMNS, conform

log = logging.getLogger(__name__)

DELIMITERS = ";,|\t"
MANIFEST = "manifest.jsonl"
#: canonical columns the mapping may fill (the rest are set by the connector itself)
MAPPABLE = [c for c in CONTACT_COLUMNS if c not in ("source", "source_id", "source_updated_at", "is_deleted",
                                                     "merged_into_source_id", "social_followers")]  # fmt: skip


class OptionsError(ValueError):
    """A file-drop option is missing or wrong; the message names the key."""


@dataclass
class DropOptions:
    folder: Path
    pattern: str
    id_column: str
    columns: dict[str, list[str]]
    updated_column: str | None
    updated_format: str | None
    default_country: str | None
    encoding: str | None
    delimiter: str | None
    deleted_column: str | None
    deleted_values: set[str]

    @classmethod
    def parse(cls, source: str, options: Mapping[str, Any]) -> DropOptions:
        def fail(key: str, what: str) -> OptionsError:
            return OptionsError(f"source {source!r}: option {key!r}: {what}")

        def text(key: str, required: bool = False) -> str | None:
            value = options.get(key)
            if value is None or value == "":
                if required:
                    raise fail(key, "is required")
                return None
            if not isinstance(value, str):
                raise fail(key, f"must be a string, got {type(value).__name__}")
            return value

        unknown = sorted(set(options) - {"folder", "pattern", "id_column", "columns", "updated_column",
                                         "updated_format", "default_country", "encoding", "delimiter",
                                         "deleted_column", "deleted_values"})  # fmt: skip
        if unknown:
            raise fail(unknown[0], "is not a file-drop option")
        folder = Path(text("folder", required=True) or "")
        if not folder.is_absolute():
            folder = paths.DATA_DIR / folder
        raw_columns = options.get("columns")
        if not isinstance(raw_columns, Mapping) or not raw_columns:
            raise fail("columns", "must map canonical contact columns to header names")
        columns: dict[str, list[str]] = {}
        for key, header in raw_columns.items():
            if key not in MAPPABLE:
                raise fail(f"columns.{key}", f"is not a canonical contact column; use one of {MAPPABLE}")
            headers = [header] if isinstance(header, str) else header
            if not isinstance(headers, list) or not headers or not all(isinstance(h, str) and h for h in headers):
                raise fail(f"columns.{key}", "must be a header name or a list of header names")
            columns[key] = headers
        encoding = text("encoding")
        if encoding:
            try:
                "".encode(encoding)
            except LookupError as exc:
                raise fail("encoding", f"unknown encoding {encoding!r}") from exc
        delimiter = text("delimiter")
        if delimiter is not None and len(delimiter) != 1:
            raise fail("delimiter", "must be one character")
        updated_format = text("updated_format")
        if updated_format:
            try:
                datetime(2026, 1, 2).strftime(updated_format)
            except ValueError as exc:
                raise fail("updated_format", f"is not a strftime format: {exc}") from exc
        deleted = options.get("deleted_values", [])
        if isinstance(deleted, str):
            deleted = [deleted]
        if not isinstance(deleted, list) or not all(isinstance(v, str) for v in deleted):
            raise fail("deleted_values", "must be a list of strings")
        if deleted and not options.get("deleted_column"):
            raise fail("deleted_column", "is required when deleted_values is set")
        return cls(
            folder=folder,
            pattern=text("pattern") or "*.csv",
            id_column=text("id_column", required=True) or "",
            columns=columns,
            updated_column=text("updated_column"),
            updated_format=updated_format,
            default_country=text("default_country"),
            encoding=encoding,
            delimiter=delimiter,
            deleted_column=text("deleted_column"),
            deleted_values={v.strip().upper() for v in deleted},
        )

    def required_headers(self) -> list[str]:
        wanted = [self.id_column, *(h for hs in self.columns.values() for h in hs)]
        wanted += [h for h in (self.updated_column, self.deleted_column) if h]
        return list(dict.fromkeys(wanted))


class Rejected(Exception):
    """A file that cannot be read as mapped; the message is the reason written next to it."""


@dataclass
class _Pending:
    path: Path
    sha256: str
    rows: int
    encoding: str
    delimiter: str
    duplicate_of: str | None = None


class FileDropConnector(Connector):
    """Contacts from CSV exports dropped in a folder; files are consumed in :meth:`commit`."""

    objects = ("contacts",)
    uses_connection = False

    def __init__(self, source_name: str, http: Any = None, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(source_name, http, options)
        self.drop = DropOptions.parse(source_name, self.options)
        self._pending: dict[str, list[_Pending]] = {}
        self.rejected: list[tuple[str, str]] = []  # (file, reason) of this connector's pulls
        self.read_as: dict[str, tuple[str, str]] = {}  # file -> (encoding, delimiter) as detected

    @classmethod
    def connect(
        cls,
        source_name: str,
        session: requests.Session | None = None,
        base_url: str = "",
        credentials: Credentials | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Connector:
        """No API and no Connection: only the options matter."""
        return cls(source_name, None, options)

    # -- extraction ----------------------------------------------------------------------------
    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        """One page per file in the folder, whatever the window (see the module docstring)."""
        if object_type != "contacts":
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")
        folder = self.drop.folder
        if not folder.is_dir():
            # a fresh deployment: make the folder the exporting system is to write into; nothing to read yet
            folder.mkdir(parents=True, exist_ok=True)
            log.warning("%s: drop folder %s did not exist; created it, no files to read yet", self.source_name, folder)
        known = self._known_hashes()
        pending: list[_Pending] = []
        self._pending[object_type] = pending
        files = sorted(p for p in folder.glob(self.drop.pattern) if p.is_file())
        for number, path in enumerate(files, start=1):
            content = path.read_bytes()
            digest = hashlib.sha256(content).hexdigest()
            earlier = known.get(digest)
            if earlier is not None:
                log.info("%s: %s is identical to %s, processed before; it lands nothing", self.source_name,
                         path.name, earlier)  # fmt: skip
                pending.append(_Pending(path, digest, 0, "", "", duplicate_of=earlier))
                yield Page(number, path.name, [])
                continue
            try:
                records, encoding, delimiter = self._read(path, content)
            except Rejected as exc:
                self._reject(path, str(exc))
                continue
            known[digest] = path.name
            self.read_as[path.name] = (encoding, delimiter)
            log.info("%s: %s read as %s with %r: %d rows", self.source_name, path.name, encoding, delimiter,
                     len(records))  # fmt: skip
            pending.append(_Pending(path, digest, len(records), encoding, delimiter))
            yield Page(number, path.name, records)

    def _read(self, path: Path, content: bytes) -> tuple[list[RawRecord], str, str]:
        text, encoding = self._decode(path.name, content)
        if "\x00" in text:
            line = text[: text.index("\x00")].count("\n") + 1
            raise Rejected(f"{path.name}: line {line}: NUL byte in the data (binary or corrupted export)")
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise Rejected(f"{path.name}: line 1: no header")
        delimiter = self.drop.delimiter or _sniff(path.name, lines[0])
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip() for h in next(rows)]
        missing = [h for h in self.drop.required_headers() if h not in header]
        if missing:
            raise Rejected(f"{path.name}: line 1: column {missing[0]!r} is not in the header "
                           f"(missing: {', '.join(missing)}; found: {', '.join(header)})")  # fmt: skip
        exported = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        records = []
        for values in rows:
            line = rows.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise Rejected(f"{path.name}: line {line}: {len(values)} fields where the header has {len(header)}")
            row = dict(zip(header, values, strict=True))
            source_id = row[self.drop.id_column].strip()
            if not source_id:
                raise Rejected(f"{path.name}: line {line}: column {self.drop.id_column!r} is empty")
            updated = self._updated(row, path.name, line) or exported
            payload = {**row, "_file": path.name, "_line": line, "_exported_at": exported.isoformat()}
            records.append(RawRecord("contacts", source_id, updated, payload))
        return records, encoding, delimiter

    def _decode(self, name: str, content: bytes) -> tuple[str, str]:
        """Strict decoding: the override, else UTF-8 (with or without BOM), else Windows-1252."""
        if self.drop.encoding:
            try:
                return content.decode(self.drop.encoding), self.drop.encoding
            except UnicodeDecodeError as exc:
                line = content[: exc.start].count(b"\n") + 1
                raise Rejected(f"{name}: line {line}: not valid {self.drop.encoding} at byte {exc.start}") from exc
        try:
            return content.decode("utf-8-sig"), "utf-8-sig" if content.startswith(b"\xef\xbb\xbf") else "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            return content.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            line = content[: exc.start].count(b"\n") + 1
            raise Rejected(f"{name}: line {line}: neither UTF-8 nor Windows-1252 (byte {exc.start})") from exc

    def _updated(self, row: Mapping[str, str], name: str, line: int) -> datetime | None:
        column = self.drop.updated_column
        if not column or not row[column].strip():
            return None
        value = row[column].strip()
        try:
            if self.drop.updated_format:
                parsed = datetime.strptime(value, self.drop.updated_format)
            else:
                parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            wanted = self.drop.updated_format or "ISO-8601"
            raise Rejected(f"{name}: line {line}: column {column!r}: {value!r} does not match {wanted}") from exc
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    def _reject(self, path: Path, reason: str) -> None:
        target = _free_name(self.drop.folder / "rejected", path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        note = f"{reason}\nrejected at {datetime.now(UTC).isoformat(timespec='seconds')} by source {self.source_name}\n"
        target.with_name(f"{target.name}.reason.txt").write_text(note, encoding="utf-8")
        self.rejected.append((path.name, reason))
        log.warning("%s: rejected %s: %s", self.source_name, path.name, reason.split(": ", 1)[-1])

    # -- consumption ---------------------------------------------------------------------------
    def commit(self, object_type: str) -> None:
        """The pull landed: move its files to ``processed/`` and remember their content hashes."""
        done = self.drop.folder / "processed"
        done.mkdir(parents=True, exist_ok=True)
        with (done / MANIFEST).open("a", encoding="utf-8") as manifest:
            for item in self._pending.pop(object_type, []):
                if not item.path.exists():
                    continue
                target = _free_name(done, item.path.name)
                shutil.move(str(item.path), target)
                now = datetime.now(UTC).isoformat(timespec="seconds")
                if item.duplicate_of:
                    target.with_name(f"{target.name}.duplicate.txt").write_text(
                        f"{item.path.name} is identical (sha256 {item.sha256}) to {item.duplicate_of}, processed "
                        f"before; nothing was landed from it.\nmoved at {now}\n",
                        encoding="utf-8",
                    )
                    continue
                entry = {"file": item.path.name, "stored_as": target.name, "sha256": item.sha256, "rows": item.rows,
                         "encoding": item.encoding, "delimiter": item.delimiter, "processed_at": now}  # fmt: skip
                manifest.write(json.dumps(entry) + "\n")

    def _known_hashes(self) -> dict[str, str]:
        manifest = self.drop.folder / "processed" / MANIFEST
        if not manifest.is_file():
            return {}
        known = {}
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                known[entry["sha256"]] = entry["file"]
        return known

    # -- canonical mapping ---------------------------------------------------------------------
    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        rows = []
        for payload in raw.get("contacts", []):
            row: dict[str, Any] = {"source": self.source_name, "source_id": str(payload[self.drop.id_column]).strip()}
            for column, headers in self.drop.columns.items():
                parts = [str(payload.get(h) or "").strip() for h in headers]
                value = " ".join(p for p in parts if p)
                row[column] = value or None
            if not row.get("country") and self.drop.default_country:
                row["country"] = self.drop.default_country
            updated = self._updated(payload, str(payload.get("_file")), int(payload.get("_line") or 0))
            row["source_updated_at"] = updated or datetime.fromisoformat(str(payload["_exported_at"]))
            marker = (
                str(payload.get(self.drop.deleted_column) or "").strip().upper() if self.drop.deleted_column else ""
            )
            row["is_deleted"] = bool(marker) and marker in self.drop.deleted_values
            rows.append(row)
        contacts = conform(pd.DataFrame(rows, columns=CONTACT_COLUMNS), CONTACT_COLUMNS)
        return CanonicalBatch(contacts=contacts)


def _sniff(name: str, header: str) -> str:
    """The delimiter of a header line: csv.Sniffer over ``; , | tab``, else the most frequent of them."""
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] == 0:
            raise Rejected(f"{name}: line 1: no delimiter found in the header (tried ; , | and tab)") from None
        return best


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name`` with a counter before the suffix if that is taken."""
    target = folder / name
    n = 2
    while target.exists():
        target = folder / f"{Path(name).stem}.{n}{Path(name).suffix}"
        n += 1
    return target


CONNECTOR = FileDropConnector
