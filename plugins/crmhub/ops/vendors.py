"""Ask the source systems to forget the person too, where their API allows it.

HubSpot offers a GDPR delete (``POST /crm/v3/objects/contacts/gdpr-delete``: permanent, unlike
``DELETE /crm/v3/objects/contacts/{id}``, which only archives). Hootsuite's REST API has no call to
delete a person's messages or profile, so the hub can only stop re-importing them (suppression list)
and record that the request could not be forwarded. A file-drop source has no vendor API at all: the
hub's own copies (the drop files) are scrubbed by :mod:`crmhub.ops.drop_files`.

Every vendor call goes through the source's connector, built exactly as ingest builds it
(:meth:`crmhub.orchestration.hooks.SourceHook.for_source`): the same Connection, the same session with
its TLS settings (the Connection's ``verify`` extra, passed on every request so ``REQUESTS_CA_BUNDLE``
cannot override it), the same authentication, back-off and rate limits. There is no second way to
reach a vendor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from crmhub.config import SourceConfig
from crmhub.connectors.base import Connector
from crmhub.connectors.http import SourceHttpClient

log = logging.getLogger(__name__)

HUBSPOT_GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"
NOT_SUPPORTED = "not supported by the vendor API"
NO_API = "no vendor API: the hub scrubbed its own copies (drop files)"
REQUESTED = "requested"
FAILED = "failed"


def hubspot_gdpr_delete(http: SourceHttpClient, contact_id: str, number: int = 1) -> bool:
    """Permanently delete one HubSpot contact; ``False`` when HubSpot no longer has it (404)."""
    status, _ = http.request_json(
        "POST", HUBSPOT_GDPR_DELETE, page=number, json_body={"objectId": contact_id}, accept_status=(204, 404)
    )
    return status == 204


#: connector plugin name → function deleting one contact record through the connector's API client.
VENDOR_ERASERS: dict[str, Callable[[SourceHttpClient, str, int], bool]] = {
    "hubspot": hubspot_gdpr_delete,
}


def supports_deletion(source: SourceConfig) -> bool:
    return source.connector in VENDOR_ERASERS


def request_deletion(source: SourceConfig, connector: Connector | None, source_ids: list[str]) -> dict[str, Any]:
    """Ask one source to delete the person's records through its connector; counts, or why it could not."""
    if source.conn_id is None:
        return {"status": NO_API, "records": len(source_ids)}
    eraser = VENDOR_ERASERS.get(source.connector)
    if eraser is None or connector is None:
        return {"status": NOT_SUPPORTED, "records": len(source_ids)}
    if not isinstance(connector.http, SourceHttpClient):
        raise TypeError(f"{source.name}: connector has no SourceHttpClient to send the deletion with")
    deleted = sum(eraser(connector.http, source_id, n) for n, source_id in enumerate(source_ids, start=1))
    log.info("%s: asked to delete %d records, %d deleted", source.name, len(source_ids), deleted)
    return {"status": REQUESTED, "records": len(source_ids), "deleted": deleted}


def default_connect(source: SourceConfig) -> Connector:
    """The source's connector as ingest builds it: Connection, TLS (``verify``), auth, rate limits."""
    from crmhub.orchestration.hooks import SourceHook

    return SourceHook.for_source(source)


def request_deletions(
    sources: Mapping[str, SourceConfig],
    pending: Mapping[str, list[str]],
    *,
    connect: Callable[[SourceConfig], Connector] = default_connect,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Ask every source in ``pending`` (source name → its record IDs) to delete the person.

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


def summarize(results: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    return dict(sorted(results.items()))
