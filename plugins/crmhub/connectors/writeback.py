"""What the hub writes back to a CRM (issue 17), in vendor-neutral terms.

The write-back stage (:mod:`crmhub.stages.writeback`) decides *what* to write: a follow-up for each
routed social message, and the social fields of a contact where precedence allows it. Each CRM plugin
decides *how*: :meth:`crmhub.connectors.base.Connector.write_followup` and
:meth:`~crmhub.connectors.base.Connector.write_contact_fields` turn these objects into the vendor's
calls (HubSpot task + association, Salesforce Task/Case upsert on an external id, Dynamics 365
task/incident upsert on an alternate key) and answer with a :class:`WriteOutcome`.

Idempotency: every write carries a ``key`` that is stable for the thing written (one per routed
message, one per contact and field set). A plugin uses the vendor's external-id / upsert / alternate-key
mechanism with it where the vendor has one, and looks it up before creating where it has none, so a
retry, a rerun, a backfill or a run killed after the vendor said 201 never writes a second record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: :class:`WriteOutcome` statuses, also the ``status`` values of ``audit.writeback_attempts``
CREATED = "created"
UPDATED = "updated"
ALREADY_WRITTEN = "skipped_already_written"
SKIPPED_BY_PRECEDENCE = "skipped_by_precedence"
FAILED = "failed"
DRY_RUN = "dry_run"
STATUSES: tuple[str, ...] = (CREATED, UPDATED, ALREADY_WRITTEN, SKIPPED_BY_PRECEDENCE, FAILED, DRY_RUN)

#: follow-up kinds: a task for the owner, or a service case (Salesforce Case, Dynamics incident)
TASK = "task"
CASE = "case"


def idempotency_key(*parts: str) -> str:
    """A stable key for one write: ``crmhub-`` plus 32 hex characters of a hash of its parts.

    Short and plain enough for every vendor's external-id field (Salesforce External ID text(255),
    Dynamics alternate key string, a HubSpot property), and it carries no personal data.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"crmhub-{digest[:32]}"


@dataclass(frozen=True)
class FollowUp:
    """A follow-up for one routed social message, for one CRM contact.

    ``contact_id`` is the contact's id in the target CRM (the golden contact's leading CRM record);
    ``kind`` is :data:`TASK` or :data:`CASE` (a plugin without cases writes a task).
    """

    key: str
    contact_id: str
    kind: str
    subject: str
    body: str
    intent: str
    department: str
    priority: str
    message_url: str | None = None
    due_at: str | None = None  # ISO 8601, UTC
    owner: str | None = None  # the vendor's owner/user id where routing assigned one

    def description(self) -> str:
        """The follow-up's text for a CRM's description field: the body, then what the owner acts on
        (link, intent, department, priority) and the key that makes it findable again."""
        lines = [self.body.strip()] if self.body and self.body.strip() else []
        lines += [
            f"Message: {self.message_url or '(no link)'}",
            f"Intent: {self.intent}",
            f"Department: {self.department}",
            f"Priority: {self.priority}",
            f"CRM Hub key: {self.key}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class ContactFields:
    """Social fields to write on one CRM contact (canonical names: ``social_handle``, ``social_followers``).

    ``only_if_empty`` names the fields the CRM leads on: they are written only where the CRM's own
    value is empty *at write time* (the plugin reads the contact first), never overwritten.
    """

    key: str
    contact_id: str
    values: Mapping[str, Any]
    only_if_empty: frozenset[str] = field(default_factory=frozenset)
    #: the network of ``social_handle`` (twitter, instagram, ...), so a plugin can pick the vendor property
    social_network: str | None = None


@dataclass(frozen=True)
class WriteOutcome:
    """What the vendor did with one write.

    ``status`` is one of :data:`STATUSES`. ``vendor_id`` is the id of the record written (or found);
    ``reason`` says why it failed or was skipped (vendor error code and message, never a value);
    ``retryable`` is true when the next run should try again (a 429 storm that outlasted the retries,
    a 5xx, a lock) and false when only a person can fix it (validation, a deleted contact).
    """

    status: str
    vendor_id: str | None = None
    reason: str | None = None
    retryable: bool = False
    fields: tuple[str, ...] = ()  # the fields actually written (enrichment)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown write-back status {self.status!r} (one of {', '.join(STATUSES)})")


class WriteNotSupported(NotImplementedError):
    """The plugin's vendor takes no writes of this kind (a social tool, a file drop)."""
