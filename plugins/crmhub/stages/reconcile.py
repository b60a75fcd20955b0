"""Reconcile stage: raw payloads → canonical records → golden contacts → quality gate → warehouse.

Each step reads and writes Parquet files in a run folder, so each can be its own Airflow task, be
retried alone, and be inspected after the run. The load is the only step that changes the
warehouse, and it does so in one transaction.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.config import SourceConfig
from crmhub.connectors.registry import connector_class
from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, conform, empty_frame

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


def canonicalize(warehouse: Any, sources: dict[str, SourceConfig], files: RunFiles) -> dict[str, Any]:
    """Map the newest raw payload of every source record into the canonical model."""
    contacts, interactions, counts = [], [], {}
    for source in sources.values():
        cls = connector_class(source.connector)
        connector = cls(source.name, None, source.options)
        raw: dict[str, list[dict[str, Any]]] = {}
        for object_type in source.objects:
            latest = warehouse.latest_raw(source.name, object_type)
            raw[object_type] = [json.loads(p) for p in latest["payload"]]
        batch = connector.to_canonical(raw)
        contacts.append(batch.contacts)
        interactions.append(batch.interactions)
        counts[source.name] = {
            "raw": {k: len(v) for k, v in raw.items()},
            "contacts": len(batch.contacts),
            "interactions": len(batch.interactions),
        }
        log.info(
            "%s: %d contacts, %d interactions canonicalized",
            source.name,
            len(batch.contacts),
            len(batch.interactions),
        )
    files.write("contacts", _concat(contacts, CONTACT_COLUMNS))
    files.write("interactions", _concat(interactions, INTERACTION_COLUMNS))
    return files.record("canonicalize", counts)


def match_and_survive(warehouse: Any, rules: Any, files: RunFiles) -> dict[str, Any]:
    """Link records, keep golden IDs stable against the warehouse's xref, survive attributes."""
    from crmhub.reconcile.pipeline import attach_interactions, reconcile

    contacts = conform(files.read("contacts"), CONTACT_COLUMNS)
    result = reconcile(contacts, rules, previous_xref=warehouse.current_xref())
    attached, unattributed = attach_interactions(conform(files.read("interactions"), INTERACTION_COLUMNS), result.xref)
    for name in ("golden", "xref", "lineage", "conflicts"):
        files.write(name, getattr(result, name))
    files.write("interactions_attached", attached)
    files.write("interactions_unattributed", unattributed)
    stats = dict(result.stats)
    stats["interactions_attached"] = len(attached)
    stats["interactions_unattributed"] = len(unattributed)
    log.info("reconcile: %s", json.dumps(stats, default=str))
    return files.record("match_and_survive", stats)


def validate(files: RunFiles, run_id: str, docs_dir: Path | None, warehouse: Any = None) -> dict[str, Any]:
    """Run the Great Expectations suites; a blocking failure raises before anything is loaded.

    Results are stored in the warehouse first (``audit.quality_results``), so a stopped run still
    shows what failed and how much.
    """
    from crmhub.quality.gates import validate as gx_validate

    reports = [
        gx_validate("canonical_contacts", files.read("contacts"), run_id=run_id, docs_dir=docs_dir),
        gx_validate("golden_contacts", files.read("golden"), run_id=run_id, docs_dir=docs_dir),
        gx_validate("interactions", files.read("interactions_attached"), run_id=run_id, docs_dir=docs_dir),
    ]
    results = pd.concat([r.to_frame() for r in reports], ignore_index=True)
    files.write("quality_results", results)
    summary = {
        "expectations": len(results),
        "passed": int(results["success"].sum()),
        "failed_blocking": int((~results["success"] & (results["severity"] == "blocking")).sum()),
        "failed_warning": int((~results["success"] & (results["severity"] == "warning")).sum()),
        "data_docs": next((str(r.docs_index) for r in reports if getattr(r, "docs_index", None)), None),
    }
    log.info("quality: %s", json.dumps(summary))
    files.record("validate", summary)
    if warehouse is not None:
        warehouse.store_quality_results(results)
    for report in reports:
        report.raise_if_blocking()
    return summary


def load(warehouse: Any, files: RunFiles, run_id: str) -> dict[str, Any]:
    """Load golden contacts (SCD2), xref, lineage, conflicts and interactions in one transaction."""
    stats = warehouse.load_reconciled(
        run_id,
        golden=files.read("golden"),
        xref=files.read("xref"),
        lineage=files.read("lineage"),
        conflicts=files.read("conflicts"),
        interactions=files.read("interactions_attached"),
    )
    result = {"run_id": run_id, **stats.counts()}
    log.info("load: %s", json.dumps(result, default=str))
    return files.record("load", result)


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return conform(pd.concat(frames, ignore_index=True), columns) if frames else empty_frame(columns)
