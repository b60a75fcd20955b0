"""``python -m crmhub steward import-decisions FILE | queue``: steward decisions into the warehouse.

``import-decisions`` stores a CSV of decisions (the file format the file CLI's ``reconcile --decisions``
reads: ``left_source,left_source_id,right_source,right_source_id,decision[,restore_golden_id]``, plus
optional ``decided_by`` and ``decided_at``) in ``core.steward_decisions``, where the next reconcile run
applies them. ``queue`` prints the review queue's size and where to work it. Output is counts only.
"""

from __future__ import annotations

import argparse
import getpass
import os

from crmhub.command_registry import Handler, command
from crmhub.errors import CrmHubError

STEWARD_PAGE = "/crmhub-steward/"


def steward_page_url() -> str:
    """The steward page in the Airflow UI (``AIRFLOW__API__BASE_URL``, default the local api-server)."""
    base = os.environ.get("AIRFLOW__API__BASE_URL", "http://localhost:8080/").rstrip("/")
    return f"{base}{STEWARD_PAGE}"


@command("steward", "steward review in the warehouse: import a CSV of decisions, show the queue size")
def _steward(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--warehouse-url", default=None, metavar="URL", help="default: CRMHUB_WAREHOUSE_URL")
    sub = parser.add_subparsers(dest="steward_command", required=True, metavar="ACTION")
    imp = sub.add_parser("import-decisions", help="store a CSV of link/split decisions; the next run applies them")
    imp.add_argument(
        "file", metavar="FILE", help="CSV with left_source,left_source_id,right_source,right_source_id,decision"
    )
    imp.add_argument("--by", default=None, help="who imports (decided_by where the file has none); default: OS user")
    sub.add_parser("queue", help="print how many pairs wait for review and where to work them")

    def run(args: argparse.Namespace) -> int:
        from pathlib import Path

        import pandas as pd

        from crmhub.warehouse import Warehouse, steward
        from crmhub.warehouse.url import default_url

        with Warehouse.from_url(args.warehouse_url or default_url()) as wh:
            wh.migrate()
            if args.steward_command == "queue":
                print(f"{len(wh.review_queue())} pair(s) in steward review: {steward_page_url()}")
                return 0
            file = Path(args.file)
            if not file.is_file():
                raise CrmHubError(f"{file}: no such file")
            raw = pd.read_csv(file, dtype=str, keep_default_na=False).astype(object)
            stored = steward.import_decisions(wh.engine, raw.where(raw != "", None), args.by or getpass.getuser())
            print(f"stored {stored} steward decision(s) from {file.name}; the next reconcile run applies them")
            return 0

    return run
