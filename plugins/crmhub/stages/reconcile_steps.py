"""Reconcile stage: raw payloads → canonical records → golden contacts → quality gate → warehouse.

Each step reads and writes Parquet files in a run folder, so each can be its own Airflow task, be
retried alone, and be inspected after the run. The load is the only step that changes the
warehouse, and it does so in one transaction.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmhub.config import SourceConfig
from crmhub.connectors.base import CanonicalBatch
from crmhub.connectors.registry import connector_class
from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, conform, empty_frame

if TYPE_CHECKING:
    from crmhub.reconcile.rules import PrecedenceRules
    from crmhub.warehouse import Warehouse

#: Canonical record kinds that are loaded as they are, linked to a golden contact through the xref.
LINKED_RECORDS: tuple[str, ...] = ("opportunities", "cases")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunFiles:
    """The files one reconcile run hands from step to step."""

    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def write(self, name: str, frame: pd.DataFrame) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(self.path(name), index=False)

    def read(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path(name))

    def record(self, step: str, stats: dict[str, Any]) -> dict[str, Any]:
        """Keep a step's counts in ``summary.json`` (counts only, no personal data) for the run summary."""
        self.folder.mkdir(parents=True, exist_ok=True)
        summary_path = self.folder / "summary.json"
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
        summary[step] = stats
        summary_path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return stats


def run_folder(data_dir: Path, run_id: str) -> RunFiles:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
    return RunFiles(Path(data_dir) / "runs" / safe)


def state_dir(data_dir: Path) -> Path:
    """Where the warehouse keeps the incremental-load fingerprints (``load(state_dir=...)``)."""
    return Path(data_dir) / "state"


def canonicalize(
    warehouse: Warehouse,
    files: RunFiles,
    run_id: str | None,
    *,
    sources: dict[str, SourceConfig],
    now: datetime | None = None,
) -> dict[str, Any]:
    """Map the newest raw payload of every source record into the canonical model.

    Every frame of the connectors' :class:`CanonicalBatch` becomes a run file (contacts, interactions,
    opportunities, cases, campaigns), so the following steps can be retried on their own.

    Record-level isolation (docs/quality.md): every frame is typed per the column contract
    (:func:`crmhub.model.type_frame`); a record with a value that cannot be typed, a business timestamp
    beyond ``future_tolerance`` (``include/config/canonical.yaml``) or a mapping that raises in the
    connector is quarantined alone (stage ``canonicalize``, with field and reason), and a raw version
    dated in the future never hides the record's newest plausible version. A source whose mapping
    fails as a whole is reported and skipped; every other source goes on. ``run_id`` (``None``: the
    run folder's name) stamps the quarantine entries.
    """
    from crmhub.quality.canonical import future_cutoff, load_canonical_config, quarantine_entries

    config = load_canonical_config()
    cutoff = future_cutoff(config, now)
    run = run_id or files.folder.name
    collected: dict[str, list[pd.DataFrame]] = {name: [] for name in CanonicalBatch.CONTRACTS}
    held_frames: list[pd.DataFrame] = []
    failed_sources: list[str] = []
    counts = {}
    for source in sources.values():
        cls = connector_class(source.connector)
        connector = cls(source.name, None, source.options)
        raw: dict[str, list[dict[str, Any]]] = {}
        raw_ids: dict[str, list[str]] = {}
        held: list[Any] = []
        for object_type in source.objects:
            payloads, ids, future = _latest_plausible_raw(warehouse, source.name, object_type, cutoff)
            raw[object_type], raw_ids[object_type] = payloads, ids
            held += future
        batch, mapping_held, source_failed = _map_isolated(connector, raw, raw_ids)
        held += mapping_held
        if source_failed:
            failed_sources.append(source.name)
        for name, columns in CanonicalBatch.CONTRACTS.items():
            frame, frame_held = _typed(getattr(batch, name), name, columns, cutoff)
            collected[name].append(frame)
            held += frame_held
        held_frames.append(quarantine_entries(source.name, held, run))
        counts[source.name] = {
            "raw": {k: len(v) for k, v in raw.items()},
            **{name: len(collected[name][-1]) for name in CanonicalBatch.CONTRACTS},
            "quarantined": len({(h.frame, h.source_id) for h in held}),
        }
        log.info(
            "%s canonicalized: %s; %d record(s) quarantined",
            source.name,
            ", ".join(f"{len(collected[name][-1])} {name}" for name in CanonicalBatch.CONTRACTS),
            counts[source.name]["quarantined"],
        )
    for name, columns in CanonicalBatch.CONTRACTS.items():
        frame = _concat(collected[name], columns)
        if name in ("contacts", "interactions"):
            # canonical_* keep every mapped row for the gate; contacts/interactions are what matching
            # reads and ``validate_canonical`` replaces them with the rows that passed.
            files.write(f"canonical_{name}", frame)
        files.write(name, frame)
    held_all = pd.concat(held_frames, ignore_index=True) if held_frames else None
    stats: dict[str, Any] = {**counts, "quarantined_records": sum(c["quarantined"] for c in counts.values())}
    if failed_sources:
        stats["failed_sources"] = failed_sources
    if held_all is not None:
        files.write(CANONICALIZE_QUARANTINE, held_all)
        if warehouse is not None and hasattr(warehouse, "store_quarantine"):
            stats["quarantine_store"] = warehouse.store_quarantine(held_all)
            if not failed_sources:  # a skipped source's records were not re-checked
                stats["quarantine_resolved"] = warehouse.resolve_quarantine(run, [CANONICALIZE_STAGE])
    return files.record("canonicalize", stats)


#: ``audit.quarantine.stage`` of records set aside by :func:`canonicalize`, and its run file.
CANONICALIZE_STAGE = "canonicalize"
CANONICALIZE_QUARANTINE = "quarantine_canonicalize"


def _latest_plausible_raw(
    warehouse: Warehouse, source: str, object_type: str, cutoff: pd.Timestamp
) -> tuple[list[dict[str, Any]], list[str], list[Any]]:
    """Newest raw payload per record, never one dated after ``cutoff``; returns payloads, ids, held back.

    The warehouse's newest version is the one with the latest business timestamp, so a version dated
    2099 would hide every later correction for ever. Such a record falls back to its newest version
    dated within the tolerance; the future version is quarantined unless a version extracted after it
    (the source's correction) supersedes it. A record with only future versions is left out.
    """
    from crmhub.quality.canonical import HeldBack, payload_of

    latest = warehouse.latest_raw(source, object_type)
    updated = pd.to_datetime(latest["source_updated_at"], utc=True)
    future = (updated > cutoff).fillna(False).to_numpy(dtype=bool)
    if not future.any():
        return [json.loads(p) for p in latest["payload"]], latest["source_id"].astype(str).tolist(), []
    ok = latest[~future]
    late = latest[future]
    earlier = _raw_versions_until(warehouse, source, object_type, late["source_id"].astype(str).tolist(), cutoff)
    held = []
    fallbacks = []
    for row in late.itertuples(index=False):
        versions = earlier[earlier["source_id"] == str(row.source_id)]
        fallback = versions.iloc[0] if len(versions) else None
        if fallback is not None:
            fallbacks.append(fallback)
        if fallback is not None and pd.Timestamp(fallback["extracted_at"]) > pd.Timestamp(row.extracted_at):
            continue  # corrected by the source after the future-dated version: that one is history
        held.append(
            HeldBack(
                str(row.source_id),
                object_type,
                "source_updated_at",
                "future_timestamp",
                f"source_updated_at is later than now + the future_tolerance of canonical.yaml "
                f"({'an earlier version is used' if fallback is not None else 'no earlier version to use'})",
                payload_of(json.loads(row.payload)),
            )
        )
    kept = pd.concat([ok, pd.DataFrame(fallbacks, columns=ok.columns)], ignore_index=True) if fallbacks else ok
    kept = kept.sort_values("source_id", kind="stable")
    return [json.loads(p) for p in kept["payload"]], kept["source_id"].astype(str).tolist(), held


def _raw_versions_until(
    warehouse: Warehouse, source: str, object_type: str, source_ids: list[str], cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Raw versions of ``source_ids`` dated at most ``cutoff``, newest first per record (rarely needed).

    Only named parameters; the placeholder names are generated, never taken from data.
    """
    parts = []
    for start in range(0, len(source_ids), 500):
        chunk = source_ids[start : start + 500]
        params: dict[str, Any] = {"source": source, "object_type": object_type, "cutoff": cutoff.to_pydatetime()}
        params.update({f"id{i}": value for i, value in enumerate(chunk)})
        names = ", ".join(f":id{i}" for i in range(len(chunk)))
        parts.append(
            warehouse.query(
                "SELECT source_id, source_updated_at, payload, payload_hash, extracted_at FROM raw.payloads "
                "WHERE source = :source AND object_type = :object_type AND source_updated_at <= :cutoff "
                f"AND source_id IN ({names})",
                params,
            )
        )
    versions = pd.concat(parts, ignore_index=True)
    versions["source_id"] = versions["source_id"].astype(str)
    return versions.sort_values(
        ["source_id", "source_updated_at", "extracted_at", "payload_hash"],
        ascending=[True, False, False, False],
        kind="stable",
    ).reset_index(drop=True)


def _map_isolated(
    connector: Any, raw: dict[str, list[dict[str, Any]]], raw_ids: dict[str, list[str]]
) -> tuple[CanonicalBatch, list[Any], bool]:
    """``connector.to_canonical(raw)``, with a record whose mapping raises set aside instead of the source.

    Values the connector cannot type are left to :func:`_typed` (``deferred_typing``). When the mapping
    raises anyway, each object type's records are bisected alone to find the ones that raise on their
    own; those are quarantined (field ``(mapping)``) and the rest is mapped again together, so records
    that need each other (merges, associations) keep their context. If that still raises, the source
    is reported as one quarantine entry (source id ``*``) and left out of this run.
    """
    from crmhub.model import deferred_typing
    from crmhub.quality.canonical import HeldBack, payload_of

    with deferred_typing():
        try:
            return connector.to_canonical(raw), [], False
        except Exception as exc:  # noqa: BLE001 - any connector defect: isolate, do not stop every source
            log.warning("%s: mapping raised %s; isolating the records", connector.source_name, type(exc).__name__)
        held = []
        remaining: dict[str, list[dict[str, Any]]] = {}
        for object_type, payloads in raw.items():
            bad = _raising_records(connector, object_type, payloads)
            for pos, exc in sorted(bad.items()):
                held.append(
                    HeldBack(
                        raw_ids[object_type][pos],
                        object_type,
                        "(mapping)",
                        "mapping_error",
                        f"the {type(connector).__name__} mapping raised {type(exc).__name__}: {str(exc)[:300]}",
                        payload_of(payloads[pos]),
                    )
                )
            remaining[object_type] = [p for i, p in enumerate(payloads) if i not in bad]
        try:
            batch = connector.to_canonical(remaining)
        except Exception as exc:  # noqa: BLE001
            log.error(
                "%s: mapping fails as a whole (%s); the source is left out of this run", connector.source_name,
                type(exc).__name__,
            )  # fmt: skip
            whole = HeldBack(
                "*", "*", "(mapping)", "source_mapping_error",
                f"the {type(connector).__name__} mapping of the whole source raised {type(exc).__name__}: "
                f"{str(exc)[:300]}", "{}",
            )  # fmt: skip
            return CanonicalBatch(), [*held, whole], True
    log.warning("%s: %d record(s) whose mapping raised were quarantined", connector.source_name, len(held))
    return batch, held, False


def _raising_records(connector: Any, object_type: str, payloads: list[dict[str, Any]]) -> dict[int, Exception]:
    """Positions of the records whose mapping raises on their own (bisection), with the exception."""
    bad: dict[int, Exception] = {}
    stack = [list(range(len(payloads)))]
    while stack:
        positions = stack.pop()
        if not positions:
            continue
        try:
            connector.to_canonical({object_type: [payloads[i] for i in positions]})
            continue
        except Exception as exc:  # noqa: BLE001
            if len(positions) == 1:
                bad[positions[0]] = exc
                continue
        middle = len(positions) // 2
        stack += [positions[middle:], positions[:middle]]
    return bad


def _typed(frame: pd.DataFrame, name: str, columns: list[str], cutoff: pd.Timestamp) -> tuple[pd.DataFrame, list[Any]]:
    """``frame`` typed per its contract, without the records that cannot be typed or lie in the future."""
    from crmhub.model import type_frame
    from crmhub.quality.canonical import HeldBack, future_rows, payload_of

    original = frame.reset_index(drop=True)
    typed, problems = type_frame(original, columns)
    found = [(p.row, p.column, "canonical_type", p.reason) for p in problems]
    found += [
        (pos, col, "future_timestamp", f"{col} is later than now + the future_tolerance of canonical.yaml")
        for pos, col in future_rows(typed, cutoff)
    ]
    if not found:
        return typed, []
    held = []
    for pos, col, check, reason in found:
        source_id = original.at[pos, "source_id"]
        source_id = None if source_id is None or pd.isna(source_id) else str(source_id)
        held.append(HeldBack(source_id, name, col, check, reason, payload_of(original.iloc[pos])))
    keep = ~typed.index.isin([pos for pos, *_ in found])
    return typed[keep].reset_index(drop=True), held


def match_and_survive(
    warehouse: Warehouse, files: RunFiles, run_id: str, *, rules: PrecedenceRules, state_dir: Path | None = None
) -> dict[str, Any]:
    """Link records, keep golden IDs stable against the warehouse's xref, survive attributes.

    Steward decisions stored in the warehouse (link/split, merge undo) are applied here, on the run
    after they were taken; the review queue and the merge log are written for :func:`load_steward`.

    With ``state_dir`` (``<data dir>/state``, :func:`state_dir`) a run whose state describes the
    warehouse's latest load reconciles only the records that changed and those they touch, and
    writes only their results (:mod:`crmhub.stages.reconcile_delta`); any other run reconciles every
    record and keeps the state for the next one. The state becomes current when :func:`load` commits.
    """
    from crmhub.reconcile.pipeline import attach_interactions, reconcile
    from crmhub.reconcile.scope import ScopeLimits, supported
    from crmhub.stages import reconcile_delta as delta

    started = time.perf_counter()
    decisions = warehouse.steward_decisions()
    plan: delta.ScopePlan | None = None
    con = state = None
    reason = "no state directory"
    if state_dir is not None:
        import duckdb

        state = delta.ReconcileState(state_dir, warehouse.url.redacted())
        rules_hash = delta.rules_fingerprint(rules)
        ok, reason = state.trusted(warehouse.last_load(), rules_hash)
        if ok:
            ok, reason = supported(rules.matching)
        con = duckdb.connect()
        if ok:
            plan = delta.plan_scope(con, files.path("contacts"), state, rules, decisions)
            decays = any(a.half_life_days is not None for a in rules.attributes.values())
            meta = state.meta() or {}
            if decays and str(plan.as_of) != meta.get("as_of"):
                plan, reason = None, "trust decay and a newer business time: every golden record may change"
            else:
                reason = f"{plan.seeds} changed and {plan.gone} gone record(s), {len(plan.scope)} in scope"
    if plan is None:
        contacts = conform(files.read("contacts"), CONTACT_COLUMNS)
        previous_xref = warehouse.current_xref()
        result = reconcile(
            contacts, rules, previous_xref=previous_xref, decisions=decisions, with_keys=state_dir is not None
        )
        known: set[str] | None = set(previous_xref["golden_id"].dropna().astype(str))
    else:
        contacts = conform(plan.contacts, CONTACT_COLUMNS)
        result = reconcile(
            contacts,
            rules,
            previous_xref=plan.previous,
            decisions=decisions,
            as_of=plan.as_of,
            with_keys=True,
            limits=ScopeLimits(rules.matching, plan.counts),
            known_golden_ids=plan.known_ids,
        )
        known = None  # kept in the state's index; write_state adds this run's
    xref = record_state(result.xref, contacts)
    for name in ("golden", "lineage", "conflicts"):
        files.write(name, getattr(result, name))
    files.write("xref", xref)
    review = result.review  # an incremental run's: its scope's pairs (the load replaces only those)
    if plan is not None:
        files.write(delta.SCOPE_FILE, plan.scope)
    else:  # an earlier attempt of this run may have been incremental
        for name in (delta.SCOPE_FILE, delta.CONTEXT_GOLDEN_FILE):
            files.path(name).unlink(missing_ok=True)
    files.write("review", review)
    stats = dict(result.stats)
    stats["reconcile"] = {"mode": plan.mode if plan else "full", "reason": reason}
    if plan is not None:
        stats["reconcile"].update(
            {"seeds": plan.seeds, "gone": plan.gone, "scope": len(plan.scope), "plan_seconds": plan.seconds}
        )
    whole_xref = result.xref
    if plan is not None and any(files.path(name).exists() for name in LINKED_RECORDS):
        # the whole xref after this run: the state's rows outside the scope, the scope's new rows
        outside = con.execute(
            "SELECT i.source, i.source_id, i.golden_id FROM idx i ANTI JOIN scope USING (source, source_id)"
        ).df()
        whole_xref = pd.concat([outside, result.xref[["source", "source_id", "golden_id"]]], ignore_index=True)
    for name in LINKED_RECORDS:
        if files.path(name).exists():  # run folders of older runs have no such file
            linked = attach_golden_ids(conform(files.read(name), CanonicalBatch.CONTRACTS[name]), whole_xref)
            files.write(f"{name}_attached", linked)
            stats[f"{name}_attached"] = int(linked["golden_id"].notna().sum())
            stats[f"{name}_without_golden"] = int(linked["golden_id"].isna().sum())
    (files.folder / "merges.json").write_text(json.dumps(result.merges, default=str), encoding="utf-8")
    if plan is not None and state is not None:
        previous_fp = state.folder / "interactions.parquet"
        interactions, fingerprints = delta.rows_to_reload(con, files.path("interactions"), previous_fp, plan.scope)
        stats["interactions_reloaded"] = len(interactions)
        whole_xref = delta.context_xref(con, interactions, result.xref)  # all these rows read
        # golden contacts outside the scope these messages belong to: loaded by earlier runs (validate)
        outside = whole_xref.loc[~whole_xref["golden_id"].isin(result.golden["golden_id"]), ["golden_id"]]
        files.write(delta.CONTEXT_GOLDEN_FILE, outside.drop_duplicates().astype(str).reset_index(drop=True))
    else:
        interactions = files.read("interactions")
        fingerprints = None
    attached, unattributed = attach_interactions(conform(interactions, INTERACTION_COLUMNS), whole_xref)
    files.write("interactions_unattributed", unattributed)
    stats["interactions_unattributed"] = len(unattributed)
    attached, stats["interaction_filter"] = filter_interactions(files, attached, unattributed, whole_xref)
    files.write("interactions_attached", attached)
    stats["interactions_attached"] = len(attached)
    if state_dir is not None and con is not None:
        pending = files.folder / delta.PENDING
        delta.write_state(
            pending,
            con,
            files.path("contacts"),
            result,
            plan,
            rules_hash=delta.rules_fingerprint(rules),
            decisions=decisions,
            known=None if known is None else known | set(result.xref["golden_id"].dropna().astype(str)),
            as_of=str(plan.as_of if plan is not None else _newest(contacts)),
            state=state,
        )
        if fingerprints is None:
            fingerprints = delta.linked_fingerprints(con, files.path("interactions"))
        fingerprints.to_parquet(pending / "interactions.parquet", index=False)
        con.close()
    stats["seconds"] = round(time.perf_counter() - started, 2)
    log.info("reconcile %s: %s", run_id, json.dumps(stats, default=str))
    return files.record("match_and_survive", stats)


def _newest(contacts: pd.DataFrame) -> pd.Timestamp | None:
    """The newest business time of the run's contacts (reconcile's default ``as_of``)."""
    if contacts.empty:
        return None
    return pd.Timestamp(contacts["source_updated_at"].max())


def filter_interactions(
    files: RunFiles, attached: pd.DataFrame, unattributed: pd.DataFrame, xref: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Understand every social message and keep those ``include/config/interactions.yaml`` lets in.

    Writes ``interaction_understanding`` (one row per inbound social message, with its evidence),
    ``interactions_left_out`` (every message not entering core.interactions, with its rule) and
    ``interaction_filter.json`` (left-out messages per rule and channel) for the load; returns the kept
    interactions and the counts for the run summary (see :mod:`crmhub.messages.filter`).
    """
    from crmhub.messages.filter import load_interaction_filter, understand_and_filter

    result = understand_and_filter(attached, unattributed, xref, load_interaction_filter())
    files.write("interaction_understanding", result.understanding)
    files.write("interactions_left_out", result.left_out)
    (files.folder / "interaction_filter.json").write_text(json.dumps(result.counts_by_channel), encoding="utf-8")
    log.info("interaction filter: %s", json.dumps(result.summary()))
    return result.kept, result.summary()


def store_messages(warehouse: Warehouse, files: RunFiles, run_id: str) -> dict[str, int]:
    """After the load: store understanding and filter counts, route new messages (``warehouse.message_store``)."""
    if not files.path("interaction_understanding").exists():  # run folders of older runs
        return {}
    from crmhub.warehouse.message_store import store_messages as store

    counts_file = files.folder / "interaction_filter.json"
    counts = json.loads(counts_file.read_text(encoding="utf-8")) if counts_file.exists() else []
    return store(warehouse.engine, run_id, files.read("interaction_understanding"), counts)


def attach_golden_ids(frame: pd.DataFrame, xref: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (opportunities or cases) with its contact's ``golden_id``; null when there is none.

    The lookup is the one interactions use: ``(source, contact_source_id)`` → xref ``(source, source_id)``.
    Unlike interactions, every row is kept: an opportunity without a known contact is still revenue.
    """
    lookup = (
        xref[["source", "source_id", "golden_id"]]
        .dropna()
        .astype(str)
        .drop_duplicates(["source", "source_id"], keep="last")
        .rename(columns={"source": "_source", "source_id": "_contact"})
    )
    keyed = frame.assign(
        _source=frame["source"].astype(str),
        _contact=frame["contact_source_id"].map(lambda v: None if v is None or pd.isna(v) else str(v).strip()),
    )
    merged = keyed.merge(lookup, on=["_source", "_contact"], how="left", sort=False)
    out = merged.drop(columns=["_source", "_contact"]).reset_index(drop=True)
    out["golden_id"] = out["golden_id"].astype(object).where(out["golden_id"].notna(), None)
    return out


def record_state(xref: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """The xref plus each source record's own state (deleted, merged into another record in its source).

    The warehouse keeps these on the xref history, so a source-side delete or merge shows per record
    even when the golden record does not change.
    """
    state = (
        contacts[["source", "source_id", "source_updated_at", "is_deleted", "merged_into_source_id"]]
        .astype({"source": str, "source_id": str})
        .sort_values(["source", "source_id", "source_updated_at"], kind="stable")
        .drop_duplicates(["source", "source_id"], keep="last")
        .drop(columns="source_updated_at")
    )
    keyed = xref.astype({"source": str, "source_id": str})
    out = keyed.merge(state, on=["source", "source_id"], how="left", sort=False)
    out["is_deleted"] = out["is_deleted"].astype(object).where(out["is_deleted"].notna(), False).astype(bool)
    merged = out["merged_into_source_id"]
    out["merged_into_source_id"] = merged.astype(object).where(merged.notna(), None)
    return out.reset_index(drop=True)


def load_steward(warehouse: Warehouse, files: RunFiles, run_id: str) -> dict[str, int]:
    """After the load: replace the warehouse review queue and log this run's golden merges."""
    if not files.path("review").exists():
        return {}
    merges_file = files.folder / "merges.json"
    merges = json.loads(merges_file.read_text(encoding="utf-8")) if merges_file.exists() else []
    scope = None
    if files.path("reconcile_scope").exists():  # incremental run: its scope's pairs, golden IDs after it
        golden = files.read("xref")[["source", "source_id", "golden_id"]].astype(str)
        scope = files.read("reconcile_scope").astype(str).merge(golden, on=["source", "source_id"], how="left")
    return warehouse.store_steward_run(run_id, files.read("review"), merges, scope=scope)


#: Gates whose failing rows are quarantined instead of stopping the run; re-checked every run.
QUARANTINE_STAGES: tuple[str, ...] = ("canonical_contacts", "canonical_interactions")


def validate_canonical(
    warehouse: Warehouse | None, files: RunFiles, run_id: str, *, docs_dir: Path | None = None
) -> dict[str, Any]:
    """Canonical gate: quarantine rows failing ``on_failure: quarantine`` rules, stop on the others.

    Passing rows replace ``contacts``/``interactions`` for matching; held-back rows go to
    ``audit.quarantine`` with rule and reason (and to ``quarantine.parquet``). Results and
    quarantine are stored before a stopping failure raises, so a stopped run still shows why.
    """
    from crmhub.quality.gates import validate as gx_validate
    from crmhub.quality.quarantine_rules import apply_quarantine

    gates = []
    for stage, name in (("canonical_contacts", "contacts"), ("canonical_interactions", "interactions")):
        frame = files.read(f"canonical_{name}")
        report = gx_validate(stage, frame, run_id=run_id, docs_dir=docs_dir)
        gates.append((name, apply_quarantine(report, frame)))
    quarantined = pd.concat([g.quarantined for _, g in gates], ignore_index=True)
    files.write("quarantine", quarantined)
    for name, gate in gates:
        # canonicalize wrote every row under this name too; rewriting millions of unchanged rows
        # is skipped, unless an earlier attempt of this task left a filtered file behind.
        if len(gate.quarantined) or _rows_in(files, name) != len(gate.passed):
            files.write(name, gate.passed)
    reports = [g.report for _, g in gates]
    stats = {
        "quarantined_records": {g.report.stage: g.quarantined_records for _, g in gates},
        "quarantine_entries": len(quarantined),
    }
    if warehouse is not None:
        warehouse.store_quality_results(pd.concat([r.to_frame() for r in reports], ignore_index=True))
        stats["quarantine_store"] = warehouse.store_quarantine(quarantined)
    summary = _record_quality(files, "validate_canonical", reports, stats)
    _raise_blocking(reports, allow_quarantine=True)
    return summary


def validate(
    warehouse: Warehouse | None, files: RunFiles, run_id: str, *, docs_dir: Path | None = None
) -> dict[str, Any]:
    """Golden gate: golden records, their cross-reference and attached interactions; blocking stops.

    Runs after matching, before anything is loaded. Results are stored in the warehouse first
    (``audit.quality_results``), so a stopped run still shows what failed and how much.
    """
    from crmhub.quality.gates import validate as gx_validate

    golden, xref = files.read("golden"), files.read("xref")
    contacts = files.read("contacts")
    if files.path("reconcile_scope").exists():  # an incremental run wrote the scope's results only
        scope = files.read("reconcile_scope")
        contacts = contacts.merge(scope.astype(str), on=["source", "source_id"], how="inner")
    interactions = files.read("interactions_attached")
    golden_ids = set(golden["golden_id"].dropna())
    if files.path("reconcile_context_golden").exists():  # incremental run: goldens it did not re-derive
        golden_ids |= set(files.read("reconcile_context_golden")["golden_id"])
    per_golden = xref.groupby("golden_id").size()
    golden_frame = golden.assign(source_records=golden["golden_id"].map(per_golden).fillna(0).astype("int64"))
    links = contacts[["source", "source_id"]].merge(
        xref[["source", "source_id", "golden_id"]], on=["source", "source_id"], how="left"
    )
    links["golden_exists"] = links["golden_id"].isin(golden_ids)
    keys = interactions[["source", "source_id", "golden_id"]]
    interactions_frame = keys.assign(golden_exists=keys["golden_id"].isin(golden_ids))
    reports = [
        gx_validate("golden_contacts", golden_frame, run_id=run_id, docs_dir=docs_dir),
        gx_validate("golden_xref", links, run_id=run_id, docs_dir=docs_dir),
        gx_validate("interactions", interactions_frame, run_id=run_id, docs_dir=docs_dir),
    ]
    results = pd.concat([r.to_frame() for r in reports], ignore_index=True)
    files.write("quality_results", results)
    if warehouse is not None:
        warehouse.store_quality_results(results)
    summary = _record_quality(files, "validate_golden", reports, {})
    _raise_blocking(reports)
    return summary


def validate_warehouse(
    warehouse: Warehouse, files: RunFiles, run_id: str, *, docs_dir: Path | None = None
) -> dict[str, Any]:
    """Warehouse gate, after the load: SCD2 invariants, contact references, audit reconciliation.

    The load is committed by then, so a blocking failure cannot prevent it: the results are
    stored and the task fails loudly (the DAG run turns red), pointing at what to repair.
    """
    from crmhub.quality.gates import validate as gx_validate

    frames = warehouse.quality_check_frames(run_id)
    reports = [gx_validate(stage, frame, run_id=run_id, docs_dir=docs_dir) for stage, frame in frames.items()]
    warehouse.store_quality_results(pd.concat([r.to_frame() for r in reports], ignore_index=True))
    summary = _record_quality(files, "validate_warehouse", reports, {})
    _raise_blocking(reports)
    return summary


def _rows_in(files: RunFiles, name: str) -> int:
    """Row count of a run file from its Parquet footer, without reading the data."""
    import pyarrow.parquet as pq

    path = files.path(name)
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else -1


def _raise_blocking(reports: list[Any], *, allow_quarantine: bool = False) -> None:
    """One error naming every suite's blocking failures, so one red task tells the whole story."""
    from crmhub.errors import QualityGateFailed

    messages = []
    for report in reports:
        try:
            report.raise_if_blocking(allow_quarantine=allow_quarantine)
        except QualityGateFailed as exc:
            messages.append(str(exc))
    if messages:
        raise QualityGateFailed("\n".join(messages))


def _record_quality(files: RunFiles, gate: str, reports: list[Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Record one gate's counts and refresh ``validate``, the run's totals over every gate so far."""
    from crmhub.quality.report import summarize

    results = pd.concat([r.to_frame() for r in reports], ignore_index=True)
    failed = ~results["success"].astype(bool)
    stats = {
        "expectations": len(results),
        "passed": int((~failed).sum()),
        "failed_blocking": int((failed & (results["severity"] == "blocking")).sum()),
        "failed_warning": int((failed & (results["severity"] == "warning")).sum()),
        "data_docs": next((str(r.docs_index) for r in reports if r.docs_index), None),
        **extra,
    }
    log.info("quality gate %s:\n%s", gate, summarize(reports))
    if stats["data_docs"]:
        log.info("Data Docs: %s (in the Airflow UI: Browse > Data Docs)", stats["data_docs"])
    files.record(f"quality_{gate}", stats)
    summary_path = files.folder / "summary.json"
    steps = json.loads(summary_path.read_text(encoding="utf-8"))
    gates = [v for k, v in steps.items() if k.startswith("quality_")]
    total = {key: sum(int(g.get(key, 0)) for g in gates) for key in ("expectations", "passed", "failed_blocking")}
    total["failed_warning"] = sum(int(g.get("failed_warning", 0)) for g in gates)
    total["quarantined"] = sum(int(g.get("quarantine_entries", 0)) for g in gates)
    total["gates"] = sorted(k.removeprefix("quality_") for k, v in steps.items() if k.startswith("quality_"))
    total["data_docs"] = next((g["data_docs"] for g in gates if g.get("data_docs")), None)
    files.record("validate", total)
    return stats


def load(warehouse: Warehouse, files: RunFiles, run_id: str, *, state_dir: Path | None) -> dict[str, Any]:
    """Load golden contacts (SCD2, golden merges closed), xref, lineage, conflicts, interactions,
    opportunities, cases and campaigns in one transaction.

    The warehouse hands over only what changed since its last load, by the fingerprints it keeps
    under ``state_dir`` (``<data dir>/state``, :func:`state_dir`; see :mod:`crmhub.warehouse.handover`),
    so a run's load costs what changed rather than what the warehouse holds; the first run, or any
    run whose comparison state cannot be trusted, hands over the whole snapshot.
    """
    partial = files.path("reconcile_scope").exists()  # an incremental reconcile wrote only its scope
    loaded = warehouse.load_run(files.folder, run_id, state_dir=state_dir, partial=partial)
    pending = files.folder / "reconcile_state"
    if state_dir is not None and pending.exists() and loaded.stats.load_id is not None:
        from crmhub.stages.reconcile_delta import ReconcileState

        try:  # the next run's reconcile may now work on what changed since this one
            ReconcileState(state_dir, warehouse.url.redacted()).commit(pending, loaded.stats.load_id)
        except OSError as exc:  # the next run then reconciles every record
            log.warning("load: could not keep the reconcile state (%s); the next run is a full reconcile", exc)
    result = {"run_id": run_id, **loaded.summary(), **load_steward(warehouse, files, run_id)}
    result.update(store_messages(warehouse, files, run_id))
    if files.path("quarantine").exists():  # the canonical gate ran: its earlier entries may be fixed now
        result["quarantine_resolved"] = warehouse.resolve_quarantine(run_id, list(QUARANTINE_STAGES))
    log.info("load: %s", json.dumps(result, default=str))
    return files.record("load", result)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return conform(pd.concat(frames, ignore_index=True), columns) if frames else empty_frame(columns)
