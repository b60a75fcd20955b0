"""The erasure DAG's two steps, as plain functions (the DAG file only wires them).

1. :func:`erase_from_hub` — resolve the request (a request file or a golden ID), note which vendor
   records must be deleted at which vendor (``ops/vendor_deletions/<erasure_id>.json``, record IDs
   only), erase the person from the warehouse, the run files and the file-drop folders, prove it by
   searching everything, audit, and delete the request file.
2. :func:`delete_at_vendors` — ask the vendors to delete the noted records, through the same
   connectors (Connection, TLS, auth) ingest uses; what fails stays noted and the step fails loudly,
   to be retried (task retries, the next erasure run, or ``crmhub_retention``'s daily retry).

The hub erases first and independently of the vendors: a vendor that is down must not keep the
person's data in the hub, and the suppression list keeps the next ingest from bringing them back
until the vendor has deleted them too.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmhub.config import SourceConfig
from crmhub.connectors.base import ERASURE_NOT_SUPPORTED, ERASURE_REQUESTED, Connector
from crmhub.connectors.registry import connector_class
from crmhub.ops import erasure_requests as requests_store
from crmhub.ops.drop_files import drop_folders
from crmhub.ops.erasure import add_source_identifiers, erase, find_subject, record_vendor_outcome

if TYPE_CHECKING:
    from crmhub.warehouse import Warehouse

log = logging.getLogger(__name__)

PENDING = "pending"
NOT_SUPPORTED = ERASURE_NOT_SUPPORTED
NO_API = "no vendor API: the hub scrubbed its own copies (drop files)"
REQUESTED = ERASURE_REQUESTED
FAILED = "failed"


def supports_deletion(source: SourceConfig) -> bool:
    """The source's connector can ask its vendor to delete records (:meth:`Connector.erase`)."""
    try:
        return connector_class(source.connector).supports_erasure()
    except LookupError:
        return False


def request_deletion(source: SourceConfig, connector: Connector | None, source_ids: list[str]) -> dict[str, Any]:
    """Ask one source to delete the person's records through its connector; counts, or why it could not.

    A source without a Connection (a file drop) has no vendor API: the hub's own copies (the drop
    files) are scrubbed by :mod:`crmhub.ops.drop_files`.
    """
    if source.conn_id is None:
        return {"status": NO_API, "records": len(source_ids)}
    if connector is None:
        return {"status": NOT_SUPPORTED, "records": len(source_ids)}
    return connector.erase(list(source_ids))


def request_deletions(
    sources: Mapping[str, SourceConfig],
    pending: Mapping[str, list[str]],
    *,
    connect: Callable[[SourceConfig], Connector],
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Ask every source in ``pending`` (source name → its record IDs) to delete the person.

    ``connect`` builds a source's connector exactly as ingest does (the DAG passes
    ``SourceHook.for_source``): the same Connection, session and TLS settings (the Connection's
    ``verify`` extra, passed on every request so ``REQUESTS_CA_BUNDLE`` cannot override it), the same
    authentication, back-off and rate limits — there is no second way to reach a vendor.

    One source failing (down, TLS, 5xx after the client's retries) does not stop the others. Returns
    ``(results per source, still pending)``: what failed stays pending, to be retried. Results carry
    counts and the error's class, never an identifier or a vendor message.
    """
    results: dict[str, Any] = {}
    remaining: dict[str, list[str]] = {}
    for name, ids in sorted(pending.items()):
        source = sources.get(name)
        if source is None:
            results[name] = {"status": FAILED, "records": len(ids), "error": "source no longer configured"}
            remaining[name] = list(ids)
            continue
        try:
            connector = connect(source) if source.conn_id and supports_deletion(source) else None
            results[name] = request_deletion(source, connector, list(ids))
        except Exception as exc:  # noqa: BLE001 - reported per source, retried, and the task fails loudly
            log.error("%s: vendor deletion of %d records failed: %s", name, len(ids), type(exc).__name__)
            results[name] = {"status": FAILED, "records": len(ids), "error": type(exc).__name__}
            remaining[name] = list(ids)
    return results, remaining


def erase_from_hub(
    warehouse: Warehouse,
    params: Mapping[str, Any],
    sources: Mapping[str, SourceConfig],
    data_dir: Path,
    *,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Step 1: erase in the hub and note the vendor deletions still to do; returns counts only."""
    request, request_id = requests_store.resolve(dict(params), data_dir)
    subject = find_subject(warehouse, request)
    add_source_identifiers(warehouse, subject, sources)
    erasure_id = uuid.uuid4().hex
    outcome: dict[str, Any] = {}
    pending: dict[str, list[str]] = {}
    for source in sources.values():
        ids = subject.source_ids(source.name)
        if not ids:
            continue
        if source.conn_id and supports_deletion(source):
            pending[source.name] = ids
            outcome[source.name] = {"status": PENDING, "records": len(ids)}
        else:
            outcome[source.name] = request_deletion(source, None, ids)
    # noted before anything is deleted: once the hub has forgotten the person, these IDs are the only
    # way left to ask the vendor
    requests_store.save_vendor_pending(data_dir, erasure_id, pending)
    keep = (requests_store.request_path(data_dir, request_id),) if request_id else ()
    result = erase(
        warehouse,
        request,
        data_dir,
        run_id=run_id,
        vendor_requests=outcome,
        subject=subject,
        drops=drop_folders(sources, data_dir),
        keep_files=keep,
        erasure_id=erasure_id,
    )
    if request_id:
        requests_store.delete_request(data_dir, request_id)
        result["request_file_deleted"] = True
    return result


def delete_at_vendors(
    warehouse: Warehouse,
    sources: Mapping[str, SourceConfig],
    data_dir: Path,
    *,
    connect: Callable[[SourceConfig], Connector],
) -> dict[str, Any]:
    """Step 2: carry out every noted vendor deletion (this erasure's and any left over); counts only.

    Raises when a vendor could not be reached or refused: the records stay noted for the next try.
    """
    folder = Path(data_dir) / requests_store.VENDOR_DIR
    done: dict[str, Any] = {}
    failed: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        erasure_id = path.stem
        pending = requests_store.load_vendor_pending(data_dir, erasure_id)
        results, remaining = request_deletions(sources, pending, connect=connect)
        _, rows = warehouse.engine.fetch(
            "SELECT vendor_requests FROM audit.erasure_log WHERE erasure_id = :id", {"id": erasure_id}
        )
        outcome = json.loads(rows[0][0] or "{}") if rows else {}
        outcome.update(results)
        if rows:
            record_vendor_outcome(warehouse, erasure_id, outcome)
        requests_store.save_vendor_pending(data_dir, erasure_id, remaining)
        done[erasure_id] = dict(sorted(results.items()))
        if remaining:
            failed[erasure_id] = sorted(remaining)
    if failed:
        raise RuntimeError(
            "vendor deletion failed and stays pending (retried by task retries, the next erasure and the daily "
            f"crmhub_retention run): {json.dumps(failed, sort_keys=True)}; the person is already erased from the hub"
        )
    return done
