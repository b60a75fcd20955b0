"""Erasure requests: how the person's identifier reaches the erasure DAG without staying in Airflow.

Airflow stores a DAG run's conf in its metadata DB (``dag_run.conf``) for as long as the run is kept,
and a task cannot change it (tasks have no ORM access). An e-mail address or phone number passed as
conf would therefore outlive the erasure it asked for. So the DAG does not take them:

* ``python -m crmhub.ops.erasure_requests email`` (or ``phone``) reads the identifier from the terminal
  (never from the command line, which shell history keeps), writes it to a request file
  ``<data dir>/ops/erasure_requests/<request_id>.json`` (mode 0600, on the data volume the workers
  share) and prints the request id;
* the DAG is triggered with ``{"request_id": "..."}`` — a random token that means nothing once the
  file is gone — and deletes the request file as soon as the person is erased from the hub;
* a ``golden_id`` may still be passed directly: it is a pseudonym of the hub's own that no longer
  points at anything after the erasure;
* conf holding ``email`` or ``phone`` is refused, saying how to do it instead.

The vendor record IDs that still have to be deleted at a vendor wait in
``<data dir>/ops/vendor_deletions/<erasure_id>.json`` (record IDs only, no e-mail or phone) until
every vendor confirmed; then that file goes too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmhub.ops.erasure import KINDS, ErasureRequest

REQUESTS_DIR = Path("ops") / "erasure_requests"
VENDOR_DIR = Path("ops") / "vendor_deletions"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PLAIN_KINDS = ("email", "phone")


class RequestError(ValueError):
    """The DAG run's parameters do not name one erasure request; the message says what to do."""


def _write_private(path: Path, content: dict[str, Any]) -> None:
    """Write JSON atomically, readable by the owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(content, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def request_path(data_dir: Path, request_id: str) -> Path:
    if not _TOKEN.match(request_id or ""):
        raise RequestError("request_id must be the token printed by `python -m crmhub.ops.erasure_requests`")
    return Path(data_dir) / REQUESTS_DIR / f"{request_id}.json"


def create_request(data_dir: Path, kind: str, value: str) -> str:
    """Store one identifier (``email`` or ``phone``) for the erasure DAG; returns the request id."""
    if kind not in PLAIN_KINDS or not str(value or "").strip():
        raise RequestError(f"an erasure request needs one of {', '.join(PLAIN_KINDS)} and a value")
    request_id = secrets.token_urlsafe(18)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    _write_private(request_path(data_dir, request_id), {"kind": kind, "value": value.strip(), "created_at": created})
    return request_id


def delete_request(data_dir: Path, request_id: str) -> bool:
    """Remove the request file (the identifier leaves the hub); ``False`` if it was already gone."""
    try:
        request_path(data_dir, request_id).unlink()
        return True
    except FileNotFoundError:
        return False


def resolve(params: dict[str, Any], data_dir: Path) -> tuple[ErasureRequest, str | None]:
    """The erasure request of a DAG run's params: ``(request, request_id or None)``.

    ``request_id`` (a request file) or ``golden_id``, exactly one; ``email``/``phone`` are refused.
    """
    plain = [k for k in PLAIN_KINDS if str(params.get(k) or "").strip()]
    if plain:
        raise RequestError(
            f"{plain[0]!r} in the DAG run's conf is refused: Airflow would keep it in plain text in its "
            "metadata DB. Create a request with `python -m crmhub.ops.erasure_requests "
            f'{plain[0]}` and trigger with {{"request_id": "..."}} (docs/operations.md)'
        )
    request_id = str(params.get("request_id") or "").strip()
    golden_id = str(params.get("golden_id") or "").strip()
    if bool(request_id) == bool(golden_id):
        raise RequestError("give exactly one of request_id, golden_id")
    if golden_id:
        return ErasureRequest("golden_id", golden_id), None
    path = request_path(data_dir, request_id)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RequestError(
            f"erasure request {request_id} not found in {path.parent} (already carried out, or made on "
            "another data volume)"
        ) from None
    if stored.get("kind") not in KINDS:
        raise RequestError(f"erasure request {request_id}: unknown kind")
    return ErasureRequest.from_params({stored["kind"]: stored.get("value")}), request_id


# -- vendor deletions still to do ---------------------------------------------------------------------
def vendor_path(data_dir: Path, erasure_id: str) -> Path:
    if not _TOKEN.match(erasure_id or ""):
        raise RequestError("erasure_id must be an erasure's hex id")
    return Path(data_dir) / VENDOR_DIR / f"{erasure_id}.json"


def save_vendor_pending(data_dir: Path, erasure_id: str, pending: dict[str, list[str]]) -> Path | None:
    """Keep the vendor record IDs still to delete (until every vendor confirmed); none: remove the file."""
    path = vendor_path(data_dir, erasure_id)
    if not pending:
        path.unlink(missing_ok=True)
        return None
    _write_private(path, {"erasure_id": erasure_id, "pending": {k: sorted(v) for k, v in sorted(pending.items())}})
    return path


def load_vendor_pending(data_dir: Path, erasure_id: str) -> dict[str, list[str]]:
    try:
        stored = json.loads(vendor_path(data_dir, erasure_id).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return {k: list(v) for k, v in stored.get("pending", {}).items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crmhub.ops.erasure_requests",
        description="Store an erasure request (the identifier is read from the terminal or stdin) and print "
        "its request id for `airflow dags trigger crmhub_gdpr_erasure --conf '{\"request_id\": ...}'`.",
    )
    parser.add_argument("kind", choices=PLAIN_KINDS)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: CRMHUB_DATA_DIR")
    args = parser.parse_args(argv)
    if sys.stdin.isatty():
        import getpass

        value = getpass.getpass(f"{args.kind} of the person to erase (not echoed): ")
    else:
        value = sys.stdin.readline()
    from crmhub.paths import DATA_DIR

    data_dir = args.data_dir or Path(os.environ.get("CRMHUB_DATA_DIR", DATA_DIR))
    request_id = create_request(data_dir, args.kind, value)
    print(request_id)
    print(f'airflow dags trigger crmhub_gdpr_erasure --conf \'{{"request_id": "{request_id}"}}\'', file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
