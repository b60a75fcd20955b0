"""The one interface every source plugin implements.

A connector knows its vendor's wire format: how to page, authenticate, map records into the
canonical model. Everything else (landing, reconcile, load) is vendor-agnostic.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RateLimit, SourceHttpClient, retry_after_seconds
from crmhub.model import (
    CAMPAIGN_COLUMNS,
    CASE_COLUMNS,
    CONTACT_COLUMNS,
    INTERACTION_COLUMNS,
    OPPORTUNITY_COLUMNS,
    empty_frame,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Window:
    """The slice of source time to pull. ``since=None`` means a full pull."""

    since: datetime | None
    until: datetime


@dataclass(frozen=True)
class RawRecord:
    """One source record exactly as the vendor sent it, plus what landing needs to key it."""

    object_type: str
    source_id: str
    source_updated_at: datetime | None
    payload: Mapping[str, Any]

    @property
    def payload_json(self) -> str:
        """Canonical JSON (sorted keys) so equal payloads hash equally across runs."""
        return json.dumps(self.payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def payload_hash(self) -> str:
        return hashlib.sha256(self.payload_json.encode("utf-8")).hexdigest()


@dataclass
class Page:
    """One page of records and where it came from, for progress logs and error messages."""

    number: int
    endpoint: str
    records: list[RawRecord]


@dataclass
class CanonicalBatch:
    """A source's records mapped into the canonical model."""

    contacts: pd.DataFrame = field(default_factory=lambda: empty_frame(CONTACT_COLUMNS))
    interactions: pd.DataFrame = field(default_factory=lambda: empty_frame(INTERACTION_COLUMNS))
    opportunities: pd.DataFrame = field(default_factory=lambda: empty_frame(OPPORTUNITY_COLUMNS))
    cases: pd.DataFrame = field(default_factory=lambda: empty_frame(CASE_COLUMNS))
    campaigns: pd.DataFrame = field(default_factory=lambda: empty_frame(CAMPAIGN_COLUMNS))

    #: frame name -> column contract, in the order stages write them
    CONTRACTS: ClassVar[dict[str, list[str]]] = {
        "contacts": CONTACT_COLUMNS,
        "interactions": INTERACTION_COLUMNS,
        "opportunities": OPPORTUNITY_COLUMNS,
        "cases": CASE_COLUMNS,
        "campaigns": CAMPAIGN_COLUMNS,
    }


class Connector(ABC):
    """Base class of source plugins.

    Subclasses set ``objects`` (what ``extract`` can pull, in dependency order) and implement
    ``extract`` and ``to_canonical``. ``http`` is a :class:`crmhub.connectors.http.SourceHttpClient`
    already bound to the source's base URL and credentials.
    """

    objects: ClassVar[tuple[str, ...]] = ()
    #: False for sources that read no API (a file drop): they need no Airflow Connection
    uses_connection: ClassVar[bool] = True

    def __init__(self, source_name: str, http: Any, options: Mapping[str, Any] | None = None) -> None:
        self.source_name = source_name
        self.http = http
        self.options = dict(options or {})

    @classmethod
    def connect(
        cls,
        source_name: str,
        session: requests.Session,
        base_url: str,
        credentials: Credentials,
        options: Mapping[str, Any] | None = None,
    ) -> Connector:
        """Build the connector on a configured session; the default is a bearer token in ``password``."""
        token = credentials.password

        def bearer(_refresh: bool) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"} if token else {}

        http = SourceHttpClient(source_name, session, base_url, auth_header=bearer, wait_hint=cls.wait_hint)
        return cls(source_name, http, options)

    def apply_rate_limits(self, limits: Iterable[Mapping[str, Any]]) -> None:
        """Make the API client keep to the vendor's configured request limits (sources.yaml ``rate_limits``).

        Connectors whose API client is not ``self.http`` override this.
        """
        if isinstance(self.http, SourceHttpClient):
            self.http.rate_limits = [RateLimit(**limit) for limit in limits]

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """Seconds the vendor asks us to wait before retrying; override for vendor headers."""
        return retry_after_seconds(response)

    @abstractmethod
    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        """Yield pages of raw records of ``object_type`` changed inside ``window``."""

    def commit(self, object_type: str) -> None:
        """Called once the pull of ``object_type`` has landed (transaction committed).

        Sources that consume their input (a file drop moves files to ``processed/``) do it here, so a
        failed landing leaves the input where it was for the next run. HTTP sources do nothing.
        """
        return None

    @abstractmethod
    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        """Map the latest raw payloads per object type into canonical contacts and interactions."""
