"""What the warehouse must hold, derived from the sandbox's ground truth and its raw data."""

from __future__ import annotations

from typing import Any

HANDLE_PROPERTIES = {"twitterhandle": "twitter", "instagram_handle": "instagram"}


def _handle(value: str) -> str:
    return value.strip().rstrip("/").rsplit("/", 1)[-1].lstrip("@").lower()


def expected_clusters(data: Any) -> dict[str, list[set[tuple[str, str]]]]:
    """Per person, the groups of source records deterministic keys (e-mail, handle) can link.

    A person's HubSpot records share an e-mail; their Hootsuite handle joins them only when one of
    those HubSpot records carries the handle. Otherwise ("handle only on one side") the person stays
    two golden records: a Hootsuite contact carries nothing but its handle, and a handle that spells
    a CRM name is evidence for a steward, not for an automatic merge (docs/reconcile.md), so fuzzy
    matching puts such pairs in the review queue (see :func:`person_of`) and links nothing here.
    """
    contacts = {c["id"]: c for c in data.hubspot_contacts}
    clusters: dict[str, list[set[tuple[str, str]]]] = {}
    for person in data.ground_truth["persons"]:
        hub = {(r["source"], r["source_id"]) for r in person["source_records"] if r["source"] == "hubspot"}
        social = {(r["source"], r["source_id"]) for r in person["source_records"] if r["source"] == "hootsuite"}
        carried = {
            f"{network}:{_handle(contacts[sid]['properties'][prop])}"
            for _, sid in hub
            for prop, network in HANDLE_PROPERTIES.items()
            if contacts[sid]["properties"].get(prop)
        }
        linked = any(sid in carried for _, sid in social)
        if hub and social and not linked:
            clusters[person["person_id"]] = [hub, social]
        else:
            clusters[person["person_id"]] = [hub | social]
    return clusters


def person_of(data: Any) -> dict[tuple[str, str], str]:
    """``(source, source_id)`` → person id, for checking review-queue pairs against the truth."""
    return {
        (r["source"], r["source_id"]): person["person_id"]
        for person in data.ground_truth["persons"]
        for r in person["source_records"]
    }
