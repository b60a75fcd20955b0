"""Identifier keys for erasure and suppression: normalized, then hashed with a secret key.

The suppression list must recognise an erased person in tomorrow's raw payloads without storing who
they were. A plain sha256 of an e-mail address can be reversed with a dictionary of addresses, so the
keys are HMAC-SHA256 under ``CRMHUB_PSEUDONYM_KEY`` (set it in ``.env``/a secrets backend and keep it:
a new key forgets the list). Phone numbers are keyed on their last nine digits so ``06 51 83 97 00``
and ``+31651839700`` meet; a rare false match only means a record is not re-imported.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

KEY_ENV = "CRMHUB_PSEUDONYM_KEY"
_DEV_KEY = "crmhub-development-only-pseudonym-key"
_EMAIL = re.compile(r"[^\s\"'<>()\[\],;:@]+@[^\s\"'<>()\[\],;:@]+\.[^\s\"'<>()\[\],;:@]+")
_HANDLE = re.compile(r"@([A-Za-z0-9_.]{2,})")
_PHONE_CHARS = re.compile(r"\+?[\d][\d\s().\-/]{6,}\d")
PHONE_DIGITS = 9


def secret_key() -> bytes:
    """The HMAC key; a fixed development key when unset (the docs say to set one in production)."""
    return os.environ.get(KEY_ENV, _DEV_KEY).encode("utf-8")


def keyed_hash(kind: str, value: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``kind:value`` (hex); ``value`` must already be normalized."""
    return hmac.new(key or secret_key(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def norm_email(value: Any) -> str | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip().strip("<>").lower()
    text = text.removeprefix("mailto:")
    return text if "@" in text else None


def norm_phone(value: Any) -> str | None:
    digits = re.sub(r"\D", "", str(value or ""))
    return digits[-PHONE_DIGITS:] if len(digits) >= 8 else None


def norm_handle(value: Any) -> str | None:
    text = unicodedata.normalize("NFKC", str(value or "")).strip().lstrip("@").lower()
    return text or None


def record_key(source: str, object_type: str, source_id: str) -> str:
    return f"{source}/{object_type}/{source_id}"


def subject_keys(
    emails: Iterable[Any] = (),
    phones: Iterable[Any] = (),
    handles: Iterable[Any] = (),
    records: Iterable[tuple[str, str, str]] = (),
) -> dict[str, str]:
    """``{hash: kind}`` for everything that identifies one person (for the suppression list)."""
    keys: dict[str, str] = {}
    for kind, values, norm in (
        ("email", emails, norm_email),
        ("phone", phones, norm_phone),
        ("handle", handles, norm_handle),
    ):
        for value in values:
            normalized = norm(value)
            if normalized:
                keys[keyed_hash(kind, normalized)] = kind
    for source, object_type, source_id in records:
        keys[keyed_hash("record", record_key(source, object_type, source_id))] = "record"
    return keys


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def payload_keys(source: str, object_type: str, source_id: str, payload_json: str, key: bytes) -> set[str]:
    """Every key hash a raw record could match: its record key and the identifiers in its text."""
    found = {keyed_hash("record", record_key(source, object_type, source_id), key)}
    try:
        payload = json.loads(payload_json)
    except ValueError:
        payload = payload_json
    for text in _strings(payload):
        stripped = text.strip()
        for email in _EMAIL.findall(stripped):
            if normalized := norm_email(email):
                found.add(keyed_hash("email", normalized, key))
        for handle in _HANDLE.findall(stripped):
            found.add(keyed_hash("handle", handle.lower(), key))
        # a bare value such as a handle field ("gijs_peters") or a profile name
        bare = stripped and " " not in stripped and len(stripped) <= 64
        if bare and (normalized := norm_handle(stripped)):
            found.add(keyed_hash("handle", normalized, key))
        for phone in _PHONE_CHARS.findall(stripped):
            if normalized := norm_phone(phone):
                found.add(keyed_hash("phone", normalized, key))
    return found
