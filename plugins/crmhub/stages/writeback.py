"""Write-back (issue 17): routed social messages become follow-ups in the CRM, social fields enrich it.

Core, no Airflow: the DAG (:mod:`crmhub.orchestration.writeback_dag`) and the CLI (``python -m crmhub
writeback``) hand in a warehouse opener, the sources and a ``connect`` that builds a source's connector
the way ingest does (Connection, TLS, auth, back-off, rate limits). Vendors are reached only through
:class:`~crmhub.connectors.base.Connector`'s write methods; their details stay in the plugins.

Per routed message not written yet (``load/writeback_todo.sql``): the person's leading CRM record is
their first live record in a CRM of ``include/config/writeback.yaml``'s ``targets`` (in that order)
whose plugin takes writes. The follow-up carries an idempotency key per (message, CRM, kind), so
however often it is sent the CRM holds one. The person's social handle and followers go to that
contact too, where ``precedence.yaml`` lets the social source lead; elsewhere the CRM leads and the
plugin fills a field only where the CRM's own value is empty (``only_if_empty``).

The warehouse is held only briefly: the stage opens it (through the caller's ``open_warehouse``) to
read its plan, closes it while the CRMs answer, and reopens it to record the attempts in batches (every
``commit_every`` attempts or ``commit_seconds``, and at the end). On DuckDB that frees the single-writer
file lock, so a reconcile load started during a slow vendor call neither waits nor fails. Every attempt
is one row of ``audit.writeback_attempts``; a run killed before its batch was committed leaves those
messages to the next run, which finds each record by its key (``skipped_already_written``).
One record failing (validation, a contact deleted meanwhile) fails only that record; a vendor that
cannot be reached stops its CRM for this run, the other CRMs go on, and the run ends with
:class:`WritebackIncomplete` so the task is retried. Logs name source, record and reason, never a value.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from crmhub.config import SourceConfig
from crmhub.connectors.base import Connector
from crmhub.connectors.registry import connector_class
from crmhub.connectors.writeback import (
    CASE,
    DRY_RUN,
    FAILED,
    STATUSES,
    TASK,
    ContactFields,
    FollowUp,
    WriteNotSupported,
    WriteOutcome,
    idempotency_key,
)
from crmhub.errors import ConfigError, CrmHubError
from crmhub.reconcile.rules import PrecedenceRules, load_rules
from crmhub.stages.writeback_config import Target, WritebackConfig, load_writeback
from crmhub.warehouse import Warehouse, WarehouseLockedError
from crmhub.warehouse.run_lock import RunLockHeld, exclusive_run
from crmhub.warehouse.sqlfiles import load_statements
from crmhub.warehouse.url import WarehouseUrl

log = logging.getLogger(__name__)

#: ``kind`` of an enrichment row in ``audit.writeback_attempts``
CONTACT_FIELDS = "contact_fields"
NO_CRM_RECORD = "no_crm_record"
#: attempts recorded per warehouse visit, and the longest they wait for one
COMMIT_EVERY = 50
COMMIT_SECONDS = 2.0
#: how long the last batch waits for a warehouse another process holds (a long reconcile load)
LAST_BATCH_WAIT_SECONDS = 600.0

#: one write-back run per warehouse: with no connection held while the CRMs answer, two runs (the
#: DAG's and a hand ``crmhub writeback``) could plan the same message, and HubSpot's search before
#: create would miss the other run's task and make a second
RUN_LOCK = "crmhub.writeback.run"

#: opens the (migrated) warehouse; the stage closes what it opens
WarehouseOpener = Callable[[], Warehouse]


class WritebackBusy(CrmHubError):
    """Another write-back run holds the warehouse's write-back lock: this run wrote nothing."""


class WritebackIncomplete(CrmHubError):
    """A CRM could not be reached: its records wait for the next run (or the task's retry)."""


@dataclass(frozen=True)
class Write:
    """One planned write: a follow-up or contact fields, for one CRM record."""

    target: Target
    record: str
    golden_id: str
    payload: FollowUp | ContactFields
    message: tuple[str, str] | None = None  # (source, source_id) of the routed message

    @property
    def kind(self) -> str:
        return self.payload.kind if isinstance(self.payload, FollowUp) else CONTACT_FIELDS


@dataclass
class WritebackReport:
    """Counts per status (no personal data), and the failures by source, record and reason."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*STATUSES, NO_CRM_RECORD), 0))
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)

    def summary_line(self, dry_run: bool = False) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"crmhub writeback{' (dry run)' if dry_run else ''}: {shown}"

    def as_dict(self) -> dict[str, Any]:
        return {**self.counts, "failures": len(self.failures), "unreachable_crms": len(self.unreachable)}


def run_writeback(
    open_warehouse: WarehouseOpener,
    sources: Mapping[str, SourceConfig],
    connect: Callable[[SourceConfig], Connector] | None,
    *,
    run_id: str,
    dry_run: bool = False,
    retry_failed: bool = False,
    config: WritebackConfig | None = None,
    rules: PrecedenceRules | None = None,
    echo: Callable[[str], None] = print,
    commit_every: int = COMMIT_EVERY,
    commit_seconds: float = COMMIT_SECONDS,
) -> WritebackReport:
    """Write back every routed message not written yet; returns the report (raises if a CRM was down).

    ``open_warehouse`` opens the migrated warehouse each time the stage needs it (module doc: no
    connection is held while the CRMs answer). ``dry_run`` stores and prints what would be written
    (status ``dry_run``) and calls no vendor, so ``connect`` may be None. ``retry_failed`` tries again
    the failures no retry could fix, after a steward fixed their cause (a restored contact, a
    corrected owner).
    """
    config = config or load_writeback()
    rules = rules or load_rules()
    report = WritebackReport()
    targets = _writable_targets(config, sources)
    with ExitStack() as this_run:
        with open_warehouse() as warehouse:
            this_run.enter_context(_one_run(warehouse.url))  # held past this visit, to the run's end
            writes = plan_writes(warehouse, config, rules, targets, retry_failed=retry_failed, report=report)
        journal = _Journal(open_warehouse, run_id, commit_every, commit_seconds)
        try:
            _write_all(writes, sources, connect, journal, report, dry_run=dry_run, echo=echo)
        except BaseException:
            journal.flush_on_the_way_out()
            raise
        journal.flush(last=True)
    echo(report.summary_line(dry_run))
    if report.unreachable:
        raise WritebackIncomplete(f"write-back incomplete: unreachable {', '.join(report.unreachable)}")
    return report


@contextmanager
def _one_run(url: WarehouseUrl) -> Iterator[None]:
    """The run lock (:data:`RUN_LOCK`) for the whole run, or :class:`WritebackBusy` before anything is planned."""
    try:
        with exclusive_run(url, RUN_LOCK):
            yield
    except RunLockHeld as exc:
        raise WritebackBusy(
            f"another write-back run is under way on this warehouse; this one wrote nothing ({exc})"
        ) from exc


def _write_all(
    writes: list[Write],
    sources: Mapping[str, SourceConfig],
    connect: Callable[[SourceConfig], Connector] | None,
    journal: _Journal,
    report: WritebackReport,
    *,
    dry_run: bool,
    echo: Callable[[str], None],
) -> None:
    """Send each write (no warehouse connection open) and hand its outcome to the journal."""
    connectors: dict[str, Connector] = {}
    for write in writes:
        name = write.target.source
        if name in report.unreachable:
            continue
        if dry_run:
            outcome = WriteOutcome(DRY_RUN, reason=_describe(write))
            echo(f"dry run: {name} {write.kind} for record {write.record}: {outcome.reason}")
        else:
            if connect is None:
                raise ValueError("run_writeback needs connect unless dry_run")
            try:
                if name not in connectors:
                    connectors[name] = connect(sources[name])
                outcome = _send(connectors[name], write.payload)
            except WriteNotSupported:
                log.warning("%s: the plugin takes no %s writes; skipped", name, write.kind)
                continue
            except Exception as exc:  # noqa: BLE001 - the vendor cannot be reached: stop this CRM, go on
                outcome = WriteOutcome(FAILED, reason=f"vendor unreachable ({type(exc).__name__})", retryable=True)
                report.unreachable.append(name)
                log.error("%s: unreachable (%s); its writes wait for the next run", name, type(exc).__name__)
        journal.add(write, outcome)
        report.counts[outcome.status] += 1
        if outcome.status == FAILED:
            report.failures.append((name, write.record, outcome.reason or "unknown"))
            log.warning("%s: record %s: %s failed: %s (%s)", name, write.record, write.kind, outcome.reason,
                        "retried next run" if outcome.retryable else "not retried; a steward must look")  # fmt: skip


def plan_writes(
    warehouse: Warehouse,
    config: WritebackConfig,
    rules: PrecedenceRules,
    targets: Iterable[Target],
    *,
    retry_failed: bool = False,
    report: WritebackReport | None = None,
) -> list[Write]:
    """What to write for the routed messages not written yet, in routing order (no vendor call)."""
    targets = tuple(targets)
    if not targets:
        return []
    params = {"retry_failed": retry_failed}
    todo = warehouse.query(load_statements("writeback_todo", warehouse.dialect)[0], params)
    if todo.empty:
        return []
    records = _leading_records(warehouse, targets, params)
    done_keys = set(warehouse.query(load_statements("writeback_done_keys", warehouse.dialect)[0], params)["write_key"])
    led_by_crm = {t.source: _crm_led_fields(config, rules, t.source) for t in targets}
    writes: list[Write] = []
    enriched: set[str] = set()
    for msg in todo.to_dict("records"):
        lead = records.get(msg["golden_id"])
        if lead is None:
            if report is not None:
                report.counts[NO_CRM_RECORD] += 1
            continue
        target, record = lead
        writes.append(Write(target, record, msg["golden_id"], _followup(msg, target, record, config),
                            (msg["source"], msg["source_id"])))  # fmt: skip
        fields = _contact_fields(msg, target, record, config, led_by_crm[target.source])
        if fields is not None and fields.key not in done_keys and fields.key not in enriched:
            enriched.add(fields.key)
            writes.append(Write(target, record, msg["golden_id"], fields))
    return writes


def _writable_targets(config: WritebackConfig, sources: Mapping[str, SourceConfig]) -> tuple[Target, ...]:
    """The enabled targets that are configured sources whose plugin takes writes."""
    out = []
    for target in config.active_targets():
        source = sources.get(target.source)
        if source is None:
            log.info("write-back target %s is not an enabled source; skipped", target.source)
            continue
        try:
            supported = connector_class(source.connector).supports_writeback()
        except LookupError:
            supported = False
        if supported:
            out.append(target)
        else:
            log.info("write-back target %s: its plugin takes no writes yet; skipped", target.source)
    return tuple(out)


def _leading_records(
    warehouse: Warehouse, targets: tuple[Target, ...], params: Mapping[str, Any]
) -> dict[str, tuple[Target, str]]:
    """golden ID -> (target, record id) of the person's first live record in target order."""
    order = {t.source: i for i, t in enumerate(targets)}
    by_name = {t.source: t for t in targets}
    xref = warehouse.query(load_statements("writeback_targets", warehouse.dialect)[0], params)
    best: dict[str, tuple[int, str, str]] = {}
    for golden_id, source, source_id in xref[["golden_id", "source", "source_id"]].itertuples(index=False):
        if source not in order:
            continue
        rank = (order[source], str(source_id), str(source))
        if golden_id not in best or rank < best[golden_id]:
            best[golden_id] = rank
    return {g: (by_name[s], r) for g, (_, r, s) in best.items()}


def _crm_led_fields(config: WritebackConfig, rules: PrecedenceRules, crm: str) -> frozenset[str]:
    """The enrichment fields the CRM leads on under precedence.yaml (written only where empty)."""
    crms = {t.source for t in config.targets}
    led = set()
    for name, attribute in config.enrich_fields.items():
        rule = rules.attributes.get(attribute)
        if rule is None:
            raise ConfigError(
                config.file, f"enrich.fields.{name}", f"{attribute!r} is not an attribute of {rules.file}"
            )
        if crm not in rule.sources:
            continue  # the CRM never supplies this attribute: the hub's value leads
        if rule.rule == "source_priority":
            ahead = rule.sources[: rule.sources.index(crm)]
            if any(s not in crms for s in ahead):
                continue  # a social source ranks above the CRM
        led.add(name)
    return frozenset(led)


def _followup(msg: Mapping[str, Any], target: Target, record: str, config: WritebackConfig) -> FollowUp:
    department, intent = str(msg["department"]), str(msg["intent"] or "unknown")
    kind = CASE if department == "service" and target.service_kind == CASE else TASK
    channel = msg.get("channel") or "social"
    due = None
    if _present(msg.get("sla_hours")) and _present(msg.get("routed_at")):
        routed = pd.Timestamp(msg["routed_at"])
        routed = routed.tz_convert(UTC) if routed.tzinfo else routed.tz_localize(UTC)
        due = (routed + timedelta(hours=float(msg["sla_hours"]))).isoformat(timespec="seconds").replace("+00:00", "Z")
    template = config.message_links.get(str(msg["source"]))
    text = msg.get("text") if _present(msg.get("text")) else ""
    body = "\n".join([
        f"Social message on {channel} ({_iso(msg.get('occurred_at'))}), routed to {department} by rule {msg['rule']}.",
        f"Intent: {intent}. Priority: {msg['priority']}.",
        "",
        str(text),
    ]).strip()  # fmt: skip
    owner = msg.get("owner") if msg.get("deal_source") == target.source and _present(msg.get("owner")) else None
    return FollowUp(
        key=idempotency_key(str(msg["source"]), str(msg["source_id"]), target.source, kind),
        contact_id=record,
        kind=kind,
        subject=f"{department.capitalize()} follow-up: {intent.replace('_', ' ')} on {channel}",
        body=body,
        intent=intent,
        department=department,
        priority=str(msg["priority"]),
        message_url=template.format(source_id=msg["source_id"]) if template else None,
        due_at=due,
        owner=str(owner) if owner is not None else None,
    )


def _contact_fields(
    msg: Mapping[str, Any], target: Target, record: str, config: WritebackConfig, crm_led: frozenset[str]
) -> ContactFields | None:
    if not config.enrich_enabled:
        return None
    values: dict[str, Any] = {}
    if "social_handle" in config.enrich_fields and _present(msg.get("social_handle")):
        values["social_handle"] = str(msg["social_handle"])
    if "social_followers" in config.enrich_fields and _present(msg.get("social_followers")):
        values["social_followers"] = int(float(msg["social_followers"]))
    if not values:
        return None
    network = str(msg["social_network"]) if _present(msg.get("social_network")) else None
    parts = [f"{k}={v}" for k, v in sorted(values.items())]
    return ContactFields(
        key=idempotency_key(CONTACT_FIELDS, target.source, record, str(network), *parts),
        contact_id=record,
        values=values,
        only_if_empty=frozenset(crm_led & set(values)),
        social_network=network,
    )


def _send(connector: Connector, payload: FollowUp | ContactFields) -> WriteOutcome:
    if isinstance(payload, FollowUp):
        return connector.write_followup(payload)
    return connector.write_contact_fields(payload)


def _describe(write: Write) -> str:
    payload = write.payload
    if isinstance(payload, FollowUp):
        return f"would write a {payload.kind} ({payload.department}, {payload.intent}, {payload.priority})"
    names = ", ".join(sorted(payload.values))
    held = f"; only where the CRM has none: {', '.join(sorted(payload.only_if_empty))}" if payload.only_if_empty else ""
    return f"would write {names}{held}"


def _attempt_row(run_id: str, write: Write, outcome: WriteOutcome) -> dict[str, Any]:
    """The ``audit.writeback_attempts`` row of one attempt (codes and ids, never a value)."""
    message = write.message or (None, None)
    return {
        "run_id": run_id,
        "kind": write.kind,
        "message_source": message[0],
        "message_source_id": message[1],
        "golden_id": write.golden_id,
        "target_source": write.target.source,
        "target_record": write.record,
        "write_key": write.payload.key,
        "status": outcome.status,
        "reason": outcome.reason,
        "retryable": bool(outcome.retryable),
        "vendor_id": outcome.vendor_id,
        "fields": ",".join(outcome.fields) or None,
        "attempted_at": datetime.now(UTC),
    }


class _Journal:
    """Attempt rows waiting for the warehouse, committed in batches by briefly reopening it.

    A batch is one transaction: a run killed before it commits loses only rows the next run rebuilds
    (it finds each record by its key). An intermediate batch that finds the DuckDB file held by
    another process waits for the next one; the last batch waits up to ``LAST_BATCH_WAIT_SECONDS``.
    Only the last visit refreshes the BI copy (a byte copy of the file per batch would cost more than
    the batch; :mod:`crmhub.warehouse.publish`).
    """

    def __init__(self, open_warehouse: WarehouseOpener, run_id: str, every: int, seconds: float) -> None:
        self.open_warehouse = open_warehouse
        self.run_id = run_id
        self.every = max(1, every)
        self.seconds = seconds
        self.rows: list[dict[str, Any]] = []
        self.last_commit = time.monotonic()

    def add(self, write: Write, outcome: WriteOutcome) -> None:
        self.rows.append(_attempt_row(self.run_id, write, outcome))
        if len(self.rows) >= self.every or time.monotonic() - self.last_commit >= self.seconds:
            try:
                self.flush()
            except WarehouseLockedError:
                log.info("write-back: the warehouse is busy; %d attempts wait for the next batch", len(self.rows))

    def flush(self, *, last: bool = False) -> None:
        """Commit the waiting rows in one visit to the warehouse (the last visit publishes the BI copy)."""
        deadline = time.monotonic() + LAST_BATCH_WAIT_SECONDS
        while True:
            try:
                self._commit(publish=last)
                return
            except WarehouseLockedError:
                if not last or time.monotonic() >= deadline:
                    raise
                log.info("write-back: the warehouse is busy; %d attempts still to record", len(self.rows))

    def flush_on_the_way_out(self) -> None:
        """Best effort while the run dies (a task killed, an unexpected error): keep what the CRMs said."""
        try:
            self._commit(publish=False)
        except Exception:  # noqa: BLE001 - the run's own error is the one to report
            log.warning("write-back: %d attempts were not recorded; the next run finds them by key", len(self.rows))

    def _commit(self, *, publish: bool) -> None:
        if not self.rows and not publish:
            return
        with self.open_warehouse() as warehouse:
            warehouse.engine.publish_on_close = publish
            if self.rows:
                engine = warehouse.engine
                with engine.transaction():
                    for row in self.rows:
                        engine.run_file("writeback_attempt_insert", row)
        self.rows.clear()
        self.last_commit = time.monotonic()


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not bool(pd.isna(value)) and value != ""
    except (TypeError, ValueError):
        return True


def _iso(value: Any) -> str:
    if not _present(value):
        return "unknown time"
    return pd.Timestamp(value).isoformat(timespec="minutes")
