"""Salesforce REST API: campaigns, contacts, opportunities and cases over SOQL.

Auth is the OAuth2 client-credentials flow of a connected app (consumer key/secret in the Connection's
login/password, sent as ``client_id``/``client_secret`` form fields). The token response names the org's
``instance_url``, which every API call then goes to; it has no ``expires_in``: a session just ends with
401 ``INVALID_SESSION_ID``, and the HTTP client then fetches a new one once for that request.

Every object is read with ``queryAll`` so deleted records (``IsDeleted``) and merge losers
(``MasterRecordId`` = the winner) reach the warehouse. Incremental pulls filter on ``SystemModstamp``
(also bumped by system changes such as merges, unlike ``LastModifiedDate``), ordered by
``SystemModstamp, Id``; pages follow the relative ``nextRecordsUrl`` query locator, sized with the
``Sforce-Query-Options: batchSize`` header. The org's daily API allowance is reported in every
response's ``Sforce-Limit-Info``; running out (403 ``REQUEST_LIMIT_EXCEEDED``) is not retryable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from crmhub.connectors.base import AuthHeader, CanonicalBatch, Connector, Option, Page, RawRecord, RecordError, Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.http import RetryableResponse, retry_after_seconds
from crmhub.connectors.oauth import TokenProvider, oauth_error
from crmhub.connectors.social_fields import plan_contact_patch, vendor_fields
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
from crmhub.model import CAMPAIGN_COLUMNS, CASE_COLUMNS, CONTACT_COLUMNS, OPPORTUNITY_COLUMNS, conform

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "60.0"
TOKEN_PATH = "/services/oauth2/token"
MIN_BATCH, MAX_BATCH = 200, 2000
USAGE_WARNING = 0.8
LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")

#: object type -> (sObject, fields read). Custom fields are added from options (see ``_fields``).
OBJECTS: dict[str, tuple[str, list[str]]] = {
    "campaigns": (
        "Campaign",
        ["Id", "Name", "Type", "Status", "StartDate", "EndDate", "CreatedDate", "SystemModstamp", "IsDeleted"],
    ),
    "contacts": (
        "Contact",
        ["Id", "FirstName", "LastName", "Email", "Phone", "MobilePhone", "MailingStreet", "MailingPostalCode",
         "MailingCity", "MailingCountry", "Account.Name", "CreatedDate", "SystemModstamp", "IsDeleted",
         "MasterRecordId"],
    ),
    "opportunities": (
        "Opportunity",
        ["Id", "Name", "StageName", "Amount", "IsClosed", "IsWon", "LeadSource", "CampaignId", "ContactId",
         "CloseDate", "CreatedDate", "SystemModstamp", "IsDeleted"],
    ),
    "cases": (
        "Case",
        ["Id", "ContactId", "Subject", "Origin", "Status", "Priority", "Type", "IsClosed", "CreatedDate",
         "ClosedDate", "SystemModstamp", "IsDeleted"],
    ),
}  # fmt: skip
#: Defaults of the org-specific fields; each can be set (or switched off with null) in sources.yaml options.
DEFAULT_OPTIONS: dict[str, str | None] = {
    "social_handle_field": "Twitter_Handle__c",  # a custom Contact field holding the customer's handle
    "social_network": "twitter",  # the network that handle field belongs to
    "first_response_field": "First_Response__c",  # a custom Case datetime: first reply to the customer
    "currency_field": "CurrencyIsoCode",  # exists only in multi-currency orgs
    # write-back (issue 17)
    "external_id_field": "CrmHub_Key__c",  # Text(255), Unique, External ID on Task and Case: the idempotency key
    "social_followers_field": "Twitter_Followers__c",  # a custom Contact number field for the follower count
}
#: Salesforce answers to a write that concern only that record (errorCode -> retryable on the next run)
RETRYABLE_WRITE_ERRORS = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"}
#: statuses of a write answered by the vendor (the rest go through the HTTP client's retries or raise)
WRITE_ANSWERS = (200, 201, 204, 300, 400, 403, 404)
TASK_PRIORITY = {"high": "High", "urgent": "High", "medium": "Normal", "normal": "Normal", "low": "Low"}
CASE_PRIORITY = {"high": "High", "urgent": "High", "medium": "Medium", "normal": "Medium", "low": "Low"}
#: host of the message link -> Case Origin value (orgs add "Twitter"/"Facebook" to the standard picklist)
ORIGIN_BY_HOST = {"twitter.com": "Twitter", "x.com": "Twitter", "facebook.com": "Facebook"}
CHANNELS = {"twitter", "facebook", "instagram", "linkedin", "email", "phone", "web", "chat", "whatsapp"}
CASE_ORIGIN_CHANNELS = {"e-mail": "email", "x": "twitter", "x (twitter)": "twitter", "website": "web",
                        "web form": "web", "live chat": "chat"}  # fmt: skip
CAMPAIGN_CHANNELS = {"social media": "social", "email": "email", "webinar": "web", "website": "web",
                     "banner ads": "web", "advertisement": "web", "trade show": "event", "conference": "event",
                     "seminar / conference": "event", "partners": "partner", "referral program": "partner",
                     "direct mail": "mail", "telemarketing": "phone", "public relations": "pr"}  # fmt: skip


class SalesforceConnector(Connector):
    """Campaigns, contacts, opportunities and cases from a Salesforce org (connected app credentials)."""

    objects = ("campaigns", "contacts", "opportunities", "cases")
    options_spec = {
        "api_version": Option((str, int, float), DEFAULT_API_VERSION),
        "batch_size": Option(int, MAX_BATCH),
        **{name: Option(str, default, nullable=True) for name, default in DEFAULT_OPTIONS.items()},
        "currency": Option(str),
        "complaint_types": Option(list, ["Complaint"]),
        "task_status": Option(str, "Not Started"),  # Status of a new follow-up Task
        "case_origin": Option(str, "Web"),  # Origin of a new Case when the message link names no known network
    }

    def __init__(self, source_name: str, http: Any, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(source_name, http, options)
        self.api_version = str(self.options.get("api_version") or DEFAULT_API_VERSION).lstrip("vV")
        self.api_usage: tuple[int, int] | None = None  # (used, limit) from the last Sforce-Limit-Info seen

    tokens: TokenProvider | None

    @property
    def session(self) -> TokenProvider | None:
        """The Salesforce session (its token provider), as earlier versions named it."""
        return self.tokens

    @classmethod
    def connect_options(cls, credentials: Credentials, options: Mapping[str, Any] | None) -> dict[str, Any]:
        opts = dict(options or {})
        opts.setdefault("api_version", dict(credentials.extra).get("api_version") or DEFAULT_API_VERSION)
        return opts

    def auth(self, credentials: Credentials, session: requests.Session) -> AuthHeader:
        """Client credentials in the form body; the token response's ``instance_url`` becomes the API's base
        URL, whatever host issued the token. Sessions carry no expiry: renewed only after a 401."""
        token_url = dict(credentials.extra).get("token_url") or f"{self.http.base_url}{TOKEN_PATH}"
        http = self.http

        def use_instance(body: Mapping[str, Any]) -> None:
            http.base_url = str(body["instance_url"]).rstrip("/")

        self.tokens = TokenProvider(
            self.source_name,
            session,
            token_url,
            credentials.login or "",
            credentials.password or "",
            {"grant_type": "client_credentials"},
            client_auth="body",
            default_lifetime=None,
            describe_error=oauth_error,  # HTTP 400: invalid_client: invalid client credentials
            endpoint_label=TOKEN_PATH,
            refusal="client credentials grant refused",
            required=("access_token", "instance_url"),
            on_token=use_instance,
        )
        return self.tokens.header

    def prepare_session(self, session: requests.Session) -> None:
        """Page size in ``Sforce-Query-Options``; the daily API usage read from every response."""
        batch = max(MIN_BATCH, min(MAX_BATCH, int(self.options.get("batch_size", MAX_BATCH))))
        session.headers["Sforce-Query-Options"] = f"batchSize={batch}"
        session.hooks.setdefault("response", []).append(self._observe_limits)

    @staticmethod
    def wait_hint(response: requests.Response) -> float | None:
        """Salesforce has no 429: overload is 503 (maybe with Retry-After); otherwise back off exponentially."""
        return retry_after_seconds(response)

    def _observe_limits(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        found = LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if found:
            self.api_usage = (int(found.group(1)), int(found.group(2)))

    def _option(self, name: str) -> str | None:
        return self.options.get(name, DEFAULT_OPTIONS[name])

    def _fields(self, object_type: str) -> list[str]:
        fields = list(OBJECTS[object_type][1])
        extra = {
            "contacts": self._option("social_handle_field"),
            "opportunities": self._option("currency_field"),
            "cases": self._option("first_response_field"),
        }.get(object_type)
        return fields + [extra] if extra and extra not in fields else fields

    def soql(self, object_type: str, window: Window) -> str:
        """The SOQL of one pull: every field we map, the SystemModstamp window, a stable order."""
        sobject = OBJECTS[object_type][0]
        query = f"SELECT {', '.join(self._fields(object_type))} FROM {sobject}"
        if window.since is not None:
            query += (
                f" WHERE SystemModstamp >= {soql_datetime(window.since)}"
                f" AND SystemModstamp < {soql_datetime(window.until, round_up=True)}"
            )
        return query + " ORDER BY SystemModstamp, Id"

    def extract(self, object_type: str, window: Window) -> Iterator[Page]:
        if object_type not in OBJECTS:
            raise ValueError(f"{self.source_name}: unknown object type {object_type!r}")
        endpoint = f"/services/data/v{self.api_version}/queryAll"
        path, params = endpoint, {"q": self.soql(object_type, window)}
        number = 0
        while True:
            number += 1
            body = self._get(path, number, params)
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise SourceDataError(f"{self.source_name}: {endpoint} page {number}: response has no 'records' list")
            yield self.read_page(
                number, endpoint, object_type, body["records"], lambda r: self._raw(object_type, r), "Id"
            )
            if body.get("done", True):
                break
            next_url = body.get("nextRecordsUrl")
            if not next_url:
                raise SourceDataError(
                    f"{self.source_name}: {endpoint} page {number}: 'done' is false but no nextRecordsUrl"
                )
            path, params = str(next_url), None
        self._log_usage(object_type)

    def _get(self, path: str, number: int, params: Any) -> Any:
        try:
            _, body = self.http.request_json("GET", path, page=number, params=params)
        except SourceDataError as exc:
            if "REQUEST_LIMIT_EXCEEDED" not in str(exc):
                raise
            used = f" (api-usage {self.api_usage[0]}/{self.api_usage[1]})" if self.api_usage else ""
            raise SourceDataError(
                f"{self.source_name}: GET {path.split('?')[0]} page {number}: Salesforce daily API request limit "
                f"exceeded{used}: REQUEST_LIMIT_EXCEEDED; not retried, the pull can resume once the org's rolling "
                "24-hour allowance frees up (or the limit is raised)"
            ) from exc
        return body

    def _log_usage(self, object_type: str) -> None:
        if not self.api_usage:
            return
        used, limit = self.api_usage
        share = used / limit if limit else 1.0
        level = logging.WARNING if share > USAGE_WARNING else logging.INFO
        log.log(level, "%s/%s: Salesforce API usage %d/%d (%.0f%% of the daily limit)",
                self.source_name, object_type, used, limit, share * 100)  # fmt: skip

    def _raw(self, object_type: str, record: Any) -> RawRecord:
        if not isinstance(record, dict) or not record.get("Id"):
            raise RecordError("Id", "record without 'Id'")
        try:
            updated = parse_timestamp(record.get("SystemModstamp"))
        except ValueError as exc:
            raise RecordError("SystemModstamp", "is not a timestamp", str(record["Id"])) from exc
        return RawRecord(object_type, str(record["Id"]), updated, record)

    # -- canonical mapping ------------------------------------------------------------------------
    def to_canonical(self, raw: Mapping[str, list[Mapping[str, Any]]]) -> CanonicalBatch:
        import pandas as pd

        def frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
            return conform(pd.DataFrame(rows, columns=columns), columns)

        return CanonicalBatch(
            contacts=frame([self._contact(r) for r in raw.get("contacts", [])], CONTACT_COLUMNS),
            campaigns=frame([self._campaign(r) for r in raw.get("campaigns", [])], CAMPAIGN_COLUMNS),
            opportunities=frame([self._opportunity(r) for r in raw.get("opportunities", [])], OPPORTUNITY_COLUMNS),
            cases=frame([self._case(r) for r in raw.get("cases", [])], CASE_COLUMNS),
        )

    def _contact(self, record: Mapping[str, Any]) -> dict[str, Any]:
        handle_field = self._option("social_handle_field")
        handle = _handle(record.get(handle_field)) if handle_field else None
        account = record.get("Account") or {}
        return {
            "source": self.source_name,
            "source_id": str(record["Id"]),
            "source_created_at": parse_timestamp(record.get("CreatedDate")),
            "source_updated_at": parse_timestamp(record.get("SystemModstamp")),
            "first_name": record.get("FirstName"),
            "last_name": record.get("LastName"),
            "email": record.get("Email"),
            "phone": record.get("Phone") or record.get("MobilePhone"),
            "address_line": record.get("MailingStreet"),
            "postcode": record.get("MailingPostalCode"),
            "city": record.get("MailingCity"),
            "country": record.get("MailingCountry"),
            "social_network": self._option("social_network") if handle else None,
            "social_handle": handle,
            "company": account.get("Name") if isinstance(account, Mapping) else None,
            "is_deleted": bool(record.get("IsDeleted")),
            "merged_into_source_id": record.get("MasterRecordId") or None,
        }

    def _campaign(self, record: Mapping[str, Any]) -> dict[str, Any]:
        kind = str(record.get("Type") or "").strip().lower()
        return {
            "source": self.source_name,
            "source_id": str(record["Id"]),
            "name": record.get("Name"),
            "channel": CAMPAIGN_CHANNELS.get(kind, kind or None),
            "status": record.get("Status"),
            "started_at": parse_timestamp(record.get("StartDate")),
            "ended_at": parse_timestamp(record.get("EndDate")),
            "source_updated_at": parse_timestamp(record.get("SystemModstamp")),
            "is_deleted": bool(record.get("IsDeleted")),
        }

    def _opportunity(self, record: Mapping[str, Any]) -> dict[str, Any]:
        currency_field = self._option("currency_field")
        currency = (record.get(currency_field) if currency_field else None) or self.options.get("currency")
        return {
            "source": self.source_name,
            "source_id": str(record["Id"]),
            "contact_source_id": record.get("ContactId"),
            "name": record.get("Name"),
            "stage": record.get("StageName"),
            "amount": record.get("Amount"),
            "currency": currency,
            "is_closed": bool(record.get("IsClosed")),
            "is_won": bool(record.get("IsWon")),
            "lead_source": record.get("LeadSource"),
            "campaign_source_id": record.get("CampaignId"),
            "created_at": parse_timestamp(record.get("CreatedDate")),
            "closed_at": parse_timestamp(record.get("CloseDate")),
            "source_updated_at": parse_timestamp(record.get("SystemModstamp")),
            "is_deleted": bool(record.get("IsDeleted")),
        }

    def _case(self, record: Mapping[str, Any]) -> dict[str, Any]:
        complaint_types = {t.lower() for t in self.options.get("complaint_types", ["Complaint"])}
        response_field = self._option("first_response_field")
        return {
            "source": self.source_name,
            "source_id": str(record["Id"]),
            "contact_source_id": record.get("ContactId"),
            "subject": record.get("Subject"),
            "channel": case_channel(record.get("Origin")),
            "status": record.get("Status"),
            "priority": record.get("Priority"),
            "is_complaint": str(record.get("Type") or "").lower() in complaint_types,
            "is_closed": bool(record.get("IsClosed")),
            "created_at": parse_timestamp(record.get("CreatedDate")),
            "first_response_at": parse_timestamp(record.get(response_field)) if response_field else None,
            "closed_at": parse_timestamp(record.get("ClosedDate")),
            "source_updated_at": parse_timestamp(record.get("SystemModstamp")),
            "is_deleted": bool(record.get("IsDeleted")),
        }

    # -- write-back (issue 17) --------------------------------------------------------------------
    def write_followup(self, followup: FollowUp) -> WriteOutcome:
        """A Task on the contact (a Case for ``case``), created once per key through its External ID field.

        The key is looked up first (``GET /sobjects/Task/<field>/<key>``) and only a missing record is
        upserted: an upsert that matches *updates* the record with the body, which would reset what the
        owner did since (Status, Priority, due date, owner). The upsert still guards a race with a
        concurrent run: it answers 200 ``created: false`` and nothing new exists. Two calls per new
        follow-up, one per already-written one. An upsert whose answer was lost (a 5xx after the org
        saved it) is retried and meets its own record: still ``created``, so the run's counts are true.
        """
        sobject = "Case" if followup.kind == CASE else "Task"
        key_field = self._option("external_id_field")
        if not key_field:
            return WriteOutcome(FAILED, reason="option external_id_field is off: no idempotent write possible")
        path = f"/services/data/v{self.api_version}/sobjects/{sobject}/{key_field}/{quote(followup.key, safe='')}"
        answer = self._write("GET", path)
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status == 200 and isinstance(body, dict):
            return WriteOutcome(ALREADY_WRITTEN, vendor_id=_str(body.get("Id")))
        if status != 404:
            return self._refused(sobject, followup.key, status, body)
        retries = self.http.retries
        answer = self._write("PATCH", path, self._followup_body(sobject, followup))
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status in (200, 201) and isinstance(body, dict) and body.get("success"):
            # 200 ``created: false`` after a retried upsert: its first try saved the record and the answer
            # was lost (the key was absent a moment ago), so this run created it; without a retry a
            # concurrent run did
            created = status == 201 or bool(body.get("created")) or self.http.retries > retries
            return WriteOutcome(CREATED if created else ALREADY_WRITTEN, vendor_id=_str(body.get("id")))
        return self._refused(sobject, followup.key, status, body)

    def _followup_body(self, sobject: str, followup: FollowUp) -> dict[str, Any]:
        level = str(followup.priority or "").strip().lower()
        body: dict[str, Any] = {"Subject": followup.subject[:255], "Description": followup.description()[:32000]}
        if sobject == "Case":
            body.update(ContactId=followup.contact_id, Priority=CASE_PRIORITY.get(level, "Medium"),
                        Origin=self._case_origin(followup.message_url))  # fmt: skip
        else:
            body.update(WhoId=followup.contact_id, Priority=TASK_PRIORITY.get(level, "Normal"),
                        Status=self.options.get("task_status") or "Not Started")  # fmt: skip
            if followup.due_at:
                body["ActivityDate"] = parse_timestamp(followup.due_at).date().isoformat()
        if followup.owner:
            body["OwnerId"] = followup.owner
        return body

    def _case_origin(self, url: str | None) -> str:
        host = (urlsplit(url).hostname or "").lower().removeprefix("www.").removeprefix("mobile.") if url else ""
        return ORIGIN_BY_HOST.get(host) or str(self.options.get("case_origin") or "Web")

    def write_contact_fields(self, update: ContactFields) -> WriteOutcome:
        """Read the contact's social fields, then PATCH only those allowed: a CRM-led field only when empty.

        Canonical ``social_handle`` goes to the field ingest reads the handle from (option
        ``social_handle_field``), ``social_followers`` to ``social_followers_field``. The read and the
        write are two calls: a value keyed by a rep in between is overwritten (Salesforce offers no
        conditional update on these objects' REST rows other than by timestamp).
        """
        mapping = vendor_fields(
            update,
            self._option("social_handle_field"),
            self._option("social_followers_field"),
            self._option("social_network"),
        )
        wanted = {name: update.values[name] for name in mapping}
        if not wanted:
            return WriteOutcome(FAILED, reason=f"no Salesforce field configured for {sorted(update.values)}")
        fields = ",".join(["Id", *(mapping[name] for name in wanted)])
        path = f"/services/data/v{self.api_version}/sobjects/Contact/{quote(update.contact_id, safe='')}"
        answer = self._write("GET", f"{path}?fields={fields}")
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status != 200 or not isinstance(body, dict):
            return self._refused("Contact", update.contact_id, status, body)
        plan = plan_contact_patch(wanted, {name: body.get(mapping[name]) for name in wanted}, update.only_if_empty)
        if not plan.write:
            return plan.unchanged(update.contact_id)
        answer = self._write("PATCH", path, {mapping[name]: value for name, value in plan.write.items()})
        if isinstance(answer, WriteOutcome):
            return answer
        status, body = answer
        if status == 204:
            return WriteOutcome(UPDATED, vendor_id=update.contact_id, fields=tuple(plan.write))
        return self._refused("Contact", update.contact_id, status, body)

    def _write(self, method: str, path: str, body: Any = None) -> tuple[int, Any] | WriteOutcome:
        """One write-back call; the vendor's 4xx comes back to the caller (it concerns this record only).

        5xx and 503 overload are retried by the HTTP client; if they outlast its retries the record fails
        retryably (a :class:`WriteOutcome`). The org's daily allowance (403 ``REQUEST_LIMIT_EXCEEDED``)
        stops the run in :meth:`_refused`: every further call would be refused too.
        """
        try:
            return self.http.request_json(method, path, page=1, json_body=body, accept_status=WRITE_ANSWERS)
        except SourceDataError as exc:
            if isinstance(exc.__cause__, RetryableResponse):
                return WriteOutcome(FAILED, reason=f"{method} {path.split('?')[0]}: {exc.__cause__}", retryable=True)
            raise

    def _refused(self, sobject: str, record: str, status: int, body: Any) -> WriteOutcome:
        errors = body if isinstance(body, list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = str(first.get("errorCode") or f"HTTP {status}")
        if code == "REQUEST_LIMIT_EXCEEDED":
            used = f" (api-usage {self.api_usage[0]}/{self.api_usage[1]})" if self.api_usage else ""
            raise SourceDataError(f"{self.source_name}: Salesforce daily API request limit exceeded{used}: "
                                  "REQUEST_LIMIT_EXCEEDED; write-back stops until the allowance frees up")  # fmt: skip
        if status == 300:
            code, message = "MULTIPLE_CHOICES", "the external id matches several records"
        else:
            message = str(first.get("message") or "")[:200]
        fields = first.get("fields") or []
        where = f" (fields: {', '.join(map(str, fields))})" if fields else ""
        log.warning("%s: %s write refused for %s: %s%s", self.source_name, sobject, record, code, where)
        return WriteOutcome(FAILED, reason=f"{sobject}: {code}: {message}{where}".strip(),
                            retryable=code in RETRYABLE_WRITE_ERRORS)  # fmt: skip


def soql_datetime(value: datetime, *, round_up: bool = False) -> str:
    """A SOQL datetime literal (UTC, whole seconds, unquoted); ``round_up`` for an exclusive upper bound."""
    value = value.astimezone(UTC)
    whole = value.replace(microsecond=0)
    if round_up and whole < value:
        whole += timedelta(seconds=1)
    return whole.strftime("%Y-%m-%dT%H:%M:%SZ")


def case_channel(origin: Any) -> str | None:
    """Case Origin picklist value -> canonical channel (``Twitter`` -> ``twitter``, ``Web`` -> ``web``)."""
    if not origin:
        return None
    value = str(origin).strip().lower()
    value = CASE_ORIGIN_CHANNELS.get(value, value)
    return value if value in CHANNELS else value.replace(" ", "_")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _handle(value: Any) -> str | None:
    """A handle without ``@`` or profile URL, as keyed by a sales rep."""
    if not value:
        return None
    text = str(value).strip().rstrip("/")
    text = text.rsplit("/", 1)[-1] if "/" in text else text
    return text.lstrip("@") or None


CONNECTOR = SalesforceConnector
