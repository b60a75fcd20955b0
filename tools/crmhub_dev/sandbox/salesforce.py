"""Fake Salesforce REST API: OAuth2 token endpoint, SOQL ``query``/``queryAll`` with query locators.

Why: the Salesforce connector has to handle the client-credentials token response (``instance_url``,
no ``expires_in``; a session simply ends with 401 ``INVALID_SESSION_ID``), SOQL with relative
``nextRecordsUrl`` paging, ``queryAll`` for deleted and merged records, the ``Sforce-Query-Options``
batch size, the ``[{"message", "errorCode"}]`` error array and the org's daily API request limit, all
without a real org. ``simple-salesforce`` reads it unchanged (over TLS: the client forces https).

Wire format, as documented by Salesforce:

- ``POST /services/oauth2/token`` with ``grant_type=client_credentials`` and the connected app's
  consumer key/secret as ``client_id``/``client_secret`` form fields (HTTP Basic also accepted).
  Answers ``access_token``, ``instance_url`` (this server), ``id``, ``token_type``, ``issued_at``
  (epoch ms), ``signature`` and ``scope``; errors are ``{"error", "error_description"}`` with 400.
- ``GET /services/data/vNN.0/query?q=SOQL`` and ``/queryAll?q=SOQL`` (trailing slash optional):
  ``{"totalSize", "done", "nextRecordsUrl"?, "records": [{"attributes": {"type", "url"}, ...}]}``;
  ``nextRecordsUrl`` is relative (``/services/data/v60.0/query/01gXXXXXXXXXXXXXXX-2000``, also for
  queryAll). ``query`` hides ``IsDeleted = true`` rows; ``queryAll`` returns them, merged losers with
  ``MasterRecordId``. Page size from ``Sforce-Query-Options: batchSize=N`` (clamped to 200..2000,
  default 2000). The SOQL subset: ``SELECT f1, f2, Rel.Field FROM Obj [WHERE cond AND cond ...]
  [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]`` with ``= != <> < <= > >=`` against
  unquoted datetime/date literals, ``'strings'``, ``true``/``false``, ``null`` and numbers; anything
  else is 400 ``MALFORMED_QUERY``, unknown fields 400 ``INVALID_FIELD``, unknown objects 400
  ``INVALID_TYPE``, a quoted datetime 400 ``INVALID_FIELD`` (as Salesforce does).
- Every authenticated ``/services/data`` response carries ``Sforce-Limit-Info: api-usage=N/M``.
  Once the daily allowance is used up: 403 ``REQUEST_LIMIT_EXCEEDED`` ("TotalRequests Limit exceeded.").
- Errors are JSON arrays: ``[{"message": "...", "errorCode": "..."}]``.

Faults (``FaultState``), the way Salesforce shows them:

- ``rate_limit``: Salesforce has no 429 and no per-second API limit; its documented answer to "too many
  requests / server overloaded or down for maintenance" is **HTTP 503** (``SERVER_UNAVAILABLE``), which
  we send with ``Retry-After`` (``SalesforceSettings.retry_after_seconds``). The daily allowance is the
  separate, non-retryable 403 ``REQUEST_LIMIT_EXCEEDED`` (``SalesforceSettings.daily_api_limit`` /
  ``api_usage_start``).
- ``expire_token_after``: every session issued so far ends; the next call gets 401 ``INVALID_SESSION_ID``.
- ``server_error_page``/``html_error_page``/``malformed_page``/``duplicate_page``: on the N-th query
  page (first page or locator page), via the shared fault helpers; ``slow_ms`` delays API calls.

Data: ``derive(ctx)`` makes B2B contacts (about 35% of the people, some duplicated and merged),
campaigns named like the social campaigns, opportunities and cases. Case first response time is the
custom field ``First_Response__c`` (a datetime, as orgs add one; standard Salesforce only has it via
entitlement milestones or CaseHistory).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmhub_dev.sandbox.datagen import CAMPAIGNS, DeriveContext, SandboxData, _address_line
from crmhub_dev.sandbox.faults import FaultState, install_sandbox_routes, log_request, page_fault_response

DEFAULT_CONSUMER_KEY = "3MVG9sandbox.crmhub.Salesforce.ConnectedApp.ConsumerKey"
DEFAULT_CONSUMER_SECRET = "sandbox-salesforce-consumer-secret"
DEFAULT_API_VERSION = "60.0"
ORG_ID = "00D5J000000SbX2UAK"
INTEGRATION_USER_ID = "0055J000001IxQaQAK"
MIN_BATCH, MAX_BATCH = 200, 2000
MAX_CURSORS = 200
JSON_TYPE = "application/json;charset=UTF-8"
SUPPORTED_VERSIONS = tuple(f"{v}.0" for v in range(31, 63))

#: sObject -> field -> SOAP type. Relationship fields (``Account.Name``) are resolved through RELATIONSHIPS.
SCHEMA: dict[str, dict[str, str]] = {
    "Campaign": {
        "Id": "id", "Name": "string", "Type": "picklist", "Status": "picklist", "StartDate": "date",
        "EndDate": "date", "IsActive": "boolean", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
        "SystemModstamp": "datetime", "IsDeleted": "boolean",
    },
    "Contact": {
        "Id": "id", "FirstName": "string", "LastName": "string", "Email": "email", "Phone": "phone",
        "MobilePhone": "phone", "MailingStreet": "textarea", "MailingPostalCode": "string",
        "MailingCity": "string", "MailingCountry": "string", "AccountId": "reference",
        "Twitter_Handle__c": "string", "Twitter_Followers__c": "double", "LeadSource": "picklist",
        "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime", "IsDeleted": "boolean",
        "MasterRecordId": "reference",
    },
    "Opportunity": {
        "Id": "id", "Name": "string", "StageName": "picklist", "Amount": "currency",
        "CurrencyIsoCode": "picklist", "IsClosed": "boolean", "IsWon": "boolean", "LeadSource": "picklist",
        "CampaignId": "reference", "ContactId": "reference", "AccountId": "reference", "CloseDate": "date",
        "CreatedDate": "datetime", "LastModifiedDate": "datetime", "SystemModstamp": "datetime",
        "IsDeleted": "boolean",
    },
    "Case": {
        "Id": "id", "CaseNumber": "string", "ContactId": "reference", "Subject": "string", "Origin": "picklist",
        "Status": "picklist", "Priority": "picklist", "Type": "picklist", "IsClosed": "boolean",
        "CreatedDate": "datetime", "ClosedDate": "datetime", "First_Response__c": "datetime",
        "LastModifiedDate": "datetime", "SystemModstamp": "datetime", "IsDeleted": "boolean",
        "Description": "textarea", "OwnerId": "reference", "CrmHub_Key__c": "string",
    },
    "Task": {
        "Id": "id", "WhoId": "reference", "WhatId": "reference", "Subject": "combobox", "Description": "textarea",
        "Priority": "picklist", "Status": "picklist", "ActivityDate": "date", "OwnerId": "reference",
        "CrmHub_Key__c": "string", "IsClosed": "boolean", "CreatedDate": "datetime", "LastModifiedDate": "datetime",
        "SystemModstamp": "datetime", "IsDeleted": "boolean",
    },
}  # fmt: skip
#: sObject -> relationship name -> (target sObject, the stored key holding the related record)
RELATIONSHIPS: dict[str, dict[str, str]] = {
    "Contact": {"Account": "Account"},
    "Opportunity": {"Account": "Account"},
}
ACCOUNT_FIELDS = {"Id": "id", "Name": "string"}
KEY_PREFIX = {"Campaign": "701", "Contact": "003", "Opportunity": "006", "Case": "500", "Account": "001", "Task": "00T"}
#: connector object name -> sObject
OBJECT_NAMES = {"campaigns": "Campaign", "contacts": "Contact", "opportunities": "Opportunity", "cases": "Case"}


#: what a write may set per sObject (the rest are system fields: INVALID_FIELD_FOR_INSERT_UPDATE)
WRITABLE: dict[str, set[str]] = {
    "Task": {"WhoId", "WhatId", "Subject", "Description", "Priority", "Status", "ActivityDate", "OwnerId",
             "CrmHub_Key__c"},
    "Case": {"ContactId", "Subject", "Description", "Priority", "Origin", "Status", "Type", "OwnerId",
             "CrmHub_Key__c"},
    "Contact": {"FirstName", "LastName", "Email", "Phone", "MobilePhone", "MailingStreet", "MailingPostalCode",
                "MailingCity", "MailingCountry", "Twitter_Handle__c", "Twitter_Followers__c", "LeadSource"},
}  # fmt: skip
#: External ID fields (text, unique, "External ID" ticked) the org has: the hub's idempotency key
EXTERNAL_IDS: dict[str, set[str]] = {"Task": {"CrmHub_Key__c"}, "Case": {"CrmHub_Key__c"}}
#: lookups to a Contact checked on save (deleted: ENTITY_IS_DELETED; unknown: INVALID_CROSS_REFERENCE_KEY)
REFERENCES: dict[str, tuple[str, ...]] = {"Task": ("WhoId",), "Case": ("ContactId",)}
#: restricted picklists (standard values)
PICKLISTS: dict[str, dict[str, set[str]]] = {
    "Task": {"Priority": {"High", "Normal", "Low"},
             "Status": {"Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"}},
    "Case": {"Priority": {"High", "Medium", "Low"}, "Status": {"New", "Working", "Escalated", "Closed"}},
}  # fmt: skip
#: field defaults on create, as the org's picklist defaults
DEFAULTS: dict[str, dict[str, Any]] = {
    "Task": {"Priority": "Normal", "Status": "Not Started", "IsClosed": False},
    "Case": {"Priority": "Medium", "Status": "New"},
}
#: markers in a Subject that make the fake org's rules refuse the save: a validation rule
#: (FIELD_CUSTOM_VALIDATION_EXCEPTION) and a blocking duplicate rule (DUPLICATES_DETECTED)
VALIDATION_MARKER = "[sandbox:invalid]"
DUPLICATE_MARKER = "[sandbox:duplicate]"


@dataclass
class SalesforceSettings:
    """Connected app credentials, the org's API allowance and faults (defaults: an Enterprise org)."""

    consumer_key: str = DEFAULT_CONSUMER_KEY
    consumer_secret: str = DEFAULT_CONSUMER_SECRET
    daily_api_limit: int = 100_000
    #: calls already made today when the app starts (to exercise the 80% warning and the limit)
    api_usage_start: int = 0
    #: idle session lifetime; Salesforce's default session timeout is two hours
    session_seconds: int = 7200
    retry_after_seconds: int = 1
    faults: dict[str, int] = field(default_factory=dict)
    #: fields the org requires on save (page layouts and validation rules make Subject required)
    required_fields: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"Task": ("Subject",), "Case": ("Subject",)}
    )


# -- ids and timestamps ------------------------------------------------------------------------------
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"


def sf_id(sobject: str, number: int, pod: str = "5J0000") -> str:
    """An 18-character Salesforce id: key prefix, pod, counter, and the real case-safe checksum suffix."""
    counter = ""
    n = number
    for _ in range(6):
        n, digit = divmod(n, 62)
        counter = _BASE62[digit] + counter
    id15 = f"{KEY_PREFIX[sobject]}{pod}{counter}"
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if ch.isupper())
        suffix += _SUFFIX[bits]
    return id15 + suffix


def sf_datetime(value: datetime) -> str:
    """Salesforce's JSON datetime form: ``2026-10-01T12:34:56.000+0000``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _parse_sf_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# -- the data ---------------------------------------------------------------------------------------
EXTRA_CAMPAIGNS: list[tuple[str, str]] = [
    ("Webinar Klantdata Najaar 2026", "Webinar"),
    ("Jaarbeurs Vakdagen 2026", "Trade Show"),
    ("Nieuwsbrief-Sep", "Email"),
    ("Partnerprogramma Q4", "Partners"),
]
OPEN_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review"]
PRODUCTS = ["Jaarlicentie", "Onboarding", "Support Plus", "Teamuitbreiding", "Integratiepakket", "Renewal"]
CASE_SUBJECTS = [
    ("Levering te laat", "Complaint"),
    ("Factuur klopt niet", "Complaint"),
    ("Product kapot aangekomen", "Complaint"),
    ("Vraag over mijn bestelling", "Question"),
    ("Wachtwoord resetten", "Problem"),
    ("Hoe koppel ik Outlook?", "Question"),
    ("Refund not received", "Complaint"),
    ("Login fails since update", "Problem"),
    ("Feature request: export", "Feature Request"),
    ("Retour aanmelden", "Question"),
]
CASE_ORIGINS = ["Twitter", "Twitter", "Email", "Email", "Phone", "Web", "Facebook"]


def derive(ctx: DeriveContext) -> dict[str, list[dict[str, Any]]]:
    """Make the org's records from the generated people; every contact is registered in the ground truth.

    Stored records hold every schema field (without ``attributes``); ``Account`` is the related account
    (``{"Id", "Name"}``) or None. Timestamps lie in [ctx.start, ctx.anchor).
    """
    rng = ctx.rng
    counters: dict[str, int] = {}

    def new_id(sobject: str) -> str:
        counters[sobject] = counters.get(sobject, 0) + rng.randint(1, 9)
        return sf_id(sobject, 3_000_000 + counters[sobject] * 7919)

    latest = ctx.anchor - timedelta(minutes=1)

    # Campaigns: the social campaigns of the Hootsuite data plus the usual marketing mix.
    campaigns: list[dict[str, Any]] = []
    specs = [(name, "Social Media") for name, _ in CAMPAIGNS] + EXTRA_CAMPAIGNS
    for name, kind in specs:
        created = ctx.when(ctx.start, ctx.start + (ctx.anchor - ctx.start) / 2)
        start_day = (created + timedelta(days=rng.randint(1, 14))).date()
        end_day = start_day + timedelta(days=rng.randint(7, 45))
        status = "Completed" if end_day < ctx.anchor.date() else "In Progress"
        modstamp = ctx.when(created, latest)
        campaigns.append(
            {
                "Id": new_id("Campaign"),
                "Name": name,
                "Type": kind,
                "Status": status,
                "StartDate": start_day.isoformat(),
                "EndDate": end_day.isoformat(),
                "IsActive": status != "Completed",
                "CreatedDate": sf_datetime(created),
                "LastModifiedDate": sf_datetime(modstamp),
                "SystemModstamp": sf_datetime(modstamp),
                "IsDeleted": False,
            }  # fmt: skip
        )
    test_created = ctx.when(ctx.start, latest - timedelta(days=2))
    campaigns.append(
        {
            "Id": new_id("Campaign"),
            "Name": "TEST campagne - niet gebruiken",
            "Type": "Other",
            "Status": "Aborted",
            "StartDate": None,
            "EndDate": None,
            "IsActive": False,
            "CreatedDate": sf_datetime(test_created),
            "LastModifiedDate": sf_datetime(test_created + timedelta(days=1)),
            "SystemModstamp": sf_datetime(test_created + timedelta(days=1)),
            "IsDeleted": True,
        }  # fmt: skip
    )
    social_campaigns = [c for c in campaigns if c["Type"] == "Social Media"]
    other_campaigns = [c for c in campaigns if c["Type"] not in ("Social Media", "Other")]

    accounts: dict[str, dict[str, str]] = {}

    def account(company: str | None) -> dict[str, str] | None:
        if not company:
            return None
        if company not in accounts:
            accounts[company] = {"Id": new_id("Account"), "Name": company}
        return accounts[company]

    contacts: list[dict[str, Any]] = []
    live_contacts: list[tuple[dict[str, Any], dict[str, Any]]] = []
    chosen = [person for person in ctx.persons if rng.random() < 0.35]
    # 5-10% get a duplicate keyed by another rep (most merged into the older record); a few are deleted
    duplicated = set(map(id, rng.sample(chosen, k=min(len(chosen), max(2, round(len(chosen) * 0.08))))))
    rest = [p for p in chosen if id(p) not in duplicated]
    deleted = set(map(id, rng.sample(rest, k=min(len(rest), max(1, round(len(chosen) * 0.03))))))
    merged_any = False
    for person in chosen:
        created = ctx.when(ctx.start, ctx.anchor - timedelta(days=5))
        modstamp = ctx.when(created, latest)
        company = person.get("company") or (
            rng.choice(["Coolblue", "ASML", "Rabobank"]) if rng.random() < 0.5 else None
        )
        record = _contact(ctx, person, new_id("Contact"), created, modstamp, account(company), variant=False)
        if id(person) in duplicated:
            dup_created = ctx.when(created, ctx.anchor - timedelta(days=2))
            dup_modstamp = ctx.when(dup_created, latest)
            duplicate = _contact(
                ctx, person, new_id("Contact"), dup_created, dup_modstamp, record["Account"], variant=True
            )
            if rng.random() < 0.7 or not merged_any:
                merged_any = True
                merged_at = ctx.when(dup_created, latest)
                duplicate.update(IsDeleted=True, MasterRecordId=record["Id"], SystemModstamp=sf_datetime(merged_at),
                                 LastModifiedDate=sf_datetime(merged_at))  # fmt: skip
                if _parse_sf_datetime(record["SystemModstamp"]) < merged_at:  # the merge touches the winner
                    record.update(SystemModstamp=sf_datetime(merged_at), LastModifiedDate=sf_datetime(merged_at))
            contacts.append(duplicate)
            ctx.add_record(person, duplicate["Id"], archived=duplicate["IsDeleted"])
        elif id(person) in deleted:  # deleted outright (left the company, an erasure handled in Salesforce)
            deleted_at = ctx.when(_parse_sf_datetime(record["SystemModstamp"]), latest)
            record.update(
                IsDeleted=True, SystemModstamp=sf_datetime(deleted_at), LastModifiedDate=sf_datetime(deleted_at)
            )
        contacts.append(record)
        ctx.add_record(person, record["Id"], archived=record["IsDeleted"])
        if not record["IsDeleted"]:
            live_contacts.append((person, record))
    contacts.sort(key=lambda c: c["Id"])

    opportunities: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    case_number = 1000 + rng.randrange(400)
    for _person, contact in live_contacts:
        contact_created = _parse_sf_datetime(contact["CreatedDate"])
        for _ in range(rng.choice([0, 0, 1, 1, 1, 2])):
            opportunities.append(_opportunity(ctx, contact, new_id("Opportunity"), contact_created,
                                              social_campaigns, other_campaigns))  # fmt: skip
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
            case_number += 1
            cases.append(_case(ctx, contact, new_id("Case"), f"{case_number:08d}", contact_created))
    for records in (opportunities, cases):  # a few plain deletes
        for record in rng.sample(records, k=min(len(records), max(1, len(records) // 40))):
            record["IsDeleted"] = True
    return {"campaigns": campaigns, "contacts": contacts, "opportunities": opportunities, "cases": cases}


def _contact(
    ctx: DeriveContext,
    person: dict[str, Any],
    record_id: str,
    created: datetime,
    modstamp: datetime,
    account: dict[str, str] | None,
    *,
    variant: bool,
) -> dict[str, Any]:
    """A Contact as a sales rep keys it: Dutch prefixes in LastName, Persian names often transliterated."""
    rng = ctx.rng
    first, last = person["first_name"], person["last_name"]
    if person.get("name_prefix"):
        last = f"{person['name_prefix']} {last}"
    if person["kind"] == "persian" and rng.random() < 0.6:
        first, last = person["latin"]
    email: str | None = person["email"]
    if variant:
        email = rng.choice([email.upper(), f"{email} ", email.capitalize()])
        if rng.random() < 0.5:
            first = _swap(rng, first)
    elif rng.random() < 0.05:
        email = None
    address = person["address"]
    street = _address_line(rng, address)
    if variant and rng.random() < 0.5:  # the address before the move
        street = f"{address['street']} {int(address['house_number']) + rng.randint(2, 40)}"
    phone = person["phone"] if rng.random() < 0.5 else person["phone_local"]
    handle = None
    if person.get("social_network") == "twitter" and rng.random() < 0.4:
        handle = rng.choice([f"@{person['handle_display']}", person["handle"]])
    return {
        "Id": record_id,
        "FirstName": first,
        "LastName": last,
        "Email": email,
        "Phone": phone if rng.random() < 0.85 else None,
        "MobilePhone": person["phone"] if person["phone"].startswith("+316") and rng.random() < 0.5 else None,
        "MailingStreet": street,
        "MailingPostalCode": address["postcode"] if rng.random() < 0.9 else None,
        "MailingCity": address["city"],
        "MailingCountry": person["country_value"],
        "AccountId": account["Id"] if account else None,
        "Account": account,
        "Twitter_Handle__c": handle,
        "LeadSource": rng.choice(["Web", "Social Media", "Trade Show", "Partner Referral", None]),
        "CreatedDate": sf_datetime(created),
        "LastModifiedDate": sf_datetime(modstamp),
        "SystemModstamp": sf_datetime(modstamp),
        "IsDeleted": False,
        "MasterRecordId": None,
    }


def _swap(rng: Any, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _opportunity(
    ctx: DeriveContext,
    contact: dict[str, Any],
    record_id: str,
    after: datetime,
    social_campaigns: list[dict[str, Any]],
    other_campaigns: list[dict[str, Any]],
) -> dict[str, Any]:
    rng = ctx.rng
    latest = ctx.anchor - timedelta(minutes=1)
    created = ctx.when(after, latest - timedelta(hours=2))
    modstamp = ctx.when(created, latest)
    outcome = rng.choice(["won", "won", "open", "open", "open", "lost"])
    stage = {"won": "Closed Won", "lost": "Closed Lost"}.get(outcome) or rng.choice(OPEN_STAGES)
    lead_source = rng.choice(["Social Media", "Social Media", "Web", "Email", "Phone Inquiry", "Partner Referral"])
    campaign = None
    if lead_source == "Social Media":
        campaign = rng.choice(social_campaigns)
    elif lead_source in ("Email", "Web") and rng.random() < 0.5:
        campaign = rng.choice(other_campaigns)
    if outcome == "open":
        close_day = (ctx.anchor + timedelta(days=rng.randint(5, 90))).date()
    else:
        close_day = ctx.when(created, latest).date()
    company = (contact.get("Account") or {}).get("Name") or contact["LastName"]
    country = contact.get("MailingCountry")
    currency = "GBP" if country == "United Kingdom" else "USD" if rng.random() < 0.05 else "EUR"
    return {
        "Id": record_id,
        "Name": f"{company} - {rng.choice(PRODUCTS)}",
        "StageName": stage,
        "Amount": float(rng.choice([950, 1500, 2400, 4800, 7250, 12000, 18500, 36000]))
        if rng.random() < 0.95
        else None,
        "CurrencyIsoCode": currency,
        "IsClosed": outcome != "open",
        "IsWon": outcome == "won",
        "LeadSource": lead_source,
        "CampaignId": campaign["Id"] if campaign else None,
        "ContactId": contact["Id"],
        "AccountId": contact.get("AccountId"),
        "Account": contact.get("Account"),
        "CloseDate": close_day.isoformat(),
        "CreatedDate": sf_datetime(created),
        "LastModifiedDate": sf_datetime(modstamp),
        "SystemModstamp": sf_datetime(modstamp),
        "IsDeleted": False,
    }


def _case(ctx: DeriveContext, contact: dict[str, Any], record_id: str, number: str, after: datetime) -> dict[str, Any]:
    rng = ctx.rng
    latest = ctx.anchor - timedelta(minutes=1)
    created = ctx.when(after, latest - timedelta(hours=6))
    subject, kind = rng.choice(CASE_SUBJECTS)
    origin = rng.choice(CASE_ORIGINS)
    status = rng.choice(["New", "Working", "Escalated", "Closed", "Closed", "Closed"])
    first_response = None
    if status != "New":
        first_response = created + timedelta(minutes=rng.randint(4, 60 * 30))
        first_response = min(first_response, latest)
    closed = None
    if status == "Closed":
        closed = ctx.when(first_response or created, latest)
    modstamp = ctx.when(max(created, closed or created, first_response or created), latest)
    return {
        "Id": record_id,
        "CaseNumber": number,
        "ContactId": contact["Id"],
        "Subject": subject,
        "Origin": origin,
        "Status": status,
        "Priority": "High" if kind == "Complaint" and rng.random() < 0.5 else rng.choice(["Low", "Medium", "Medium"]),
        "Type": kind if rng.random() < 0.9 else None,
        "IsClosed": status == "Closed",
        "CreatedDate": sf_datetime(created),
        "ClosedDate": sf_datetime(closed) if closed else None,
        "First_Response__c": sf_datetime(first_response) if first_response else None,
        "LastModifiedDate": sf_datetime(modstamp),
        "SystemModstamp": sf_datetime(modstamp),
        "IsDeleted": False,
    }


# -- SOQL ---------------------------------------------------------------------------------------------
class SoqlError(Exception):
    """A query Salesforce would reject; carries the errorCode."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass
class Soql:
    sobject: str
    fields: list[str]  # canonical names; relationship fields as "Account.Name"
    where: list[tuple[str, str, Any]]
    order: list[tuple[str, bool, bool | None]]  # field, descending, nulls_last
    limit: int | None


_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"^\s*(?P<field>[\w.]+)\s*(?P<op>=|!=|<>|<=|>=|<|>)\s*(?P<value>.+?)\s*$", re.DOTALL)
_DATETIME_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$")
_DATE_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSUPPORTED = re.compile(
    r"\b(OR|NOT|LIKE|IN|INCLUDES|EXCLUDES|GROUP|HAVING|OFFSET|TYPEOF|WITH)\b|\(|\)", re.IGNORECASE
)


def _field_type(sobject: str, name: str) -> tuple[str, str]:
    """Canonical name and type of ``name`` on ``sobject`` (case-insensitive), or INVALID_FIELD."""
    if "." in name:
        rel, _, sub = name.partition(".")
        rels = {r.lower(): r for r in RELATIONSHIPS.get(sobject, {})}
        sub_fields = {f.lower(): f for f in ACCOUNT_FIELDS}
        if rel.lower() in rels and sub.lower() in sub_fields:
            canonical_sub = sub_fields[sub.lower()]
            return f"{rels[rel.lower()]}.{canonical_sub}", ACCOUNT_FIELDS[canonical_sub]
        message = (
            f"Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom "
            "relationship, be sure to append the '__r' after the custom relationship name. Please reference "
            "your WSDL or the describe call for the appropriate names."
        )
        raise SoqlError("INVALID_FIELD", message)
    fields = {f.lower(): f for f in SCHEMA[sobject]}
    if name.lower() not in fields:
        raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'. If you are attempting to "
                        "use a custom field, be sure to append the '__c' after the custom field name. Please "
                        "reference your WSDL or the describe call for the appropriate names.")  # fmt: skip
    canonical = fields[name.lower()]
    return canonical, SCHEMA[sobject][canonical]


def _literal(sobject: str, field_name: str, kind: str, text: str) -> Any:
    quoted = len(text) >= 2 and text[0] == text[-1] == "'"
    if text.lower() == "null":
        return None
    if kind == "datetime":
        if quoted:
            raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{field_name}' must be of type "
                            "dateTime and should not be enclosed in quotes")  # fmt: skip
        if not _DATETIME_LITERAL.match(text):
            raise SoqlError("MALFORMED_QUERY", f"line 1:{len(text)} no viable alternative at character '{text[:1]}'")
        return _parse_sf_datetime(text)
    if kind == "date":
        if quoted or not _DATE_LITERAL.match(text):
            raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{field_name}' must be of type "
                            "date and should not be enclosed in quotes")  # fmt: skip
        return date.fromisoformat(text)
    if kind == "boolean":
        if text.lower() not in ("true", "false"):
            raise SoqlError("INVALID_FIELD", f"value of filter criterion for field '{field_name}' must be of type "
                            "boolean and should not be enclosed in quotes")  # fmt: skip
        return text.lower() == "true"
    if kind in ("currency", "double"):
        try:
            return float(text)
        except ValueError as exc:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {text}") from exc
    if not quoted:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {text}")
    return text[1:-1].replace("\\'", "'")


def parse_soql(text: str) -> Soql:
    """Parse the SOQL subset the sandbox serves (see the module docstring)."""
    found = _QUERY.match(text or "")
    if not found:
        token = (text or "").strip().split(" ")[0] or "<EOF>"
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{token}'")
    name = found["object"]
    objects = {o.lower(): o for o in SCHEMA}
    if name.lower() not in objects:
        raise SoqlError("INVALID_TYPE", f"sObject type '{name}' is not supported. If you are attempting to use a "
                        "custom object, be sure to append the '__c' after the entity name. Please reference your "
                        "WSDL or the describe call for the appropriate names.")  # fmt: skip
    sobject = objects[name.lower()]
    fields: list[str] = []
    for raw in found["fields"].split(","):
        raw = raw.strip()
        if not re.fullmatch(r"[\w.]+", raw):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{raw.split(' ')[0] or ','}'")
        canonical, _ = _field_type(sobject, raw)
        if canonical in fields:
            raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {canonical}")
        fields.append(canonical)
    where: list[tuple[str, str, Any]] = []
    if found["where"]:
        clause = found["where"]
        if _UNSUPPORTED.search(re.sub(r"'(?:[^'\\]|\\.)*'", "''", clause)):
            raise SoqlError("MALFORMED_QUERY", "unexpected token: this sandbox serves conditions joined by AND only")
        for part in re.split(r"\s+AND\s+", clause, flags=re.IGNORECASE):
            cond = _CONDITION.match(part)
            if not cond:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{part.strip().split(' ')[0]}'")
            canonical, kind = _field_type(sobject, cond["field"])
            op = "!=" if cond["op"] == "<>" else cond["op"]
            where.append((canonical, op, _literal(sobject, canonical, kind, cond["value"])))
    order: list[tuple[str, bool, bool | None]] = []
    if found["order"]:
        for part in found["order"].split(","):
            words = part.split()
            if not words or len(words) > 4:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{part.strip()}'")
            canonical, _ = _field_type(sobject, words[0])
            rest = [w.upper() for w in words[1:]]
            descending = bool(rest and rest[0] == "DESC")
            if rest and rest[0] in ("ASC", "DESC"):
                rest = rest[1:]
            nulls_last: bool | None = None
            if rest == ["NULLS", "LAST"]:
                nulls_last = True
            elif rest == ["NULLS", "FIRST"]:
                nulls_last = False
            elif rest:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{rest[0]}'")
            order.append((canonical, descending, nulls_last))
    return Soql(sobject, fields, where, order, int(found["limit"]) if found["limit"] else None)


def _value(record: dict[str, Any], name: str) -> Any:
    if "." in name:
        rel, _, sub = name.partition(".")
        related = record.get(rel)
        return related.get(sub) if related else None
    return record.get(name)


def _typed(sobject: str, name: str, value: Any) -> Any:
    if value is None:
        return None
    kind = ACCOUNT_FIELDS.get(name.partition(".")[2]) if "." in name else SCHEMA[sobject][name]
    if kind == "datetime":
        return _parse_sf_datetime(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


def _matches(sobject: str, record: dict[str, Any], where: list[tuple[str, str, Any]]) -> bool:
    for name, op, wanted in where:
        actual = _typed(sobject, name, _value(record, name))
        if wanted is None or actual is None:
            if (op == "=" and actual is not wanted) or (op == "!=" and actual is wanted) or op not in ("=", "!="):
                return False
            continue
        ok = {
            "=": actual == wanted,
            "!=": actual != wanted,
            "<": actual < wanted,
            "<=": actual <= wanted,
            ">": actual > wanted,
            ">=": actual >= wanted,
        }[op]
        if not ok:
            return False
    return True


def run_soql(query: Soql, records: list[dict[str, Any]], include_deleted: bool) -> list[dict[str, Any]]:
    """The matching stored records in the asked order (nulls first ascending, last descending, by default)."""
    rows = [r for r in records if (include_deleted or not r["IsDeleted"]) and _matches(query.sobject, r, query.where)]
    for name, descending, nulls_last in reversed(query.order):
        last = descending if nulls_last is None else nulls_last
        present = [r for r in rows if _value(r, name) is not None]
        missing = [r for r in rows if _value(r, name) is None]
        present.sort(key=lambda r, n=name: _typed(query.sobject, n, _value(r, n)), reverse=descending)
        rows = present + missing if last else missing + present
    return rows[: query.limit] if query.limit is not None else rows


def shape(sobject: str, record: dict[str, Any], fields: list[str], version: str) -> dict[str, Any]:
    """The record as the REST API returns it: ``attributes`` first, then the selected fields in order."""
    out: dict[str, Any] = {
        "attributes": {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record['Id']}"}
    }
    for name in fields:
        if "." in name:
            rel, _, sub = name.partition(".")
            related = record.get(rel)
            if related is None:
                out[rel] = None
                continue
            target = out.get(rel) or {
                "attributes": {"type": "Account", "url": f"/services/data/v{version}/sobjects/Account/{related['Id']}"}
            }
            target[sub] = related.get(sub)
            out[rel] = target
        else:
            out[name] = record.get(name)
    return out


# -- the app ------------------------------------------------------------------------------------------
def _errors(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code}], status_code=status, headers=headers,
                        media_type=JSON_TYPE)  # fmt: skip


def _field_errors(status: int, code: str, message: str, fields: list[str]) -> JSONResponse:
    return JSONResponse([{"message": message, "errorCode": code, "fields": fields}], status_code=status,
                        media_type=JSON_TYPE)  # fmt: skip


def _duplicates(sobject: str, record: dict[str, Any], contacts: list[dict[str, Any]]) -> list[str]:
    """The org's custom contact duplicate rule: another live contact with the same Twitter handle (blocks)."""
    handle = str(record.get("Twitter_Handle__c") or "").strip().lstrip("@").lower()
    if not handle:
        return []
    return [
        c["Id"]
        for c in contacts
        if c["Id"] != record.get("Id")
        and not c["IsDeleted"]
        and str(c.get("Twitter_Handle__c") or "").strip().lstrip("@").lower() == handle
    ]


def _duplicate_error(sobject: str, matches: list[str]) -> JSONResponse:
    """``DUPLICATES_DETECTED`` as REST API sends it: the error with its ``duplicateResult``."""
    rule = f"CrmHub_{sobject}_Duplicate_Rule"
    body = [{
        "duplicateResult": {
            "allowSave": False, "duplicateRule": rule, "duplicateRuleEntityType": sobject,
            "errorMessage": "Use one of these records?",
            "matchResults": [{
                "entityType": sobject, "errors": [], "matchEngine": "ExactMatchEngine",
                "matchRecords": [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
                                  "record": {"attributes": {"type": sobject}, "Id": m}} for m in matches],
                "rule": f"CrmHub_{sobject}_Matching_Rule", "size": len(matches), "success": True,
            }],
        },
        "errorCode": "DUPLICATES_DETECTED",
        "message": "Use one of these records?",
    }]  # fmt: skip
    return JSONResponse(body, status_code=400, media_type=JSON_TYPE)


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400, media_type=JSON_TYPE)


def _batch_size(header: str | None) -> int:
    """``Sforce-Query-Options: batchSize=N``; Salesforce keeps N within 200..2000."""
    if header:
        for part in header.split(","):
            key, _, value = part.partition("=")
            if key.strip().lower() == "batchsize" and value.strip().isdigit():
                return max(MIN_BATCH, min(MAX_BATCH, int(value.strip())))
    return MAX_BATCH


def create_salesforce_app(data: SandboxData, settings: SalesforceSettings | None = None) -> FastAPI:
    """Build the fake Salesforce org over ``data``; sessions, usage, cursors and faults live in the app."""
    settings = settings or SalesforceSettings()
    app = FastAPI(title="Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    faults = FaultState(settings.faults)
    org: dict[str, list[dict[str, Any]]] = data.vendors.get("salesforce") or {}
    by_sobject = {sobject: org.get(name, []) for name, sobject in OBJECT_NAMES.items()}
    sessions: dict[str, dict[str, float]] = {}  # token -> issued (monotonic), last used (monotonic)
    cursors: dict[str, tuple[str, list[dict[str, Any]], int]] = {}  # locator -> (sobject, rows, batch)
    usage = {"used": settings.api_usage_start}
    app.state.faults = faults
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.usage = usage

    def limit_info() -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={usage['used']}/{settings.daily_api_limit}"}

    def session_valid(token: str) -> bool:
        session = sessions.get(token)
        now = time.monotonic()
        if session is None or now - session["used"] > settings.session_seconds:
            return False
        if faults.token_revoked(session["issued"]):
            return False
        session["used"] = now
        return True

    @app.middleware("http")
    async def vendor_behaviour(request: Request, call_next: Any) -> Response:
        started = time.monotonic()
        path = request.url.path.rstrip("/")
        if not path.startswith("/services/data/"):  # token endpoint, version list, /_sandbox
            response = await call_next(request)
            if not path.startswith("/_sandbox"):
                log_request("salesforce", request, response.status_code, started)
            return response
        await faults.delay()
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith(("bearer ", "oauth ")) else ""
        if not token or not session_valid(token):
            response = _errors(401, "INVALID_SESSION_ID", "Session expired or invalid",
                               headers={"WWW-Authenticate": 'Token realm="Salesforce"'})  # fmt: skip
        elif usage["used"] >= settings.daily_api_limit:
            response = _errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", headers=limit_info())
        elif faults.take_forced_rate_limit():
            headers = {"Retry-After": str(settings.retry_after_seconds), **limit_info()}
            response = _errors(503, "SERVER_UNAVAILABLE", "Server is temporarily unable to handle the request "
                               "(too many requests or maintenance). Retry later.", headers=headers)  # fmt: skip
        else:
            usage["used"] += 1
            response = await call_next(request)
            response.headers.update(limit_info())
        log_request("salesforce", request, response.status_code, started)
        return response

    @app.post("/services/oauth2/token")
    async def token(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return _oauth_error("invalid_client", "invalid client credentials")
        grant = form.get("grant_type", "")
        if not grant:
            return _oauth_error("invalid_request", "grant type not supported")
        if grant != "client_credentials":
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        if not client_id:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if (client_id, client_secret) != (settings.consumer_key, settings.consumer_secret):
            return _oauth_error("invalid_client", "invalid client credentials")
        access = f"{ORG_ID[:15]}!AQ4AQ{secrets.token_urlsafe(72)}"
        now = time.monotonic()
        sessions[access] = {"issued": now, "used": now}
        instance = str(request.base_url).rstrip("/")
        issued_at = str(int(time.time() * 1000))
        user_url = f"{instance}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
        digest = hmac.new(settings.consumer_secret.encode(), (user_url + issued_at).encode(), hashlib.sha256).digest()
        return JSONResponse(
            {
                "access_token": access,
                "signature": base64.b64encode(digest).decode(),
                "scope": "api",
                "instance_url": instance,
                "id": user_url,
                "token_type": "Bearer",
                "issued_at": issued_at,
            },
            media_type=JSON_TYPE,
        )

    @app.get("/services/data")
    @app.get("/services/data/")
    async def versions() -> Response:
        body = [{"label": f"API {v}", "url": f"/services/data/v{v}", "version": v} for v in SUPPORTED_VERSIONS]
        return JSONResponse(body, media_type=JSON_TYPE)

    def bad_version(version: str) -> Response | None:
        if version in SUPPORTED_VERSIONS:
            return None
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    @app.get("/services/data/v{version}/limits")
    @app.get("/services/data/v{version}/limits/")
    async def limits(version: str) -> Response:
        remaining = max(0, settings.daily_api_limit - usage["used"])
        body = {"DailyApiRequests": {"Max": settings.daily_api_limit, "Remaining": remaining}}
        return bad_version(version) or JSONResponse(body, media_type=JSON_TYPE)

    def page(version: str, locator: str, offset: int) -> Response:
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        sobject, rows, batch = cursors[locator]
        chunk = rows[offset : offset + batch]
        done = offset + batch >= len(rows)
        payload: dict[str, Any] = {"totalSize": len(rows), "done": done}
        if not done:
            payload["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
        payload["records"] = faults.with_duplicate(fault, chunk)
        if fault in ("html_error_page", "malformed_page"):
            return page_fault_response(fault, faults, payload)
        return JSONResponse(payload, media_type=JSON_TYPE)

    async def run_query(request: Request, version: str, include_deleted: bool) -> Response:
        if (wrong := bad_version(version)) is not None:
            return wrong
        text = request.query_params.get("q")
        if not text:
            return _errors(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            query = parse_soql(text)
        except SoqlError as exc:
            return _errors(400, exc.code, str(exc))
        rows = [
            shape(query.sobject, r, query.fields, version)
            for r in run_soql(query, by_sobject[query.sobject], include_deleted)
        ]
        locator = "01g" + "".join(secrets.choice(_BASE62) for _ in range(15))
        while len(cursors) >= MAX_CURSORS:  # Salesforce also caps open query cursors per user
            cursors.pop(next(iter(cursors)))
        cursors[locator] = (query.sobject, rows, _batch_size(request.headers.get("sforce-query-options")))
        return page(version, locator, 0)

    @app.get("/services/data/v{version}/query")
    @app.get("/services/data/v{version}/query/")
    async def query(request: Request, version: str) -> Response:
        return await run_query(request, version, include_deleted=False)

    @app.get("/services/data/v{version}/queryAll")
    @app.get("/services/data/v{version}/queryAll/")
    async def query_all(request: Request, version: str) -> Response:
        return await run_query(request, version, include_deleted=True)

    @app.get("/services/data/v{version}/query/{locator}")
    @app.get("/services/data/v{version}/queryAll/{locator}")
    async def query_more(version: str, locator: str) -> Response:
        if (wrong := bad_version(version)) is not None:
            return wrong
        cursor, _, offset = locator.rpartition("-")
        if cursor not in cursors or not offset.isdigit():
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return page(version, cursor, int(offset))

    # -- writes (issue 17): sObject rows, upsert by external id, the org's validation and duplicate rules --
    by_sobject["Task"] = app.state.tasks = []  # only what was written; the generated data set stays as generated
    counters = {"written": 0}

    def find(sobject: str, record_id: str) -> dict[str, Any] | None:
        pool = by_sobject.get(sobject, [])
        return next((r for r in pool if r["Id"] == record_id or r["Id"][:15] == record_id), None)

    def write_fault_before() -> tuple[str | None, Response | None]:
        fault = faults.next_write_fault()
        if fault == "write_error":
            return fault, page_fault_response("server_error_page", faults, None)
        return fault, None

    def saved(fault: str | None, response: Response) -> Response:
        """The write is done; a ``write_lost_response`` fault loses its answer on the way back."""
        if fault == "write_lost_response":
            return page_fault_response("server_error_page", faults, None)
        return response

    async def body_of(request: Request) -> dict[str, Any] | Response:
        try:
            body = await request.json()
        except ValueError:
            return _errors(400, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON object")
        if not isinstance(body, dict):
            return _errors(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object")
        return body

    def validate(sobject: str, body: dict[str, Any], current: dict[str, Any] | None) -> Response | None:
        """The checks Salesforce runs on save, in its order: fields, references, picklists, required, rules."""
        writable = WRITABLE.get(sobject)
        if writable is None:
            return _errors(400, "NOT_FOUND", "The requested resource does not exist")
        for name in body:
            if name not in SCHEMA[sobject]:
                return _errors(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}")
        read_only = [name for name in body if name not in writable]
        if read_only:
            message = (
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission set."
            )
            return _field_errors(400, "INVALID_FIELD_FOR_INSERT_UPDATE", message, read_only)
        for name in REFERENCES.get(sobject, ()):
            target_id = body.get(name)
            if not target_id:
                continue
            target = find("Contact", str(target_id))
            if target is None:
                return _field_errors(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
            if target["IsDeleted"]:
                return _field_errors(400, "ENTITY_IS_DELETED", "entity is deleted", [name])
        for name, allowed in PICKLISTS.get(sobject, {}).items():
            if name in body and body[name] is not None and body[name] not in allowed:
                return _field_errors(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                     f"{name}: bad value for restricted picklist field", [name])  # fmt: skip
        merged = {**(current or {}), **body}
        missing = [name for name in settings.required_fields.get(sobject, ()) if not merged.get(name)]
        if missing:
            return _field_errors(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                                 missing)  # fmt: skip
        subject = str(merged.get("Subject") or "")
        if VALIDATION_MARKER in subject:
            return _field_errors(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                 "Social follow-ups need a reviewed subject (validation rule)", [])  # fmt: skip
        duplicates = _duplicates(sobject, merged, by_sobject["Contact"]) if sobject == "Contact" else []
        if DUPLICATE_MARKER in subject and current is None:
            duplicates = [r["Id"] for r in by_sobject[sobject] if not r["IsDeleted"]][:1] or ["(none)"]
        if duplicates:
            return _duplicate_error(sobject, duplicates)
        return None

    def apply(sobject: str, record: dict[str, Any], body: dict[str, Any]) -> None:
        now = sf_datetime(datetime.now(UTC))
        record.update(body)
        record.update(LastModifiedDate=now, SystemModstamp=now)
        if sobject == "Task":
            record["IsClosed"] = record.get("Status") == "Completed"
        counters["written"] += 1

    def create(sobject: str, body: dict[str, Any]) -> dict[str, Any]:
        now = sf_datetime(datetime.now(UTC))
        pool = by_sobject[sobject]
        record: dict[str, Any] = {name: None for name in SCHEMA[sobject]}
        record.update(Id=sf_id(sobject, len(pool) + 1, pod="5J0001"), CreatedDate=now, IsDeleted=False,
                      OwnerId=INTEGRATION_USER_ID)  # fmt: skip
        record.update({name: value for name, value in DEFAULTS.get(sobject, {}).items()})
        if sobject == "Case":
            record.update(CaseNumber=f"{2_000_000 + len(pool) + 1:08d}", IsClosed=False)
        apply(sobject, record, body)
        pool.append(record)
        return record

    def sobject_or_404(version: str, sobject: str) -> Response | None:
        if (wrong := bad_version(version)) is not None:
            return wrong
        if sobject not in SCHEMA:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        return None

    @app.get("/services/data/v{version}/sobjects/{sobject}/{record_id}")
    async def get_record(version: str, sobject: str, record_id: str, request: Request) -> Response:
        if (wrong := sobject_or_404(version, sobject)) is not None:
            return wrong
        record = find(sobject, record_id)
        if record is None or record["IsDeleted"]:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        fields = [f for f in request.query_params.get("fields", "").split(",") if f.strip()]
        unknown = [f for f in fields if f.strip() not in SCHEMA[sobject]]
        if unknown:
            return _errors(400, "INVALID_FIELD", f"No such column '{unknown[0].strip()}' on sobject of type {sobject}")
        chosen = [f.strip() for f in fields] or list(SCHEMA[sobject])
        return JSONResponse(shape(sobject, record, list(dict.fromkeys(["Id", *chosen])), version),
                            media_type=JSON_TYPE)  # fmt: skip

    @app.get("/services/data/v{version}/sobjects/{sobject}/{field_name}/{value}")
    async def get_by_external_id(version: str, sobject: str, field_name: str, value: str) -> Response:
        if (wrong := sobject_or_404(version, sobject)) is not None:
            return wrong
        if field_name not in EXTERNAL_IDS.get(sobject, ()):
            return _errors(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                           f"{field_name}")  # fmt: skip
        matches = [r for r in by_sobject[sobject] if not r["IsDeleted"] and r.get(field_name) == value]
        if not matches:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        return JSONResponse(shape(sobject, matches[0], list(SCHEMA[sobject]), version), media_type=JSON_TYPE)

    @app.patch("/services/data/v{version}/sobjects/{sobject}/{record_id}")
    async def update_record(version: str, sobject: str, record_id: str, request: Request) -> Response:
        """Update: 204 No Content; errors as the usual array."""
        if (wrong := sobject_or_404(version, sobject)) is not None:
            return wrong
        fault, failed = write_fault_before()
        if failed is not None:
            return failed
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        record = find(sobject, record_id)
        if record is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        if record["IsDeleted"]:
            return _errors(404, "ENTITY_IS_DELETED", "entity is deleted")
        if (refused := validate(sobject, body, record)) is not None:
            return refused
        apply(sobject, record, body)
        return saved(fault, Response(status_code=204))

    @app.patch("/services/data/v{version}/sobjects/{sobject}/{field_name}/{value}")
    async def upsert_record(version: str, sobject: str, field_name: str, value: str, request: Request) -> Response:
        """Upsert by external id: 201 created, 200 ``created: false`` when one record matched (and was
        updated with the body, as Salesforce does), 300 when several match."""
        if (wrong := sobject_or_404(version, sobject)) is not None:
            return wrong
        if field_name not in EXTERNAL_IDS.get(sobject, ()):
            return _errors(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                           f"{field_name}")  # fmt: skip
        fault, failed = write_fault_before()
        if failed is not None:
            return failed
        body = await body_of(request)
        if isinstance(body, Response):
            return body
        if field_name in body and body[field_name] != value:
            return _errors(400, "INVALID_FIELD", f"The external ID field {field_name} in the body does not match "
                           "the URL")  # fmt: skip
        matches = [r for r in by_sobject[sobject] if not r["IsDeleted"] and r.get(field_name) == value]
        if len(matches) > 1:
            urls = [f"/services/data/v{version}/sobjects/{sobject}/{r['Id']}" for r in matches]
            return JSONResponse(urls, status_code=300, media_type=JSON_TYPE)
        current = matches[0] if matches else None
        if (refused := validate(sobject, body, current)) is not None:
            return refused
        if current is not None:
            apply(sobject, current, body)
            result = {"id": current["Id"], "success": True, "errors": [], "created": False}
            return saved(fault, JSONResponse(result, status_code=200, media_type=JSON_TYPE))
        record = create(sobject, {**body, field_name: value})
        result = {"id": record["Id"], "success": True, "errors": [], "created": True}
        return saved(fault, JSONResponse(result, status_code=201, media_type=JSON_TYPE))

    @app.delete("/services/data/v{version}/sobjects/{sobject}/{record_id}")
    async def delete_record(version: str, sobject: str, record_id: str) -> Response:
        """Delete (to the recycle bin: ``IsDeleted``, still seen by ``queryAll``): 204."""
        if (wrong := sobject_or_404(version, sobject)) is not None:
            return wrong
        record = find(sobject, record_id)
        if record is None or record["IsDeleted"]:
            return _errors(404, "ENTITY_IS_DELETED" if record else "NOT_FOUND",
                           "entity is deleted" if record else "The requested resource does not exist")  # fmt: skip
        now = sf_datetime(datetime.now(UTC))
        record.update(IsDeleted=True, LastModifiedDate=now, SystemModstamp=now)
        return Response(status_code=204)

    @app.get("/_sandbox/salesforce/written", include_in_schema=False)
    async def written() -> dict[str, Any]:
        """What the hub wrote, for tests and the demo: tasks and cases carrying an external id."""
        return {
            "tasks": [r for r in by_sobject["Task"] if r.get("CrmHub_Key__c")],
            "cases": [r for r in by_sobject["Case"] if r.get("CrmHub_Key__c")],
            "writes": counters["written"],
        }

    install_sandbox_routes(app, "salesforce", faults, data.ground_truth)
    return app


def sandbox_connection(url: str, data: SandboxData, ca_bundle: str | None) -> dict[str, Any]:
    """The Airflow Connection that reaches this sandbox: consumer key/secret, the API version in extras."""
    return {
        "conn_type": "crmhub_salesforce",
        "login": DEFAULT_CONSUMER_KEY,
        "password": DEFAULT_CONSUMER_SECRET,
        "extra": {"api_version": DEFAULT_API_VERSION},
    }
