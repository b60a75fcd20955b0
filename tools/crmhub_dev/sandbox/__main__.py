"""Command line: ``python -m crmhub_dev.sandbox serve|ground-truth``.

``serve`` runs every fake vendor in the foreground (for the docker-compose stack and manual demos),
on the ports of ``DEFAULT_PORTS`` unless ``--port vendor=PORT`` says otherwise, over HTTPS with the
project's CA under ``--tls``, and writes the legacy CRM export files into ``--drop-dir``;
``ground-truth`` writes the truth of a seed to a file so scoring needs no running server.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmhub_dev.sandbox.datagen import generate
from crmhub_dev.sandbox.hootsuite import HootsuiteSettings
from crmhub_dev.sandbox.hubspot import HubSpotSettings
from crmhub_dev.sandbox.server import SandboxServer
from crmhub_dev.sandbox.vendors import api_vendors

DEFAULT_PORTS = {"hubspot": 8081, "hootsuite": 8082, "salesforce": 8083, "dynamics": 8084, "sprout": 8085}


def _port(text: str) -> tuple[str, int]:
    """Parse ``vendor=PORT``."""
    name, _, port = text.partition("=")
    if name not in DEFAULT_PORTS or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected VENDOR=PORT with VENDOR one of {sorted(DEFAULT_PORTS)}, got {text!r}"
        )
    return name, int(port)


def _rate(text: str) -> tuple[int, int]:
    """Parse ``N/SECONDS`` (e.g. ``100/10``) into (max requests, interval in ms)."""
    try:
        count, _, seconds = text.partition("/")
        max_requests, interval = int(count), float(seconds or "10")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N/SECONDS such as 100/10, got {text!r}") from None
    if max_requests < 1 or interval <= 0:
        raise argparse.ArgumentTypeError(f"rate must be positive, got {text!r}")
    return max_requests, int(interval * 1000)


def _anchor(text: str) -> datetime:
    """``YYYY-MM-DD`` or ``today`` → midnight UTC of that day."""
    if text == "today":
        return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD or 'today', got {text!r}") from None


def _write_json(path: str, payload: dict[str, Any]) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crmhub_dev.sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the fake vendor APIs until killed")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 in a container)")
    serve.add_argument("--anchor", type=_anchor, default=None, metavar="YYYY-MM-DD",
                       help="newest data timestamp (default 2026-11-01; 'today' for today, UTC)")  # fmt: skip
    serve.add_argument("--port", type=_port, action="append", default=[], metavar="VENDOR=PORT",
                       help=f"listen port per vendor (defaults: {DEFAULT_PORTS})")  # fmt: skip
    serve.add_argument("--hubspot-port", type=int, help="same as --port hubspot=PORT")
    serve.add_argument("--hootsuite-port", type=int, help="same as --port hootsuite=PORT")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with the project's sandbox CA")
    serve.add_argument("--tls-dir", type=Path, help="where the CA and server certificate live (created if missing)")
    serve.add_argument("--drop-dir", type=Path, help="write the legacy CRM export files into this folder")
    serve.add_argument("--seed", type=int, default=42)
    serve.add_argument("--people", type=int, default=200)
    serve.add_argument("--ground-truth", metavar="PATH", help="also write the ground truth JSON here")
    serve.add_argument("--rate-limit", type=_rate, metavar="N/SECONDS", help="HubSpot window, default 100/10")
    serve.add_argument("--token-expires-in", type=int, default=3599, help="Hootsuite access-token lifetime (s)")
    truth = sub.add_parser("ground-truth", help="write the ground truth of a seed as JSON")
    truth.add_argument("--seed", type=int, default=42)
    truth.add_argument("--people", type=int, default=200)
    truth.add_argument("--out", required=True, metavar="PATH")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log = logging.getLogger("crmhub_dev.sandbox")

    if args.command == "ground-truth":
        _write_json(args.out, generate(seed=args.seed, people=args.people).ground_truth)
        log.info("ground truth for seed %d (%d people) written to %s", args.seed, args.people, args.out)
        return 0

    hubspot = HubSpotSettings()
    if args.rate_limit:
        hubspot.rate_limit_max, hubspot.rate_limit_interval_ms = args.rate_limit
    ports = {**DEFAULT_PORTS, **dict(args.port)}
    if args.hubspot_port:
        ports["hubspot"] = args.hubspot_port
    if args.hootsuite_port:
        ports["hootsuite"] = args.hootsuite_port
    data = generate(seed=args.seed, people=args.people, **({"anchor": args.anchor} if args.anchor else {}))
    sandbox = SandboxServer(
        data=data,
        host=args.host,
        ports={name: ports.get(name, 0) for name in api_vendors()},
        hubspot_settings=hubspot,
        hootsuite_settings=HootsuiteSettings(expires_in=args.token_expires_in),
        tls=args.tls,
        tls_dir=args.tls_dir,
    )
    if args.drop_dir and "legacy" in data.vendors:
        from crmhub_dev.sandbox.legacy_files import write_drop

        written = write_drop(data, args.drop_dir)
        log.info("legacy CRM export files written to %s: %d", args.drop_dir, len(written))
    if args.ground_truth:
        _write_json(args.ground_truth, sandbox.ground_truth)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with sandbox:
        for name in sandbox.vendors:
            log.info("%s sandbox on %s", name, sandbox.url(name))
        log.info("seed %d, %d people%s", args.seed, args.people, f"; CA {sandbox.ca_bundle}" if args.tls else "")
        stop.wait()
    log.info("sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
