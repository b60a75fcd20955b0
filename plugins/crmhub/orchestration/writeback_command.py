"""``python -m crmhub writeback [--dry-run] [--retry-failed]``: the write-back DAG's task, by hand.

Reaches the CRMs exactly as the DAG does: each source's connector from its Airflow Connection
(``SourceHook.for_source``: an ``AIRFLOW_CONN_<CONN_ID>`` variable or the metadata DB), with the
configured rate limits. ``--dry-run`` needs no Connection at all: it reads the warehouse, prints and
stores what would be written, and calls no CRM. Prints counts and record ids, never a value.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from crmhub.command_registry import Handler, command


@command("writeback", "write routed social messages back to the CRMs (follow-ups, social fields)")
def _writeback(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--dry-run", action="store_true", help="print and store what would be written; write nothing")
    parser.add_argument("--retry-failed", action="store_true", help="retry failures a steward has fixed")
    parser.add_argument("--warehouse-url", help="default: CRMHUB_WAREHOUSE_URL, else data/warehouse.duckdb")

    def run(args: argparse.Namespace) -> int:
        from crmhub.config import load_sources
        from crmhub.stages.writeback import run_writeback
        from crmhub.warehouse import connect_warehouse

        connect = None
        if not args.dry_run:
            from crmhub.orchestration.hooks import SourceHook

            connect = SourceHook.for_source
        run_id = f"cli__{datetime.now(UTC):%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:6]}"
        with connect_warehouse(args.warehouse_url) as warehouse:
            warehouse.migrate()
        # the stage opens the warehouse only to read its plan and record attempts, never during a CRM call
        report = run_writeback(
            lambda: connect_warehouse(args.warehouse_url),
            load_sources(),
            connect,
            run_id=run_id,
            dry_run=args.dry_run,
            retry_failed=args.retry_failed,
        )
        for source, record, reason in report.failures:
            print(f"failed: {source} record {record}: {reason}")
        return 1 if report.failures else 0

    return run
