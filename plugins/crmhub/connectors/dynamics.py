"""Dynamics 365 / Dataverse Web API v9.2: contacts and cases (``incidents``).

Auth is the Microsoft identity platform's client-credentials grant: the app registration's client id
and secret (Connection login/password) are posted to ``/{tenant_id}/oauth2/v2.0/token`` with the scope
``<environment URL>/.default``; the token lives in memory only and is renewed before expiry or after
a 401 (a revoked or expired token). Queries page server-side: ``Prefer: odata.maxpagesize=N`` on every
request and the absolute ``@odata.nextLink`` (with its ``$skiptoken`` paging cookie) followed unchanged.
Incremental pulls filter on ``modifiedon`` (``ge since and lt until``). Service protection limits answer
429 with ``Retry-After`` in seconds, which the HTTP client honours per page.

Deletes and merges: merging contacts deactivates the losing record (``statecode`` 1, ``statuscode`` 2)
with ``merged`` true and ``_masterid_value`` = the surviving contact, so it maps to ``is_deleted`` and
``merged_into_source_id``. A contact deactivated without a merge is also ``is_deleted``: in Dynamics
"Inactive" is how users retire a contact they must keep for history (inactive records are read-only and
left out of every active view, lookup and marketing list); reactivating it changes ``modifiedon``, so the
next pull brings it back. Hard deletes are not visible through a ``contacts`` query at all; Dataverse
only reports them through change tracking (``Prefer: odata.track-changes`` deltas with ``$deletedEntity``
rows), which this connector does not use yet: a hard-deleted contact keeps its last landed version.

Cases: ``caseorigincode`` gives the channel (1 phone, 2 email, 3 web, 2483 Facebook, 3986 Twitter);
Dataverse's default ``casetypecode`` choices are 1 Question, 2 Problem, 3 Request and none is called
"complaint", so ``is_complaint`` means a type in option ``complaint_case_types`` (default: 2, Problem;
tenants with a custom "Complaint" choice list its value). The first response time comes from the
case's first-response SLA KPI (``$expand=firstresponsebykpiid``); a resolved or cancelled case's
``modifiedon`` stands in for its closing time (the exact time is on its ``incidentresolution`` activity).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from crmhub.connectors.base import AuthHeader, CanonicalBatch, Connector, Option, Page, RawRecord, RecordError, Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import retry_after_seconds
from crmhub.connectors.oauth import TokenProvider
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.errors import SourceDataError
from crmhub.model import CASE_COLUMNS, CONTACT_COLUMNS, conform

log = logging.getLogger(__name__)

API_ROOT = "/api/data/v9.2"
AUTHORITY = "https://login.microsoftonline.com"
FORMATTED = "@OData.Community.Display.V1.FormattedValue"
LOOKUP_TABLE = "@Microsoft.Dynamics.CRM.lookuplogicalname"
CONTACT_SELECT = [
    "contactid", "firstname", "middlename", "lastname", "fullname", "emailaddress1", "telephone1", "mobilephone",
    "address1_line1", "address1_postalcode", "address1_city", "address1_country", "_parentcustomerid_value",
    "createdon", "modifiedon", "statecode", "statuscode", "merged", "_masterid_value",
]  # fmt: skip
INCIDENT_SELECT = [
    "incidentid", "ticketnumber", "title", "caseorigincode", "casetypecode", "prioritycode", "statecode",
    "statuscode", "_customerid_value", "_primarycontactid_value", "firstresponsesent", "followupby",
    "createdon", "modifiedon",
]  # fmt: skip
#: object type -> (entity set, primary key, $select, $expand)
QUERIES: dict[str, tuple[str, str, list[str], str | None]] = {
    "contacts": ("contacts", "contactid", CONTACT_SELECT, None),
    "incidents": ("incidents", "incidentid", INCIDENT_SELECT, "firstresponsebykpiid($select=succeededon)"),
}
CASE_CHANNELS = {1: "phone", 2: "email", 3: "web", 2483: "facebook", 3986: "twitter", 700610000: "iot"}
#: Dutch and other name particles that Dutch tenants keep in ``middlename`` (the tussenvoegsel).
NAME_PARTICLES = {
    "van", "van der", "van den", "van de", "de", "den", "der", "ter", "ten", "te", "het", "'t", "in 't",
    "op de", "op den", "aan de", "uit de", "van 't", "d'", "du", "le", "la", "von", "von der", "zu",
}  # fmt: skip


def entra_error(response: requests.Response) -> str:
    """The token endpoint's refusal as ``HTTP 401 invalid_client AADSTS7000215``: Entra's ``error`` and
    AADSTS codes, which name the problem without secrets (its description may echo the client id)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} (no JSON error body)"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    codes = ",".join(f"AADSTS{c}" for c in body.get("error_codes") or [])
    return f"HTTP {response.status_code} {body.get('error', '')} {codes}".strip()


class DynamicsConnector(Connector):
    """Contacts and cases from a Dataverse environment (Dynamics 365 Sales / Customer Service)."""

    objects = ("contacts", "incidents")
    options_spec = {
        "page_size": Option(int, 1000),
        "complaint_case_types": Option(list, [2]),
    }

    tokens: TokenProvider | None

    def auth(self, credentials: Credentials, session: requests.Session) -> AuthHeader:
        """Entra ID client credentials (secret in the form body, scope ``<environment URL>/.default``),
        plus the OData headers every Dataverse request carries."""
        extra = dict(credentials.extra)
        token_url = extra.get("token_url")
        if not token_url:
            if not extra.get("tenant_id"):
                raise SourceDataError(f"{self.source_name}: the Connection's extra needs 'tenant_id' (or 'token_url')")
            token_url = f"{AUTHORITY}/{extra['tenant_id']}/oauth2/v2.0/token"
        tokens = TokenProvider(
            self.source_name,
            session,
            str(token_url),
            credentials.login or "",
            credentials.password or "",
            {"grant_type": "client_credentials", "scope": str(extra.get("scope") or f"{self.http.base_url}/.default")},
            client_auth="body",  # client-credentials responses carry no refresh token: renewing is a new grant
            skew_seconds=60.0,
            default_lifetime=3599.0,
            describe_error=entra_error,
        )
        self.tokens = tokens
        page_size = min(int(self.options.get("page_size", 1000)), 5000)
        prefer = f'odata.maxpagesize={page_size},odata.include-annotations="*"'

        def headers(refresh: bool) -> dict[str, str]:
            return {
                "Authorization": f"Bearer {tokens.token(refresh)}",
                "Accept": "application/json",
                "OData-MaxVersion": "4.0",
                "OData-Version": "4.0",
                "Prefer": prefer,
            }

        return headers

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """Dataverse's 429s say how long to wait in ``Retry-After`` (seconds); waiting less prolongs it."""
        return retry_after_seconds(response)

    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        if object_type not in QUERIES:
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")
        entity_set, key, select, expand = QUERIES[object_type]
        endpoint = f"{API_ROOT}/{entity_set}"
        until = f"modifiedon lt {_odata_time(window.until, up=True)}"
        flt = until if window.since is None else f"modifiedon ge {_odata_time(window.since)} and {until}"
        params = [("$select", ",".join(select)), ("$filter", flt), ("$orderby", f"modifiedon asc,{key} asc")]
        if expand:
            params.append(("$expand", expand))
        url: str = endpoint + "?" + "&".join(f"{k}={quote(v, safe=',()=:$')}" for k, v in params)
        origin = _origin(self.http.url(endpoint))
        seen_links: set[str] = set()
        for number in itertools.count(1):
            _, body = self.http.request_json("GET", url, page=number)
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                raise SourceDataError(f"{self.source_name}: {endpoint} page {number}: response has no 'value' list")
            yield self.read_page(
                number, endpoint, object_type, body["value"], lambda r: self._raw(object_type, key, r), key
            )
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return
            if not isinstance(next_link, str) or _origin(next_link) != origin:
                # the bearer token goes wherever nextLink points: only ever to the environment itself
                raise SourceDataError(f"{self.source_name}: {endpoint} page {number}: @odata.nextLink leaves {origin}")
            if next_link in seen_links:
                raise SourceDataError(f"{self.source_name}: {endpoint} page {number}: @odata.nextLink repeats itself")
            seen_links.add(next_link)
            url = next_link  # absolute, with its $skiptoken: used exactly as the server gave it

    def _raw(self, object_type: str, key: str, record: Any) -> RawRecord:
        if not isinstance(record, dict) or not record.get(key):
            raise RecordError(key, f"record without '{key}'")
        try:
            updated = parse_timestamp(record.get("modifiedon"))
        except ValueError as exc:
            raise RecordError("modifiedon", "is not a timestamp", str(record[key])) from exc
        return RawRecord(object_type, str(record[key]), updated, record)

    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        contacts = [self._contact(r) for r in raw.get("contacts", [])]
        cases = [self._case(r) for r in raw.get("incidents", [])]
        return CanonicalBatch(
            contacts=conform(pd.DataFrame(contacts, columns=CONTACT_COLUMNS), CONTACT_COLUMNS),
            cases=conform(pd.DataFrame(cases, columns=CASE_COLUMNS), CASE_COLUMNS),
        )

    def _contact(self, record: Mapping[str, Any]) -> dict[str, Any]:
        first, middle = record.get("firstname"), record.get("middlename")
        prefix = None
        if middle and str(middle).strip().lower() in NAME_PARTICLES:
            prefix = str(middle).strip()
        elif middle:  # a real middle name belongs with the given name
            first = f"{first} {middle}" if first else middle
        company = None
        if record.get("_parentcustomerid_value") and record.get(f"_parentcustomerid_value{LOOKUP_TABLE}") != "contact":
            company = record.get(f"_parentcustomerid_value{FORMATTED}")
        merged = bool(record.get("merged"))
        return {
            "source": self.source_name,
            "source_id": str(record["contactid"]),
            "source_created_at": parse_timestamp(record.get("createdon")),
            "source_updated_at": parse_timestamp(record.get("modifiedon")),
            "first_name": first,
            "name_prefix": prefix,
            "last_name": record.get("lastname"),
            "email": record.get("emailaddress1"),
            "phone": record.get("telephone1") or record.get("mobilephone"),
            "address_line": record.get("address1_line1"),
            "postcode": record.get("address1_postalcode"),
            "city": record.get("address1_city"),
            "country": record.get("address1_country"),
            "company": company,
            "is_deleted": merged or record.get("statecode") == 1,
            "merged_into_source_id": record.get("_masterid_value") if merged else None,
        }

    def _case(self, record: Mapping[str, Any]) -> dict[str, Any]:
        complaint_types = {int(v) for v in self.options.get("complaint_case_types", [2])}
        customer = record.get("_customerid_value")
        if customer and record.get(f"_customerid_value{LOOKUP_TABLE}") == "account":
            customer = None  # a case for an account, not a person
        contact = record.get("_primarycontactid_value") or customer
        kpi = record.get("firstresponsebykpiid") or {}
        state = record.get("statecode")
        origin = record.get("caseorigincode")
        return {
            "source": self.source_name,
            "source_id": str(record["incidentid"]),
            "contact_source_id": contact,
            "subject": record.get("title"),
            "channel": CASE_CHANNELS.get(origin) if origin is not None else None,
            "status": record.get(f"statuscode{FORMATTED}") or _str(record.get("statuscode")),
            "priority": record.get(f"prioritycode{FORMATTED}") or _str(record.get("prioritycode")),
            "is_complaint": record.get("casetypecode") in complaint_types,
            "is_closed": state in (1, 2),
            "created_at": parse_timestamp(record.get("createdon")),
            "first_response_at": parse_timestamp(kpi.get("succeededon")) if isinstance(kpi, dict) else None,
            "closed_at": parse_timestamp(record.get("modifiedon")) if state in (1, 2) else None,
            "source_updated_at": parse_timestamp(record.get("modifiedon")),
            "is_deleted": record.get("statuscode") == 2000,  # merged into another case
        }


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _odata_time(value: datetime, *, up: bool = False) -> str:
    """A DateTimeOffset literal in UTC to the second (``modifiedon`` has no finer precision).

    ``up`` rounds a fractional second up, so ``lt`` still includes records of the window's last second.
    """
    value = value.astimezone(UTC)
    if up and value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


CONNECTOR = DynamicsConnector
