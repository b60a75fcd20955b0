"""GDPR erasure (right to be forgotten) of one person across the hub.

Given an e-mail address, phone number or golden ID, :func:`find_subject` collects everything that
identifies the person (every golden version, linked source records, their interactions, raw payloads
that mention them); :func:`erase` then, in one warehouse transaction, deletes their rows from every
table in :mod:`crmhub.ops.personal_tables` (redacting mentions in other people's rows), adds them to the
suppression list and writes an audit row with counts only; finally it scrubs the run files and Data
Docs on disk. Vendor-side deletion is separate (:mod:`crmhub.ops.erasure_flow`, through each connector's
``erase``) because it needs the Connections; its outcome is recorded in the same audit row.

Nothing here logs or returns an identifier: results are counts.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from crmhub.ops import suppression
from crmhub.ops.identifiers import norm_email, subject_keys
from crmhub.ops.personal_tables import PERSONAL_TABLES, PersonalTable
from crmhub.reconcile.normalize import normalize_phone

if TYPE_CHECKING:
    from crmhub.warehouse import Warehouse

log = logging.getLogger(__name__)

Kind = Literal["email", "phone", "golden_id"]
KINDS: tuple[str, ...] = ("email", "phone", "golden_id")
REDACTED = "[erased]"


@dataclass(frozen=True)
class ErasureRequest:
    """Who to erase: exactly one identifier."""

    kind: Kind
    value: str

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ErasureRequest:
        """From DAG params ``email`` / ``phone`` / ``golden_id``: exactly one must be given."""
        given = [(k, str(params[k]).strip()) for k in KINDS if params.get(k) and str(params[k]).strip()]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(KINDS)} (got {len(given)})")
        kind, value = given[0]
        return cls(kind, value)  # type: ignore[arg-type]


@dataclass
class Subject:
    """Everything that ties the hub's data to one person (kept in memory only)."""

    golden_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    handles: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    records: set[tuple[str, str]] = field(default_factory=set)
    interactions: set[tuple[str, str]] = field(default_factory=set)
    raw_records: set[tuple[str, str, str]] = field(default_factory=set)

    @property
    def found(self) -> bool:
        return bool(self.golden_ids or self.records or self.raw_records)

    def needles(self, *, names: bool = True) -> list[str]:
        """Lower-cased strings whose presence in free text means the text is about this person.

        Names are not unique: rows are only *deleted* on e-mail, phone or handle (``names=False``);
        a name alone is redacted where it appears.
        """
        values = set(self.emails) | set(self.phones) | {f"@{h}" for h in self.handles}
        if names:
            values |= self.names
        return sorted(v.lower() for v in values if v and len(v) >= 5)

    def source_ids(self, source: str) -> list[str]:
        """The person's contact record IDs in one source (for the vendor deletion request)."""
        return sorted(sid for src, sid in self.records if src == source)


def _e164(value: str) -> str | None:
    phone, valid = normalize_phone(value)
    return phone if valid else None


def find_subject(warehouse: Warehouse, request: ErasureRequest) -> Subject:
    """Resolve the request to the person's golden IDs, records and identifying values (read-only)."""
    engine = warehouse.engine
    subject = Subject()
    email = norm_email(request.value) if request.kind == "email" else None
    phone = _e164(request.value) if request.kind == "phone" else None
    if email:
        subject.emails.add(email)
    if request.kind == "phone":
        subject.phones.add(phone or request.value)
    _, rows = engine.fetch(
        _sql(warehouse, "erase_find_golden"),
        {"golden_id": request.value if request.kind == "golden_id" else None, "email": email, "phone": phone},
    )
    subject.golden_ids = {r[0] for r in rows}
    for golden_id in sorted(subject.golden_ids):
        _, versions = engine.fetch(_sql(warehouse, "erase_subject_versions"), {"golden_id": golden_id})
        for v_email, v_phone, v_handle, first, last in versions:
            subject.emails |= {v_email} if v_email else set()
            subject.phones |= {v_phone} if v_phone else set()
            subject.handles |= {v_handle.lstrip("@").lower()} if v_handle else set()
            full = " ".join(p for p in (first, last) if p)
            if " " in full:
                subject.names.add(full)
        _, records = engine.fetch(_sql(warehouse, "erase_subject_records"), {"golden_id": golden_id})
        subject.records |= {(s, i) for s, i in records}
        _, interactions = engine.fetch(_sql(warehouse, "erase_subject_interactions"), {"golden_id": golden_id})
        subject.interactions |= {(s, i) for s, i in interactions}
    for needle in [*subject.emails, *subject.phones]:
        _, raw = engine.fetch(_sql(warehouse, "erase_raw_matching"), {"needle": needle.lower()})
        subject.raw_records |= {(s, o, i) for s, o, i in raw}
    keys = subject.records | subject.interactions
    if keys:
        known = warehouse.query("SELECT DISTINCT source, object_type, source_id FROM raw.payloads")
        subject.raw_records |= {
            (r.source, r.object_type, r.source_id) for r in known.itertuples() if (r.source, r.source_id) in keys
        }
    return subject


def add_source_identifiers(warehouse: Warehouse, subject: Subject, sources: Mapping[str, Any]) -> int:
    """Add the e-mail addresses and phone numbers of the person's own source contact records.

    The golden record keeps one surviving value per field (none when sources disagree), but every
    source record's value identifies the person in that source's copies (raw payloads, drop files) and
    must be searched for afterwards. Each record's landed payload is mapped by its own connector, so
    only the fields the connector reads as the contact's e-mail and phone count. Returns values added.
    """
    from crmhub.connectors.registry import connector_class

    before = len(subject.emails) + len(subject.phones)
    for name in sorted({s for s, _ in subject.records}):
        source = sources.get(name)
        if source is None:
            continue
        ids = [sid for src, sid in subject.records if src == name]
        _, rows = warehouse.engine.fetch(
            "SELECT payload FROM raw.payloads WHERE source = :source AND object_type = 'contacts' "
            "AND source_id = ANY(:ids)",
            {"source": name, "ids": ids},
        )
        if not rows:
            continue
        try:
            connector = connector_class(source.connector)(name, None, source.options)
            contacts = connector.to_canonical({"contacts": [json.loads(r[0]) for r in rows]}).contacts
        except Exception as exc:  # noqa: BLE001 - the golden values still apply; the proof search is the check
            log.warning("erasure: %s records could not be mapped for identifiers (%s)", name, type(exc).__name__)
            continue
        for value in contacts.get("email", pd.Series(dtype=object)).dropna():
            if email := norm_email(value):
                subject.emails.add(email)
        for value in contacts.get("phone", pd.Series(dtype=object)).dropna():
            if str(value).strip():
                subject.phones.add(_e164(str(value)) or str(value).strip())
    return len(subject.emails) + len(subject.phones) - before


def erase(
    warehouse: Warehouse,
    request: ErasureRequest,
    data_dir: Path | None,
    *,
    run_id: str | None = None,
    vendor_requests: dict[str, Any] | None = None,
    subject: Subject | None = None,
    drops: list[Any] | None = None,
    keep_files: tuple[Path, ...] = (),
    prove: bool = True,
    erasure_id: str | None = None,
) -> dict[str, Any]:
    """Erase the person everywhere; returns (and audits) counts per table and file, never identifiers.

    ``drops`` are the file-drop folders (:func:`crmhub.ops.drop_files.drop_folders`) whose CSV files
    lose the person's rows. With ``prove``, every table and file the hub owns is then searched for the
    person's e-mail addresses and phone numbers (:mod:`crmhub.ops.proof`; ``keep_files`` — the request
    file, deleted right after — are not searched); the counts go into the audit row, and anything found
    raises :class:`~crmhub.ops.proof.ErasureNotProven` after the audit row is written.
    """
    from crmhub.ops import drop_files, proof

    requested_at = datetime.now(UTC)
    erasure_id = erasure_id or uuid.uuid4().hex
    subject = subject or find_subject(warehouse, request)
    existing = _existing_tables(warehouse)
    counts: dict[str, int] = {}
    keys = subject_keys(
        emails=subject.emails,
        phones=subject.phones,
        handles=subject.handles,
        records=subject.raw_records,
    )
    with warehouse.engine.transaction():
        for entry in PERSONAL_TABLES.values():
            if entry.table in existing:
                counts[entry.table] = _erase_table(warehouse.engine, entry, subject)
        suppression.add_keys(warehouse.engine, keys, erasure_id)
    _checkpoint(warehouse)
    files = scrub_files(data_dir, subject) if data_dir else {}
    records = subject.records | {(s, i) for s, _, i in subject.raw_records}
    files |= drop_files.scrub_drops(drops or [], subject.emails, subject.phones, records)
    found: dict[str, Any] = {}
    if prove:
        identifiers = proof.Identifiers.of(subject.emails, subject.phones)
        roots = [Path(data_dir)] if data_dir else []
        roots += [d.folder for d in drops or []]
        found = {
            "tables": proof.scan_warehouse(warehouse, identifiers),
            "files": proof.scan_files(roots, identifiers, skip=keep_files),
        }
    found_total = sum(found.get("tables", {}).values()) + sum(found.get("files", {}).values())
    proof_result = {
        "searched": bool(prove),
        "identifiers": {"emails": len(subject.emails), "phones": len(subject.phones)},
        "found": found_total,
        "tables_with_hits": len(found.get("tables", {})),
        "files_with_hits": len(found.get("files", {})),
    }
    status = "erased" if subject.found else "not_found_suppressed"
    if found_total:
        status = "not_proven"
    result = {
        "erasure_id": erasure_id,
        "identifier_kind": request.kind,
        "found": subject.found,
        "golden_ids": len(subject.golden_ids),
        "rows": {k: v for k, v in counts.items() if v},
        "files": files,
        "suppression_keys": len(keys),
        "vendor_requests": vendor_requests or {},
        "proof": proof_result,
        "status": status,
    }
    warehouse.engine.run_file(
        "erase_audit_insert",
        {
            "erasure_id": erasure_id,
            "run_id": run_id,
            "identifier_kind": request.kind,
            "requested_at": requested_at,
            "finished_at": datetime.now(UTC),
            "status": status,
            "row_counts": json.dumps({"rows": result["rows"], "files": files, "proof": proof_result}, sort_keys=True),
            "vendor_requests": json.dumps(vendor_requests or {}, sort_keys=True),
        },
    )
    log.info(
        "erasure %s (%s): %d golden IDs, rows %s, files %s, %d suppression keys, %d hits after erasure",
        erasure_id,
        request.kind,
        len(subject.golden_ids),
        json.dumps(result["rows"], sort_keys=True),
        json.dumps(files, sort_keys=True),
        len(keys),
        found_total,
    )
    if found_total:
        where = sorted(found["tables"]) + [f"{len(found['files'])} file(s)"]
        for path, hits in sorted(found["files"].items()):
            log.error("erasure %s: identifiers still in file %s (%d)", erasure_id, path, hits)
        raise proof.ErasureNotProven(
            f"erasure {erasure_id}: the person's identifiers are still in {', '.join(where)} "
            f"({found_total} hits; see audit.erasure_log and the task log for the places)"
        )
    return result


def record_vendor_outcome(warehouse: Warehouse, erasure_id: str, vendor_requests: dict[str, Any]) -> None:
    """Put the vendors' answers into the erasure's audit row (counts and statuses only)."""
    warehouse.engine.execute(
        "UPDATE audit.erasure_log SET vendor_requests = :v WHERE erasure_id = :id",
        {"v": json.dumps(vendor_requests, sort_keys=True), "id": erasure_id},
    )


def _checkpoint(warehouse: Warehouse) -> None:
    """DuckDB: write the deletions into the database file now (its WAL still holds the old pages)."""
    if getattr(warehouse, "dialect", None) == "duckdb":
        try:
            warehouse.engine.execute("CHECKPOINT", {})
        except Exception:  # noqa: BLE001 - a concurrent reader can delay the checkpoint; DuckDB does it later
            log.warning("erasure: DuckDB checkpoint deferred")


def _sql(warehouse: Warehouse, name: str) -> str:
    from crmhub.warehouse import sqlfiles

    (statement,) = sqlfiles.load_statements(name, warehouse.dialect)
    return statement


def _existing_tables(warehouse: Warehouse) -> set[str]:
    frame = warehouse.query("SELECT table_schema, table_name FROM information_schema.tables")
    return {f"{s}.{t}" for s, t in zip(frame["table_schema"], frame["table_name"], strict=True)}


def _erase_table(engine: Any, entry: PersonalTable, subject: Subject) -> int:
    """Delete the person's rows of one table, redact mentions elsewhere; returns rows touched."""
    table = entry.quoted()
    touched = 0
    for column in entry.golden_id_columns():
        for golden_id in sorted(subject.golden_ids):
            touched += _run(engine, f'DELETE FROM {table} WHERE "{column}" = :v', {"v": golden_id})
    records = subject.records | subject.interactions | {(s, i) for s, _, i in subject.raw_records}
    pairs = [(columns, records) for columns in entry.record_columns()]
    for columns, keys in (*pairs, (entry.contact_record, subject.records)):
        if columns:
            src, sid = columns
            sql = f'DELETE FROM {table} WHERE "{src}" = :source AND "{sid}" = :source_id'
            for source, source_id in sorted(keys):
                touched += _run(engine, sql, {"source": source, "source_id": source_id})
    for column in entry.text:
        for needle in subject.needles(names=entry.on_text == "redact"):
            where = f'strpos(lower("{column}"), :needle) > 0'
            if entry.on_text == "delete":
                touched += _run(engine, f"DELETE FROM {table} WHERE {where}", {"needle": needle})
            else:
                sql = f"UPDATE {table} SET \"{column}\" = '{REDACTED}' WHERE {where}"
                touched += _run(engine, sql, {"needle": needle})
    return touched


def _run(engine: Any, sql: str, params: dict[str, Any]) -> int:
    return max(engine.execute(sql, params), 0)


def scrub_files(data_dir: Path, subject: Subject) -> dict[str, int]:
    """Remove the person from run files (Parquet rows), delete Data Docs pages and other run files that
    mention them, and drop the incremental-load fingerprints (``state/warehouse_load``)."""
    stats = {"parquet_files_rewritten": 0, "parquet_rows_removed": 0, "other_files_removed": 0}
    needles = subject.needles()
    golden = subject.golden_ids
    records = subject.records | subject.interactions
    for path in sorted(Path(data_dir).glob("runs/*/*.parquet")):
        frame = pd.read_parquet(path)
        drop = _rows_about(frame, golden, records, subject.records, needles)
        if drop.any():
            frame[~drop].to_parquet(path, index=False)
            stats["parquet_files_rewritten"] += 1
            stats["parquet_rows_removed"] += int(drop.sum())
    state = Path(data_dir) / "state" / "warehouse_load"
    if state.is_dir():
        # fingerprints of loaded rows, keyed by golden ID and source record; an erasure invalidates them
        # anyway (the next load hands over the full snapshot), so they go whole
        shutil.rmtree(state)
        stats["state_folders_removed"] = 1
    for folder in (Path(data_dir) / "runs", Path(data_dir) / "data_docs"):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".parquet"):
            text = path.read_text(encoding="utf-8", errors="ignore").lower()
            if any(n in text for n in needles) or any(g.lower() in text for g in golden):
                path.unlink()
                stats["other_files_removed"] += 1
    return {k: v for k, v in stats.items() if v}


def _rows_about(
    frame: pd.DataFrame,
    golden: set[str],
    records: set[tuple[str, str]],
    contacts: set[tuple[str, str]],
    needles: list[str],
) -> pd.Series:
    drop = pd.Series(False, index=frame.index)
    for column in ("golden_id", "other_golden_id"):
        if column in frame:
            drop |= frame[column].astype("string").isin(golden).fillna(False)
    if "source" in frame:
        source = frame["source"].astype("string")
        for column, keys in (("source_id", records), ("contact_source_id", contacts), ("chosen_source_id", records)):
            if column in frame and keys:
                pairs = pd.Series(list(zip(source, frame[column].astype("string"), strict=True)), index=frame.index)
                drop |= pairs.isin(keys)
    for column in frame.columns:
        if frame[column].dtype == object or str(frame[column].dtype).startswith("string"):
            text = frame[column].astype("string").str.lower()
            for needle in needles:
                drop |= text.str.contains(needle, regex=False).fillna(False)
    return drop
