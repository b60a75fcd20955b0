"""HubSpot webhook requests: signature v3 verification and what a batch of events asks the hub to pull.

Why in the core: the check decides whether an outside request may make the scheduler do work, so it
is plain, tested Python with no Airflow (the API server's plugin only hands it the request).

HubSpot's contract (developers.hubspot.com, "Validating requests", v3):

- ``X-HubSpot-Request-Timestamp`` is milliseconds since the epoch; a request older than 5 minutes is
  rejected (replays);
- ``X-HubSpot-Signature-v3`` is base64(HMAC-SHA256(app client secret, method + URI + body + timestamp)),
  UTF-8, where the URI is the full URL HubSpot called, with the URL-encoded characters of
  :data:`DECODED` decoded (the ``?`` that starts the query string stays);
- compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"
MAX_AGE_MS = 5 * 60 * 1000
#: allowed clock skew into the future (a HubSpot clock slightly ahead of ours is not an attack)
MAX_FUTURE_MS = 60 * 1000
#: the URL-encoded characters HubSpot decodes in the URI before signing
DECODED = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip
#: webhook subscription object -> the hub's HubSpot object type to pull again
OBJECTS = {"contact": "contacts", "deal": "deals", "note": "notes", "company": "contacts"}
MAX_BODY_BYTES = 1_000_000


class WebhookRefused(ValueError):
    """A request the hub does not accept; ``reason`` is a short code for counting (no request data)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def signed_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the characters in :data:`DECODED` decoded (case-insensitively)."""
    out = []
    i = 0
    while i < len(uri):
        chunk = uri[i : i + 3].upper()
        if chunk in DECODED:
            out.append(DECODED[chunk])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp_ms: int | str) -> str:
    """The v3 signature of a request (HubSpot computes the same; the sandbox uses it to send)."""
    message = method.upper().encode() + signed_uri(uri).encode("utf-8") + body + str(timestamp_ms).encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_v3(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    now_ms: int | None = None,
) -> None:
    """Raise :class:`WebhookRefused` unless the request carries a fresh, valid v3 signature."""
    if not secret:
        raise WebhookRefused("no_secret", "no webhook client secret is configured")
    lowered = {k.lower(): v for k, v in headers.items()}
    signature, stamp = lowered.get(SIGNATURE_HEADER), lowered.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise WebhookRefused("missing_headers", "X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp required")
    if not stamp.strip().isdigit():
        raise WebhookRefused("bad_timestamp", "X-HubSpot-Request-Timestamp is not milliseconds since the epoch")
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    age = now_ms - int(stamp)
    if age > MAX_AGE_MS or age < -MAX_FUTURE_MS:
        raise WebhookRefused("stale_timestamp", "the request timestamp is more than 5 minutes old (or in the future)")
    expected = sign_v3(secret, method, uri, body, stamp.strip())
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("ascii", "replace")):
        raise WebhookRefused("bad_signature", "the v3 signature does not match")


@dataclass(frozen=True)
class WebhookBatch:
    """What a verified batch asks for: objects to pull again and the earliest change, no record values."""

    objects: tuple[str, ...]
    events: int
    earliest_ms: int | None
    event_ids: tuple[str, ...]

    def as_message(self) -> dict[str, Any]:
        return {
            "objects": list(self.objects),
            "events": self.events,
            "earliest_ms": self.earliest_ms,
            "event_ids": list(self.event_ids),
        }


def parse_events(body: bytes) -> WebhookBatch:
    """Read HubSpot's event array (``subscriptionType`` like ``contact.propertyChange``, ``occurredAt``).

    Only the object kinds, counts, times and event ids are kept: the pull reads the records from the
    API, so nothing personal (property values) travels through the queue.
    """
    try:
        events = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookRefused("bad_body", "the body is not a JSON array of events") from exc
    if not isinstance(events, list) or not events or not all(isinstance(e, dict) for e in events):
        raise WebhookRefused("bad_body", "the body is not a JSON array of events")
    objects: set[str] = set()
    times: list[int] = []
    ids: list[str] = []
    for event in events:
        kind = str(event.get("subscriptionType", "")).split(".", 1)[0]
        if kind in OBJECTS:
            objects.add(OBJECTS[kind])
        occurred = event.get("occurredAt")
        if isinstance(occurred, int) and not isinstance(occurred, bool):
            times.append(occurred)
        if event.get("eventId") is not None:
            ids.append(str(event["eventId"]))
    return WebhookBatch(tuple(sorted(objects)), len(events), min(times) if times else None, tuple(ids))
