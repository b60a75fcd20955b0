"""Run the fake vendor APIs in background threads, for tests, demos and the benchmark.

Why a context manager: every test that talks HTTP needs real servers on free ports that start before
the first request and are gone afterwards, without leaking threads or ports between tests.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI

from crmhub_dev.sandbox.datagen import SandboxData, generate
from crmhub_dev.sandbox.tls import SandboxTls, ensure_ca
from crmhub_dev.sandbox.vendors import api_vendors, vendor

HOST = "127.0.0.1"


class _ThreadedServer:
    """One uvicorn server on an already-bound socket, served from a daemon thread."""

    def __init__(
        self, app: FastAPI, port: int, access_log: bool, host: str = HOST, tls: SandboxTls | None = None
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port: int = self.sock.getsockname()[1]
        self.tls = tls
        ssl = {"ssl_certfile": str(tls.certfile), "ssl_keyfile": str(tls.keyfile)} if tls else {}
        config = uvicorn.Config(app, log_level="warning", access_log=access_log, lifespan="off", **ssl)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=f"sandbox-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        # "localhost" under TLS: the certificate names it, and clients check the name they dialled
        return f"https://localhost:{self.port}" if self.tls else f"http://{HOST}:{self.port}"

    def start(self, timeout: float) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        verify: bool | str = str(self.tls.ca_bundle) if self.tls else True
        while time.monotonic() < deadline:
            if self.server.started:
                try:
                    if requests.get(f"{self.url}/_sandbox/health", timeout=5, verify=verify).ok:
                        return
                except (requests.ConnectionError, requests.Timeout):  # not up yet, or a busy machine
                    pass
            if not self.thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"sandbox server on port {self.port} did not start within {timeout}s")

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=1)
        if self.thread.is_alive():  # a client still holds a connection open (keep-alive, a slow fault)
            self.server.force_exit = True
            self.thread.join(timeout=10)
        self.sock.close()


class SandboxServer:
    """The fake vendors on 127.0.0.1 (or ``host``, e.g. 0.0.0.0 in a container), serving one data set.

    ``vendors`` picks which to start (default: every API vendor in :data:`crmhub_dev.sandbox.vendors.VENDORS`);
    ``tls=True`` serves HTTPS with the project's own CA (:mod:`crmhub_dev.sandbox.tls`), whose certificate
    is ``sandbox.ca_bundle``.

    >>> with SandboxServer(seed=42, people=200) as sandbox:
    ...     requests.get(f"{sandbox.url('hubspot')}/crm/v3/objects/contacts", headers=...)
    """

    def __init__(
        self,
        seed: int = 42,
        people: int = 200,
        *,
        data: SandboxData | None = None,
        vendors: tuple[str, ...] | list[str] | None = None,
        ports: dict[str, int] | None = None,
        settings: dict[str, Any] | None = None,
        hubspot_port: int = 0,
        hootsuite_port: int = 0,
        hubspot_settings: Any = None,
        hootsuite_settings: Any = None,
        access_log: bool = False,
        startup_timeout: float = 15.0,
        host: str = HOST,
        tls: bool = False,
        tls_dir: Path | None = None,
    ) -> None:
        self.data = data if data is not None else generate(seed=seed, people=people)
        self.vendors = tuple(vendors) if vendors is not None else api_vendors()
        settings = dict(settings or {})
        if hubspot_settings is not None:
            settings["hubspot"] = hubspot_settings
        if hootsuite_settings is not None:
            settings["hootsuite"] = hootsuite_settings
        self.settings = {name: settings.get(name) or vendor(name).load("settings")() for name in self.vendors}
        self.apps: dict[str, FastAPI] = {
            name: vendor(name).load("app")(self.data, self.settings[name]) for name in self.vendors
        }
        self._ports = {"hubspot": hubspot_port, "hootsuite": hootsuite_port, **(ports or {})}
        self._access_log = access_log
        self._timeout = startup_timeout
        self._host = host
        self.tls = ensure_ca(tls_dir) if tls else None
        self._servers: dict[str, _ThreadedServer] = {}

    @property
    def ground_truth(self) -> dict[str, Any]:
        return self.data.ground_truth

    @property
    def ca_bundle(self) -> str | None:
        """The CA certificate clients must trust under ``tls=True`` (None on plain http)."""
        return str(self.tls.ca_bundle) if self.tls else None

    @property
    def verify(self) -> bool | str:
        """What to pass as ``requests``' ``verify`` to reach this sandbox."""
        return self.ca_bundle or True

    def url(self, vendor_name: str) -> str:
        if vendor_name not in self._servers:
            raise ValueError(f"sandbox vendor {vendor_name!r} is not running; started: {list(self._servers)}")
        return self._servers[vendor_name].url

    @property
    def hubspot_url(self) -> str:
        return self.url("hubspot")

    @property
    def hootsuite_url(self) -> str:
        return self.url("hootsuite")

    def airflow_connections(self) -> dict[str, dict[str, Any]]:
        """Airflow Connection fields per vendor (``conn_type``, ``login``, ``password``, ``extra``)."""
        out = {}
        for name in self.vendors:
            fields = dict(vendor(name).load("connection")(self.url(name), self.data, self.ca_bundle))
            if self.ca_bundle:
                fields["extra"] = {"verify": self.ca_bundle, **(fields.get("extra") or {})}
            out[name] = fields
        return out

    def start(self) -> SandboxServer:
        try:
            for name, app in self.apps.items():
                server = _ThreadedServer(app, self._ports.get(name, 0), self._access_log, self._host, self.tls)
                self._servers[name] = server
                server.start(self._timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()

    def _app(self, vendor_name: str) -> FastAPI:
        if vendor_name not in self.apps:
            raise ValueError(f"unknown vendor {vendor_name!r}; running: {sorted(self.apps)}")
        return self.apps[vendor_name]

    def set_faults(self, vendor: str, **faults: int) -> dict[str, Any]:
        """Replace the vendor's faults (see ``FaultState``); counters restart from zero."""
        return self._app(vendor).state.faults.set(faults)

    def clear_faults(self, vendor: str | None = None) -> None:
        for name in [vendor] if vendor else list(self.apps):
            self._app(name).state.faults.clear()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
