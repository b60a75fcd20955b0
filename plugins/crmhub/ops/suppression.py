"""The suppression list: erased people must not come back with the next ingest.

Erasure adds keyed hashes of the person's identifiers and source records (``ops.suppression``);
ingest drops every pulled record that matches one before landing it. The list holds hashes only
(see :mod:`crmhub.ops.identifiers`), so it is not itself a copy of the erased data.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmhub.ops.identifiers import payload_keys, secret_key

if TYPE_CHECKING:
    from crmhub.warehouse import Warehouse

log = logging.getLogger(__name__)


def add_keys(engine: Any, keys: dict[str, str], erasure_id: str) -> int:
    """Add ``{hash: kind}`` to the list (idempotent); returns how many keys were offered.

    Runs in the caller's transaction, so an erasure and its suppression commit together.
    """
    now = datetime.now(UTC)
    for key_hash, kind in sorted(keys.items()):
        engine.run_file(
            "suppression_insert",
            {"key_hash": key_hash, "key_kind": kind, "erasure_id": erasure_id, "added_at": now},
        )
    return len(keys)


def drop_suppressed(frame: pd.DataFrame, warehouse: Warehouse) -> tuple[pd.DataFrame, int]:
    """Raw landing records minus those of suppressed people; returns ``(kept, dropped count)``.

    A warehouse without the list (an older schema, a test double) suppresses nothing.
    """
    hashes_of = getattr(warehouse, "suppression_hashes", None)
    if frame.empty or hashes_of is None:
        return frame, 0
    suppressed = hashes_of()
    if not suppressed:
        return frame, 0
    key = secret_key()
    keep = [
        not (payload_keys(r.source, r.object_type, str(r.source_id), r.payload, key) & suppressed)
        for r in frame.itertuples(index=False)
    ]
    kept = frame[keep].reset_index(drop=True)
    dropped = len(frame) - len(kept)
    if dropped:
        log.info("suppression list: %d pulled records belong to erased people and were not landed", dropped)
    return kept, dropped
