"""Adding a source is one plugin module and one config entry (README "Adding a source").

The example plugin in docs/examples/ticketdesk.py is copied in as a plain module, configured in a
sources file of its own, and used the way the ingest DAG uses it: against a small live HTTP API.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from crmhub.config import load_sources
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.registry import connector_class
from crmhub.paths import PROJECT_DIR
from crmhub.stages.ingest import ingest, pull_window
from crmhub.warehouse import Warehouse

CUSTOMERS = [
    {"id": i, "first_name": f"Klant{i}", "last_name": "Visser", "email": f"klant{i}@example.nl",
     "updated_at": f"2026-10-{10 + i:02d}T08:00:00Z", "created_at": "2026-01-01T00:00:00Z"}
    for i in range(1, 6)
]  # fmt: skip
TOKEN = "ticketdesk-test-token"


class _TicketDesk(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        query = parse_qs(url.query)
        page, per_page = int(query["page"][0]), int(query["per_page"][0])
        chunk = CUSTOMERS[(page - 1) * per_page : page * per_page]
        body = {"customers": chunk, "next_page": page + 1 if page * per_page < len(CUSTOMERS) else None}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ticketdesk_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TicketDesk)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    shutil.copy(PROJECT_DIR / "docs" / "examples" / "ticketdesk.py", folder / "ticketdesk.py")
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    sys.modules.pop("ticketdesk", None)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  ticketdesk:\n    connector: ticketdesk\n    conn_id: crmhub_ticketdesk\n"
        "    schedule: '0 3 * * *'\n    options: {page_size: 2}\n",
        encoding="utf-8",
    )
    return path


def test_a_plain_module_on_the_plugins_path_is_a_connector_plugin(plugin_dir: Path, tmp_path: Path) -> None:
    source = load_sources(_config(tmp_path))["ticketdesk"]
    assert source.objects == ("customers",)
    assert connector_class(source.connector).__name__ == "TicketDeskConnector"


def test_the_example_source_lands_and_maps_every_record(plugin_dir: Path, tmp_path: Path, ticketdesk_api: str) -> None:
    source = load_sources(_config(tmp_path))["ticketdesk"]
    cls = connector_class(source.connector)
    connector = cls.connect(
        source.name, requests.Session(), ticketdesk_api, Credentials(password=TOKEN), source.options
    )
    window = pull_window(
        datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC), source.overlap, full=True
    )
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as warehouse:
        warehouse.migrate()
        stats = ingest(connector, "customers", window, warehouse, "run-1")
        latest = warehouse.latest_raw("ticketdesk", "customers")
    assert (stats.pages, stats.landed) == (3, 5)
    contacts = connector.to_canonical({"customers": [json.loads(p) for p in latest["payload"]]}).contacts
    assert sorted(contacts["email"]) == sorted(c["email"] for c in CUSTOMERS)


def test_the_ingest_dag_is_generated_from_the_config_entry(plugin_dir: Path, tmp_path: Path) -> None:
    from crmhub.orchestration.ingest_dag import build_ingest_dag

    dag = build_ingest_dag(load_sources(_config(tmp_path))["ticketdesk"])
    assert dag.dag_id == "crmhub_ingest_ticketdesk"
    assert "extract_customers" in dag.task_ids
