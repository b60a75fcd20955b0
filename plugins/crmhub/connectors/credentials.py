"""Credentials as a Connection holds them, handed to a connector without Airflow types.

``repr`` hides the secret so a stray log line or traceback never prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Credentials:
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
