"""Credentials as a Connection holds them, handed to a connector without Airflow types.

``repr`` hides the secret so a stray log line or traceback never prints it. ``on_token_rotated`` is how a
caller (``crmhub.orchestration.hooks``) keeps a refresh token the vendor rotated, without the core
importing Airflow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Credentials:
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: called with a refresh token the vendor rotated (returned in place of the one used), so the
    #: caller can store it for the next run; the core never persists tokens itself
    on_token_rotated: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
