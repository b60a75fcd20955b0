"""Alerts for people who are not watching: failed tasks and missed deadlines, by e-mail or webhook.

The channel is an Airflow Connection (``crmhub_alerts``) turned into a :class:`Channel` by the
orchestration layer: type ``smtp``/``email`` sends mail (host, port, login, password; extra ``to``,
``from``, ``starttls``), type ``http``/``https`` POSTs JSON to a webhook (extra ``endpoint``; a Slack
incoming-webhook URL works, it reads the ``text`` field). An alert names the DAG, task, run, try number
and a link to the log — never data: the only error detail sent is the exception's class name, since
messages can quote a record.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

import requests


@dataclass(frozen=True)
class Alert:
    """What went wrong where; every field is an identifier of Airflow objects, not of people."""

    kind: Literal["task_failed", "deadline_missed"]
    dag_id: str
    run_id: str
    task_id: str | None = None
    try_number: int | None = None
    log_url: str | None = None
    error_type: str | None = None
    deadline: str | None = None

    @property
    def subject(self) -> str:
        if self.kind == "deadline_missed":
            return f"[crmhub] deadline missed: {self.dag_id} run {self.run_id}"
        return f"[crmhub] task failed: {self.dag_id}.{self.task_id} run {self.run_id} try {self.try_number}"

    @property
    def text(self) -> str:
        lines = [self.subject]
        if self.kind == "deadline_missed":
            lines.append(f"The run had not finished by its deadline {self.deadline}; the warehouse may be stale.")
        else:
            lines.append(f"Error type: {self.error_type or 'unknown'} (details in the task log).")
        if self.log_url:
            lines.append(f"Log: {self.log_url}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "subject": self.subject, "text": self.text}


@dataclass(frozen=True)
class Channel:
    """Where alerts go, from the ``crmhub_alerts`` Connection."""

    kind: Literal["smtp", "webhook"]
    host: str
    port: int
    login: str | None = None
    password: str | None = None
    url: str | None = None
    sender: str = "crmhub@localhost"
    recipients: tuple[str, ...] = ()
    starttls: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_connection(
        cls,
        conn_type: str,
        host: str | None,
        port: int | None,
        schema: str | None,
        login: str | None,
        password: str | None,
        extra: dict[str, Any],
    ) -> Channel:
        """Build a channel from Connection fields; unknown types raise with the type named."""
        kind = (conn_type or "").lower()
        if kind in ("smtp", "email"):
            to = extra.get("to") or []
            recipients = tuple(t.strip() for t in (to.split(",") if isinstance(to, str) else to) if t.strip())
            if not recipients:
                raise ValueError("crmhub_alerts: an SMTP Connection needs extra {'to': 'ops@example.com'}")
            return cls(
                "smtp",
                host or "localhost",
                int(port or 25),
                login=login,
                password=password,
                sender=str(extra.get("from") or login or "crmhub@localhost"),
                recipients=recipients,
                starttls=bool(extra.get("starttls", False)),
            )
        if kind in ("http", "https", "webhook"):
            scheme = schema if schema in ("http", "https") else ("https" if kind == "https" else "http")
            endpoint = str(extra.get("endpoint", "/")).lstrip("/")
            base = host if (host or "").startswith(("http://", "https://")) else f"{scheme}://{host}"
            url = f"{base.rstrip('/')}{f':{port}' if port else ''}/{endpoint}"
            headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
            return cls("webhook", host or "", int(port or 0), url=url, headers=headers)
        raise ValueError(f"crmhub_alerts: Connection type {conn_type!r} is neither smtp/email nor http(s)")


def send(alert: Alert, channel: Channel, *, timeout: float = 15.0) -> None:
    """Deliver one alert; raises on delivery failure so the caller can log it."""
    if channel.kind == "webhook":
        assert channel.url
        response = requests.post(channel.url, json=alert.as_json(), headers=channel.headers, timeout=timeout)
        response.raise_for_status()
        return
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message.set_content(alert.text + "\n\n" + json.dumps(alert.as_json(), indent=2))
    with smtplib.SMTP(channel.host, channel.port, timeout=timeout) as smtp:
        if channel.starttls:
            smtp.starttls()
        if channel.login and channel.password:
            smtp.login(channel.login, channel.password)
        smtp.send_message(message)
