"""Alert messages and channels: what an alert says, and that it arrives by SMTP and by webhook."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy

import pytest

from crmhub.ops.notify import Alert, Channel, send

from .helpers import webhook_server

FAILED = Alert(
    kind="task_failed",
    dag_id="crmhub_ingest_hubspot",
    run_id="scheduled__2026-11-02T02:00:00+00:00",
    task_id="extract_contacts",
    try_number=3,
    log_url="http://airflow:8080/dags/crmhub_ingest_hubspot/runs/x/tasks/extract_contacts?try_number=3",
    error_type="SourceDataError",
)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to receive one message: EHLO, MAIL, RCPT, DATA, QUIT."""

    messages: list[dict[str, object]]

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        envelope: dict[str, object] = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                envelope["from"] = command.split(":", 1)[1].strip(" <>")
                self.reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(command.split(":", 1)[1].strip(" <>"))  # type: ignore[union-attr]
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                envelope["message"] = message_from_bytes(data, policy=policy.default)
                self.messages.append(envelope)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@contextmanager
def smtp_server() -> Iterator[tuple[int, list[dict[str, object]]]]:
    messages: list[dict[str, object]] = []
    handler = type("Handler", (_SMTPHandler,), {"messages": messages})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], messages
    finally:
        server.shutdown()
        server.server_close()


def test_a_failure_alert_names_dag_task_run_try_and_log_link_only():
    text = FAILED.text
    for part in (FAILED.dag_id, FAILED.task_id, FAILED.run_id, "try 3", FAILED.log_url, "SourceDataError"):
        assert part in text
    assert set(FAILED.as_json()) == {
        "kind", "dag_id", "run_id", "task_id", "try_number", "log_url", "error_type", "deadline", "subject", "text",
    }  # fmt: skip


def test_an_smtp_connection_delivers_the_alert_by_mail():
    with smtp_server() as (port, messages):
        channel = Channel.from_connection(
            "smtp", "127.0.0.1", port, None, None, None, {"to": "ops@example.com, data@example.com", "from": "hub@x"}
        )
        send(FAILED, channel)
    (envelope,) = messages
    assert envelope["rcpt"] == ["ops@example.com", "data@example.com"] and envelope["from"] == "hub@x"
    mail = envelope["message"]
    assert mail["Subject"] == FAILED.subject
    assert FAILED.log_url in mail.get_payload(decode=True).decode()


def test_a_webhook_connection_posts_the_alert_as_json():
    with webhook_server() as (url, received):
        host, port = url.removeprefix("http://").split(":")
        channel = Channel.from_connection("http", host, int(port), "http", None, None, {"endpoint": "/hooks/crmhub"})
        send(FAILED, channel)
    assert received == [{"path": "/hooks/crmhub", "body": FAILED.as_json()}]


def test_an_smtp_connection_without_recipients_is_a_clear_error():
    with pytest.raises(ValueError, match="needs extra"):
        Channel.from_connection("smtp", "mail", 25, None, None, None, {})
    with pytest.raises(ValueError, match="neither smtp"):
        Channel.from_connection("ftp", "x", 21, None, None, None, {})
