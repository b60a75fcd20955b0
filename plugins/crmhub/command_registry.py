"""The registry of ``python -m crmhub`` subcommands.

A subcommand is one decorated function that configures its parser and returns the handler. Modules
that hold subcommands import this registry (never :mod:`crmhub.cli`), and are named in the
``crmhub.commands`` entry-point group of ``pyproject.toml``; :mod:`crmhub.cli` loads that group, so
the dev tools outside the product package (``crmhub_dev``) add their commands without the product
importing them, and no command module imports the CLI that imports it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], Handler]

#: name -> (help text, function that adds arguments and returns the handler)
COMMANDS: dict[str, tuple[str, Configure]] = {}


def command(name: str, help: str) -> Callable[[Configure], Configure]:  # noqa: A002 (argparse's word)
    """Register a subcommand."""

    def register(configure: Configure) -> Configure:
        COMMANDS[name] = (help, configure)
        return configure

    return register
