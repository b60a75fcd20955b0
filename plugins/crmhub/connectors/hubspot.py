"""HubSpot CRM v3 contacts.

Full pulls page ``GET /crm/v3/objects/contacts`` (cursor in ``paging.next.after``, active and archived
lists separately). Incremental pulls use ``POST .../contacts/search`` on ``lastmodifieddate``; search
stops at 10,000 results per query, so a window that holds more is split in halves until each fits.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import requests

from crmhub.connectors.base import CanonicalBatch, Connector, Page, RawRecord, Window
from crmhub.connectors.http import retry_after_seconds
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CONTACT_COLUMNS, conform

log = logging.getLogger(__name__)

CONTACTS_PATH = "/crm/v3/objects/contacts"
SEARCH_PATH = "/crm/v3/objects/contacts/search"
SEARCH_CAP = 10_000
#: Contact properties holding social handles, in order of preference. ``twitterhandle`` is HubSpot's;
#: portals add their own (``instagram_handle`` here), so sources.yaml can override this map.
DEFAULT_SOCIAL_PROPERTIES = {"twitterhandle": "twitter", "instagram_handle": "instagram"}
PROPERTIES = [
    "firstname",
    "lastname",
    "email",
    "phone",
    "mobilephone",
    "address",
    "zip",
    "city",
    "country",
    "company",
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
]


class HubSpotConnector(Connector):
    """Contacts from HubSpot CRM v3 (private-app bearer token in the Connection's password)."""

    objects = ("contacts",)

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """HubSpot's 429s carry no Retry-After; its rate-limit headers say how long the window is."""
        hinted = retry_after_seconds(response)
        if hinted is not None:
            return hinted
        interval_ms = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
        if response.status_code == 429 and interval_ms and interval_ms.isdigit():
            return int(interval_ms) / 1000
        return None

    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        if object_type != "contacts":
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")
        pages = itertools.count(1)  # page numbers run on across lists and split windows, for messages
        if window.since is None:
            yield from self._list_all(pages, archived=False)
            yield from self._list_all(pages, archived=True)
        else:
            yield from self._search(pages, window.since, window.until)

    def _list_all(self, pages: Iterator[int], *, archived: bool) -> Iterator[Page]:
        page_size = int(self.options.get("page_size", 100))
        after: str | None = None
        while True:
            number = next(pages)
            params: list[tuple[str, Any]] = [("limit", page_size), ("archived", str(archived).lower())]
            params += [("properties", name) for name in self._properties()]
            if after:
                params.append(("after", after))
            _, body = self.http.request_json("GET", CONTACTS_PATH, page=number, params=params)
            results = _field(body, "results", self.source_name, CONTACTS_PATH, number)
            yield Page(number, CONTACTS_PATH, [self._raw(r, number) for r in results])
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def _search(self, pages: Iterator[int], since: datetime, until: datetime) -> Iterator[Page]:
        page_size = min(int(self.options.get("search_page_size", 100)), 200)
        after = 0
        while True:
            number = next(pages)
            body_in = {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": _ms(since)},
                            {"propertyName": "lastmodifieddate", "operator": "LT", "value": _ms(until)},
                        ]
                    }
                ],
                "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                "properties": self._properties(),
                "limit": page_size,
                "after": after,
            }
            _, body = self.http.request_json("POST", SEARCH_PATH, page=number, json_body=body_in)
            total = int(body.get("total", 0)) if isinstance(body, dict) else 0
            if after == 0 and total > SEARCH_CAP:
                middle = since + (until - since) / 2
                if middle <= since:
                    raise SourceDataError(
                        f"{self.source_name}: POST {SEARCH_PATH}: more than {SEARCH_CAP} contacts "
                        f"modified at one instant; cannot page past HubSpot's search cap"
                    )
                log.info("%s: %d changes in window exceed the search cap; splitting", self.source_name, total)
                yield from self._search(pages, since, middle)
                yield from self._search(pages, middle, until)
                return
            results = _field(body, "results", self.source_name, SEARCH_PATH, number)
            yield Page(number, SEARCH_PATH, [self._raw(r, number) for r in results])
            next_after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not next_after:
                return
            after = int(next_after)

    def _social_properties(self) -> dict[str, str]:
        return dict(self.options.get("social_properties", DEFAULT_SOCIAL_PROPERTIES))

    def _properties(self) -> list[str]:
        return PROPERTIES + [name for name in self._social_properties() if name not in PROPERTIES]

    def _raw(self, record: Any, page: int) -> RawRecord:
        if not isinstance(record, dict) or not record.get("id"):
            raise SourceDataError(f"{self.source_name}: {CONTACTS_PATH} page {page}: record without 'id'")
        try:
            updated = parse_timestamp(record.get("updatedAt"))
        except ValueError as exc:
            raise SourceDataError(
                f"{self.source_name}: contact {record['id']}: field 'updatedAt' is not a timestamp"
            ) from exc
        return RawRecord("contacts", str(record["id"]), updated, record)

    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        rows = []
        social = self._social_properties()
        for record in raw.get("contacts", []):
            props = record.get("properties") or {}
            prop, network = next(((p, n) for p, n in social.items() if props.get(p)), (None, None))
            handle = props.get(prop) if prop else None
            rows.append(
                {
                    "source": self.source_name,
                    "source_id": str(record["id"]),
                    "source_created_at": parse_timestamp(record.get("createdAt")),
                    "source_updated_at": parse_timestamp(record.get("updatedAt")),
                    "first_name": props.get("firstname"),
                    "last_name": props.get("lastname"),
                    "email": props.get("email"),
                    "phone": props.get("phone") or props.get("mobilephone"),
                    "address_line": props.get("address"),
                    "postcode": props.get("zip"),
                    "city": props.get("city"),
                    "country": props.get("country"),
                    "social_network": network,
                    "social_handle": handle,
                    "company": props.get("company"),
                    "is_deleted": bool(record.get("archived")),
                }
            )
        return CanonicalBatch(contacts=conform(pd.DataFrame(rows, columns=CONTACT_COLUMNS), CONTACT_COLUMNS))


def _ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _field(body: Any, name: str, source: str, endpoint: str, page: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get(name), list):
        raise SourceDataError(f"{source}: {endpoint} page {page}: response has no '{name}' list")
    return body[name]


CONNECTOR = HubSpotConnector
