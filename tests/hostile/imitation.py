"""An imitation of HubSpot's contact list endpoint that serves hand-made page bodies byte for byte.

The sandbox serialises everything it serves with a JSON library, so it cannot send what a broken
proxy or a vendor bug sends: bytes that are not UTF-8 inside one record, escapes of half a surrogate
pair, an HTML page with status 200, a page cut off in the middle. This server can. It speaks only
what ``HubSpotConnector`` needs for a full pull: ``GET /crm/v3/objects/contacts`` with ``after``
paging (``archived=true`` lists nothing).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

LIST_PATH = "/crm/v3/objects/contacts"
HTML_PAGE = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>upstream timed out</p></body></html>"


@dataclass
class Fault:
    """What to serve instead of a page, ``times`` times (then the page itself)."""

    kind: str  # "html200" | "truncated" | "401"
    times: int = 1


@dataclass
class Imitation:
    """Pages of contact records (as body bytes) and the faults to serve in front of them."""

    pages: list[bytes]
    faults: dict[int, Fault] = field(default_factory=dict)  # page number (1-based) -> fault
    requests: list[int] = field(default_factory=list)  # page numbers asked for, in order
    url: str = ""

    def body(self, number: int) -> tuple[int, str, bytes]:
        self.requests.append(number)
        fault = self.faults.get(number)
        if fault and fault.times > 0:
            fault.times -= 1
            if fault.kind == "html200":
                return 200, "text/html; charset=utf-8", HTML_PAGE
            if fault.kind == "truncated":
                return 200, "application/json;charset=utf-8", self.pages[number - 1][:-40]
            if fault.kind == "401":
                return 401, "application/json", b'{"status":"error","category":"INVALID_AUTHENTICATION"}'
            raise ValueError(fault.kind)
        return 200, "application/json;charset=utf-8", self.pages[number - 1]


def page_bodies(records: list[bytes], page_size: int) -> list[bytes]:
    """Join record JSON texts (already bytes) into HubSpot list pages with ``paging.next.after``."""
    chunks = [records[i : i + page_size] for i in range(0, len(records), page_size)] or [[]]
    bodies = []
    for number, chunk in enumerate(chunks, start=1):
        paging = b""
        if number < len(chunks):
            paging = b',"paging":{"next":{"after":"' + str(number + 1).encode() + b'","link":"x"}}'
        bodies.append(b'{"results":[' + b",".join(chunk) + b"]" + paging + b"}")
    return bodies


def record_bytes(record: dict[str, Any], raw: dict[str, str], raw_bytes: dict[str, bytes]) -> bytes:
    """A record's JSON with chosen property values replaced by hand-written JSON text or raw bytes."""
    record = json.loads(json.dumps(record))
    props = record.get("properties") if isinstance(record.get("properties"), dict) else {}
    for name in [*raw, *raw_bytes]:
        props[name] = f"@@{name}@@"
    text = json.dumps(record, ensure_ascii=False).encode("utf-8")
    for name, json_text in raw.items():
        text = text.replace(f'"@@{name}@@"'.encode(), json_text.encode("utf-8"))
    for name, value in raw_bytes.items():
        text = text.replace(f"@@{name}@@".encode(), value)
    return text


@contextmanager
def serve(imitation: Imitation) -> Iterator[Imitation]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path != LIST_PATH:
                self._send(404, "application/json", b'{"status":"error","message":"not found"}')
                return
            if query.get("archived") == ["true"]:
                self._send(200, "application/json", b'{"results":[]}')
                return
            number = int(query.get("after", ["1"])[0])
            self._send(*imitation.body(number))

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    imitation.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield imitation
    finally:
        server.shutdown()
        server.server_close()
