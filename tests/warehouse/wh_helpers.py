"""Frame builders shared by the warehouse tests (fixtures live in conftest.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.model import (
    CAMPAIGN_COLUMNS,
    CONFLICT_COLUMNS,
    CONTACT_COLUMNS,
    GOLDEN_COLUMNS,
    INTERACTION_COLUMNS,
    LINEAGE_COLUMNS,
    XREF_COLUMNS,
    conform,
)
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse
from crmhub.warehouse.tables import LOAD_CASE_COLUMNS, LOAD_INTERACTION_COLUMNS, LOAD_OPPORTUNITY_COLUMNS


def ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def raw_record(source_id: str, updated: str, body: dict[str, Any], **over: Any) -> dict[str, Any]:
    """One raw landing record whose hash follows the payload, as a connector would build it."""
    payload = json.dumps(body, sort_keys=True, separators=(",", ":"))
    record = {
        "source": "hubspot",
        "object_type": "contact",
        "source_id": source_id,
        "source_updated_at": ts(updated),
        "payload": payload,
        "payload_hash": hashlib.sha256(payload.encode()).hexdigest(),
        "run_id": "ingest-1",
        "extracted_at": ts("2025-03-01T10:00:00"),
    }
    record.update(over)
    return record


def golden_row(golden_id: str = "G1", updated: str = "2025-01-01T00:00:00", **attrs: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in GOLDEN_COLUMNS}
    row.update(
        golden_id=golden_id,
        first_name="Jan",
        name_prefix="de",
        last_name="Vries",
        email=f"{golden_id.lower()}@example.nl",
        city="Amsterdam",
        social_network="twitter",
        social_handle=f"handle_{golden_id.lower()}",
        source_updated_at=ts(updated),
        is_deleted=False,
    )
    row.update(attrs)
    return row


def interaction_row(source_id: str, occurred: str, golden_id: str | None = "G1", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in INTERACTION_COLUMNS}
    row.update(
        source="hootsuite",
        source_id=source_id,
        contact_source_id="twitter:handle_g1",
        occurred_at=ts(occurred),
        channel="twitter",
        direction="inbound",
        interaction_type="mention",
        text="hallo",
        golden_id=golden_id,
    )
    row.update(over)
    return row


def batch(
    golden: list[dict[str, Any]] | None = None,
    xref: list[dict[str, Any]] | None = None,
    lineage: list[dict[str, Any]] | None = None,
    conflicts: list[dict[str, Any]] | None = None,
    interactions: list[dict[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """Keyword arguments for ``load_reconciled`` (frames may be empty)."""

    def frame(rows: list[dict[str, Any]] | None, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(rows or [], columns=columns)

    return {
        "golden": frame(golden, GOLDEN_COLUMNS),
        "xref": frame(xref, XREF_COLUMNS),
        "lineage": frame(lineage, LINEAGE_COLUMNS),
        "conflicts": frame(conflicts, CONFLICT_COLUMNS),
        "interactions": frame(interactions, LOAD_INTERACTION_COLUMNS),
    }


def conflict_row(golden_id: str = "G1") -> dict[str, Any]:
    """A logged conflict: hubspot's city chosen over hootsuite's."""
    return {
        "golden_id": golden_id,
        "attribute": "city",
        "chosen_source": "hubspot",
        "chosen_value": "Amsterdam",
        "other_source": "hootsuite",
        "other_value": "Utrecht",
        "rule": "source_priority",
    }


def standard_batch(**golden_attrs: Any) -> dict[str, pd.DataFrame]:
    """Two golden contacts with xref, lineage, a conflict and interactions."""
    return batch(
        golden=[golden_row("G1", **golden_attrs), golden_row("G2", first_name="Sara", last_name="Ahmadi")],
        xref=[
            {"source": "hubspot", "source_id": "101", "golden_id": "G1", "match_rule": "email", "match_key": "e1"},
            {
                "source": "hootsuite",
                "source_id": "twitter:handle_g1",
                "golden_id": "G1",
                "match_rule": "handle",
                "match_key": "h1",
            },
            {"source": "hubspot", "source_id": "102", "golden_id": "G2", "match_rule": "new", "match_key": None},
        ],
        lineage=[
            {
                "golden_id": "G1",
                "attribute": "email",
                "source": "hubspot",
                "source_id": "101",
                "source_updated_at": ts("2025-01-01"),
                "rule": "source_priority",
            },
            {
                "golden_id": "G2",
                "attribute": "email",
                "source": "hubspot",
                "source_id": "102",
                "source_updated_at": ts("2025-01-01"),
                "rule": "source_priority",
            },
        ],
        conflicts=[conflict_row()],
        interactions=[
            interaction_row("m1", "2025-02-01T09:00:00", channel="twitter"),
            interaction_row("e7", "2025-02-03T09:00:00", channel="email", source="hubspot"),
            interaction_row("m3", "2025-02-02T09:00:00", golden_id="G2"),
        ],
    )


CORE_TABLES = [
    "raw.payloads",
    "core.golden_contacts",
    "core.contact_xref",
    "core.interactions",
    "core.golden_lineage",
    "core.golden_conflicts",
    "mart.customer_360",
]


def checksums(wh: Warehouse, table_names: list[str] = CORE_TABLES) -> dict[str, str]:
    return {t: wh.checksum(t) for t in table_names}


def current_counts(wh: Warehouse) -> pd.DataFrame:
    """golden_ids with their number of current versions (should all be 1)."""
    return wh.query(
        "SELECT golden_id, sum(CASE WHEN is_current THEN 1 ELSE 0 END) AS n "
        "FROM core.golden_contacts GROUP BY golden_id ORDER BY golden_id"
    )


def opportunity_row(source_id: str, updated: str, contact: str | None = "101", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in LOAD_OPPORTUNITY_COLUMNS}
    row.update(
        source="hubspot",
        source_id=source_id,
        contact_source_id=contact,
        name=f"Deal {source_id}",
        stage="qualified",
        amount=1250.5,
        currency="EUR",
        is_closed=False,
        is_won=False,
        lead_source="Social Media",
        campaign_source_id="c1",
        created_at=ts("2025-01-02"),
        source_updated_at=ts(updated),
        is_deleted=False,
        golden_id="G1" if contact else None,
    )
    row.update(over)
    return row


def case_row(source_id: str, updated: str, contact: str | None = "101", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in LOAD_CASE_COLUMNS}
    row.update(
        source="salesforce",
        source_id=source_id,
        contact_source_id=contact,
        subject="Bezorging te laat",
        channel="twitter",
        status="New",
        priority="High",
        is_complaint=True,
        is_closed=False,
        created_at=ts("2025-01-03"),
        source_updated_at=ts(updated),
        is_deleted=False,
        golden_id="G1" if contact else None,
    )
    row.update(over)
    return row


def campaign_row(source_id: str, updated: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in CAMPAIGN_COLUMNS}
    row.update(
        source="salesforce",
        source_id=source_id,
        name=f"Voorjaarsactie {source_id}",
        channel="social",
        status="Active",
        started_at=ts("2025-03-01"),
        source_updated_at=ts(updated),
        is_deleted=False,
    )
    row.update(over)
    return row


def records(
    opportunities: list[dict[str, Any]] | None = None,
    cases: list[dict[str, Any]] | None = None,
    campaigns: list[dict[str, Any]] | None = None,
) -> dict[str, pd.DataFrame]:
    """The opportunity, case and campaign keyword arguments of ``load_reconciled``."""
    return {
        "opportunities": pd.DataFrame(opportunities or [], columns=LOAD_OPPORTUNITY_COLUMNS),
        "cases": pd.DataFrame(cases or [], columns=LOAD_CASE_COLUMNS),
        "campaigns": pd.DataFrame(campaigns or [], columns=CAMPAIGN_COLUMNS),
    }


#: Every core table and mart view in the whitelist: what "a rerun changes nothing" compares.
def core_and_mart_tables() -> list[str]:
    from crmhub.warehouse import tables

    return [t for t in tables.TABLES if t.startswith(("core.", "mart."))]


def versions(wh: Warehouse, golden_id: str) -> list[dict[str, Any]]:
    """A golden ID's history, oldest first, as plain dicts (valid_to None while open)."""
    frame = wh.query(
        "SELECT city, is_deleted, valid_from, valid_to, is_current, merged_into_golden_id "
        "FROM core.golden_contacts WHERE golden_id = :g ORDER BY valid_from",
        {"g": golden_id},
    )
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        row["is_deleted"], row["is_current"] = bool(row["is_deleted"]), bool(row["is_current"])
    return out


# -- the reconcile stage on hand-built canonical contacts (real matching, real load) ----------------


def contact(source: str, source_id: str, updated: str, **over: Any) -> dict[str, Any]:
    """A canonical contact record (``CONTACT_COLUMNS``): Sanne Bakker from Haarlem unless told otherwise."""
    row: dict[str, Any] = {c: None for c in CONTACT_COLUMNS}
    row.update(
        source=source,
        source_id=source_id,
        source_updated_at=ts(updated),
        first_name="Sanne",
        last_name="Bakker",
        email="sanne.bakker@example.nl",
        city="Haarlem",
        country="NL",
        is_deleted=False,
    )
    row.update(over)
    return row


def stage_run(
    wh: Warehouse,
    data: Path,
    run_id: str,
    contacts: list[dict[str, Any]],
    interactions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One reconcile run through the stage functions: match and survive, then the (incremental) load.

    ``interactions`` are canonical interactions (``contact_source_id`` names the contact record)."""
    files = stage.run_folder(data, run_id)
    files.write("contacts", conform(pd.DataFrame(contacts), CONTACT_COLUMNS))
    frame = pd.DataFrame(interactions or [], columns=INTERACTION_COLUMNS)
    files.write("interactions", conform(frame, INTERACTION_COLUMNS))
    stage.match_and_survive(wh, files, run_id, rules=load_rules())
    return stage.load(wh, files, run_id, state_dir=stage.state_dir(data))


# -- faults injected from outside the loader (the load code has no test hooks) ----------------------


class InjectedFailure(Exception):
    """Raised by :func:`fail_after_file` to prove a failed load leaves no trace in core."""


def fail_after_file(wh: Warehouse, name: str) -> None:
    """Make ``wh``'s engine raise :class:`InjectedFailure` right after it first runs SQL file ``name``
    (inside the load transaction); later calls run normally, so the failure audit is still written."""
    engine = wh.engine
    original = engine.run_file
    fired = []

    def run_file(file: str, params: Any = None) -> int:
        result = original(file, params)
        if file == name and not fired:
            fired.append(file)
            raise InjectedFailure(f"injected failure after {file!r}")
        return result

    engine.run_file = run_file  # type: ignore[method-assign]


def pause_after_file(wh: Warehouse, name: str, marker: Path) -> None:
    """Make ``wh``'s engine, right after it first runs SQL file ``name``, write ``marker`` and wait
    inside the open load transaction until the process is killed (for SIGKILL tests in a child)."""
    import os
    import time

    engine = wh.engine
    original = engine.run_file

    def run_file(file: str, params: Any = None) -> int:
        result = original(file, params)
        if file == name:
            marker.write_text(str(os.getpid()), encoding="utf-8")
            while True:
                time.sleep(0.1)
        return result

    engine.run_file = run_file  # type: ignore[method-assign]


def wait_then_kill(child: Any, marker: Path, timeout: float = 90) -> None:
    """Wait until the child process paused by :func:`pause_after_file` wrote ``marker``, then SIGKILL it."""
    import os
    import signal
    import time

    try:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            assert child.poll() is None, "the load finished or failed before reaching its checkpoint"
            assert time.monotonic() < deadline, "the load never reached its checkpoint"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
