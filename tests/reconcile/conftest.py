"""Builders for small canonical contact frames, so each test states only the fields it is about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from crmhub.model import CONTACT_COLUMNS, conform
from crmhub.reconcile.rules import PrecedenceRules, load_rules

Contacts = Callable[..., pd.DataFrame]


def _contact(source: str = "hubspot", source_id: str = "1", updated: str = "2024-01-01", **fields: Any) -> dict:
    """One contact record; ``updated`` is the source's business timestamp (UTC)."""
    return {"source": source, "source_id": source_id, "source_updated_at": pd.Timestamp(updated, tz="UTC"), **fields}


@pytest.fixture
def contact() -> Callable[..., dict]:
    """``contact(source=..., source_id=..., updated=..., email=...)`` → one record dict."""
    return _contact


@pytest.fixture
def contacts() -> Contacts:
    """``contacts(dict, dict, ...)`` → a CONTACT_COLUMNS frame."""

    def build(*rows: dict) -> pd.DataFrame:
        return conform(pd.DataFrame(list(rows), columns=CONTACT_COLUMNS), CONTACT_COLUMNS)

    return build


@pytest.fixture
def default_rules() -> PrecedenceRules:
    return load_rules()
