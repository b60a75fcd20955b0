"""Where personal data lives in the warehouse: the list GDPR erasure works through.

Every table that can hold a person's data is registered here with how a row is tied to a person:
by golden ID, by source record (``(source, source_id)`` of a linked contact or interaction record),
by the source contact an interaction came from, or by free text that may mention them. Tables added
by other parts of the hub (quarantine, steward review) join with one :func:`register` call in their
own module; tables not created yet are skipped, so registering early is harmless.

Identifiers put into SQL come only from these entries and are checked against a strict pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class PersonalTable:
    """How rows of ``table`` are tied to a person.

    ``on_text`` says what happens to a row that only *mentions* the person in a ``text`` column:
    ``delete`` the row (raw payloads, quarantined records) or ``redact`` the column (someone else's
    record that names them).
    """

    table: str
    golden_id: str | None = None
    record: tuple[str, str] | None = None
    contact_record: tuple[str, str] | None = None
    text: tuple[str, ...] = ()
    on_text: Literal["delete", "redact"] = "delete"
    note: str = field(default="", compare=False)
    #: further golden-ID columns and source-record column pairs (a row about two records, e.g. a review pair)
    more_golden_ids: tuple[str, ...] = ()
    more_records: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        schema, _, name = self.table.partition(".")
        names = [schema, name, *self.golden_id_columns(), *self.text]
        for pair in (self.record, self.contact_record, *self.more_records):
            names += list(pair or ())
        bad = [n for n in names if not _IDENT.match(n)]
        if bad:
            raise ValueError(f"personal-data table {self.table!r}: invalid identifiers {bad}")

    def golden_id_columns(self) -> tuple[str, ...]:
        return (*((self.golden_id,) if self.golden_id else ()), *self.more_golden_ids)

    def record_columns(self) -> tuple[tuple[str, str], ...]:
        return (*((self.record,) if self.record else ()), *self.more_records)

    def quoted(self) -> str:
        return ".".join(f'"{part}"' for part in self.table.split("."))


PERSONAL_TABLES: dict[str, PersonalTable] = {}


def register(entry: PersonalTable) -> PersonalTable:
    """Add (or replace) a table in the erasure registry; returns the entry."""
    PERSONAL_TABLES[entry.table] = entry
    return entry


for _entry in (
    PersonalTable("raw.payloads", record=("source", "source_id"), text=("payload",), note="raw landing"),
    PersonalTable("core.golden_contacts", golden_id="golden_id", note="every SCD2 version"),
    PersonalTable("core.contact_xref", golden_id="golden_id", record=("source", "source_id")),
    PersonalTable(
        "core.interactions",
        golden_id="golden_id",
        record=("source", "source_id"),
        contact_record=("source", "contact_source_id"),
        text=("text",),
        on_text="redact",
    ),
    PersonalTable(
        "core.opportunities",
        golden_id="golden_id",
        contact_record=("source", "contact_source_id"),
        text=("name",),
        on_text="redact",
        note="the person's deals go with them; a deal naming them elsewhere is redacted",
    ),
    PersonalTable(
        "core.cases",
        golden_id="golden_id",
        contact_record=("source", "contact_source_id"),
        text=("subject",),
        on_text="redact",
    ),
    PersonalTable("core.golden_lineage", golden_id="golden_id"),
    PersonalTable("core.golden_conflicts", golden_id="golden_id", text=("chosen_value", "other_value")),
    PersonalTable("audit.quality_results", text=("observed_value",), on_text="redact"),
    PersonalTable("audit.quarantine", record=("source", "source_id"), text=("payload", "reason"), note="issue 6"),
    PersonalTable(
        "core.review_queue",
        golden_id="left_golden_id",
        more_golden_ids=("right_golden_id",),
        record=("left_source", "left_source_id"),
        more_records=(("right_source", "right_source_id"),),
        text=("explanation",),
        note="steward review pairs: a pair with the person goes",
    ),
    PersonalTable(
        "core.steward_decisions",
        record=("left_source", "left_source_id"),
        more_records=(("right_source", "right_source_id"),),
        note="decisions about the person's records go with the records",
    ),
    PersonalTable(
        "core.golden_merge_log",
        golden_id="winner_golden_id",
        more_golden_ids=("loser_golden_id",),
        text=("records", "loser_records"),
        note="merges of the person's golden records",
    ),
    PersonalTable(
        "core.interaction_understanding",
        golden_id="golden_id",
        record=("source", "source_id"),
        note="issue 14: the understanding of the person's messages goes with the messages",
    ),
    PersonalTable(
        "core.routing_queue",
        golden_id="golden_id",
        record=("source", "source_id"),
        note="issue 14: follow-ups of the person's messages",
    ),
    PersonalTable(
        "audit.writeback_attempts",
        golden_id="golden_id",
        record=("message_source", "message_source_id"),
        more_records=(("target_source", "target_record"),),
        note="issue 17: what the hub wrote to the person's CRM records",
    ),
    PersonalTable(
        "audit.steward_activity",
        record=("left_source", "left_source_id"),
        more_records=(("right_source", "right_source_id"),),
        text=("detail",),
        on_text="redact",
        note="who saw and decided which pair: goes with the person's records; a note naming them is redacted",
    ),
):
    register(_entry)
