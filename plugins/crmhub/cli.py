"""Command line: ``python -m crmhub <command> ...``.

Subcommands live next to what they drive and register themselves in
:mod:`crmhub.command_registry`; this module loads every module of the ``crmhub.commands``
entry-point group (``pyproject.toml``) and dispatches. A group member that cannot be imported (the
dev tools are not part of a production image) is left out. Output is counts only: the terminal and
CI logs must never show personal data.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from crmhub.command_registry import COMMANDS
from crmhub.errors import CrmHubError

#: The product's own command modules, loaded even where the package is not installed (a checkout on
#: ``sys.path``); entry points add others (``crmhub_dev``'s demo and ui).
PRODUCT_COMMANDS = (
    "crmhub.reconcile.reconcile_command",
    "crmhub.warehouse.bi_commands",
    "crmhub.warehouse.steward_command",
    "crmhub.messages.classify_command",
    "crmhub.orchestration.deploy_command",
    "crmhub.orchestration.writeback_command",
)


def load_commands() -> None:
    """Import every command module: the product's and those named in the ``crmhub.commands`` group."""
    modules = list(PRODUCT_COMMANDS)
    modules += [ep.value for ep in entry_points(group="crmhub.commands") if ep.value not in modules]
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if module in PRODUCT_COMMANDS or not module.startswith(exc.name or "\0"):
                raise
            # an optional package (the dev tools) that this installation does not have


def build_parser() -> argparse.ArgumentParser:
    load_commands()
    parser = argparse.ArgumentParser(prog="python -m crmhub", description="Social CRM Hub tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, configure) in COMMANDS.items():
        child = sub.add_parser(name, help=help_text, description=help_text)
        child.set_defaults(handler=configure(child))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a subcommand; hub errors become a one-line message and exit code 2, not a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except CrmHubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
