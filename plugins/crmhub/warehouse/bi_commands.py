"""``python -m crmhub dictionary | bi-role | bi-copy``: the warehouse's BI-facing commands.

Output is names and counts only (never data, never a password).
"""

from __future__ import annotations

import argparse
import os

from crmhub.command_registry import Handler, command
from crmhub.errors import CrmHubError


@command("dictionary", "write the data dictionary of the BI marts (docs/data_dictionary.md) from the schema")
def _dictionary(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="Markdown file to write (or, with --check, to compare); default: the committed docs/data_dictionary.md",
    )
    parser.add_argument(
        "--warehouse-url",
        default=None,
        metavar="URL",
        help="read the catalog of this (migrated) warehouse; default: a fresh DuckDB migrated from the repository DDL",
    )
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if FILE is out of date")

    def run(args: argparse.Namespace) -> int:
        import tempfile
        from pathlib import Path

        from crmhub.paths import PROJECT_DIR
        from crmhub.warehouse import Warehouse, dictionary

        if args.warehouse_url:
            with Warehouse.from_url(args.warehouse_url) as wh:
                text = dictionary.generate(wh)
        else:
            with tempfile.TemporaryDirectory(prefix="crmhub-dictionary-") as tmp:
                text = dictionary.generate_from_ddl(Path(tmp))
        out = Path(args.out) if args.out else PROJECT_DIR / "docs" / "data_dictionary.md"
        if args.check:
            current = out.read_text(encoding="utf-8") if out.exists() else None
            if current != text:
                print(f"{out} is out of date: run {dictionary.COMMAND}")
                return 1
            print(f"{out} is up to date")
            return 0
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}: {text.count(chr(10) + '## ')} mart view(s)")
        return 0

    return run


@command("bi-role", "create/refresh the read-only PostgreSQL role crmhub_bi (marts only) and optionally a login in it")
def _bi_role(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument("--warehouse-url", required=True, metavar="URL", help="postgresql://owner@host:port/db")
    parser.add_argument("--login", default=None, metavar="NAME", help="create (or update) this login user in crmhub_bi")
    parser.add_argument(
        "--password-env",
        default=None,
        metavar="VAR",
        help="set the login's password from this environment variable (never pass it on the command line)",
    )

    def run(args: argparse.Namespace) -> int:
        from crmhub.warehouse import Warehouse
        from crmhub.warehouse.bi import apply_bi_role

        password = None
        if args.password_env:
            if args.login is None:
                raise CrmHubError("--password-env needs --login")
            password = os.environ.get(args.password_env)
            if not password:
                raise CrmHubError(f"environment variable {args.password_env} is not set or empty")
        with Warehouse.from_url(args.warehouse_url) as wh:
            result = apply_bi_role(wh, args.login, password)
        print(f"role {result.role}: SELECT on {len(result.mart_views)} mart view(s), nothing else")
        if result.login:
            state = "created" if result.login_created else "updated"
            print(f"login {result.login}: {state}{', password set' if result.password_set else ''}")
        return 0

    return run


@command("bi-copy", "DuckDB: refresh the read-only copy BI tools open and print where it is and how to connect")
def _bi_copy(parser: argparse.ArgumentParser) -> Handler:
    parser.add_argument(
        "--warehouse-url", default=None, metavar="URL", help="duckdb:///abs/path.duckdb; default: the configured one"
    )
    parser.add_argument("--force", action="store_true", help="copy even if the copy holds the warehouse's state")

    def run(args: argparse.Namespace) -> int:
        from crmhub.warehouse import Warehouse, publish
        from crmhub.warehouse.url import BI_FILE_ENV, bi_file, default_url, parse_url

        url = parse_url(args.warehouse_url or default_url())
        if url.dialect != "duckdb" or url.path is None:
            raise CrmHubError(
                "bi-copy is for a DuckDB warehouse file; on PostgreSQL BI tools log in with the read-only "
                "role crmhub_bi (python -m crmhub bi-role) and never block a load"
            )
        if not url.path.exists():
            raise CrmHubError(f"no DuckDB warehouse at {url.path} (give --warehouse-url or CRMHUB_WAREHOUSE_URL)")
        target = bi_file(url)
        if target is None:
            raise CrmHubError(f"the BI copy is turned off ({BI_FILE_ENV}=off)")
        with Warehouse.from_url(url.redacted()) as wh:  # waits for a running load's lock
            wh.engine.publish_bi_copy(force=args.force)  # type: ignore[attr-defined]  # DuckDBEngine
        current = publish.published(target)
        if current is None:
            print(f"nothing published: {url.path} is not migrated yet")
            return 1
        print(
            f"BI copy {target}: {current.bytes / 2**20:.1f} MB, published {current.published_at}; "
            "refreshed after every load, retention run and erasure"
        )
        print("open it read-only (a reader on it never blocks a load; reconnect to see a newer load):")
        print(f"  DuckDB CLI     duckdb -readonly {target}")
        print(f'  Python         duckdb.connect("{target}", read_only=True)')
        print(f"  JDBC, DBeaver  jdbc:duckdb:{target}  with driver property duckdb.read_only=true")
        print(f"  SQL            ATTACH '{target}' AS crmhub (READ_ONLY)")
        print(f"query the mart schema (docs/data_dictionary.md); never open {url.path} itself")
        return 0

    return run
