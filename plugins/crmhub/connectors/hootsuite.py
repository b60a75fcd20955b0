"""Hootsuite REST API: social profiles and messages.

Auth is OAuth2 with the app's client credentials in HTTP Basic (``organization_app`` grant by
default, or a refresh token from the Connection). Hootsuite rotates refresh tokens: each works once and
the token response carries the next; every new one goes to ``Credentials.on_token_rotated`` so the
next run uses it (``crmhub.orchestration.hooks`` stores it).

``GET /v1/messages`` needs ``startTime``/``endTime`` at most
four weeks apart, so a pull walks its window in 28-day slices, each paged by ``metadata.cursor.next``.
Messages that reply to a customer start with ``@handle``; that handle identifies the social contact.

Campaigns: Hootsuite has no campaign object in its public API, only free-text message ``tags``. A tag that
marks a broadcast post (a message that answers nobody) is taken as a campaign, as are the tags listed in
the ``campaign_tags`` option; routing tags on replies (``service``, ``klacht``) are not. Each campaign tag
becomes one campaign row (``source_id`` = the tag) spanning the posts that carry it.

Social value: the public REST API offers no follower counts. ``GET /v1/socialProfiles`` describes the
organisation's own profiles (id, type, network id, username, avatar) without audience figures, and
messages carry no author profile at all; so ``social_followers`` stays null for Hootsuite contacts.

Deals, notes and merges do not exist in Hootsuite; the CRM sources bring them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import requests

from crmhub.connectors.base import AuthHeader, CanonicalBatch, Connector, Option, Page, RawRecord, RecordError, Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.oauth import TokenProvider
from crmhub.connectors.timestamps import iso_z, parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CAMPAIGN_COLUMNS, CONTACT_COLUMNS, INTERACTION_COLUMNS, conform

PROFILES_PATH = "/v1/socialProfiles"
MESSAGES_PATH = "/v1/messages"
MAX_WINDOW = timedelta(days=28)
LEADING_HANDLE = re.compile(r"^\s*@([A-Za-z0-9_.]{1,30})")


class HootsuiteConnector(Connector):
    """Outbound messages and the organisation's social profiles from Hootsuite."""

    objects = ("social_profiles", "messages")
    options_spec = {
        "history_days": Option(int, 120),
        "page_size": Option(int, 100),
        "state": Option(str),
        "campaign_tags": Option(list, []),
    }

    def auth(self, credentials: Credentials, session: requests.Session) -> AuthHeader:
        """OAuth2, client credentials in HTTP Basic; a refresh token from the Connection is tried first."""
        extra = dict(credentials.extra)
        grant: dict[str, Any] = {"grant_type": extra.get("grant_type", "organization_app")}
        if extra.get("organization_id"):
            grant["organization_id"] = extra["organization_id"]
        refresh = extra.get("refresh_token")
        if refresh and not extra.get("organization_id"):
            grant, refresh = {"grant_type": "refresh_token", "refresh_token": refresh}, None
        token_path = "/" + str(extra.get("token_path", "oauth2/token")).lstrip("/")
        self.tokens = TokenProvider(
            self.source_name,
            session,
            f"{self.http.base_url}{token_path}",
            credentials.login or "",
            credentials.password or "",
            grant,
            client_auth="basic",
            refresh_token=refresh,  # with an organization_id, the organization grant is the fallback
            on_token_rotated=credentials.on_token_rotated,
            skew_seconds=30.0,
            default_lifetime=3600.0,
            endpoint_label=token_path,
        )
        return self.tokens.header

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """Hootsuite sends no Retry-After; its limit is per second (and per day, code 1003)."""
        return 1.0 if response.status_code == 429 else None

    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        if object_type == "social_profiles":
            _, body = self.http.request_json("GET", PROFILES_PATH, page=1)
            data = _data(body, self.source_name, PROFILES_PATH, 1)
            yield self.read_page(
                1, PROFILES_PATH, "social_profiles", data, lambda r: self._raw("social_profiles", r), "id"
            )
        elif object_type == "messages":
            since = window.since or window.until - timedelta(days=int(self.options.get("history_days", 120)))
            yield from self._messages(since, window.until)
        else:
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")

    def _messages(self, since, until) -> Iterator[Page]:  # type: ignore[no-untyped-def]
        pages = itertools.count(1)
        limit = min(int(self.options.get("page_size", 100)), 100)
        start = since
        while start < until:
            end = min(start + MAX_WINDOW, until)
            cursor: str | None = None
            while True:
                number = next(pages)
                params: dict[str, Any] = {"startTime": iso_z(start), "endTime": iso_z(end), "limit": limit}
                if self.options.get("state"):
                    params["state"] = self.options["state"]
                if cursor:
                    params["cursor"] = cursor
                _, body = self.http.request_json("GET", MESSAGES_PATH, page=number, params=params)
                data = _data(body, self.source_name, MESSAGES_PATH, number)
                yield self.read_page(number, MESSAGES_PATH, "messages", data, lambda m: self._raw("messages", m), "id")
                cursor = (((body.get("metadata") or {}).get("cursor")) or {}).get("next")
                if not cursor:
                    break
            start = end

    def _raw(self, object_type: str, record: Any) -> RawRecord:
        if not isinstance(record, dict) or record.get("id") in (None, ""):
            raise RecordError("id", "record without 'id'")
        time_field = "scheduledSendTime" if object_type == "messages" else None
        try:
            when = parse_timestamp(record.get(time_field)) if time_field else None
        except ValueError as exc:
            raise RecordError(time_field or "", "is not a timestamp", str(record["id"])) from exc
        return RawRecord(object_type, str(record["id"]), when, record)

    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        networks = {str(p["id"]): str(p.get("type") or "other").lower() for p in raw.get("social_profiles", [])}
        campaign_tags = set(self.options.get("campaign_tags") or [])
        for message in raw.get("messages", []):
            if not LEADING_HANDLE.match(message.get("text") or ""):
                campaign_tags.update(str(t) for t in message.get("tags") or [])
        interactions, handles = [], {}
        campaigns: dict[str, dict[str, Any]] = {}
        for message in raw.get("messages", []):
            profile_id = str((message.get("socialProfile") or {}).get("id", ""))
            network = networks.get(profile_id, "other")
            occurred = parse_timestamp(message.get("scheduledSendTime"))
            text = message.get("text") or ""
            found = LEADING_HANDLE.match(text)
            contact_id = None
            if found:
                handle = found.group(1).lower()
                contact_id = f"{network}:{handle}"
                first, last, shown = handles.get(contact_id, (occurred, occurred, found.group(1)))
                handles[contact_id] = (min(first, occurred), max(last, occurred), shown)
            tags = [str(t) for t in message.get("tags") or []]
            campaign = next((t for t in tags if t in campaign_tags), None)
            if campaign:
                seen = campaigns.get(campaign)
                campaigns[campaign] = {
                    "source": self.source_name,
                    "source_id": campaign,
                    "name": campaign,
                    "channel": "social",
                    "started_at": min(seen["started_at"], occurred) if seen else occurred,
                    "source_updated_at": max(seen["source_updated_at"], occurred) if seen else occurred,
                    "is_deleted": False,
                }
            interactions.append(
                {
                    "source": self.source_name,
                    "source_id": str(message["id"]),
                    "contact_source_id": contact_id,
                    "occurred_at": occurred,
                    "channel": network,
                    "direction": "outbound",
                    "interaction_type": "reply" if found else "post",
                    "text": text,
                    "campaign": campaign,
                    "thread_id": message.get("postId"),
                }
            )
        contacts = [
            {
                "source": self.source_name,
                "source_id": contact_id,
                "source_created_at": first,
                "source_updated_at": last,
                "social_network": contact_id.split(":", 1)[0],
                "social_handle": shown,
                "is_deleted": False,
            }
            for contact_id, (first, last, shown) in sorted(handles.items())
        ]
        return CanonicalBatch(
            contacts=conform(pd.DataFrame(contacts, columns=CONTACT_COLUMNS), CONTACT_COLUMNS),
            interactions=conform(pd.DataFrame(interactions, columns=INTERACTION_COLUMNS), INTERACTION_COLUMNS),
            campaigns=conform(
                pd.DataFrame([campaigns[name] for name in sorted(campaigns)], columns=CAMPAIGN_COLUMNS),
                CAMPAIGN_COLUMNS,
            ),
        )


def _data(body: Any, source: str, endpoint: str, page: int) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise SourceDataError(f"{source}: {endpoint} page {page}: response has no 'data' list")
    return body["data"]


CONNECTOR = HootsuiteConnector
