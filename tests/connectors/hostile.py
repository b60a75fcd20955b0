"""A tiny local HTTP server that imitates one vendor list endpoint and serves whatever bytes a test
gives it: records without ids, bytes that are not UTF-8, lone-surrogate escapes, HTML with status 200,
truncated JSON, a 401 in the middle of a pull. The network edge is real HTTP, as in the sandbox; only
the bodies are hand-made, because the point is input no well-behaved fake would produce.

Pages are served by their number (the request's ``after`` / ``$skiptoken``); each page is a list of
answers given in turn, the last one repeated, so "broken once, then fine" and "broken for good" are
both one line in a test.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

JSON = "application/json;charset=utf-8"
HTML_200 = b"<!DOCTYPE html><html><body><h1>We'll be right back</h1></body></html>"


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = JSON


def json_answer(data: Any, *, replace: dict[str, bytes] | None = None, status: int = 200) -> Answer:
    """JSON of ``data`` with placeholder strings swapped for raw bytes (``{"@BAD@": b'"Jan\\xff"'}``)."""
    body = json.dumps(data, ensure_ascii=False).encode()
    for placeholder, raw in (replace or {}).items():
        body = body.replace(json.dumps(placeholder).encode(), raw)
    return Answer(status, body)


def truncated(answer: Answer) -> Answer:
    return Answer(answer.status, answer.body[: len(answer.body) // 2], answer.content_type)


def html_200() -> Answer:
    return Answer(200, HTML_200, "text/html; charset=utf-8")


@dataclass
class HostileServer:
    """``pages[n]``: the answers for page ``n`` (1-based), given in turn; ``token`` is the bearer expected."""

    pages: dict[int, list[Answer]] = field(default_factory=dict)
    token: str = "tok"
    hits: Counter[int] = field(default_factory=Counter)
    token_requests: int = 0
    #: the page number a request asks for; vendor-specific (HubSpot's ``after``, Dataverse's ``$skiptoken``)
    page_of: Callable[[dict[str, list[str]]], int] = lambda q: int((q.get("after") or ["1"])[0])
    empty: Answer = field(default_factory=lambda: json_answer({"results": []}))

    def __enter__(self) -> HostileServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def _send(self, answer: Answer) -> None:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def do_POST(self) -> None:  # the OAuth token endpoint
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.token_requests += 1
                server.token = f"tok{server.token_requests}"
                self._send(json_answer({"access_token": server.token, "expires_in": 3600, "token_type": "Bearer"}))

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._send(json_answer({"message": "token expired", "category": "EXPIRED"}, status=401))
                    return
                if query.get("archived") == ["true"]:
                    self._send(server.empty)
                    return
                number = server.page_of(query)
                server.hits[number] += 1
                answers = server.pages[number]
                answer = answers[min(server.hits[number], len(answers)) - 1]
                if answer.status == 401:
                    server.token = "revoked"  # every token issued so far stops working
                self._send(answer)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"
