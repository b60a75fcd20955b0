"""CSV file drop: contact exports of legacy (AS400-era) CRMs, read from a folder.

Each export file that matches ``pattern`` in ``folder`` is one page; each row one raw contact. The
files are what the legacy system wrote, so the connector detects instead of assuming: the encoding
and the delimiter (``;``, ``,``, ``|`` or tab, sniffed on the header).

The encoding is detected once for the whole file: UTF-8 with BOM; else UTF-8 when at least half of
the lines holding non-ASCII bytes are valid UTF-8; else the best of :data:`SINGLE_BYTE_CANDIDATES` by
charset-normalizer (Windows-1252 when it reads the file identically). The file is then decoded
strictly *line by line* in that one encoding: a row with a line that does not decode (two stray
bytes in a UTF-8 export) is not landed but rejected alone — the ingest stage quarantines it with the
file, line, field and reason, its bytes kept as escaped text (``_raw_line``) — and every other row is
read as it was written. The file is never re-read in another encoding, which would corrupt every
other row (``Müller`` → ``MÃ¼ller``) while every gate passes.

A file that cannot be read as mapped (no header, a mapped column missing, a row with the wrong number
of fields, a row without an id, a date that does not parse, a NUL byte) is moved to ``rejected/`` with
``<file>.reason.txt`` naming the file, column and line, and never blocks the others.

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
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmhub import paths
from crmhub.connectors.base import CanonicalBatch, Connector, Option, Page, RawRecord, RejectedRecord, Window, raw_text
from crmhub.model import CONTACT_COLUMNS, conform

log = logging.getLogger(__name__)

DELIMITERS = ";,|\t"
#: Encodings a legacy export that is not UTF-8 is detected among (Western European single-byte).
SINGLE_BYTE_CANDIDATES = ("cp1252", "latin_1", "iso8859_15")
_BOM = b"\xef\xbb\xbf"
#: Control characters no export writes as text (tab, CR, LF allowed; NUL rejects the whole file).
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
    options_spec = {
        "folder": Option(str),
        "pattern": Option(str, "*.csv"),
        "id_column": Option(str),
        "columns": Option(dict),
        "updated_column": Option(str),
        "updated_format": Option(str),
        "default_country": Option(str),
        "encoding": Option(str),
        "delimiter": Option(str),
        "deleted_column": Option(str),
        "deleted_values": Option(list, []),
    }

    def __init__(self, source_name: str, http: Any = None, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(source_name, http, options)
        self.drop = DropOptions.parse(source_name, self.options)
        self._pending: dict[str, list[_Pending]] = {}
        self.rejected: list[tuple[str, str]] = []  # (file, reason) of this connector's pulls
        self.rejected_rows: list[RejectedRecord] = []  # rows that did not decode (also on their pages)
        self.read_as: dict[str, tuple[str, str]] = {}  # file -> (encoding, delimiter) as detected

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
                records, rejected, encoding, delimiter = self._read(path, content, number)
            except Rejected as exc:
                self._reject(path, str(exc))
                continue
            known[digest] = path.name
            self.read_as[path.name] = (encoding, delimiter)
            self.rejected_rows.extend(rejected)
            log.info("%s: %s read as %s with %r: %d rows, %d undecodable rows rejected", self.source_name,
                     path.name, encoding, delimiter, len(records), len(rejected))  # fmt: skip
            pending.append(_Pending(path, digest, len(records), encoding, delimiter))
            yield Page(number, path.name, records, rejected)

    def _read(
        self, path: Path, content: bytes, page: int = 0
    ) -> tuple[list[RawRecord], list[RejectedRecord], str, str]:
        text, encoding, bad_lines = self._decode(path.name, content)
        if "\x00" in text:
            line = text[: text.index("\x00")].count("\n") + 1
            raise Rejected(f"{path.name}: line {line}: NUL byte in the data (binary or corrupted export)")
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise Rejected(f"{path.name}: line 1: no header")
        delimiter = self.drop.delimiter or _sniff(path.name, lines[0])
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        if 1 in bad_lines:
            raise Rejected(f"{path.name}: line 1: the header is not valid {encoding}")
        header = [h.strip() for h in next(rows)]
        missing = [h for h in self.drop.required_headers() if h not in header]
        if missing:
            raise Rejected(f"{path.name}: line 1: column {missing[0]!r} is not in the header "
                           f"(missing: {', '.join(missing)}; found: {', '.join(header)})")  # fmt: skip
        exported = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        records = []
        rejected: list[RejectedRecord] = []
        last_line = rows.line_num
        for values in rows:
            first_line, line = last_line + 1, rows.line_num
            last_line = line
            if not any(v.strip() for v in values):
                continue
            undecodable = [n for n in range(first_line, line + 1) if n in bad_lines]
            if undecodable:
                rejected.append(self._undecodable(path.name, page, header, values, undecodable, bad_lines, encoding))
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
        return records, rejected, encoding, delimiter

    def _decode(self, name: str, content: bytes) -> tuple[str, str, dict[int, tuple[bytes, str]]]:
        """``(text, encoding, bad lines)``: the file decoded line by line in its one detected encoding.

        A line that does not decode strictly is kept in ``text`` with its bad bytes as surrogates (so
        the CSV still splits into the same rows) and listed in ``bad lines`` (line number → its bytes
        and the reason); its row is rejected, never the file re-read in another encoding.
        """
        encoding = self.drop.encoding or detect_encoding(content)
        parts: list[str] = []
        bad: dict[int, tuple[bytes, str]] = {}
        for number, raw_line in enumerate(content.splitlines(keepends=True), start=1):
            codec = encoding if number == 1 or encoding != "utf-8-sig" else "utf-8"
            try:
                decoded = raw_line.decode(codec)
            except UnicodeDecodeError as exc:
                bad[number] = (raw_line, f"not valid {encoding} at byte {exc.start} of the line")
                parts.append(raw_line.decode(codec, errors="surrogateescape"))
                continue
            control = _CONTROL.search(decoded)
            if control:  # e.g. latin-1 decodes any byte, but 0x80-0x9F are no text in it
                bad[number] = (raw_line, f"control character at position {control.start()} when read as {encoding}")
                decoded = "".join(ch if not _CONTROL.match(ch) else chr(0xDC00 + ord(ch)) for ch in decoded)
            parts.append(decoded)
        return "".join(parts), encoding, bad

    def _undecodable(
        self,
        name: str,
        page: int,
        header: list[str],
        values: list[str],
        lines: list[int],
        bad_lines: dict[int, tuple[bytes, str]],
        encoding: str,
    ) -> RejectedRecord:
        """A row with a line that does not decode: named by file, line and field; its bytes kept escaped."""
        row = dict(zip(header, values, strict=False))
        field = next((h for h, v in row.items() if _has_surrogate(v)), "(row)")
        ident = row.get(self.drop.id_column, "").strip()
        source_id = ident if ident and not _has_surrogate(ident) else None
        raw_bytes = b"".join(bad_lines[n][0] for n in lines)
        reason = f"{name}: line {lines[0]}: field {field!r}: {bad_lines[lines[0]][1]} (the file was read as {encoding})"
        payload = {
            "_file": name,
            "_line": lines[0],
            "_encoding": encoding,
            "_raw_line": raw_bytes.decode("ascii", errors="backslashreplace"),
            **{h: v for h, v in row.items() if not _has_surrogate(v)},
        }
        return RejectedRecord("contacts", source_id, field, reason, raw_text(payload), page, name)

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


def detect_encoding(content: bytes) -> str:
    """The one encoding of a whole export file (see the module docstring); never chosen per line."""
    if content.startswith(_BOM):
        return "utf-8-sig"
    non_ascii = [line for line in content.splitlines() if not line.isascii()]
    if not non_ascii:
        return "utf-8"
    utf8 = sum(1 for line in non_ascii if _decodes(line, "utf-8"))
    if utf8 * 2 >= len(non_ascii):  # mostly valid UTF-8: the rest are broken rows, not another encoding
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(content, cp_isolation=list(SINGLE_BYTE_CANDIDATES)).best()
    guess = best.encoding if best is not None else "cp1252"
    if guess != "cp1252" and _decodes(content, "cp1252") and content.decode("cp1252") == content.decode(guess):
        return "cp1252"  # the same text either way: name the encoding legacy Windows exports use
    return guess


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _has_surrogate(text: str) -> bool:
    return any("\udc00" <= ch <= "\udcff" for ch in text)


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
