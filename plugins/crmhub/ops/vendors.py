"""Ask the source systems to forget the person too, where their API allows it.

HubSpot offers a GDPR delete (``POST /crm/v3/objects/contacts/gdpr-delete``: permanent, unlike
``DELETE /crm/v3/objects/contacts/{id}``, which only archives). Hootsuite's REST API has no call to
delete a person's messages or profile, so the hub can only stop re-importing them (suppression list)
and record that the request could not be forwarded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import requests

log = logging.getLogger(__name__)

HUBSPOT_GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"
NOT_SUPPORTED = "not supported by the vendor API"


def hubspot_gdpr_delete(session: requests.Session, base_url: str, token: str | None, contact_id: str) -> bool:
    """Permanently delete one HubSpot contact; ``False`` when HubSpot no longer has it (404)."""
    response = session.post(
        f"{base_url.rstrip('/')}{HUBSPOT_GDPR_DELETE}",
        json={"objectId": contact_id},
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=60,
    )
    if response.status_code == 404:
        return False
    if response.status_code != 204:
        raise RuntimeError(f"hubspot: POST {HUBSPOT_GDPR_DELETE}: HTTP {response.status_code}")
    return True


#: connector name → function deleting one contact record at the vendor.
VENDOR_ERASERS: dict[str, Callable[[requests.Session, str, str | None, str], bool]] = {
    "hubspot": hubspot_gdpr_delete,
}


def request_deletion(
    connector: str, session: requests.Session, base_url: str, token: str | None, source_ids: list[str]
) -> dict[str, Any]:
    """Ask one source to delete the person's records; returns counts or why it could not."""
    eraser = VENDOR_ERASERS.get(connector)
    if eraser is None:
        return {"status": NOT_SUPPORTED, "records": len(source_ids)}
    deleted = sum(eraser(session, base_url, token, source_id) for source_id in source_ids)
    log.info("%s: asked to delete %d records, %d deleted", connector, len(source_ids), deleted)
    return {"status": "requested", "records": len(source_ids), "deleted": deleted}


def summarize(results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return dict(sorted(results.items()))
