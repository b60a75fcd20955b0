"""Run both fake vendor APIs in background threads, for tests, demos and the benchmark.

Why a context manager: every test that talks HTTP needs real servers on free ports that start before
the first request and are gone afterwards, without leaking threads or ports between tests.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import requests
import uvicorn
from fastapi import FastAPI

from crmhub.sandbox.datagen import SandboxData, generate
from crmhub.sandbox.hootsuite import HootsuiteSettings, create_hootsuite_app
from crmhub.sandbox.hubspot import HubSpotSettings, create_hubspot_app

HOST = "127.0.0.1"


class _ThreadedServer:
    """One uvicorn server on an already-bound socket, served from a daemon thread."""

    def __init__(self, app: FastAPI, port: int, access_log: bool, host: str = HOST) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.port: int = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=access_log, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=f"sandbox-{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                try:
                    if requests.get(f"{self.url}/_sandbox/health", timeout=1).ok:
                        return
                except requests.ConnectionError:
                    pass
            if not self.thread.is_alive():
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"sandbox server on port {self.port} did not start within {timeout}s")

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)
        self.sock.close()


class SandboxServer:
    """Both fake vendors on 127.0.0.1 (or ``host``, e.g. 0.0.0.0 in a container), serving one data set.

    >>> with SandboxServer(seed=42, people=200) as sandbox:
    ...     requests.get(f"{sandbox.hubspot_url}/crm/v3/objects/contacts", headers=...)
    """

    def __init__(
        self,
        seed: int = 42,
        people: int = 200,
        *,
        data: SandboxData | None = None,
        hubspot_port: int = 0,
        hootsuite_port: int = 0,
        hubspot_settings: HubSpotSettings | None = None,
        hootsuite_settings: HootsuiteSettings | None = None,
        access_log: bool = False,
        startup_timeout: float = 15.0,
        host: str = HOST,
    ) -> None:
        self.data = data if data is not None else generate(seed=seed, people=people)
        self.hubspot_settings = hubspot_settings or HubSpotSettings()
        self.hootsuite_settings = hootsuite_settings or HootsuiteSettings()
        self.hubspot_app = create_hubspot_app(self.data, self.hubspot_settings)
        self.hootsuite_app = create_hootsuite_app(self.data, self.hootsuite_settings)
        self._ports = {"hubspot": hubspot_port, "hootsuite": hootsuite_port}
        self._access_log = access_log
        self._timeout = startup_timeout
        self._host = host
        self._servers: dict[str, _ThreadedServer] = {}

    @property
    def ground_truth(self) -> dict[str, Any]:
        return self.data.ground_truth

    @property
    def hubspot_url(self) -> str:
        return self._servers["hubspot"].url

    @property
    def hootsuite_url(self) -> str:
        return self._servers["hootsuite"].url

    def start(self) -> SandboxServer:
        try:
            for vendor, app in (("hubspot", self.hubspot_app), ("hootsuite", self.hootsuite_app)):
                server = _ThreadedServer(app, self._ports[vendor], self._access_log, self._host)
                self._servers[vendor] = server
                server.start(self._timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()

    def _app(self, vendor: str) -> FastAPI:
        apps = {"hubspot": self.hubspot_app, "hootsuite": self.hootsuite_app}
        if vendor not in apps:
            raise ValueError(f"unknown vendor {vendor!r}; use 'hubspot' or 'hootsuite'")
        return apps[vendor]

    def set_faults(self, vendor: str, **faults: int) -> dict[str, Any]:
        """Replace the vendor's faults (see ``FaultState``); counters restart from zero."""
        return self._app(vendor).state.faults.set(faults)

    def clear_faults(self, vendor: str | None = None) -> None:
        for name in [vendor] if vendor else ["hubspot", "hootsuite"]:
            self._app(name).state.faults.clear()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
