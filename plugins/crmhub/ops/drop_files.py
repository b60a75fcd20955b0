"""The file-drop sources' folders: erase a person's rows from the CSV files, prune old files.

A file-drop source (:mod:`crmhub.connectors.file_drop`) keeps the exports it read: files waiting in
its folder, landed files in ``processed/``, unreadable ones in ``rejected/``. Each is a copy of
personal data the hub holds, so erasure rewrites them without the person's rows, and retention removes
processed and rejected files past their age.

Rewriting keeps everything else byte for byte: the file is split into its CSV records (a quoted field
may span lines), the person's records are left out, the rest is encoded as it was read (BOM kept),
written to a temporary file next to it and moved over the original (atomic), with the original's
modification time (the connector uses it as the export time of files not landed yet).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from crmhub.config import SourceConfig
from crmhub.connectors.registry import connector_class
from crmhub.ops.identifiers import norm_email, norm_phone

log = logging.getLogger(__name__)

_PHONE = re.compile(r"\+?\d[\d\s().\-/]{6,}\d")
DROP_DAYS_ENV = "CRMHUB_DROP_RETENTION_DAYS"
DEFAULT_DROP_DAYS = 30
#: the file-drop connector's record of landed files (content hashes, no personal data): never pruned
MANIFEST = "manifest.jsonl"
DELIMITERS = ";,|\t"
_NOTES = (".reason.txt", ".duplicate.txt")


@dataclass(frozen=True)
class DropFolder:
    source: str
    folder: Path
    id_column: str | None = None
    encoding: str | None = None
    delimiter: str | None = None


def drop_folders(sources: Mapping[str, SourceConfig], data_dir: Path) -> list[DropFolder]:
    """Every file-drop source's folder, a relative ``folder`` option taken under ``data_dir``.

    A file-drop source is one whose connector (found through the registry) needs no Connection and reads
    a folder: its parsed options (``drop``) name the folder, the id column and any encoding/delimiter.
    """
    found = []
    for source in sources.values():
        try:
            cls = connector_class(source.connector)
            if cls.uses_connection or "folder" not in source.options:
                continue
            options = getattr(cls(source.name, None, source.options), "drop", None)
        except (LookupError, ValueError):
            continue
        if options is None:
            continue
        folder = Path(str(source.options["folder"]))
        folder = folder if folder.is_absolute() else Path(data_dir) / folder
        found.append(DropFolder(source.name, folder, options.id_column, options.encoding, options.delimiter))
    return found


def _sniff(header: str) -> str:
    """The delimiter of a header line, as the file-drop connector detects it (``; , | tab``)."""
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return max(DELIMITERS, key=header.count)


def drop_files(drop: DropFolder) -> Iterator[Path]:
    """Every export file the source holds: waiting, processed and rejected (not the notes)."""
    for folder in (drop.folder, drop.folder / "processed", drop.folder / "rejected"):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.name != MANIFEST and not path.name.endswith((".txt", ".tmp")):
                    yield path


@dataclass(frozen=True)
class Needles:
    """What marks a CSV record as the person's: their e-mail addresses, phone numbers, record IDs."""

    emails: frozenset[str]
    phones: frozenset[str]  # last nine digits (identifiers.norm_phone)
    source_ids: frozenset[str]

    @classmethod
    def of(cls, emails: Iterable[str], phones: Iterable[str], source_ids: Iterable[str] = ()) -> Needles:
        return cls(
            frozenset(e for e in (norm_email(v) for v in emails) if e),
            frozenset(p for p in (norm_phone(v) for v in phones) if p),
            frozenset(str(s).strip() for s in source_ids if str(s).strip()),
        )

    def matches(self, fields: list[str], id_value: str | None = None) -> bool:
        if id_value is not None and id_value.strip() in self.source_ids:
            return True
        text = " ".join(fields)
        lowered = text.lower()
        if any(e in lowered for e in self.emails):
            return True
        return bool(self.phones) and any(norm_phone(m) in self.phones for m in _PHONE.findall(text))


def decode(content: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text and the encoding to write it back with (``utf-8-sig`` keeps a BOM)."""
    if encoding:
        return content.decode(encoding), encoding
    try:
        return content.decode("utf-8-sig"), "utf-8-sig" if content.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="surrogateescape"), "cp1252"


def _records(lines: list[str], delimiter: str) -> list[tuple[int, int, list[str]]]:
    """``(first line, end line, fields)`` per CSV record; a broken file: one record per line."""
    reader = csv.reader(iter(lines), delimiter=delimiter)
    spans = []
    start = 0
    try:
        for fields in reader:
            spans.append((start, reader.line_num, fields))
            start = reader.line_num
    except csv.Error:
        return [(i, i + 1, [line]) for i, line in enumerate(lines)]
    return spans


def scrub_csv(path: Path, needles: Needles, drop: DropFolder) -> int:
    """Rewrite ``path`` without the person's records (header kept); returns records removed."""
    content = path.read_bytes()
    try:
        text, encoding = decode(content, drop.encoding)
    except (UnicodeDecodeError, LookupError):
        text, encoding = content.decode("cp1252", errors="surrogateescape"), "cp1252"
    lines = io.StringIO(text, newline="").readlines()
    if not lines:
        return 0
    delimiter = drop.delimiter or _sniff(lines[0])
    records = _records(lines, delimiter)
    header = [h.strip() for h in records[0][2]] if records else []
    id_index = header.index(drop.id_column) if drop.id_column in header else None
    keep: list[str] = []
    removed = 0
    for number, (first, end, fields) in enumerate(records):
        id_value = fields[id_index] if id_index is not None and id_index < len(fields) else None
        if number > 0 and needles.matches(fields, id_value):
            removed += 1
            continue
        keep.extend(lines[first:end])
    if removed:
        errors = "surrogateescape" if encoding == "cp1252" else "strict"
        replace_atomically(path, "".join(keep).encode(encoding, errors=errors))
    return removed


def replace_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` over ``path`` via a temporary file in the same folder; keep mode and times."""
    stat = path.stat()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(path, tmp)
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def scrub_drops(
    drops: list[DropFolder], emails: Iterable[str], phones: Iterable[str], records: Iterable[tuple[str, str]]
) -> dict[str, int]:
    """Remove the person's rows from every drop file of every file-drop source; counts only."""
    emails, phones, records = list(emails), list(phones), list(records)
    stats = {"drop_files_rewritten": 0, "drop_rows_removed": 0}
    for drop in drops:
        ids = [sid for src, sid in records if src == drop.source]
        needles = Needles.of(emails, phones, ids)
        for path in drop_files(drop):
            removed = scrub_csv(path, needles, drop)
            if removed:
                stats["drop_files_rewritten"] += 1
                stats["drop_rows_removed"] += removed
    return {k: v for k, v in stats.items() if v}


def _processed_at(folder: Path) -> dict[str, float]:
    """``stored_as`` → when the connector moved it to ``processed/`` (from the manifest)."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return {}
    times = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            times[entry["stored_as"]] = datetime.fromisoformat(entry["processed_at"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
    return times


def prune_drops(drops: list[DropFolder], older_than: timedelta, *, now: float | None = None) -> int:
    """Delete processed and rejected drop files (and their notes) older than ``older_than``.

    A file's age counts from when it was landed or rejected (the manifest's ``processed_at``, the note's
    time), not from its export time, which a move keeps. Files still waiting in the folder are never
    touched, and the manifest (content hashes, no personal data) stays, so a pruned file dropped again
    is still recognised as processed.
    """
    cutoff = (now if now is not None else time.time()) - older_than.total_seconds()
    removed = 0
    for drop in drops:
        for folder in (drop.folder / "processed", drop.folder / "rejected"):
            if not folder.is_dir():
                continue
            landed = _processed_at(folder)
            for path in sorted(folder.iterdir()):
                if not path.is_file() or path.name == MANIFEST or path.name.endswith(_NOTES + (".tmp",)):
                    continue
                notes = [path.with_name(f"{path.name}{suffix}") for suffix in _NOTES]
                times = [path.stat().st_mtime, *(n.stat().st_mtime for n in notes if n.exists())]
                if path.name in landed:
                    times.append(landed[path.name])
                if max(times) < cutoff:
                    for file in (path, *notes):
                        file.unlink(missing_ok=True)
                    removed += 1
    log.info("retention: %d processed/rejected drop files older than %s removed", removed, older_than)
    return removed
