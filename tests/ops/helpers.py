"""Shared helpers for the operations tests: personal values of the sandbox, searching everything."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub.warehouse import Warehouse


def person_values(person: dict[str, Any]) -> set[str]:
    """Name, e-mail and phone of one ground-truth person (plus the handle), as the sandbox made them."""
    values = {person["email"], person["phone"], f"{person['first_name']} {person['last_name']}"}
    if person.get("handle"):
        values.add(person["handle"])
    return {v for v in values if v and len(v) > 5}


def sandbox_personal_values(ground_truth: dict[str, Any]) -> set[str]:
    values: set[str] = set()
    for person in ground_truth["persons"]:
        values |= person_values(person)
    return values


def find_in_warehouse(url: str, needles: Iterable[str]) -> dict[str, list[str]]:
    """Search every column of every table and view for each needle (case-insensitive)."""
    needles = [n.lower() for n in needles]
    hits: dict[str, list[str]] = {}
    with Warehouse.from_url(url) as warehouse:
        relations = warehouse.query(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('raw', 'staging', 'core', 'mart', 'audit', 'ops')"
        )
        for schema, table in relations.itertuples(index=False):
            frame = warehouse.query(f'SELECT * FROM "{schema}"."{table}"')
            text = frame.astype(str).to_csv(index=False).lower()
            found = [n for n in needles if n in text]
            if found:
                hits[f"{schema}.{table}"] = found
    return hits


def find_in_files(folder: Path, needles: Iterable[str]) -> dict[str, list[str]]:
    """Search run files (Parquet content, JSON, Data Docs) under ``folder`` for each needle."""
    needles = [n.lower() for n in needles]
    hits: dict[str, list[str]] = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix != ".duckdb"):
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype(str).to_csv(index=False).lower()
        elif path.suffix in (".wal", ".tmp"):
            continue
        else:
            text = path.read_text(encoding="utf-8", errors="ignore").lower()
        found = [n for n in needles if n in text]
        if found:
            hits[str(path.relative_to(folder))] = found
    return hits


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append({"path": self.path, "body": json.loads(body or b"{}")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def webhook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server recording every JSON POST: yields ``(base URL, received bodies)``."""
    received: list[dict[str, Any]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def alerts_connection(url: str, endpoint: str = "/alerts") -> str:
    """``AIRFLOW_CONN_CRMHUB_ALERTS`` for a webhook at ``url``."""
    host, port = url.removeprefix("http://").split(":")
    return json.dumps(
        {"conn_type": "http", "host": host, "port": int(port), "schema": "http", "extra": {"endpoint": endpoint}}
    )
