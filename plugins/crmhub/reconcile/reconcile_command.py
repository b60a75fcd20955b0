"""``python -m crmhub reconcile``: reconcile canonical contact files under a rules file, without Airflow."""

from __future__ import annotations

import argparse
import json

from crmhub.command_registry import Handler, command


@command("reconcile", "reconcile canonical contact files (CSV/Parquet) under a rules file")
def _reconcile_command(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument(
        "--contacts",
        nargs="+",
        required=True,
        metavar="FILE",
        help="canonical contact files (.csv or .parquet, columns = crmhub.model.CONTACT_COLUMNS)",
    )
    parser.add_argument(
        "--rules", metavar="FILE", default=None, help="precedence rules file (default: include/config/precedence.yaml)"
    )
    parser.add_argument(
        "--previous-xref", metavar="FILE", default=None, help="xref.csv of an earlier run, to keep golden ids stable"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="directory for golden/xref/lineage/conflicts/review_queue CSV"
    )
    parser.add_argument(
        "--decisions", metavar="FILE", default=None, help="steward decisions CSV (link/split pairs) to apply"
    )
    parser.add_argument(
        "--pins", metavar="FILE", default=None, help="steward pins CSV (golden_id,attribute,field,value)"
    )
    parser.add_argument(
        "--diff-rules",
        metavar="OLD_RULES",
        default=None,
        help="also reconcile under OLD_RULES and write rules_diff.csv: what changing OLD_RULES to --rules alters",
    )

    def run(args: argparse.Namespace) -> int:
        from pathlib import Path

        from crmhub.reconcile.diff import diff_results
        from crmhub.reconcile.files import read_contacts, read_table, write_result
        from crmhub.reconcile.pipeline import reconcile
        from crmhub.reconcile.rules import load_rules

        rules = load_rules(args.rules)
        contacts = read_contacts(args.contacts)
        previous = read_table(args.previous_xref) if args.previous_xref else None
        decisions = read_table(args.decisions) if args.decisions else None
        pins = read_table(args.pins) if args.pins else None
        result = reconcile(contacts, rules, previous, decisions=decisions, pins=pins)
        write_result(result, args.out)
        if args.diff_rules:
            old = reconcile(contacts, load_rules(args.diff_rules), previous, decisions=decisions, pins=pins)
            diff = diff_results(old, result)
            diff.to_csv(Path(args.out) / "rules_diff.csv", index=False)
            counts = diff["kind"].value_counts().to_dict()
            print(f"rules diff: {len(diff)} change(s) {json.dumps(counts, sort_keys=True)}; wrote rules_diff.csv")
        print(
            f"reconciled {result.stats['source_records']} source records "
            f"into {result.stats['golden']} golden records; wrote {args.out}"
        )
        print(json.dumps(result.stats, indent=2, sort_keys=True))
        return 0

    return run
