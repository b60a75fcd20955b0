"""The one interface every source plugin implements.

A connector knows its vendor's wire format: how to page, authenticate, map records into the
canonical model. Everything else (landing, reconcile, load) is vendor-agnostic.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import requests

from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RateLimit, SourceHttpClient, retry_after_seconds
from crmhub.connectors.rate_limit_store import RedisRateLimitStore
from crmhub.connectors.writeback import ContactFields, FollowUp, WriteNotSupported, WriteOutcome
from crmhub.errors import SourceDataError
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


#: what :meth:`Connector.auth` returns: headers for a request; called with ``True`` to renew after a 401
AuthHeader = Callable[[bool], Mapping[str, str]]


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


class RecordError(SourceDataError):
    """One record of a page cannot be used; its page, pull and run go on without it (it is quarantined).

    ``field`` is the JSON path of the offending field (``id`` for a missing key); the message names the
    record and the field, never the value (it may be personal data).
    """

    def __init__(self, field: str, reason: str, record_id: str | None = None) -> None:
        self.field, self.reason, self.record_id = field, reason, record_id
        super().__init__(f"record {record_id or '(no id)'}: field {field!r}: {reason}")


@dataclass(frozen=True)
class RejectedRecord:
    """A record held back from landing: why, and its text as received (JSON, ASCII-escaped, so a lone
    surrogate or a bad byte survives as ``\\udcNN`` and PostgreSQL can store it)."""

    object_type: str
    source_id: str | None
    field: str
    reason: str
    payload: str
    page: int = 0
    endpoint: str = ""

    def describe(self, source: str) -> str:
        """Source, endpoint, page, record and field, without the value."""
        record = f"{self.object_type} record {self.source_id}" if self.source_id else "a record without id"
        return f"{source}: {self.endpoint} page {self.page}: {record}: field {self.field!r}: {self.reason}"


@dataclass
class Page:
    """One page of records and where it came from, for progress logs and error messages.

    ``rejected`` holds the page's records that cannot be landed (see :meth:`Connector.read_page`).
    """

    number: int
    endpoint: str
    records: list[RawRecord]
    rejected: list[RejectedRecord] = field(default_factory=list)


def bad_text_path(value: Any, path: str = "") -> tuple[str, str] | None:
    """The JSON path of the first string (key or value) holding a lone surrogate, and what it is.

    A lone surrogate comes from a byte that is not UTF-8 (decoded with ``surrogateescape``) or from a
    ``"\\ud800"`` escape; neither can be encoded as UTF-8, hashed or stored. None if all text is sound.
    """
    if isinstance(value, str):
        bad = _first_surrogate(value)
        if bad is None:
            return None
        code = ord(bad)
        if 0xDC80 <= code <= 0xDCFF:
            what = f"holds a byte that is not UTF-8 (0x{code - 0xDC00:02X}) or the escape \\u{code:04x}"
        else:
            what = f"holds the lone surrogate \\u{code:04x}, which is not text"
        return path or "$", what
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            if _first_surrogate(name) is not None:
                shown = name.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
                return f"{path}.{shown}" if path else shown, "is a field name that is not valid text"
            found = bad_text_path(item, f"{path}.{name}" if path else name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = bad_text_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _first_surrogate(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


def raw_text(item: Any) -> str:
    """A record as JSON text that any database can store: ASCII-escaped, so nothing of it is lost."""
    try:
        return json.dumps(item, sort_keys=True, ensure_ascii=True, default=str)
    except (TypeError, ValueError):
        return repr(item)


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


@dataclass(frozen=True)
class Option:
    """One source option a plugin reads (sources.yaml ``options``): its accepted types and its default.

    ``nullable`` options may be set to null (e.g. to switch off an org-specific field). ``bool`` is not
    an ``int`` here: ``page_size: true`` is refused.
    """

    types: type | tuple[type, ...]
    default: Any = None
    nullable: bool = False

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        if isinstance(value, bool) and bool not in types:
            return False
        return isinstance(value, types)

    def describe(self) -> str:
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        names = {str: "text", int: "whole number", float: "number", bool: "true/false", list: "list", dict: "mapping"}
        shown = " or ".join(names.get(t, t.__name__) for t in types)
        return f"{shown} or null" if self.nullable else shown


#: :meth:`Connector.erase` statuses: the vendor was asked; the vendor's API offers no deletion
ERASURE_REQUESTED = "requested"
ERASURE_NOT_SUPPORTED = "not supported by the vendor API"


class Connector(ABC):
    """Base class of source plugins.

    Subclasses set ``objects`` (what ``extract`` can pull, in dependency order) and implement
    ``extract`` and ``to_canonical``. ``http`` is a :class:`crmhub.connectors.http.SourceHttpClient`
    already bound to the source's base URL and credentials.
    """

    objects: ClassVar[tuple[str, ...]] = ()
    #: False for sources that read no API (a file drop): they need no Airflow Connection
    uses_connection: ClassVar[bool] = True
    #: the sources.yaml ``options`` the plugin reads, name -> :class:`Option`; ``crmhub.config.load_sources``
    #: refuses any other option and a value of the wrong type. None: the plugin declares none (not checked)
    options_spec: ClassVar[Mapping[str, Option] | None] = None

    def __init__(self, source_name: str, http: Any, options: Mapping[str, Any] | None = None) -> None:
        self.source_name = source_name
        self.http = http
        self.options = dict(options or {})
        #: the OAuth token provider, for plugins whose :meth:`auth` uses one
        self.tokens: Any = None

    @classmethod
    def connect(
        cls,
        source_name: str,
        session: requests.Session | None = None,
        base_url: str = "",
        credentials: Credentials | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Connector:
        """Build the connector on a configured session: the one ``connect`` of every plugin.

        Plugins adjust it through small hooks instead of copying it: :meth:`connect_options` (options
        taken from the Connection), :meth:`api_base_url`, :meth:`auth` (the auth-header callable; the
        default is a bearer token in ``password``), :meth:`prepare_session` and :meth:`wait_hint`. A
        source that reads no API (``uses_connection`` false) gets no HTTP client at all.
        """
        credentials = credentials or Credentials()
        merged = cls.connect_options(credentials, options)
        if not cls.uses_connection:
            return cls(source_name, None, merged)
        if session is None:
            raise ValueError(f"{source_name}: an HTTP source needs a session")
        http = SourceHttpClient(source_name, session, cls.api_base_url(base_url, credentials), wait_hint=cls.wait_hint)
        connector = cls(source_name, http, merged)
        http.auth_header = connector.auth(credentials, session)
        connector.prepare_session(session)
        return connector

    @classmethod
    def connect_options(cls, credentials: Credentials, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """The source options the connector is built with; plugins fill defaults from the Connection."""
        return dict(options or {})

    @classmethod
    def api_base_url(cls, base_url: str, credentials: Credentials) -> str:
        """Where API paths are resolved (the Connection's host unless the plugin knows better)."""
        return base_url.rstrip("/")

    def auth(self, credentials: Credentials, session: requests.Session) -> AuthHeader | None:
        """The HTTP client's auth-header callable (called with ``True`` to renew after a 401).

        The default is a bearer token in the Connection's password; OAuth plugins return a
        :class:`crmhub.connectors.oauth.TokenProvider`'s ``header`` (and keep it in ``self.tokens``).
        """
        token = credentials.password

        def bearer(_refresh: bool) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"} if token else {}

        return bearer

    def prepare_session(self, session: requests.Session) -> None:
        """Last touches on the session (vendor headers, response hooks); nothing by default."""
        return None

    def apply_rate_limits(self, limits: Iterable[Mapping[str, Any]], store: RedisRateLimitStore | None = None) -> None:
        """Make the API client keep to the vendor's configured request limits (sources.yaml ``rate_limits``).

        With a ``store`` (Airflow tasks: from ``CRMHUB_RATE_LIMIT_REDIS_URL``) the limits are shared by
        every worker calling the source; without one they hold per process. Connectors whose API client
        is not ``self.http`` override this.
        """
        if isinstance(self.http, SourceHttpClient):
            self.http.rate_limits = [RateLimit(**limit) for limit in limits]
            self.http.rate_limit_store = store

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """Seconds the vendor asks us to wait before retrying; override for vendor headers."""
        return retry_after_seconds(response)

    def read_page(
        self,
        number: int,
        endpoint: str,
        object_type: str,
        items: Iterable[Any],
        make: Callable[[Any], RawRecord],
        id_field: str | None = None,
    ) -> Page:
        """One page of records, each read on its own: a record that cannot be read is rejected, not the page.

        Every record is first checked for text that is not valid Unicode (a bad byte, a lone-surrogate
        escape; the field is named by its JSON path), then handed to the plugin's ``make``, which turns it
        into a :class:`RawRecord` or raises :class:`RecordError` naming the field (a missing id, an update
        time that is not a timestamp). ``id_field`` is where the vendor keeps the record id, so a rejected
        record is still named by it when it has one.
        """
        page = Page(number, endpoint, [])
        for item in items:
            record_id = _plain_id(item.get(id_field)) if id_field and isinstance(item, Mapping) else None
            bad = bad_text_path(item)
            if bad is not None:
                page.rejected.append(
                    RejectedRecord(object_type, record_id, bad[0], bad[1], raw_text(item), number, endpoint)
                )
                continue
            try:
                page.records.append(make(item))
            except RecordError as exc:
                page.rejected.append(
                    RejectedRecord(
                        object_type, exc.record_id or record_id, exc.field, exc.reason, raw_text(item), number, endpoint
                    )
                )
        return page

    @abstractmethod
    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        """Yield pages of raw records of ``object_type`` changed inside ``window``."""

    def commit(self, object_type: str) -> None:
        """Called once the pull of ``object_type`` has landed (transaction committed).

        Sources that consume their input (a file drop moves files to ``processed/``) do it here, so a
        failed landing leaves the input where it was for the next run. HTTP sources do nothing.
        """
        return None

    @classmethod
    def supports_erasure(cls) -> bool:
        """True when the plugin can ask its vendor to delete records (it overrides :meth:`erase`)."""
        return cls.erase is not Connector.erase

    def erase(self, source_ids: list[str]) -> dict[str, Any]:
        """Ask the vendor to delete these records for good (GDPR); counts only, never an identifier.

        Returns ``{"status": ERASURE_REQUESTED, "records": n, "deleted": k}`` (``k`` the records the vendor
        still had), or, by default, ``{"status": ERASURE_NOT_SUPPORTED, "records": n}``: the vendor's API
        has no deletion, so the hub can only stop re-importing them (suppression list). Raises when the
        vendor cannot be reached or refuses, so the caller keeps the request pending.
        """
        return {"status": ERASURE_NOT_SUPPORTED, "records": len(source_ids)}

    @classmethod
    def supports_writeback(cls) -> bool:
        """True when the plugin can write follow-ups back to its vendor (it overrides :meth:`write_followup`)."""
        return cls.write_followup is not Connector.write_followup

    def write_followup(self, followup: FollowUp) -> WriteOutcome:
        """Write one follow-up (task or case) for a routed message on the contact, at most once per key.

        Returns a :class:`~crmhub.connectors.writeback.WriteOutcome`: ``created``, or
        ``skipped_already_written`` when a record with ``followup.key`` already exists (found by the
        vendor's upsert/external id or by a lookup before create), or ``failed`` with the vendor's reason
        for this record alone (validation, a duplicate rule, a contact deleted meanwhile). Raises only
        when the vendor cannot be reached at all (then the whole run stops and is retried).
        """
        raise WriteNotSupported(f"{self.source_name}: this source takes no follow-ups")

    def write_contact_fields(self, update: ContactFields) -> WriteOutcome:
        """Write social fields on one contact; fields in ``update.only_if_empty`` only where empty now.

        ``updated`` (``fields`` names what was written), ``skipped_by_precedence`` when every field was
        CRM-led and filled, ``skipped_already_written`` when the contact already holds these values, or
        ``failed`` with the vendor's reason.
        """
        raise WriteNotSupported(f"{self.source_name}: this source takes no contact updates")

    @abstractmethod
    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        """Map the latest raw payloads per object type into canonical contacts and interactions."""


def _plain_id(value: Any) -> str | None:
    """A record id fit to name the record: a non-empty string or number whose text is valid Unicode."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    text = str(value)
    return None if _first_surrogate(text) is not None else text
