"""A hub with data in it, without Airflow: HubSpot (over HTTPS with the project CA) and the legacy file
drop ingested into a real DuckDB warehouse and reconciled, as the DAGs would do it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from crmhub.config import load_sources
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.file_drop import FileDropConnector
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.stages.ingest import ingest, pull_window
from crmhub.warehouse import Warehouse
from crmhub_dev.sandbox import hubspot
from crmhub_dev.sandbox.legacy_files import SOURCE_OPTIONS, write_drop

NOW = datetime.now(UTC)
LEGACY = Path("drop") / "legacy"


def hub_sources() -> dict[str, Any]:
    """The configured HubSpot and legacy file-drop sources (the legacy folder is under the data dir)."""
    sources = load_sources()
    return {name: sources[name] for name in ("hubspot", "legacy")}


def fill_hub(sandbox: Any, warehouse: Warehouse, data_dir: Path, *, run_id: str = "fill") -> None:
    """Ingest HubSpot contacts and the legacy export files, then canonicalize, match and load."""
    session = requests.Session()
    session.verify = sandbox.verify
    hub = HubSpotConnector.connect(
        "hubspot", session, sandbox.hubspot_url, Credentials(password=hubspot.DEFAULT_TOKEN), {}
    )
    write_drop(sandbox.data, data_dir / LEGACY)
    legacy = FileDropConnector.connect("legacy", options={**SOURCE_OPTIONS, "folder": str(data_dir / LEGACY)})
    window = pull_window(NOW, NOW, timedelta(0), full=True)
    for connector in (hub, legacy):
        ingest(connector, "contacts", window, warehouse, run_id)
    files = stage.run_folder(data_dir, run_id)
    stage.canonicalize(warehouse, files, run_id, sources=load_sources())
    stage.match_and_survive(warehouse, files, run_id, rules=load_rules())
    stage.load(warehouse, files, run_id, state_dir=stage.state_dir(data_dir))


def person_in(ground_truth: dict[str, Any], *sources: str) -> dict[str, Any]:
    """A person with e-mail and phone, one live record in each of ``sources``, whose name nobody shares."""
    names = Counter(f"{p['first_name']} {p['last_name']}" for p in ground_truth["persons"])
    for person in ground_truth["persons"]:
        records = [r for r in person["source_records"] if not r.get("archived")]
        have = [r["source"] for r in records]
        if (
            all(have.count(s) == 1 for s in sources)
            and person["email"]
            and person["phone"]
            and names[f"{person['first_name']} {person['last_name']}"] == 1
        ):
            return person
    raise AssertionError(f"the sandbox data set has no person in {sources}")


def source_id(person: dict[str, Any], source: str) -> str:
    return next(r["source_id"] for r in person["source_records"] if r["source"] == source)
