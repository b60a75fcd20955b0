"""The reconcile engine's public API: canonical contacts in, golden records with lineage out.

``reconcile`` is a pure function of its inputs (no I/O, no clock), so the Airflow task, the CLI and
a steward's dry run all get the same answer for the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmhub.errors import SourceDataError
from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, XREF_COLUMNS, conform
from crmhub.reconcile.golden_ids import assign_golden_ids
from crmhub.reconcile.match import cluster, explain_records, find_links
from crmhub.reconcile.normalize import normalize_contacts
from crmhub.reconcile.rules import PrecedenceRules
from crmhub.reconcile.survive import survive

REQUIRED_CONTACT_FIELDS = ("source", "source_id", "source_updated_at")


@dataclass
class ReconcileResult:
    """Everything one reconcile run produces; frames follow ``crmhub.model``."""

    golden: pd.DataFrame
    xref: pd.DataFrame
    lineage: pd.DataFrame
    conflicts: pd.DataFrame
    merges: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def _check_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    """Conform to the contract (optional columns may be absent) and refuse records without identity
    or business time.

    Such a record cannot be placed in history, so it fails loudly with the row and field named (no
    values: they may be personal data).
    """
    missing = [c for c in REQUIRED_CONTACT_FIELDS if c not in contacts.columns]
    if missing:
        raise SourceDataError(f"contacts frame is missing required column(s): {', '.join(missing)}")
    frame = conform(contacts[[c for c in CONTACT_COLUMNS if c in contacts.columns]], CONTACT_COLUMNS)
    for col in REQUIRED_CONTACT_FIELDS:
        empty = frame[col].isna()
        if col != "source_updated_at":
            empty |= frame[col].astype(str).str.strip().eq("")
        if empty.any():
            row = int(empty.to_numpy().nonzero()[0][0])
            src = frame.at[row, "source"] if col != "source" else "?"
            raise SourceDataError(
                f"contact row {row} (source {src!r}): required field {col!r} is empty "
                f"({int(empty.sum())} row(s) affected)"
            )
    frame["source"] = frame["source"].astype(str).str.strip()
    frame["source_id"] = frame["source_id"].astype(str).str.strip()
    return frame


def reconcile(
    contacts: pd.DataFrame, rules: PrecedenceRules, previous_xref: pd.DataFrame | None = None
) -> ReconcileResult:
    """Match, assign stable golden ids and survive attributes for the full current set of contacts.

    ``contacts`` holds every current record (``CONTACT_COLUMNS``); if a record appears twice (two
    exports), the version with the newest ``source_updated_at`` is used. ``previous_xref`` is the xref
    of the last run, so golden ids stay stable.
    """
    frame = _check_contacts(contacts)
    n_input = len(frame)
    frame = (
        frame.sort_values(["source", "source_id", "source_updated_at"], kind="stable", na_position="first")
        .drop_duplicates(["source", "source_id"], keep="last")
        .reset_index(drop=True)
    )
    records = normalize_contacts(frame, phone_regions=rules.phone_regions)

    links, reports = find_links(records, rules.matching)
    records["cluster"] = cluster(len(records), links)
    records["golden_id"], merges = assign_golden_ids(records, previous_xref)

    explained = explain_records(len(records), links, rules.matching.rules)
    xref = conform(
        pd.DataFrame(
            {
                "source": records["source"],
                "source_id": records["source_id"],
                "golden_id": records["golden_id"],
                "match_rule": explained["match_rule"],
                "match_key": explained["match_key"],
            }
        ),
        XREF_COLUMNS,
    ).sort_values(["golden_id", "source", "source_id"], kind="stable", ignore_index=True)

    golden, lineage, conflicts = survive(records, rules)
    cluster_sizes = records.groupby("golden_id").size()
    stats: dict[str, Any] = {
        "source_records": n_input,
        "duplicate_records_dropped": n_input - len(records),
        "golden": len(golden),
        "golden_multi_source_records": int((cluster_sizes > 1).sum()),
        "matched_records": int(cluster_sizes[cluster_sizes > 1].sum()),
        "linked_pairs": len(links),
        "links_by_rule": {name: report.links for name, report in reports.items()},
        "keys_blocklisted": {name: report.keys_blocklisted for name, report in reports.items()},
        "keys_overshared": {name: report.keys_overshared for name, report in reports.items()},
        "invalid_emails": int((records["email_valid"] == False).sum()),  # noqa: E712 (nullable bool)
        "invalid_phones": int((records["phone_valid"] == False).sum()),  # noqa: E712
        "conflicts": len(conflicts),
        "merges": sum(1 for m in merges if m["event"] == "merge"),
        "splits": sum(1 for m in merges if m["event"] == "split"),
        "golden_deleted": int(golden["is_deleted"].sum()),
    }
    return ReconcileResult(golden, xref, lineage, conflicts, merges, stats)


def attach_interactions(interactions: pd.DataFrame, xref: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(attributed, unattributed)``: interactions with their contact's ``golden_id``, and the rest.

    Lookup is by ``(source, contact_source_id)`` → xref ``(source, source_id)``. Nothing is dropped:
    the two frames together hold every input row; unattributed rows carry a ``reason``
    (``no_contact``: the source gave no contact; ``unknown_contact``: the contact is not in the xref).
    """
    frame = conform(interactions, INTERACTION_COLUMNS)
    lookup = (
        xref[["source", "source_id", "golden_id"]]
        .dropna()
        .astype(str)
        .drop_duplicates(["source", "source_id"], keep="last")
        .rename(columns={"source_id": "contact_source_id"})
    )
    keyed = frame.assign(
        _source=frame["source"].astype(str),
        _contact=frame["contact_source_id"].map(lambda v: None if v is None else str(v).strip()),
    )
    merged = keyed.merge(
        lookup.rename(columns={"source": "_source", "contact_source_id": "_contact"}),
        on=["_source", "_contact"],
        how="left",
        sort=False,
    )
    found = merged["golden_id"].notna()
    attributed = merged.loc[found, [*INTERACTION_COLUMNS, "golden_id"]].reset_index(drop=True)
    rest = merged.loc[~found, INTERACTION_COLUMNS].reset_index(drop=True)
    rest["reason"] = pd.Series(
        ["no_contact" if pd.isna(c) else "unknown_contact" for c in rest["contact_source_id"]], dtype="object"
    )
    return attributed, rest
