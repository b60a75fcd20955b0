"""The one YAML reader of every configuration file: errors name the file and where it went wrong.

A missing or unreadable file is a :class:`~crmhub.errors.ConfigError` on ``(file)``; a syntax error one on
``line N`` (with the column and the parser's complaint). Callers validate the document's keys themselves
and raise ConfigError naming the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crmhub.errors import ConfigError


def read_yaml(path: Path | str) -> Any:
    """Parse a YAML file (``None`` for an empty one); file and syntax errors become ConfigErrors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(path, "(file)", "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ConfigError(path, "(file)", f"cannot read: {reason}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        column = f", column {mark.column + 1}" if mark else ""
        raise ConfigError(path, where, f"invalid YAML{column}: {getattr(exc, 'problem', None) or exc}") from exc
