"""HubSpot signature v3 verification in the core: what HubSpot signs is accepted, nothing else."""

from __future__ import annotations

import json
import time

import pytest

from crmhub.connectors.hubspot_webhooks import WebhookRefused, parse_events, sign_v3, verify_v3
from crmhub_dev.sandbox.webhooks import WebhookSender

URL = "https://hub.example.com/crmhub-webhooks/hubspot"
SECRET = "test-client-secret"
BODY = json.dumps(
    [{"eventId": 1, "subscriptionType": "contact.propertyChange", "objectId": 7, "occurredAt": 1}]
).encode()


def _headers(body: bytes = BODY, *, age_ms: int = 0, secret: str = SECRET, url: str = URL) -> dict[str, str]:
    return WebhookSender(url, secret).headers(body, timestamp_ms=int(time.time() * 1000) - age_ms)


def _reason(**kwargs) -> str:
    args = {"secret": SECRET, "method": "POST", "uri": URL, "body": BODY, "headers": _headers()} | kwargs
    with pytest.raises(WebhookRefused) as refused:
        verify_v3(**args)
    return refused.value.reason


def test_a_request_signed_as_hubspot_signs_it_is_accepted():
    verify_v3(SECRET, "POST", URL, BODY, _headers())


def test_the_signature_is_base64_hmac_sha256_of_method_uri_body_and_timestamp():
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"s", b"POST" + URL.encode() + BODY + b"1700000000000", hashlib.sha256).digest()
    )
    assert sign_v3("s", "POST", URL, BODY, 1700000000000) == expected.decode()


def test_encoded_characters_in_the_uri_are_signed_decoded():
    assert sign_v3("s", "POST", "https://h/p?a=x%3Ay%40z", BODY, 1) == sign_v3(
        "s", "POST", "https://h/p?a=x:y@z", BODY, 1
    )


def test_another_secret_is_refused():
    assert _reason(headers=_headers(secret="someone-else")) == "bad_signature"


def test_a_changed_body_is_refused():
    assert _reason(body=BODY.replace(b"7", b"8")) == "bad_signature"


def test_a_timestamp_older_than_five_minutes_is_refused():
    assert _reason(headers=_headers(age_ms=5 * 60 * 1000 + 1000)) == "stale_timestamp"


def test_a_request_four_minutes_old_is_accepted():
    verify_v3(SECRET, "POST", URL, BODY, _headers(age_ms=4 * 60 * 1000))


def test_missing_signature_headers_are_refused():
    assert _reason(headers={"Content-Type": "application/json"}) == "missing_headers"


def test_no_configured_secret_refuses_everything():
    assert _reason(secret="") == "no_secret"


def test_events_become_objects_to_pull_without_property_values():
    body = json.dumps([
        {"eventId": 5, "subscriptionType": "contact.propertyChange", "occurredAt": 2000, "propertyValue": "a@b.nl"},
        {"eventId": 6, "subscriptionType": "deal.creation", "occurredAt": 1000},
    ]).encode()  # fmt: skip
    batch = parse_events(body)
    assert batch.objects == ("contacts", "deals") and batch.earliest_ms == 1000 and batch.events == 2
    assert "a@b.nl" not in json.dumps(batch.as_message())
