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
from typing import Any

from crmhub.config import SourceConfig
from crmhub.connectors.base import Connector
from crmhub.ops import erasure_requests as requests_store
from crmhub.ops import vendors
from crmhub.ops.drop_files import drop_folders
from crmhub.ops.erasure import add_source_identifiers, erase, find_subject, record_vendor_outcome

log = logging.getLogger(__name__)

PENDING = "pending"


def erase_from_hub(
    warehouse: Any,
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
        if source.conn_id and vendors.supports_deletion(source):
            pending[source.name] = ids
            outcome[source.name] = {"status": PENDING, "records": len(ids)}
        else:
            outcome[source.name] = vendors.request_deletion(source, None, ids)
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
    warehouse: Any,
    sources: Mapping[str, SourceConfig],
    data_dir: Path,
    *,
    connect: Callable[[SourceConfig], Connector] = vendors.default_connect,
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
        results, remaining = vendors.request_deletions(sources, pending, connect=connect)
        _, rows = warehouse.engine.fetch(
            "SELECT vendor_requests FROM audit.erasure_log WHERE erasure_id = :id", {"id": erasure_id}
        )
        outcome = json.loads(rows[0][0] or "{}") if rows else {}
        outcome.update(results)
        if rows:
            record_vendor_outcome(warehouse, erasure_id, outcome)
        requests_store.save_vendor_pending(data_dir, erasure_id, remaining)
        done[erasure_id] = vendors.summarize(results)
        if remaining:
            failed[erasure_id] = sorted(remaining)
    if failed:
        raise RuntimeError(
            "vendor deletion failed and stays pending (retried by task retries, the next erasure and the daily "
            f"crmhub_retention run): {json.dumps(failed, sort_keys=True)}; the person is already erased from the hub"
        )
    return done
