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
from crmhub.connectors.http import RetryableResponse, retry_after_seconds
from crmhub.connectors.oauth import TokenProvider
from crmhub.connectors.social_fields import plain_handle, plan_contact_patch, vendor_fields
from crmhub.connectors.timestamps import parse_timestamp
from crmhub.connectors.writeback import (
    ALREADY_WRITTEN,
    CASE,
    CREATED,
    FAILED,
    UPDATED,
    ContactFields,
    FollowUp,
    WriteOutcome,
)
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
#: write-back (issue 17): priority name -> ``prioritycode`` of a task (activity) and of an incident
TASK_PRIORITY = {"high": 2, "urgent": 2, "medium": 1, "normal": 1, "low": 0}
INCIDENT_PRIORITY = {"high": 1, "urgent": 1, "medium": 2, "normal": 2, "low": 3}
#: host of the message link -> incident ``caseorigincode`` (3986 Twitter, 2483 Facebook)
ORIGIN_BY_HOST = {"twitter.com": 3986, "x.com": 3986, "facebook.com": 2483}
#: statuses of a write the connector reads itself (429 and 5xx go through the HTTP client's retries)
WRITE_ANSWERS = (200, 201, 204, 400, 403, 404, 412)
NOT_FOUND = "0x80040217"
DUPLICATE_DETECTED = "0x80040333"
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
        # write-back (issue 17): the alternate key on tasks and incidents, the contact's social columns
        "alternate_key": Option(str, "crmhub_key"),
        "social_handle_field": Option(str, "crmhub_twitterhandle", nullable=True),
        "social_network": Option(str, "twitter"),
        "social_followers_field": Option(str, "crmhub_socialfollowers", nullable=True),
        "case_origin": Option(int, 3),  # caseorigincode when the message link names no known network (3 Web)
        "duplicate_detection": Option(bool, False),  # ask Dataverse to run duplicate detection rules on create
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
        handle_field = self.options.get("social_handle_field", "crmhub_twitterhandle")
        if object_type == "contacts" and handle_field:
            select = [*select, handle_field]  # the column write-back fills: read so precedence sees the CRM's value
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
            **self._social(record),
            "is_deleted": merged or record.get("statecode") == 1,
            "merged_into_source_id": record.get("_masterid_value") if merged else None,
        }

    def _social(self, record: Mapping[str, Any]) -> dict[str, Any]:
        handle_field = self.options.get("social_handle_field", "crmhub_twitterhandle")
        handle = plain_handle(record[handle_field]) if handle_field and record.get(handle_field) else None
        return (
            {"social_network": self.options.get("social_network", "twitter"), "social_handle": handle} if handle else {}
        )

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

    # -- write-back (issue 17) --------------------------------------------------------------------
    def write_followup(self, followup: FollowUp) -> WriteOutcome:
        """A task regarding the contact (an incident for ``case``), created once per key in one call.

        Upsert on the alternate key with ``If-None-Match: *``: Dataverse creates the row when the key is
        new and answers 412 when it exists, without touching it (a plain upsert would update the row and
        reset what its owner did). ``Prefer: return=representation`` makes a create answer 201 with the
        row's id.
        """
        entity_set, id_column = ("incidents", "incidentid") if followup.kind == CASE else ("tasks", "activityid")
        path = f"{self._by_key(entity_set, followup.key)}?$select={id_column}"
        headers = {"If-None-Match": "*", "Prefer": "return=representation"}
        if self.options.get("duplicate_detection"):
            headers["MSCRM.SuppressDuplicateDetection"] = "false"
        retries = self.http.retries
        answer = self._write("PATCH", path, self._followup_body(entity_set, followup), headers)
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status in (200, 201, 204):
            vendor_id = _str(body.get(id_column)) if isinstance(body, dict) else None
            return WriteOutcome(CREATED if status != 200 else ALREADY_WRITTEN, vendor_id=vendor_id)
        if status == 412 and _error_code(body) != DUPLICATE_DETECTED:
            # a retried create that meets an existing row met the one its first try made (the answer was
            # lost on the way back): this run created it; a first try answered 412 by an earlier run
            lost = self.http.retries > retries
            return WriteOutcome(CREATED if lost else ALREADY_WRITTEN, vendor_id=self._existing_id(path))
        return self._refused(entity_set, followup.key, status, body)

    def _by_key(self, entity_set: str, key: str) -> str:
        column = self.options.get("alternate_key") or "crmhub_key"
        return f"{API_ROOT}/{entity_set}({column}='{quote(key.replace(chr(39), chr(39) * 2), safe='-_.')}')"

    def _followup_body(self, entity_set: str, followup: FollowUp) -> dict[str, Any]:
        level = str(followup.priority or "").strip().lower()
        contact = f"/contacts({followup.contact_id})"
        if entity_set == "incidents":
            body: dict[str, Any] = {
                "title": followup.subject[:200],
                "description": followup.description(),
                "prioritycode": INCIDENT_PRIORITY.get(level, 2),
                "caseorigincode": self._case_origin(followup.message_url),
                "customerid_contact@odata.bind": contact,
            }
        else:
            body = {
                "subject": followup.subject[:200],
                "description": followup.description(),
                "prioritycode": TASK_PRIORITY.get(level, 1),
                "regardingobjectid_contact_task@odata.bind": contact,
            }
            if followup.due_at:
                body["scheduledend"] = _odata_time(parse_timestamp(followup.due_at))
        if followup.owner:
            body["ownerid@odata.bind"] = f"/systemusers({followup.owner})"
        return body

    def _case_origin(self, url: str | None) -> int:
        host = (urlsplit(url).hostname or "").lower().removeprefix("www.").removeprefix("mobile.") if url else ""
        return ORIGIN_BY_HOST.get(host) or int(self.options.get("case_origin", 3))

    def _existing_id(self, path: str) -> str | None:
        """The id of the row the key already names (for the audit); None if it cannot be read now."""
        answer = self._write("GET", path)
        if isinstance(answer, WriteOutcome) or answer[0] != 200 or not isinstance(answer[1], dict):
            return None
        column = path.rsplit("$select=", 1)[-1]
        return _str(answer[1].get(column))

    def write_contact_fields(self, update: ContactFields) -> WriteOutcome:
        """Read the contact's social columns, then PATCH (``If-Match: *``, never a create) only those allowed.

        A CRM-led column is written only while empty. Canonical ``social_handle`` and ``social_followers``
        go to the columns named by options ``social_handle_field`` / ``social_followers_field``.
        """
        mapping = vendor_fields(
            update,
            self.options.get("social_handle_field", "crmhub_twitterhandle"),
            self.options.get("social_followers_field", "crmhub_socialfollowers"),
            self.options.get("social_network", "twitter"),
        )
        wanted = {name: update.values[name] for name in mapping}
        if not wanted:
            return WriteOutcome(FAILED, reason=f"no Dynamics column configured for {sorted(update.values)}")
        path = f"{API_ROOT}/contacts({quote(update.contact_id, safe='-')})"
        select = ",".join(["contactid", *(mapping[name] for name in wanted)])
        answer = self._write("GET", f"{path}?$select={select}")
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status != 200 or not isinstance(body, dict):
            return self._refused("contacts", update.contact_id, status, body)
        plan = plan_contact_patch(wanted, {name: body.get(mapping[name]) for name in wanted}, update.only_if_empty)
        if not plan.write:
            return plan.unchanged(update.contact_id)
        patch = {mapping[name]: value for name, value in plan.write.items()}
        answer = self._write("PATCH", path, patch, {"If-Match": "*"})
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status in (200, 204):
            return WriteOutcome(UPDATED, vendor_id=update.contact_id, fields=tuple(plan.write))
        return self._refused("contacts", update.contact_id, status, body)

    def _write(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any] | WriteOutcome:
        """One write-back call; Dataverse's 4xx comes back to the caller (it concerns this record only).

        429 (service protection) and 5xx are retried by the HTTP client, honouring ``Retry-After``; if
        they outlast its retries the record fails retryably.
        """
        try:
            return self.http.request_json(
                method, path, page=1, json_body=body, accept_status=WRITE_ANSWERS, headers=headers
            )
        except SourceDataError as exc:
            if isinstance(exc.__cause__, RetryableResponse):
                return WriteOutcome(FAILED, reason=f"{method} {path.split('?')[0]}: {exc.__cause__}", retryable=True)
            raise

    def _refused(self, entity_set: str, record: str, status: int, body: Any) -> WriteOutcome:
        code = _error_code(body) or f"HTTP {status}"
        error = body.get("error") if isinstance(body, dict) else None
        message = str(error.get("message") or "")[:200] if isinstance(error, dict) else ""
        log.warning("%s: %s write refused for %s: HTTP %s %s", self.source_name, entity_set, record, status, code)
        # a 4xx concerns this record and repeats until a person fixes it; transient trouble (429, 5xx) was
        # retried by the HTTP client and, if it lasted, already failed the record retryably in _write
        return WriteOutcome(FAILED, reason=f"{entity_set}: HTTP {status} {code}: {message}".strip())


def _error_code(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    return str(error.get("code") or "") if isinstance(error, dict) else ""


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
