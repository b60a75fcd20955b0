"""Sprout Social API: the customer's profiles, tags, follower analytics and inbox messages.

Auth is a bearer API token (the Connection's password). Every path but ``GET /v1/metadata/client`` is
scoped to a customer id: taken from the Connection extra (``customer_id``) or the source options, or
else read from that bootstrap call. Sprout's reads are ``POST`` queries with a JSON body:

- messages: ``POST /v1/{cid}/messages`` with ``customer_profile_id.eq(...)`` and
  ``created_time.in(a..b)`` filters, ``fields``, ``limit`` (at most 100) and ``page_cursor``; the response
  carries ``paging.next_cursor`` until the last page, where ``paging`` is absent. Sprout truncates a
  query at 10,000 results, so a pull walks its window in slices (``window_days``, default 30).
- follower analytics: ``POST /v1/{cid}/analytics/profiles`` with ``reporting_period.in(day..day)`` and the
  ``lifetime_snapshot.followers_count`` metric, page-index paging (``paging.total_pages``).

Rate limit: 60 requests a minute with no rate-limit headers and no ``Retry-After``, so a 429 is waited out
with exponential back-off. ``202`` means "processed, not ready yet": the same page is asked again after a
short wait (``not_ready_wait`` seconds, ``not_ready_attempts`` times).

Campaigns: a message's ``campaign`` comes only from its campaign tags: tags Sprout types ``CAMPAIGN`` and
the tag names listed in the ``campaign_tags`` option (as for Hootsuite; compared case-insensitively).
Other labels (``service``, ``sales``, ``klacht``) are routing labels, never campaigns.

Social value: Sprout reports followers only for the customer's *own* profiles (profile analytics). The
messages endpoint gives an author's ``guid``, ``name``, ``screen_name`` and ``profile_picture`` but no
follower count (that exists only on Listening messages, not the inbox), so author contacts carry no
``social_followers``; the brand's follower history lands raw as ``profile_analytics`` for the marts.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from crmhub.connectors.base import CanonicalBatch, Connector, Option, Page, RawRecord, RecordError, Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CAMPAIGN_COLUMNS, CONTACT_COLUMNS, INTERACTION_COLUMNS, conform

CLIENT_PATH = "/v1/metadata/client"
MESSAGE_FIELDS = [
    "guid", "created_time", "text", "network", "post_type", "customer_profile_id", "profile_guid", "perma_link",
    "language_code", "parent_guid", "from.guid", "from.name", "from.screen_name", "from.profile_picture",
    "internal.tags.id",
]  # fmt: skip
ANALYTICS_METRICS = ["lifetime_snapshot.followers_count", "net_follower_growth"]
#: Sprout network_type -> canonical social_network
NETWORKS = {"twitter": "twitter", "fb_instagram_account": "instagram", "instagram": "instagram",
            "facebook": "facebook", "linkedin_company": "linkedin", "linkedin": "linkedin"}  # fmt: skip
#: Sprout post_type -> (direction, interaction_type); unknown types are judged by who sent them
POST_TYPES: dict[str, tuple[str, str]] = {
    "TWITTER_MENTION": ("inbound", "mention"),
    "TWITTER_DIRECT_MESSAGE": ("inbound", "dm"),
    "TWITTER_SENT_DIRECT_MESSAGE": ("outbound", "dm"),
    "TWEET": ("outbound", "post"),
    "RETWEET": ("outbound", "post"),
    "INSTAGRAM_COMMENT": ("inbound", "comment"),
    "INSTAGRAM_DIRECT_MESSAGE": ("inbound", "dm"),
    "INSTAGRAM_OUTBOUND_COMMENT": ("outbound", "reply"),
    "INSTAGRAM_MEDIA": ("outbound", "post"),
    "FACEBOOK_COMMENT": ("inbound", "comment"),
    "FACEBOOK_CONVERSATION": ("inbound", "dm"),
    "FACEBOOK_USER_POST": ("inbound", "post"),
    "FACEBOOK_OUTBOUND_COMMENT": ("outbound", "reply"),
    "FACEBOOK_POST": ("outbound", "post"),
    "LINKEDIN_COMMENT": ("inbound", "comment"),
    "LINKEDIN_COMPANY_UPDATE": ("outbound", "post"),
}
LEADING_HANDLE = re.compile(r"^\s*@([A-Za-z0-9_.]{1,30})")


class SproutConnector(Connector):
    """Inbox messages (and their authors as social contacts), tags as campaigns, from Sprout Social."""

    objects = ("profiles", "tags", "profile_analytics", "messages")
    options_spec = {
        "customer_id": Option((str, int)),
        "profile_ids": Option(list),
        "not_ready_attempts": Option(int, 5),
        "not_ready_wait": Option((int, float), 2.0),
        "history_days": Option(int, 120),
        "page_size": Option(int, 100),
        "window_days": Option(int, 30),
        "campaign_tags": Option(list, []),
    }

    def __init__(self, source_name: str, http: Any, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(source_name, http, options)
        self._customer_id: str | None = str(self.options["customer_id"]) if self.options.get("customer_id") else None
        self._profile_ids: list[int] | None = None
        self.not_ready_answers = 0

    @classmethod
    def connect_options(cls, credentials: Credentials, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Bearer token from the password (the default auth); ``customer_id`` may come from the Connection extra."""
        extra_customer = dict(credentials.extra).get("customer_id")
        return {**({"customer_id": extra_customer} if extra_customer else {}), **dict(options or {})}

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """Sprout sends no Retry-After and no rate headers: let the client back off exponentially."""
        return None

    # -- extraction ----------------------------------------------------------------------------
    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        if object_type == "profiles":
            path = f"/v1/{self.customer_id()}/metadata/customer"
            data = self._get_list(path)
            yield self._page(1, path, "profiles", data, "customer_profile_id", None)
        elif object_type == "tags":
            path = f"/v1/{self.customer_id()}/metadata/customer/tags"
            data = self._get_list(path)
            yield self._page(1, path, "tags", data, "tag_id", None)
        elif object_type == "profile_analytics":
            yield from self._analytics(window)
        elif object_type == "messages":
            yield from self._messages(window)
        else:
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")

    def customer_id(self) -> str:
        """The customer every path is scoped to; the token's first customer unless configured."""
        if self._customer_id is None:
            _, body = self.http.request_json("GET", CLIENT_PATH, page=1)
            data = _data(body, self.source_name, CLIENT_PATH, 1)
            if not data or not isinstance(data[0], dict) or data[0].get("customer_id") in (None, ""):
                raise SourceDataError(f"{self.source_name}: {CLIENT_PATH} page 1: the token reaches no customer")
            self._customer_id = str(data[0]["customer_id"])
        return self._customer_id

    def profile_ids(self) -> list[int]:
        """The profiles to query: the ``profile_ids`` option, or every profile of the customer."""
        if self._profile_ids is None:
            configured = self.options.get("profile_ids")
            if configured:
                self._profile_ids = [int(p) for p in configured]
            else:
                path = f"/v1/{self.customer_id()}/metadata/customer"
                self._profile_ids = sorted(int(p["customer_profile_id"]) for p in self._get_list(path))
        return self._profile_ids

    def _get_list(self, path: str) -> list[Any]:
        _, body = self.http.request_json("GET", path, page=1)
        return _data(body, self.source_name, path, 1)

    def _query(self, path: str, body: dict[str, Any], page: int) -> Any:
        """POST one query page; ask again on 202 (not ready) after a short wait."""
        attempts = int(self.options.get("not_ready_attempts", 5))
        wait = float(self.options.get("not_ready_wait", 2.0))
        for _ in range(attempts):
            status, answer = self.http.request_json("POST", path, page=page, json_body=body, accept_status=(200, 202))
            if status == 200:
                return answer
            self.not_ready_answers += 1
            self.http.retries += 1
            time.sleep(wait)
        raise SourceDataError(
            f"{self.source_name}: POST {path} page {page}: still not ready (202) after {attempts} tries"
        )

    def _window_start(self, window: Window) -> datetime:
        return window.since or window.until - timedelta(days=int(self.options.get("history_days", 120)))

    def _messages(self, window: Window) -> Iterator[Page]:
        path = f"/v1/{self.customer_id()}/messages"
        ids = ", ".join(str(p) for p in self.profile_ids())
        limit = min(int(self.options.get("page_size", 100)), 100)
        slice_length = timedelta(days=int(self.options.get("window_days", 30)))
        pages = itertools.count(1)
        start, until = self._window_start(window), window.until
        while start < until:
            end = min(start + slice_length, until)
            period = f"{_filter_time(start)}..{_filter_time(end)}"
            body: dict[str, Any] = {
                "filters": [f"customer_profile_id.eq({ids})", f"created_time.in({period})"],
                "fields": MESSAGE_FIELDS,
                "limit": limit,
            }
            while True:
                number = next(pages)
                answer = self._query(path, body, number)
                data = _data(answer, self.source_name, path, number)
                yield self._page(number, path, "messages", data, "guid", "created_time")
                paging = answer.get("paging")
                cursor = paging.get("next_cursor") if isinstance(paging, dict) else None
                if not cursor:
                    break
                body = {**body, "page_cursor": cursor}
            start = end

    def _analytics(self, window: Window) -> Iterator[Page]:
        path = f"/v1/{self.customer_id()}/analytics/profiles"
        ids = ", ".join(str(p) for p in self.profile_ids())
        first, last = self._window_start(window).date(), window.until.date()
        if (last - first).days > 365:  # Sprout answers at most one year per query
            first = last - timedelta(days=365)
        period = f"{first.isoformat()}..{last.isoformat()}"
        body: dict[str, Any] = {
            "filters": [f"customer_profile_id.eq({ids})", f"reporting_period.in({period})"],
            "metrics": ANALYTICS_METRICS,
            "page": 1,
        }
        while True:
            number = body["page"]
            answer = self._query(path, body, number)
            data = _data(answer, self.source_name, path, number)
            yield self.read_page(number, path, "profile_analytics", data, self._analytics_row)
            paging = answer.get("paging") or {}
            if not isinstance(paging, dict) or int(paging.get("current_page", number)) >= int(
                paging.get("total_pages", 1)
            ):
                break
            body = {**body, "page": number + 1}

    def _page(
        self, number: int, path: str, object_type: str, data: list[Any], id_field: str, time_field: str | None
    ) -> Page:
        make = lambda r: self._raw(object_type, r, id_field, time_field)  # noqa: E731
        return self.read_page(number, path, object_type, data, make, id_field)

    def _raw(self, object_type: str, record: Any, id_field: str, time_field: str | None) -> RawRecord:
        if not isinstance(record, dict) or record.get(id_field) in (None, ""):
            raise RecordError(id_field, f"record without {id_field!r}")
        record_id = str(record[id_field])
        when = _timestamp(record.get(time_field), record_id, time_field) if time_field else None
        return RawRecord(object_type, record_id, when, record)

    @staticmethod
    def _analytics_row(row: Any) -> RawRecord:
        dims = row.get("dimensions") if isinstance(row, dict) else None
        if not isinstance(dims, dict) or dims.get("customer_profile_id") is None:
            raise RecordError("dimensions", "row without its dimensions")
        day = dims.get("reporting_period.by(day)")
        record_id = f"{dims['customer_profile_id']}:{day}"
        when = _timestamp(day, record_id, "dimensions.reporting_period.by(day)")
        return RawRecord("profile_analytics", record_id, when, row)

    # -- canonical mapping ---------------------------------------------------------------------
    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        profiles = {str(p.get("customer_profile_id")): p for p in raw.get("profiles", [])}
        tags = {str(t.get("tag_id")): t for t in raw.get("tags", [])}
        messages = sorted(raw.get("messages", []), key=lambda m: (str(m.get("created_time")), str(m.get("guid"))))
        author_of: dict[str, str] = {}  # guid -> contact source_id, for replies that name no handle
        contacts: dict[str, dict[str, Any]] = {}
        interactions = []
        campaigns: dict[str, dict[str, Any]] = {}
        extra_campaigns = {str(t).strip().lower() for t in self.options.get("campaign_tags") or []}
        for message in messages:
            network = _network(message, profiles)
            occurred = parse_timestamp(message.get("created_time"))
            sender = message.get("from") if isinstance(message.get("from"), dict) else {}
            profile = profiles.get(str(message.get("customer_profile_id")), {})
            direction, kind = _direction(message, sender, profile)
            contact_id = None
            if direction == "inbound" and sender.get("screen_name"):
                contact_id = f"{network}:{str(sender['screen_name']).lstrip('@').lower()}"
                seen = contacts.get(contact_id)
                contacts[contact_id] = {
                    "source": self.source_name,
                    "source_id": contact_id,
                    "source_created_at": seen["source_created_at"] if seen else occurred,
                    "source_updated_at": occurred,  # messages are walked in time order
                    "social_network": network,
                    "social_handle": str(sender["screen_name"]).lstrip("@"),  # as last shown
                    "is_deleted": False,
                }
                author_of[str(message.get("guid"))] = contact_id
            elif direction == "outbound":
                contact_id = author_of.get(str(message.get("parent_guid")))
                found = LEADING_HANDLE.match(message.get("text") or "")
                if (
                    contact_id is None
                    and found
                    and found.group(1).lower() != str(profile.get("native_name", "")).lower()
                ):
                    contact_id = f"{network}:{found.group(1).lower()}"
                if contact_id and kind == "post":
                    kind = "reply"
            names = []
            for tag in (message.get("internal") or {}).get("tags") or []:
                tag_id = str(tag.get("id") if isinstance(tag, dict) else tag)
                meta = tags.get(tag_id, {})
                name = meta.get("text") or (tag.get("name") if isinstance(tag, dict) else None)
                if not name:
                    continue
                is_campaign = meta.get("type") == "CAMPAIGN" or str(name).strip().lower() in extra_campaigns
                names.append((is_campaign, name))
                if is_campaign:
                    seen = campaigns.get(tag_id)
                    campaigns[tag_id] = {
                        "source": self.source_name,
                        "source_id": tag_id,
                        "name": name,
                        "channel": "social",
                        "status": "active" if meta.get("active", True) else "archived",
                        "started_at": min(seen["started_at"], occurred) if seen else occurred,
                        "source_updated_at": max(seen["source_updated_at"], occurred) if seen else occurred,
                        "is_deleted": False,
                    }
            # only campaign tags name a campaign; labels (service, sales, klacht) never do (issue 14)
            campaign = next((n for is_campaign, n in names if is_campaign), None)
            interactions.append(
                {
                    "source": self.source_name,
                    "source_id": str(message["guid"]),
                    "contact_source_id": contact_id,
                    "occurred_at": occurred,
                    "channel": network,
                    "direction": direction,
                    "interaction_type": kind,
                    "text": message.get("text"),
                    "campaign": campaign,
                    "thread_id": message.get("parent_guid") or str(message["guid"]),
                }
            )
        # a contact seen only in replies (its own message outside the landed history) still exists
        for row in interactions:
            cid = row["contact_source_id"]
            if cid and cid not in contacts:
                contacts[cid] = {"source": self.source_name, "source_id": cid, "source_created_at": row["occurred_at"],
                                 "source_updated_at": row["occurred_at"], "social_network": cid.split(":", 1)[0],
                                 "social_handle": cid.split(":", 1)[1], "is_deleted": False}  # fmt: skip
        return CanonicalBatch(
            contacts=conform(
                pd.DataFrame(sorted(contacts.values(), key=lambda c: c["source_id"]), columns=CONTACT_COLUMNS),
                CONTACT_COLUMNS,
            ),  # fmt: skip
            interactions=conform(pd.DataFrame(interactions, columns=INTERACTION_COLUMNS), INTERACTION_COLUMNS),
            campaigns=conform(pd.DataFrame(list(campaigns.values()), columns=CAMPAIGN_COLUMNS), CAMPAIGN_COLUMNS),
        )


def _network(message: Mapping[str, Any], profiles: Mapping[str, Mapping[str, Any]]) -> str:
    profile = profiles.get(str(message.get("customer_profile_id")))
    if profile and profile.get("network_type"):
        return NETWORKS.get(str(profile["network_type"]).lower(), str(profile["network_type"]).lower())
    return NETWORKS.get(str(message.get("network") or "other").lower(), str(message.get("network") or "other").lower())


def _direction(message: Mapping[str, Any], sender: Mapping[str, Any], profile: Mapping[str, Any]) -> tuple[str, str]:
    post_type = str(message.get("post_type") or message.get("message_type") or "").upper()
    if post_type in POST_TYPES:
        return POST_TYPES[post_type]
    own = profile.get("native_id") is not None and str(sender.get("guid")) == str(profile.get("native_id"))
    return ("outbound", "post") if own else ("inbound", "comment")


def _filter_time(value: datetime) -> str:
    """Sprout filter times are UTC without a zone designator (a trailing ``Z`` is rejected)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _timestamp(value: Any, record_id: str, field: str | None) -> datetime | None:
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise RecordError(field or "", "is not a timestamp", record_id) from exc


def _data(body: Any, source: str, endpoint: str, page: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise SourceDataError(f"{source}: {endpoint} page {page}: response has no 'data' list")
    if body.get("error"):
        raise SourceDataError(f"{source}: {endpoint} page {page}: Sprout reported an error: {str(body['error'])[:200]}")
    return body["data"]


CONNECTOR = SproutConnector
