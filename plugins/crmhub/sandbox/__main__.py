"""Command line: ``python -m crmhub.sandbox serve|ground-truth``.

``serve`` runs both fake vendors in the foreground (for the docker-compose stack and manual demos);
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

from crmhub.sandbox.datagen import generate
from crmhub.sandbox.hootsuite import HootsuiteSettings
from crmhub.sandbox.hubspot import HubSpotSettings
from crmhub.sandbox.server import SandboxServer


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
    parser = argparse.ArgumentParser(prog="python -m crmhub.sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the fake HubSpot and Hootsuite APIs until killed")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 in a container)")
    serve.add_argument("--anchor", type=_anchor, default=None, metavar="YYYY-MM-DD",
                       help="newest data timestamp (default 2026-11-01; 'today' for today, UTC)")  # fmt: skip
    serve.add_argument("--hubspot-port", type=int, default=8081)
    serve.add_argument("--hootsuite-port", type=int, default=8082)
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
    log = logging.getLogger("crmhub.sandbox")

    if args.command == "ground-truth":
        _write_json(args.out, generate(seed=args.seed, people=args.people).ground_truth)
        log.info("ground truth for seed %d (%d people) written to %s", args.seed, args.people, args.out)
        return 0

    hubspot = HubSpotSettings()
    if args.rate_limit:
        hubspot.rate_limit_max, hubspot.rate_limit_interval_ms = args.rate_limit
    sandbox = SandboxServer(
        data=generate(seed=args.seed, people=args.people, **({"anchor": args.anchor} if args.anchor else {})),
        host=args.host,
        hubspot_port=args.hubspot_port,
        hootsuite_port=args.hootsuite_port,
        hubspot_settings=hubspot,
        hootsuite_settings=HootsuiteSettings(expires_in=args.token_expires_in),
    )
    if args.ground_truth:
        _write_json(args.ground_truth, sandbox.ground_truth)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with sandbox:
        log.info("hubspot sandbox on %s, hootsuite sandbox on %s (seed %d, %d people)",
                 sandbox.hubspot_url, sandbox.hootsuite_url, args.seed, args.people)  # fmt: skip
        stop.wait()
    log.info("sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
