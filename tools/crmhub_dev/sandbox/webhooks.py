"""The sandbox's HubSpot as a webhook sender (issue 17): change a contact now and tell the hub, signed.

HubSpot calls an app's target URL with a JSON array of events (``subscriptionType`` such as
``contact.propertyChange``, ``objectId``, ``occurredAt`` in ms, ``eventId``, ``attemptNumber``...) and
signs the request with signature v3 (:func:`crmhub.connectors.hubspot_webhooks.sign_v3`; the same
function HubSpot's documentation describes, so the hub's verification is tested against it). The
contact change is made in place on the running sandbox's data, so the next HubSpot search by
``lastmodifieddate`` finds it, as it would at HubSpot.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from crmhub.connectors.hubspot_webhooks import sign_v3
from crmhub_dev.sandbox.datagen import SandboxData, iso_ms

DEFAULT_CLIENT_SECRET = "sandbox-hubspot-webhook-secret"
APP_ID = 2104375
PORTAL_ID = 62515
SUBSCRIPTION_ID = 987654
_event_ids = itertools.count(int(time.time() * 1000) % 10**9)


def change_contact(data: SandboxData, contact_id: str, **properties: str | None) -> dict[str, Any]:
    """Set ``properties`` on a HubSpot contact now; returns the ``contact.propertyChange`` event (one per call)."""
    contact = next((c for c in data.hubspot_contacts if c["id"] == contact_id), None)
    if contact is None:
        raise KeyError(f"no HubSpot contact {contact_id} in this sandbox")
    now = datetime.now(UTC)
    contact["properties"].update(properties)
    contact["properties"]["lastmodifieddate"] = iso_ms(now)
    contact["updatedAt"] = iso_ms(now)
    name = next(iter(properties), "lastmodifieddate")
    return {
        "eventId": next(_event_ids),
        "subscriptionId": SUBSCRIPTION_ID,
        "portalId": PORTAL_ID,
        "appId": APP_ID,
        "occurredAt": int(now.timestamp() * 1000),
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": int(contact_id),
        "propertyName": name,
        "propertyValue": properties.get(name),
        "changeSource": "CRM",
    }


@dataclass
class WebhookSender:
    """Posts event batches to a target URL the way HubSpot does (POST, JSON array, v3 signature)."""

    target_url: str
    client_secret: str = DEFAULT_CLIENT_SECRET
    timeout: float = 10.0

    def headers(self, body: bytes, timestamp_ms: int | None = None, secret: str | None = None) -> dict[str, str]:
        stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        signature = sign_v3(secret or self.client_secret, "POST", self.target_url, body, stamp)
        return {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Request-Timestamp": str(stamp),
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)",
        }

    def send(self, events: list[dict[str, Any]], **header_args: Any) -> requests.Response:
        body = json.dumps(events, separators=(",", ":")).encode("utf-8")
        return requests.post(
            self.target_url, data=body, headers=self.headers(body, **header_args), timeout=self.timeout
        )
