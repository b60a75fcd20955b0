"""Which social fields a CRM plugin writes on a contact, given what the contact holds now (issue 17).

Shared by the CRM plugins that read the contact before writing (Salesforce, Dynamics 365), so the
precedence rule on write is one rule: a field the CRM leads on (``ContactFields.only_if_empty``) is
written only while empty, and a value the contact already holds is not written again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmhub.connectors.writeback import ALREADY_WRITTEN, SKIPPED_BY_PRECEDENCE, ContactFields, WriteOutcome


@dataclass(frozen=True)
class ContactPatch:
    """What to write (canonical name -> value) and what was left alone, and why."""

    write: dict[str, Any] = field(default_factory=dict)
    held_back: tuple[str, ...] = ()  # CRM-led and filled: precedence keeps the CRM's value
    already: tuple[str, ...] = ()  # the contact already holds this value

    def unchanged(self, contact_id: str) -> WriteOutcome:
        """The outcome when nothing is to be written: precedence held a field back, or all is there."""
        return WriteOutcome(SKIPPED_BY_PRECEDENCE if self.held_back else ALREADY_WRITTEN, vendor_id=contact_id)


def vendor_fields(
    update: ContactFields, handle_field: str | None, followers_field: str | None, network: str
) -> dict[str, str]:
    """Canonical name -> the CRM's field, for each value of ``update`` the CRM has a field for.

    The handle field holds one network's handle (``network``): a handle of another network has none.
    """
    mapping = {"social_handle": handle_field, "social_followers": followers_field}
    if update.social_network and update.social_network != network:
        mapping["social_handle"] = None
    return {name: column for name in update.values if (column := mapping.get(name))}


def plan_contact_patch(
    values: Mapping[str, Any], current: Mapping[str, Any], only_if_empty: frozenset[str] | set[str]
) -> ContactPatch:
    """Compare the wanted ``values`` with the contact's ``current`` ones (both by canonical name)."""
    write: dict[str, Any] = {}
    held_back: list[str] = []
    already: list[str] = []
    for name, value in values.items():
        now = current.get(name)
        if same_value(name, now, value):
            already.append(name)
        elif name in only_if_empty and not _empty(now):
            held_back.append(name)
        else:
            write[name] = int(float(value)) if name == "social_followers" and not _empty(value) else value
    return ContactPatch(write, tuple(held_back), tuple(already))


def same_value(name: str, current: Any, value: Any) -> bool:
    """Does the contact already hold ``value``? Handles compare as a rep types them (``@x``, a profile URL)."""
    if _empty(current) or _empty(value):
        return _empty(current) and _empty(value)
    if name == "social_handle":
        return plain_handle(current).lower() == plain_handle(value).lower()
    if name == "social_followers":
        try:
            return int(float(current)) == int(float(value))
        except (TypeError, ValueError):
            return False
    return bool(current == value)


def plain_handle(value: Any) -> str:
    """A handle without ``@`` or profile URL."""
    text = str(value).strip().rstrip("/")
    return (text.rsplit("/", 1)[-1] if "/" in text else text).lstrip("@")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
