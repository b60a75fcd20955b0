"""HubSpot CRM v3 contacts, deals and notes, and HubSpot marketing campaigns.

Full pulls page ``GET /crm/v3/objects/<type>`` (cursor in ``paging.next.after``, active and archived lists
separately; deals and notes with ``associations=contacts``). Incremental pulls use
``POST /crm/v3/objects/<type>/search`` on the last-modified property (``lastmodifieddate`` for contacts,
``hs_lastmodifieddate`` for the others); search stops at 10,000 results per query, so a window that holds
more is split in halves until each fits. Search results carry no associations, so each page of deals or
notes is followed by one ``POST /crm/v3/associations/<type>/contacts/batch/read`` whose answer is put
into the records in the list call's shape: a record lands the same whichever way it was pulled.

Campaigns (``GET /marketing/v3/campaigns``) have no search endpoint and no archived listing: every pull
reads them all (a portal has tens, not thousands); landing skips the unchanged ones.

Merges: HubSpot keeps the winner, lists the losers in its ``hs_merged_object_ids`` (``;``-separated) and
drops the losers from the API. ``to_canonical`` marks every landed loser deleted and merged into its winner.

Social value: ``followercount`` is HubSpot's "Twitter followers" contact property (social media
information group); it becomes ``social_followers``.

Auth: a private-app token (Connection password). Such tokens do not expire by themselves; a token rotated
or revoked mid-run answers 401, the client retries once with the same token and then fails naming the page.

Write-back (issue 17): follow-up tasks and social contact fields, in :mod:`crmhub.connectors.hubspot_writes`.

Erasure (:meth:`HubSpotConnector.erase`): HubSpot's GDPR delete removes a contact for good, unlike the
plain ``DELETE``, which only archives it; a contact HubSpot no longer has answers 404 and is not counted.
"""

from __future__ import annotations

import html
import itertools
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests

from crmhub.connectors.base import (
    ERASURE_REQUESTED,
    CanonicalBatch,
    Connector,
    Option,
    Page,
    RawRecord,
    RecordError,
    Window,
)
from crmhub.connectors.http import SourceHttpClient, retry_after_seconds
from crmhub.connectors.hubspot_writes import DEFAULT_KEY_PROPERTY, write_contact, write_task
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.connectors.writeback import ContactFields, FollowUp, WriteOutcome
from crmhub.errors import SourceDataError
from crmhub.model import (
    CAMPAIGN_COLUMNS,
    CONTACT_COLUMNS,
    INTERACTION_COLUMNS,
    OPPORTUNITY_COLUMNS,
    conform,
)

log = logging.getLogger(__name__)

CONTACTS_PATH = "/crm/v3/objects/contacts"
SEARCH_PATH = "/crm/v3/objects/contacts/search"
CAMPAIGNS_PATH = "/marketing/v3/campaigns"
#: permanent deletion, unlike ``DELETE /crm/v3/objects/contacts/{id}``, which only archives
GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"
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
    "followercount",
    "hs_merged_object_ids",
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
]
DEAL_PROPERTIES = [
    "dealname",
    "amount",
    "dealstage",
    "pipeline",
    "closedate",
    "createdate",
    "hs_lastmodifieddate",
    "hs_is_closed",
    "hs_is_closed_won",
    "deal_currency_code",
    "hs_analytics_source",
    "hs_campaign",
    "hs_object_id",
    "hubspot_owner_id",  # the deal owner routing assigns sales follow-ups to (include/config/routing.yaml)
]
NOTE_PROPERTIES = ["hs_note_body", "hs_timestamp", "hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
CAMPAIGN_PROPERTIES = ["hs_name", "hs_start_date", "hs_end_date", "hs_campaign_status", "hs_audience",
                       "hs_currency_code"]  # fmt: skip
#: ``hs_analytics_source`` values as the lead-source names the marts group by
LEAD_SOURCES = {
    "SOCIAL_MEDIA": "Social Media",
    "PAID_SOCIAL": "Paid Social",
    "ORGANIC_SEARCH": "Organic Search",
    "PAID_SEARCH": "Paid Search",
    "EMAIL_MARKETING": "Email Marketing",
    "DIRECT_TRAFFIC": "Direct Traffic",
    "REFERRALS": "Referrals",
    "OTHER_CAMPAIGNS": "Other Campaigns",
    "OFFLINE": "Offline",
    "AI_REFERRALS": "AI Referrals",
}
TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class CrmObject:
    """How one CRM object type is listed and searched."""

    name: str  # singular, for messages
    modified_property: str
    properties: tuple[str, ...]
    associated: bool  # pull contact associations with it

    @property
    def path(self) -> str:
        return f"/crm/v3/objects/{self.name}s"


CRM_OBJECTS = {
    "contacts": CrmObject("contact", "lastmodifieddate", tuple(PROPERTIES), False),
    "deals": CrmObject("deal", "hs_lastmodifieddate", tuple(DEAL_PROPERTIES), True),
    "notes": CrmObject("note", "hs_lastmodifieddate", tuple(NOTE_PROPERTIES), True),
}


class HubSpotConnector(Connector):
    """Contacts, deals, notes and campaigns from HubSpot (private-app bearer token in the password)."""

    objects = ("campaigns", "contacts", "deals", "notes")
    options_spec = {
        "page_size": Option(int, 100),
        "search_page_size": Option(int, 100),
        "social_properties": Option(dict, DEFAULT_SOCIAL_PROPERTIES),
        "default_phone_region": Option(str),  # documents the portal's region; reconcile reads precedence.yaml's
        "writeback_key_property": Option(str, DEFAULT_KEY_PROPERTY),  # custom task property for the write key
    }

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

    def erase(self, source_ids: list[str]) -> dict[str, Any]:
        """GDPR-delete each contact (``POST /crm/v3/objects/contacts/gdpr-delete``); counts only."""
        deleted = sum(hubspot_gdpr_delete(self.http, source_id, n) for n, source_id in enumerate(source_ids, start=1))
        log.info("%s: asked to delete %d records, %d deleted", self.source_name, len(source_ids), deleted)
        return {"status": ERASURE_REQUESTED, "records": len(source_ids), "deleted": deleted}

    def write_followup(self, followup: FollowUp) -> WriteOutcome:
        """A task on the contact, found by its key before it is created (see :mod:`.hubspot_writes`)."""
        key_property = str(self.options.get("writeback_key_property") or DEFAULT_KEY_PROPERTY)
        return write_task(self.http, followup, key_property)

    def write_contact_fields(self, update: ContactFields) -> WriteOutcome:
        """Social handle and followers on the contact, CRM-led fields only where empty."""
        return write_contact(self.http, update, self._social_properties())

    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        if object_type not in self.objects:
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")
        pages = itertools.count(1)  # page numbers run on across lists and split windows, for messages
        if object_type == "campaigns":
            yield from self._campaigns(pages)
            return
        obj = CRM_OBJECTS[object_type]
        if window.since is None:
            yield from self._list_all(obj, object_type, pages, archived=False)
            yield from self._list_all(obj, object_type, pages, archived=True)
        else:
            yield from self._search(obj, object_type, pages, window.since, window.until)

    def _list_all(self, obj: CrmObject, object_type: str, pages: Iterator[int], *, archived: bool) -> Iterator[Page]:
        page_size = int(self.options.get("page_size", 100))
        after: str | None = None
        while True:
            number = next(pages)
            params: list[tuple[str, Any]] = [("limit", page_size), ("archived", str(archived).lower())]
            params += [("properties", name) for name in self._properties(obj)]
            if obj.associated:
                params.append(("associations", "contacts"))
            if after:
                params.append(("after", after))
            _, body = self.http.request_json("GET", obj.path, page=number, params=params)
            results = _field(body, "results", self.source_name, obj.path, number)
            yield self._page(number, obj.path, object_type, results)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def _search(
        self, obj: CrmObject, object_type: str, pages: Iterator[int], since: datetime, until: datetime
    ) -> Iterator[Page]:
        page_size = min(int(self.options.get("search_page_size", 100)), 200)
        path = f"{obj.path}/search"
        after = 0
        while True:
            number = next(pages)
            body_in = {
                "filterGroups": [
                    {
                        "filters": [
                            {"propertyName": obj.modified_property, "operator": "GTE", "value": _ms(since)},
                            {"propertyName": obj.modified_property, "operator": "LT", "value": _ms(until)},
                        ]
                    }
                ],
                "sorts": [{"propertyName": obj.modified_property, "direction": "ASCENDING"}],
                "properties": self._properties(obj),
                "limit": page_size,
                "after": after,
            }
            _, body = self.http.request_json("POST", path, page=number, json_body=body_in)
            total = int(body.get("total", 0)) if isinstance(body, dict) else 0
            if after == 0 and total > SEARCH_CAP:
                middle = since + (until - since) / 2
                if middle <= since:
                    raise SourceDataError(
                        f"{self.source_name}: POST {path}: more than {SEARCH_CAP} {obj.name}s "
                        f"modified at one instant; cannot page past HubSpot's search cap"
                    )
                log.info("%s: %d changes in window exceed the search cap; splitting", self.source_name, total)
                yield from self._search(obj, object_type, pages, since, middle)
                yield from self._search(obj, object_type, pages, middle, until)
                return
            results = _field(body, "results", self.source_name, path, number)
            if obj.associated and results:
                self._attach_associations(object_type, results, number)
            yield self._page(number, path, object_type, results)
            next_after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not next_after:
                return
            after = int(next_after)

    def _attach_associations(self, object_type: str, results: list[Any], page: int) -> None:
        """Give search results the ``associations`` block the list call has (search returns none)."""
        path = f"/crm/v3/associations/{object_type}/contacts/batch/read"
        ids = [str(r["id"]) for r in results if isinstance(r, dict) and r.get("id")]
        _, body = self.http.request_json("POST", path, page=page, json_body={"inputs": [{"id": i} for i in ids]})
        linked: dict[str, list[dict[str, Any]]] = {}
        for item in _field(body, "results", self.source_name, path, page):
            to = [{"id": str(t["id"]), "type": t.get("type")} for t in item.get("to") or []]
            linked[str((item.get("from") or {}).get("id"))] = to
        for record in results:
            if isinstance(record, dict) and linked.get(str(record.get("id"))):
                record["associations"] = {"contacts": {"results": linked[str(record["id"])]}}

    def _campaigns(self, pages: Iterator[int]) -> Iterator[Page]:
        page_size = min(int(self.options.get("page_size", 100)), 100)
        after: str | None = None
        while True:
            number = next(pages)
            params: list[tuple[str, Any]] = [("limit", page_size), ("sort", "createdAt")]
            params += [("properties", name) for name in CAMPAIGN_PROPERTIES]
            if after:
                params.append(("after", after))
            _, body = self.http.request_json("GET", CAMPAIGNS_PATH, page=number, params=params)
            results = _field(body, "results", self.source_name, CAMPAIGNS_PATH, number)
            yield self._page(number, CAMPAIGNS_PATH, "campaigns", results)
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return

    def _social_properties(self) -> dict[str, str]:
        return dict(self.options.get("social_properties", DEFAULT_SOCIAL_PROPERTIES))

    def _properties(self, obj: CrmObject = CRM_OBJECTS["contacts"]) -> list[str]:
        if obj.name != "contact":
            return list(obj.properties)
        return PROPERTIES + [name for name in self._social_properties() if name not in PROPERTIES]

    def _page(self, number: int, endpoint: str, object_type: str, results: list[Any]) -> Page:
        return self.read_page(number, endpoint, object_type, results, lambda r: self._raw(object_type, r), "id")

    def _raw(self, object_type: str, record: Any) -> RawRecord:
        if not isinstance(record, dict) or not record.get("id"):
            raise RecordError("id", "record without 'id'")
        try:
            updated = parse_timestamp(record.get("updatedAt"))
        except ValueError as exc:
            raise RecordError("updatedAt", "is not a timestamp", str(record["id"])) from exc
        if not isinstance(record.get("properties", {}), dict | None):
            raise RecordError("properties", "is not an object of property values", str(record["id"]))
        return RawRecord(object_type, str(record["id"]), updated, record)

    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        def frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
            return conform(pd.DataFrame(rows, columns=columns), columns)

        return CanonicalBatch(
            contacts=frame(self._contacts(raw.get("contacts", [])), CONTACT_COLUMNS),
            interactions=frame(self._notes(raw.get("notes", [])), INTERACTION_COLUMNS),
            opportunities=frame(self._deals(raw.get("deals", [])), OPPORTUNITY_COLUMNS),
            campaigns=frame(self._campaign_rows(raw.get("campaigns", [])), CAMPAIGN_COLUMNS),
        )

    def _contacts(self, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        social = self._social_properties()
        merged_into = _merge_targets(records)
        rows = []
        for record in records:
            props = record.get("properties") or {}
            prop, network = next(((p, n) for p, n in social.items() if props.get(p)), (None, None))
            handle = props.get(prop) if prop else None
            source_id = str(record["id"])
            winner = merged_into.get(source_id)
            rows.append(
                {
                    "source": self.source_name,
                    "source_id": source_id,
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
                    "is_deleted": bool(record.get("archived")) or winner is not None,
                    "merged_into_source_id": winner,
                    "social_followers": _number(
                        props.get("followercount"), self.source_name, source_id, "followercount"
                    ),  # fmt: skip
                }
            )
        return rows

    def _deals(self, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for record in records:
            props = record.get("properties") or {}
            source_id = str(record["id"])
            source = props.get("hs_analytics_source")
            rows.append(
                {
                    "source": self.source_name,
                    "source_id": source_id,
                    "contact_source_id": _first_contact(record),
                    "name": props.get("dealname"),
                    "stage": props.get("dealstage"),
                    "amount": _number(props.get("amount"), self.source_name, source_id, "amount"),
                    "currency": props.get("deal_currency_code"),
                    "is_closed": str(props.get("hs_is_closed")).lower() == "true",
                    "is_won": str(props.get("hs_is_closed_won")).lower() == "true",
                    "lead_source": LEAD_SOURCES.get(source, source) if source else None,
                    "campaign_source_id": props.get("hs_campaign") or None,
                    "created_at": parse_timestamp(props.get("createdate") or record.get("createdAt")),
                    "closed_at": parse_timestamp(props.get("closedate")),
                    "source_updated_at": parse_timestamp(record.get("updatedAt")),
                    "is_deleted": bool(record.get("archived")),
                }
            )
        return rows

    def _notes(self, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Notes become ``note`` interactions on the ``crm`` channel; archived notes are no history."""
        rows = []
        for record in records:
            if record.get("archived"):
                continue
            props = record.get("properties") or {}
            body = props.get("hs_note_body") or ""
            text = html.unescape(TAGS.sub(" ", body)).strip()  # the body is HTML as the editor saved it
            rows.append(
                {
                    "source": self.source_name,
                    "source_id": str(record["id"]),
                    "contact_source_id": _first_contact(record),
                    "occurred_at": parse_timestamp(props.get("hs_timestamp") or record.get("createdAt")),
                    "channel": "crm",
                    "direction": None,  # a note is written by the team about the customer, not sent
                    "interaction_type": "note",
                    "text": text or None,
                    "campaign": None,
                    "thread_id": None,
                }
            )
        return rows

    def _campaign_rows(self, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        rows = []
        for record in records:
            props = record.get("properties") or {}
            rows.append(
                {
                    "source": self.source_name,
                    "source_id": str(record["id"]),
                    "name": props.get("hs_name"),
                    "channel": None,  # a HubSpot campaign bundles e-mails, posts, pages and ads
                    "status": props.get("hs_campaign_status"),
                    "started_at": parse_timestamp(props.get("hs_start_date")),
                    "ended_at": parse_timestamp(props.get("hs_end_date")),
                    "source_updated_at": parse_timestamp(record.get("updatedAt")),
                    "is_deleted": bool(record.get("archived")),
                }
            )
        return rows


def _merge_targets(records: list[Mapping[str, Any]]) -> dict[str, str]:
    """Loser id -> surviving contact id, from the winners' ``hs_merged_object_ids``, following chains
    (a winner that was itself merged later points at its own winner)."""
    direct: dict[str, str] = {}
    for record in sorted(records, key=lambda r: str(r.get("updatedAt") or "")):
        ids = str((record.get("properties") or {}).get("hs_merged_object_ids") or "")
        for loser in filter(None, (part.strip() for part in ids.split(";"))):
            if loser != str(record["id"]):
                direct[loser] = str(record["id"])
    resolved = {}
    for loser in direct:
        target, seen = direct[loser], {loser}
        while target in direct and target not in seen:
            seen.add(target)
            target = direct[target]
        resolved[loser] = target
    return resolved


def _first_contact(record: Mapping[str, Any]) -> str | None:
    results = (((record.get("associations") or {}).get("contacts") or {}).get("results")) or []
    return str(results[0]["id"]) if results else None


def _number(value: Any, source: str, record_id: str, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise SourceDataError(f"{source}: record {record_id}: field '{name}' is not a number") from exc


def _ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _field(body: Any, name: str, source: str, endpoint: str, page: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get(name), list):
        raise SourceDataError(f"{source}: {endpoint} page {page}: response has no '{name}' list")
    return body[name]


def hubspot_gdpr_delete(http: SourceHttpClient, contact_id: str, number: int = 1) -> bool:
    """Permanently delete one HubSpot contact; ``False`` when HubSpot no longer has it (404)."""
    status, _ = http.request_json(
        "POST", GDPR_DELETE_PATH, page=number, json_body={"objectId": contact_id}, accept_status=(204, 404)
    )
    return status == 204


CONNECTOR = HubSpotConnector
