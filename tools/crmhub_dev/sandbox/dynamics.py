"""Fake Dynamics 365 / Dataverse Web API: Entra ID token endpoint, ``contacts`` and ``incidents``.

Why: the Dynamics connector (and Microsoft's ``PowerPlatform-Dataverse-Client``) must meet the real
wire format without a tenant: client-credentials tokens from ``/{tenant}/oauth2/v2.0/token`` with a
``<org>/.default`` scope, OData v4 queries (``$select``, the ``$filter`` subset the hub sends,
``$orderby``, ``$top``, ``$count``, ``$expand`` of the first-response SLA KPI), server-driven paging
with ``Prefer: odata.maxpagesize`` and an absolute ``@odata.nextLink`` carrying a paging-cookie
``$skiptoken``, formatted-value annotations on request, ``{"error": {"code", "message"}}`` errors,
401 with ``WWW-Authenticate`` for a missing/expired token and 429 + ``Retry-After`` for the service
protection limits (6,000 requests per user per 5-minute sliding window by default).

Data: about a quarter of the generated people are Dynamics contacts. Dutch tussenvoegsels sit in
``middlename`` or inside ``lastname`` (both happen in real Dutch tenants); some people have an older
duplicate that was merged into the newer record (the loser is deactivated: statecode 1, statuscode 2,
``merged`` true, ``_masterid_value`` = winner), some have an unmerged duplicate still active, and a few
were deactivated by a user.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from crmhub_dev.sandbox import faults as sandbox_faults
from crmhub_dev.sandbox.datagen import (
    DeriveContext,
    SandboxData,
    _address_line,
    _arabic_variant,
    _postcode_variant,
    _typo,
    iso_s,
)
from crmhub_dev.sandbox.faults import FaultState, SlidingWindow, install_sandbox_routes, log_request, new_id

DEFAULT_TENANT_ID = "4f1c8d2a-93b7-4e61-a0c5-7d2e9b3f6a18"
DEFAULT_CLIENT_ID = "b7e3a9c1-52d4-4f8e-9a06-3c1d8e7f2b45"
DEFAULT_CLIENT_SECRET = "sandbox-dynamics-secret"
#: The environment URL of the fake organisation; its ``/.default`` scope is accepted, as is the
#: sandbox's own URL (what a client derives from the base URL it was given).
DEFAULT_RESOURCE = "https://socialcrmhub.crm4.dynamics.com"
API_ROOT = "/api/data/v9.2"
MAX_PAGE_SIZE = 5000  # Dataverse ignores odata.maxpagesize above 5,000
ODATA_ERROR = "0x80060888"  # Dataverse's code for a malformed or unsupported OData query
THROTTLE_REQUESTS = "0x80072322"  # service protection: number of requests
ORGANIZATION_ID = "9a3c5e71-0b2d-4f48-8e6a-51c7d9f2a0b3"
USER_ID = "e2d4f6a8-1b3c-4d5e-8f70-a1b2c3d4e5f6"
BUSINESS_UNIT_ID = "c0ffee00-5a1e-4b0b-9d3e-2f4a6b8c0d1e"

CONTACT_FIELDS = (
    "contactid", "firstname", "middlename", "lastname", "fullname", "emailaddress1", "telephone1", "mobilephone",
    "address1_line1", "address1_postalcode", "address1_city", "address1_country", "_parentcustomerid_value",
    "createdon", "modifiedon", "statecode", "statuscode", "merged", "_masterid_value", "versionnumber",
    "crmhub_twitterhandle", "crmhub_socialfollowers",
)  # fmt: skip
INCIDENT_FIELDS = (
    "incidentid", "ticketnumber", "title", "caseorigincode", "casetypecode", "prioritycode", "statecode",
    "statuscode", "_customerid_value", "_primarycontactid_value", "firstresponsesent", "followupby",
    "createdon", "modifiedon", "versionnumber", "description", "crmhub_key",
)  # fmt: skip
TASK_FIELDS = (
    "activityid", "subject", "description", "prioritycode", "scheduledend", "statecode", "statuscode",
    "_regardingobjectid_value", "_ownerid_value", "crmhub_key", "createdon", "modifiedon", "versionnumber",
)  # fmt: skip
DATE_FIELDS = {"createdon", "modifiedon", "followupby", "succeededon", "scheduledend"}
TASK_STATE = {0: "Open", 1: "Completed", 2: "Canceled"}
TASK_STATUS = {2: "Not Started", 3: "In Progress", 4: "Waiting on someone else", 5: "Completed", 6: "Canceled",
               7: "Deferred"}  # fmt: skip
TASK_PRIORITY = {0: "Low", 1: "Normal", 2: "High"}  # activities; incidents use PRIORITY (1 High .. 3 Low)

CONTACT_STATE = {0: "Active", 1: "Inactive"}
CONTACT_STATUS = {1: "Active", 2: "Inactive"}
INCIDENT_STATE = {0: "Active", 1: "Resolved", 2: "Cancelled"}
INCIDENT_STATUS = {1: "In Progress", 2: "On Hold", 3: "Waiting for Details", 4: "Researching", 5: "Problem Solved",
                   1000: "Information Provided", 6: "Cancelled", 2000: "Merged"}  # fmt: skip
CASE_ORIGIN = {1: "Phone", 2: "Email", 3: "Web", 2483: "Facebook", 3986: "Twitter"}
CASE_TYPE = {1: "Question", 2: "Problem", 3: "Request"}
PRIORITY = {1: "High", 2: "Normal", 3: "Low"}

CASE_TITLES = [
    "Pakket niet ontvangen", "Verkeerde maat geleverd", "Factuur klopt niet", "Retour aanvragen",
    "Klacht over bezorger", "Vraag over garantie", "Order #48213 delayed", "Refund not received",
    "Wrong item in my order 😠", "Account locked after password reset", "Levering te laat, erg teleurgesteld",
    "Adreswijziging doorgeven", "سفارش من هنوز نرسیده", "Question about opening hours in Gent",
]  # fmt: skip


@dataclass
class DynamicsSettings:
    """Tenant, app registration, token lifetime, limits and faults (defaults: Dataverse's documented ones)."""

    tenant_id: str = DEFAULT_TENANT_ID
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    resource: str = DEFAULT_RESOURCE
    expires_in: int = 3599
    rate_limit_max: int = 6000
    rate_limit_interval_ms: int = 300_000
    #: Retry-After (seconds) sent with a forced ``rate_limit`` fault
    throttle_retry_after: int = 1
    faults: dict[str, int] = field(default_factory=dict)


# -- data -------------------------------------------------------------------------------------------
def _guid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _name_parts(rng: Random, person: dict[str, Any], old: bool) -> tuple[str, str | None, str]:
    """first, middle, last the way a Dynamics user typed them."""
    first, last, prefix = person["first_name"], person["last_name"], person["name_prefix"]
    if person["kind"] == "persian":
        if rng.random() < 0.3:  # typed in Latin transliteration by a Dutch agent
            first, last = person["latin"][0], person["latin"][1]
        elif old:
            first, last = _arabic_variant(first), _arabic_variant(last)
        return first, None, last
    if old and rng.random() < 0.5:
        if rng.random() < 0.5:
            first = _typo(rng, first)
        else:
            last = _typo(rng, last)
    if not prefix:
        return first, None, last
    if rng.random() < 0.45:  # the tussenvoegsel in the middle-name field, as many Dutch tenants do
        return first, prefix, last
    shown = prefix[0].upper() + prefix[1:] if rng.random() < 0.15 else prefix
    return first, None, f"{shown} {last}"


def _old_address(rng: Random) -> dict[str, Any]:
    from crmhub_dev.sandbox.datagen import CITIES, STREETS

    city, lo, hi, _area = rng.choice(CITIES)
    letters = "ABDEGHJKLMNPRSTXZ"
    return {"street": rng.choice(STREETS), "house_number": str(rng.randint(1, 180)), "house_number_addition": None,
            "postcode": f"{rng.randint(lo, hi)} {rng.choice(letters)}{rng.choice(letters)}", "city": city,
            "country": "NL"}  # fmt: skip


def _contact(
    ctx: DeriveContext,
    person: dict[str, Any],
    accounts: dict[str, str],
    created: datetime,
    modified: datetime,
    *,
    old: bool,
) -> dict[str, Any]:
    rng = ctx.rng
    first, middle, last = _name_parts(rng, person, old)
    email: str | None = person["email"]
    if old:
        email = rng.choice([email.upper(), f" {email}", email.capitalize(), email])
    elif rng.random() < 0.07:
        email = None  # not every contact has an e-mail address
    address = _old_address(rng) if old and rng.random() < 0.6 else person["address"]
    if rng.random() < 0.05:
        line, postcode, city = None, None, None
    else:
        line = _address_line(rng, address)
        postcode, city = _postcode_variant(rng, address["postcode"], address["country"]), address["city"]
    phone = person["phone_local"] if rng.random() < 0.88 else None
    mobile = phone if phone and person["phone"].startswith(("+316", "+324", "+491", "+447")) else None
    company = person["company"]
    return {
        "contactid": _guid(rng),
        "firstname": first,
        "middlename": middle,
        "lastname": last,
        "fullname": " ".join(part for part in (first, middle, last) if part),
        "emailaddress1": email,
        "telephone1": None if mobile else phone,
        "mobilephone": mobile,
        "address1_line1": line,
        "address1_postalcode": postcode,
        "address1_city": city,
        "address1_country": person["country_value"] if line and rng.random() < 0.85 else None,
        "_parentcustomerid_value": accounts.setdefault(company, _guid(rng)) if company else None,
        "_company_name": company,  # shown only as the lookup's formatted value
        "createdon": iso_s(created),
        "modifiedon": iso_s(modified),
        "statecode": 0,
        "statuscode": 1,
        "merged": False,
        "_masterid_value": None,
    }


def _incident(ctx: DeriveContext, contact: dict[str, Any], n: int) -> dict[str, Any]:
    rng = ctx.rng
    created = ctx.when(datetime.fromisoformat(contact["createdon"].replace("Z", "+00:00")), ctx.anchor)
    created = min(created, ctx.anchor - timedelta(hours=2)).replace(microsecond=0)
    state = rng.choices([0, 1, 2], weights=[45, 45, 10])[0]
    status = {0: rng.choice([1, 2, 3, 4]), 1: rng.choice([5, 1000]), 2: 6}[state]
    responded = state != 0 or rng.random() < 0.6
    first_response = created + timedelta(minutes=rng.randint(4, 60 * 30)) if responded else None
    modified = ctx.when(first_response or created, ctx.anchor - timedelta(minutes=1)).replace(microsecond=0)
    code = "".join(rng.choice("BCDFGHJKLMNPQRSTVWXZ0123456789") for _ in range(6))
    kpi = None
    if first_response is not None:
        kpi = {"slakpiinstanceid": _guid(rng), "name": "First Response By KPI", "status": 4,
               "succeededon": iso_s(min(first_response, modified))}  # fmt: skip
    return {
        "incidentid": _guid(rng),
        "ticketnumber": f"CAS-{n:05d}-{code}",
        "title": rng.choice(CASE_TITLES),
        "caseorigincode": rng.choices(list(CASE_ORIGIN), weights=[25, 30, 15, 12, 18])[0],
        "casetypecode": rng.choice([1, 2, 2, 3, None]),
        "prioritycode": rng.choices([1, 2, 3], weights=[15, 70, 15])[0],
        "statecode": state,
        "statuscode": status,
        "_customerid_value": contact["contactid"],
        "_primarycontactid_value": contact["contactid"] if rng.random() < 0.7 else None,
        "firstresponsesent": responded,
        "followupby": iso_s(created + timedelta(days=rng.randint(1, 5))) if state == 0 else None,
        "createdon": iso_s(created),
        "modifiedon": iso_s(modified),
        "firstresponsebykpiid": kpi,
    }


def derive(ctx: DeriveContext) -> dict[str, list[dict[str, Any]]]:
    """Dynamics contacts and cases for ~25% of the people, registered in the ground truth.

    A merged or deactivated contact is registered ``archived=True`` (the connector maps both to
    ``is_deleted``); its person stays the same, so matching is scored on every record.
    """
    rng = ctx.rng
    accounts: dict[str, str] = {}
    contacts: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []
    latest = ctx.anchor - timedelta(minutes=5)
    for person in ctx.persons:
        if rng.random() >= 0.25:
            continue
        created = ctx.when(ctx.start, ctx.anchor - timedelta(days=3)).replace(microsecond=0)
        winner = _contact(ctx, person, accounts, created, ctx.when(created, latest), old=False)
        roll = rng.random()
        records = [winner]
        if roll < 0.06:  # deactivated by a user: no longer a customer
            winner.update(statecode=1, statuscode=2)
        elif roll < 0.24:  # an older duplicate, merged into the newer record
            loser_created = ctx.when(ctx.start, created).replace(microsecond=0)
            merged_at = ctx.when(created, latest)
            loser = _contact(ctx, person, accounts, loser_created, merged_at, old=True)
            loser.update(statecode=1, statuscode=2, merged=True, _masterid_value=winner["contactid"])
            winner["modifiedon"] = max(winner["modifiedon"], iso_s(merged_at))  # the merge updates the master
            records.append(loser)
        elif roll < 0.32:  # a duplicate nobody has merged yet
            dup_created = ctx.when(created, latest).replace(microsecond=0)
            records.append(_contact(ctx, person, accounts, dup_created, ctx.when(dup_created, latest), old=True))
        for record in records:
            contacts.append(record)
            ctx.add_record(person, record["contactid"], archived=record["statecode"] == 1)
        if winner["statecode"] == 0 and rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                incidents.append(_incident(ctx, winner, 1000 + len(incidents) * 7 + rng.randint(0, 6)))
    version = itertools.count(1_204_551)
    for record in sorted(contacts + incidents, key=lambda r: r["modifiedon"]):
        record["versionnumber"] = next(version) * 3 + rng.randint(0, 2)
    return {"contacts": contacts, "incidents": incidents}


# -- OData query handling ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    entity_set: str
    logical_name: str
    key: str
    fields: tuple[str, ...]
    metadata_id: str


TABLES = {
    "contacts": Table("contacts", "contact", "contactid", CONTACT_FIELDS, "608861bc-50a4-4c5f-a02c-21fe1943e2cf"),
    "incidents": Table("incidents", "incident", "incidentid", INCIDENT_FIELDS, "e1bd1119-6e9c-45fb-b12e-d0a8b6c4e8e3"),
    "tasks": Table("tasks", "task", "activityid", TASK_FIELDS, "bf2d6a1c-2a4e-4a0f-9b8e-3f6c1d7e5a90"),
}
#: alternate keys the fake environment defines (Settings > Tables > Keys): the hub's idempotency key
ALTERNATE_KEYS = {"tasks": ("crmhub_key",), "incidents": ("crmhub_key",)}
#: columns a write may set, per entity set (the rest are system columns)
WRITABLE = {
    "tasks": {"subject", "description", "prioritycode", "scheduledend", "statecode", "statuscode"},
    "incidents": {"title", "description", "prioritycode", "caseorigincode", "casetypecode", "statecode",
                  "statuscode"},
    "contacts": {"firstname", "middlename", "lastname", "emailaddress1", "telephone1", "mobilephone",
                 "address1_line1", "address1_postalcode", "address1_city", "address1_country",
                 "crmhub_twitterhandle", "crmhub_socialfollowers"},
}  # fmt: skip
#: single-valued navigation properties a write may bind: name -> (target entity set, lookup column set)
BINDS = {
    "tasks": {"regardingobjectid_contact_task": ("contacts", "_regardingobjectid_value"),
              "ownerid": ("systemusers", "_ownerid_value")},
    "incidents": {"customerid_contact": ("contacts", "_customerid_value"),
                  "primarycontactid": ("contacts", "_primarycontactid_value")},
}  # fmt: skip
#: columns Dataverse requires on create (SystemRequired) or this environment's business rules make required
REQUIRED = {"tasks": ("subject",), "incidents": ("title", "_customerid_value")}
#: markers in a subject/title that make the environment refuse the save: a plug-in's business rule
#: (0x80040265) and, when the caller asks for duplicate detection, a duplicate rule (412, 0x80040333)
VALIDATION_MARKER = "[sandbox:invalid]"
DUPLICATE_MARKER = "[sandbox:duplicate]"
NOT_FOUND = "0x80040217"  # ObjectDoesNotExist
INVALID_ARGUMENT = "0x80040203"
PLUGIN_ABORTED = "0x80040265"  # IsvAborted: a plug-in or business rule refused the operation
DUPLICATE_DETECTED = "0x80040333"
KEY_SEGMENT = re.compile(r"^(\w+)\((.*)\)$")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ALTERNATE = re.compile(r"^(\w+)='((?:[^']|'')*)'$")
KNOWN_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken"}
EXPANDABLE = {"incidents": {"firstresponsebykpiid": ("slakpiinstanceid", "name", "status", "succeededon")}}
CONDITION = re.compile(r"^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*$")
ISO_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


class ODataError(Exception):
    """A request the Web API rejects with 400 and its error envelope."""

    def __init__(self, message: str, code: str = ODATA_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _to_dt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _literal(field_name: str, raw: str) -> Any:
    if raw == "null":
        return None
    if raw in ("true", "false"):
        return raw == "true"
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1].replace("''", "'")
    if field_name in DATE_FIELDS:
        if not ISO_LITERAL.match(raw):
            raise ODataError(
                f"The DateTimeOffset text '{raw}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?'"
            )
        return _to_dt(raw)
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    raise ODataError(f"Syntax error at position 0 in '{raw}'.")


def parse_filter(text: str, table: Table) -> list[tuple[str, str, Any]]:
    """The ``$filter`` subset the hub and the official client send: comparisons joined by ``and``."""
    if re.search(r"[()]|\s+or\s+|\bnot\s", text):
        raise ODataError("This sandbox supports comparisons joined by 'and' only; 'or', 'not' and parentheses "
                         "are not implemented.")  # fmt: skip
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = CONDITION.match(part)
        if not match:
            raise ODataError(f"Syntax error: the $filter clause '{part}' is not a comparison.")
        name, op, raw = match.groups()
        if name not in table.fields:
            raise ODataError(
                f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
            )
        conditions.append((name, op, _literal(name, raw)))
    return conditions


def _matches(record: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    for name, op, right in conditions:
        left = record.get(name)
        if name in DATE_FIELDS and left is not None:
            left = _to_dt(left)
        if op == "eq":
            ok = left == right
        elif op == "ne":
            ok = left != right
        elif left is None or right is None:
            ok = False
        else:
            ok = {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
        if not ok:
            return False
    return True


def _parse_orderby(text: str | None, table: Table) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    for part in (text or "").split(","):
        if not part.strip():
            continue
        bits = part.split()
        if bits[0] not in table.fields or len(bits) > 2 or (len(bits) == 2 and bits[1] not in ("asc", "desc")):
            raise ODataError(f"Could not find a property named '{bits[0]}' on type "
                             f"'Microsoft.Dynamics.CRM.{table.logical_name}'.")  # fmt: skip
        order.append((bits[0], len(bits) == 2 and bits[1] == "desc"))
    if not any(name == table.key for name, _ in order):
        order.append((table.key, False))  # Dataverse pages in primary-key order within equal sort values
    return order


def _sort(records: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    out = list(records)
    for name, desc in reversed(order):
        out.sort(key=lambda r, n=name: (r.get(n) is not None, r.get(n) if r.get(n) is not None else 0), reverse=desc)
    return out


def _parse_prefer(headers: list[str]) -> tuple[int, str | None]:
    page_size, annotations = MAX_PAGE_SIZE, None
    for header in headers:
        for part in header.split(","):
            key, _, value = part.strip().partition("=")
            if key == "odata.maxpagesize" and value.isdigit() and int(value) > 0:
                page_size = min(int(value), MAX_PAGE_SIZE)
            elif key == "odata.include-annotations":
                annotations = value.strip('"')
    return page_size, annotations


def _wants(annotations: str | None, term: str) -> bool:
    if not annotations:
        return False
    return any(p.strip() in ("*", term) or (p.strip().endswith("*") and term.startswith(p.strip()[:-1]))
               for p in annotations.split(","))  # fmt: skip


def _formatted_date(value: str) -> str:
    dt = _to_dt(value)
    return f"{dt.month}/{dt.day}/{dt.year} {dt.strftime('%I:%M %p').lstrip('0')}"


def _annotate(
    out: dict[str, Any], record: dict[str, Any], table: Table, annotations: str | None, names: dict[str, str]
) -> None:
    fmt = "@OData.Community.Display.V1.FormattedValue"
    formatted = _wants(annotations, fmt[1:])
    lookup = _wants(annotations, "Microsoft.Dynamics.CRM.lookuplogicalname")
    labels = {"statecode": CONTACT_STATE if table.key == "contactid" else INCIDENT_STATE,
              "statuscode": CONTACT_STATUS if table.key == "contactid" else INCIDENT_STATUS,
              "caseorigincode": CASE_ORIGIN, "casetypecode": CASE_TYPE, "prioritycode": PRIORITY}  # fmt: skip
    if table.entity_set == "tasks":
        labels.update(statecode=TASK_STATE, statuscode=TASK_STATUS, prioritycode=TASK_PRIORITY)
    for name in list(out):
        value = out[name]
        if value is None or name.startswith("@"):
            continue
        if formatted and name in labels:
            out[f"{name}{fmt}"] = labels[name].get(value, str(value))
        elif formatted and name in DATE_FIELDS:
            out[f"{name}{fmt}"] = _formatted_date(value)
        elif formatted and name in ("merged", "firstresponsesent"):
            out[f"{name}{fmt}"] = "Yes" if value else "No"
        elif formatted and name == "versionnumber":
            out[f"{name}{fmt}"] = f"{value:,}"
        if name.startswith("_") and name.endswith("_value"):
            target = {"_parentcustomerid_value": "account", "_ownerid_value": "systemuser"}.get(name, "contact")
            if lookup:
                out[f"{name}@Microsoft.Dynamics.CRM.lookuplogicalname"] = target
            if formatted:
                out[f"{name}{fmt}"] = record.get("_company_name") if target == "account" else names.get(value)


def _shape(record: dict[str, Any], table: Table, select: list[str] | None, expand: dict[str, list[str]],
           annotations: str | None, names: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    columns = select if select is not None else list(table.fields)
    out: dict[str, Any] = {"@odata.etag": f'W/"{record.get("versionnumber", 1)}"'}
    for name in columns:
        out[name] = record.get(name)
    out[table.key] = record[table.key]
    _annotate(out, record, table, annotations, names)
    for nav, fields in expand.items():
        target = record.get(nav)
        out[nav] = None if target is None else {"@odata.etag": 'W/"1"', **{f: target.get(f) for f in fields}}
    return out


def _parse_expand(text: str | None, table: Table) -> dict[str, list[str]]:
    if not text:
        return {}
    allowed = EXPANDABLE.get(table.entity_set, {})
    out: dict[str, list[str]] = {}
    for part in re.findall(r"(\w+)(?:\(\$select=([\w,]+)\))?", text):
        nav, fields = part
        if nav not in allowed:
            raise ODataError(
                f"Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.{table.logical_name}'."
            )
        chosen = [f for f in fields.split(",") if f] if fields else list(allowed[nav])
        unknown = [f for f in chosen if f not in allowed[nav]]
        if unknown:
            raise ODataError(
                f"Could not find a property named '{unknown[0]}' on type 'Microsoft.Dynamics.CRM.slakpiinstance'."
            )
        out[nav] = chosen
    return out


def _skiptoken(page: int, key: str, first: str, last: str) -> str:
    """A paging cookie shaped like Dataverse's (the server's business; clients pass it back unchanged)."""
    inner = f'<cookie page="{page}"><{key} last="{{{last}}}" first="{{{first}}}" /></cookie>'
    return (
        f'<cookie pagenumber="{page + 1}" pagingcookie="{quote(quote(inner, safe=""), safe="")}" istracking="False" />'
    )


def _resume_after(token: str, key: str) -> tuple[int, str]:
    match = re.search(r'pagenumber="(\d+)"\s+pagingcookie="([^"]*)"', token)
    inner = unquote(unquote(match.group(2))) if match else ""
    last = re.search(rf'<{key} last="\{{([0-9a-f-]{{36}})\}}"', inner)
    if not match or not last:
        raise ODataError("The $skiptoken is not a valid paging cookie.")
    return int(match.group(1)), last.group(1)


# -- the app ---------------------------------------------------------------------------------------------
class TokenStore:
    """Access tokens issued by the fake Entra ID endpoint, with issue time (for revocation) and expiry."""

    def __init__(self) -> None:
        self.tokens: dict[str, tuple[float, float]] = {}
        self.issued = 0

    def issue(self, expires_in: int) -> str:
        token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(32)
        self.tokens[token] = (time.monotonic(), time.time() + expires_in)
        self.issued += 1
        return token

    def lookup(self, token: str) -> tuple[float, float] | None:
        return self.tokens.get(token)


def create_dynamics_app(data: SandboxData, settings: DynamicsSettings | None = None) -> FastAPI:
    """Build the fake Dataverse environment over ``data``; tokens, limits and faults live in the app."""
    settings = settings or DynamicsSettings()
    app = FastAPI(title="Dynamics 365 sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    faults = FaultState(settings.faults)
    window = SlidingWindow(settings.rate_limit_max, settings.rate_limit_interval_ms)
    tokens = TokenStore()
    vendor_data = data.vendors.get("dynamics") or derive_for(data)
    names = {r["contactid"]: r["fullname"] for r in vendor_data["contacts"]}  # contact lookups' formatted values
    # tasks exist only once written (issue 17); kept in the app, so the generated data set stays as generated
    rows = {"contacts": vendor_data["contacts"], "incidents": vendor_data["incidents"], "tasks": []}
    app.state.faults = faults
    app.state.settings = settings
    app.state.tokens = tokens
    app.state.records = rows

    def odata_headers() -> dict[str, str]:
        return {"OData-Version": "4.0", "REQ_ID": new_id(), "x-ms-service-request-id": new_id(),
                "x-ms-ratelimit-burst-remaining-xrm-requests": str(window.remaining()),
                "x-ms-ratelimit-time-remaining-xrm-requests": "1,200,000.00"}  # fmt: skip

    def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)

    def aad_error(status: int, err: str, code: int, description: str) -> JSONResponse:
        trace, corr = new_id(), new_id()
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        body = {"error": err, "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: "
                f"{corr} Timestamp: {now}", "error_codes": [code], "timestamp": now, "trace_id": trace,
                "correlation_id": corr}  # fmt: skip
        return JSONResponse(body, status_code=status)

    def unauthorized(request: Request) -> Response:
        challenge = (f"Bearer authorization_uri=https://login.microsoftonline.com/{settings.tenant_id}/oauth2/"
                     f"authorize, resource_id={settings.resource}/")  # fmt: skip
        return Response(status_code=401, headers={"WWW-Authenticate": challenge, **odata_headers()})

    def throttled(retry_after: int) -> JSONResponse:
        message = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
        return error(429, THROTTLE_REQUESTS, message, {"Retry-After": str(retry_after)})

    @app.middleware("http")
    async def vendor_behaviour(request: Request, call_next: Any) -> Response:
        started = time.monotonic()
        path = request.url.path
        if not path.startswith(API_ROOT):
            response = await call_next(request)
            if not path.startswith("/_sandbox"):
                log_request("dynamics", request, response.status_code, started)
            return response
        await faults.delay()
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        issued = tokens.lookup(token) if token else None
        response: Response
        if issued is None or time.time() >= issued[1] or faults.token_revoked(issued[0]):
            response = unauthorized(request)
        elif faults.take_forced_rate_limit():
            response = throttled(settings.throttle_retry_after)
        elif not window.hit():
            oldest = window.hits[0] if window.hits else time.monotonic()
            wait = oldest + settings.rate_limit_interval_ms / 1000 - time.monotonic()
            response = throttled(max(1, math.ceil(wait)))
        else:
            response = await call_next(request)
            response.headers.update(odata_headers())
        log_request("dynamics", request, response.status_code, started)
        return response

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token_endpoint(tenant: str, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic is accepted too
            try:
                client_id, _, client_secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return aad_error(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or "
                                 "'request' is required for the 'client_credentials' grant type.")  # fmt: skip
        if tenant != settings.tenant_id:
            return aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure you "
                             "have the correct tenant ID and are signing into the correct cloud.")  # fmt: skip
        if form.get("grant_type") != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                             f"'{form.get('grant_type')}'.")  # fmt: skip
        if client_id != settings.client_id:
            return aad_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                             f"not found in the directory '{tenant}'.")  # fmt: skip
        if not client_secret:
            return aad_error(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is "
                             "required for the 'client_credentials' grant type.")  # fmt: skip
        if client_secret != settings.client_secret:
            return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret "
                             f"being sent in the request is the client secret value, not the client secret ID, for "
                             f"a secret added to app '{client_id}'.")  # fmt: skip
        scope = str(form.get("scope", "")).strip()
        own = str(request.base_url).rstrip("/")
        if scope.rstrip("/") not in (f"{settings.resource}/.default", f"{own}/.default", f"{own}//.default"):
            return aad_error(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                             "Client credential flows must have a scope value with /.default suffixed to the "
                             "resource identifier (application ID URI).")  # fmt: skip
        access = tokens.issue(settings.expires_in)
        return JSONResponse({"token_type": "Bearer", "expires_in": settings.expires_in,
                             "ext_expires_in": settings.expires_in, "access_token": access})  # fmt: skip

    @app.get(f"{API_ROOT}/WhoAmI")
    async def who_am_i() -> dict[str, str]:
        return {"@odata.context": f"{settings.resource}{API_ROOT}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
                "BusinessUnitId": BUSINESS_UNIT_ID, "UserId": USER_ID, "OrganizationId": ORGANIZATION_ID}  # fmt: skip

    @app.get(f"{API_ROOT}/EntityDefinitions")
    async def entity_definitions(request: Request) -> Response:
        """Just enough metadata for clients that resolve a table's entity set name first."""
        flt = request.query_params.get("$filter", "")
        match = re.fullmatch(r"\s*LogicalName\s+eq\s+'([^']*)'\s*", flt) if flt else None
        if flt and not match:
            return error(400, ODATA_ERROR, f"The $filter '{flt}' is not supported on EntityDefinitions here.")
        tables = [t for t in TABLES.values() if match is None or t.logical_name == match.group(1)]
        value = [{"LogicalName": t.logical_name, "EntitySetName": t.entity_set, "PrimaryIdAttribute": t.key,
                  "MetadataId": t.metadata_id} for t in tables]  # fmt: skip
        base = str(request.base_url).rstrip("/")
        context = f"{base}{API_ROOT}/$metadata#EntityDefinitions(LogicalName,EntitySetName,PrimaryIdAttribute)"
        return JSONResponse({"@odata.context": context, "value": value})

    @app.get(API_ROOT + "/{entity_set}")
    async def list_records(entity_set: str, request: Request) -> Response:
        if entity_set not in TABLES:
            name = entity_set.split("(")[0]
            if name in TABLES:
                return get_one(TABLES[name], entity_set, request)
            return error(404, "0x80060888", f"Resource not found for the segment '{entity_set}'.")
        table = TABLES[entity_set]
        query = request.query_params
        unknown = [k for k in query if k not in KNOWN_OPTIONS]
        if unknown:
            return error(400, ODATA_ERROR, f"The query parameter {unknown[0]} is not supported")
        page_size, annotations = _parse_prefer(request.headers.getlist("prefer"))
        try:
            select = [s.strip() for s in query["$select"].split(",") if s.strip()] if "$select" in query else None
            for name in select or []:
                if name not in table.fields:
                    raise ODataError(f"Could not find a property named '{name}' on type "
                                     f"'Microsoft.Dynamics.CRM.{table.logical_name}'.")  # fmt: skip
            conditions = parse_filter(query["$filter"], table) if query.get("$filter") else []
            order = _parse_orderby(query.get("$orderby"), table)
            expand = _parse_expand(query.get("$expand"), table)
            top = int(query["$top"]) if "$top" in query else None
            page_number, after = _resume_after(query["$skiptoken"], table.key) if "$skiptoken" in query else (1, None)
        except ODataError as exc:
            return error(400, exc.code, str(exc))
        except ValueError:
            return error(400, ODATA_ERROR, "Invalid value for $top: it must be a non-negative integer.")
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return sandbox_faults.page_fault_response(fault, faults, None)
        pool = _sort([r for r in rows[entity_set] if _matches(r, conditions)], order)
        if top is not None:
            pool = pool[:top]
        start = 0
        if after is not None:
            keys = [r[table.key] for r in pool]
            if after not in keys:
                return error(400, ODATA_ERROR, "The paging cookie refers to a record outside this query.")
            start = keys.index(after) + 1
        page = pool[start : start + page_size]
        base = str(request.base_url).rstrip("/")
        chosen = f"({','.join(select)})" if select else ""
        payload: dict[str, Any] = {"@odata.context": f"{base}{API_ROOT}/$metadata#{entity_set}{chosen}"}
        if query.get("$count") == "true":
            payload["@odata.count"] = len(pool)
        shaped = [_shape(r, table, select, expand, annotations, names) for r in page]
        payload["value"] = faults.with_duplicate(fault, shaped)
        if start + page_size < len(pool) and page:
            kept = [(k, v) for k, v in query.multi_items() if k != "$skiptoken"]
            token = _skiptoken(page_number, table.key, page[0][table.key], page[-1][table.key])
            link = "&".join(f"{k}={quote(v, safe=',()=:$')}" for k, v in kept)
            link += ("&" if link else "") + "$skiptoken=" + quote(token, safe="=/")
            payload["@odata.nextLink"] = f"{base}{API_ROOT}/{entity_set}?{link}"
        applied = [f"odata.maxpagesize={page_size}"] if request.headers.get("prefer") else []
        if annotations:
            applied.append(f'odata.include-annotations="{annotations}"')
        headers = {"Preference-Applied": ",".join(applied)} if applied else {}
        if fault in ("html_error_page", "malformed_page"):
            return sandbox_faults.page_fault_response(fault, faults, payload)
        return JSONResponse(payload, headers=headers, media_type="application/json; odata.metadata=minimal")

    def get_one(table: Table, segment: str, request: Request) -> Response:
        found = locate(table, segment)
        if isinstance(found, Response):
            return found
        record, key = found
        if record is None:
            return error(404, NOT_FOUND, f"{table.logical_name} With Id = {key} Does Not Exist")
        _, annotations = _parse_prefer(request.headers.getlist("prefer"))
        select = [s for s in request.query_params.get("$select", "").split(",") if s] or None
        base = str(request.base_url).rstrip("/")
        body = {"@odata.context": f"{base}{API_ROOT}/$metadata#{table.entity_set}/$entity",
                **_shape(record, table, select, {}, annotations, names)}  # fmt: skip
        return JSONResponse(body)

    # -- writes (issue 17): upsert by alternate key with If-None-Match / If-Match, updates, deletes --------
    def locate(table: Table, segment: str) -> tuple[dict[str, Any] | None, str] | Response:
        """The record a ``set(<guid>)`` or ``set(<key>='<value>')`` segment names (None if absent), and its key."""
        match = KEY_SEGMENT.match(segment)
        inner = match.group(2) if match else ""
        if GUID.match(inner):
            wanted = inner.lower()
            return next((r for r in rows[table.entity_set] if r[table.key] == wanted), None), inner
        alternate = ALTERNATE.match(inner)
        if alternate is None or alternate.group(1) not in ALTERNATE_KEYS.get(table.entity_set, ()):
            return error(400, ODATA_ERROR, f"The key '{inner}' does not match the primary key or an alternate key "
                         f"of '{table.logical_name}'.")  # fmt: skip
        column, value = alternate.group(1), alternate.group(2).replace("''", "'")
        return next((r for r in rows[table.entity_set] if r.get(column) == value), None), inner

    def check(table: Table, body: Any, current: dict[str, Any] | None, request: Request) -> Response | dict:
        """The columns to set, or the error Dataverse answers (its order: payload, binds, required, rules)."""
        if not isinstance(body, dict):
            return error(400, ODATA_ERROR, "The payload must be a JSON object.")
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name.endswith("@odata.bind"):
                nav = name.removesuffix("@odata.bind")
                target = BINDS.get(table.entity_set, {}).get(nav)
                if target is None:
                    message = (f"An undeclared property '{nav}' which only has property annotations in the "
                               "payload but no property value was found in the payload.")  # fmt: skip
                    return error(400, ODATA_ERROR, message)
                linked = re.fullmatch(rf"/?{target[0]}\(([0-9a-fA-F-]{{36}})\)", str(value or ""))
                if linked is None:
                    return error(400, ODATA_ERROR, f"The value of '{name}' is not a valid entity reference.")
                guid = linked.group(1).lower()
                if target[0] == "contacts" and not any(c["contactid"] == guid for c in rows["contacts"]):
                    return error(404, NOT_FOUND, f"contact With Id = {guid} Does Not Exist")
                values[target[1]] = guid
            elif name in WRITABLE.get(table.entity_set, ()):
                values[name] = value
            else:
                return error(400, ODATA_ERROR, f"The property '{name}' does not exist on type "
                             f"'Microsoft.Dynamics.CRM.{table.logical_name}'. Make sure to only use property names "
                             "that are defined by the type.")  # fmt: skip
        merged = {**(current or {}), **values}
        for column in REQUIRED.get(table.entity_set, ()) if current is None else ():
            if merged.get(column) in (None, ""):
                return error(400, INVALID_ARGUMENT, f"Attribute '{column}' cannot be NULL: it is required.")
        text = str(merged.get("subject") or merged.get("title") or "")
        if VALIDATION_MARKER in text:
            return error(400, PLUGIN_ABORTED, "Social follow-ups need a reviewed subject (business rule).")
        detect = request.headers.get("mscrm.suppressduplicatedetection", "").lower() == "false"
        if detect and DUPLICATE_MARKER in text:
            return error(412, DUPLICATE_DETECTED, "A record was not created or updated because a duplicate of the "
                         "current record already exists.")  # fmt: skip
        return values

    def representation(table: Table, record: dict[str, Any], request: Request, status: int) -> Response:
        select = [s for s in request.query_params.get("$select", "").split(",") if s] or None
        base = str(request.base_url).rstrip("/")
        body = {"@odata.context": f"{base}{API_ROOT}/$metadata#{table.entity_set}/$entity",
                **_shape(record, table, select, {}, None, names)}  # fmt: skip
        headers = {"Preference-Applied": "return=representation", "ETag": body["@odata.etag"]}
        return JSONResponse(body, status_code=status, headers=headers)

    def stamp(record: dict[str, Any]) -> None:
        record["modifiedon"] = iso_s(datetime.now(UTC))
        record["versionnumber"] = max([r.get("versionnumber") or 0 for t in rows.values() for r in t] + [0]) + 1

    @app.patch(API_ROOT + "/{segment}")
    async def write(segment: str, request: Request) -> Response:
        """Create, update or upsert one row; ``If-None-Match: *`` creates only (412 when the row exists),
        ``If-Match: *`` updates only (404 when it does not)."""
        name = segment.split("(")[0]
        if name not in TABLES or "(" not in segment:
            return error(404, ODATA_ERROR, f"Resource not found for the segment '{segment}'.")
        table = TABLES[name]
        found = locate(table, segment)
        if isinstance(found, Response):
            return found
        current, key = found
        fault = faults.next_write_fault()
        if fault == "write_error":
            return sandbox_faults.page_fault_response("server_error_page", faults, None)
        create_only = request.headers.get("if-none-match", "").strip().strip('"') == "*"
        update_only = request.headers.get("if-match", "").strip().strip('"') == "*"
        if current is not None and create_only:
            return error(412, "", "A record with matching key values already exists.")
        if current is None and update_only:
            return error(404, NOT_FOUND, f"{table.logical_name} With Id = {key} Does Not Exist")
        try:
            body = await request.json()
        except ValueError:
            return error(400, ODATA_ERROR, "The payload is not valid JSON.")
        values = check(table, body, current, request)
        if isinstance(values, Response):
            return values
        created = current is None
        if created:
            now = iso_s(datetime.now(UTC))
            current = {column: None for column in table.fields}
            current.update(createdon=now, statecode=0, **{table.key: str(uuid.uuid4())})
            current.update({"tasks": {"statuscode": 2, "prioritycode": 1, "_ownerid_value": USER_ID},
                            "incidents": {"statuscode": 1, "prioritycode": 2,
                                          "ticketnumber": f"CAS-{len(rows['incidents']) + 1:05d}-SBX"},
                            }.get(table.entity_set, {}))  # fmt: skip
            alternate = ALTERNATE.match(key)
            if alternate:
                current[alternate.group(1)] = alternate.group(2).replace("''", "'")
            current.update(values)
            stamp(current)
            rows[table.entity_set].append(current)
        else:
            current.update(values)
            stamp(current)
        app.state.writes += 1
        if fault == "write_lost_response":
            return sandbox_faults.page_fault_response("server_error_page", faults, None)
        if "return=representation" in ",".join(request.headers.getlist("prefer")):
            return representation(table, current, request, 201 if created else 200)
        base = str(request.base_url).rstrip("/")
        return Response(status_code=204, headers={"OData-EntityId": f"{base}{API_ROOT}/{table.entity_set}({key})"})

    @app.delete(API_ROOT + "/{segment}")
    async def delete(segment: str) -> Response:
        """Delete a row for good (Dataverse deletes are hard deletes): 204, or 404 when it is not there."""
        name = segment.split("(")[0]
        if name not in TABLES:
            return error(404, ODATA_ERROR, f"Resource not found for the segment '{segment}'.")
        found = locate(TABLES[name], segment)
        if isinstance(found, Response):
            return found
        record, key = found
        if record is None:
            return error(404, NOT_FOUND, f"{TABLES[name].logical_name} With Id = {key} Does Not Exist")
        rows[name].remove(record)
        return Response(status_code=204)

    app.state.writes = 0

    @app.get("/_sandbox/dynamics/written", include_in_schema=False)
    async def written() -> dict[str, Any]:
        """What the hub wrote, for tests and the demo: tasks and incidents carrying the alternate key."""
        return {
            "tasks": [r for r in rows["tasks"] if r.get("crmhub_key")],
            "incidents": [r for r in rows["incidents"] if r.get("crmhub_key")],
            "writes": app.state.writes,
        }

    install_sandbox_routes(app, "dynamics", faults, data.ground_truth)
    return app


def derive_for(data: SandboxData) -> dict[str, list[dict[str, Any]]]:
    """What to serve for a data set made without the Dynamics vendor registered: an empty organisation."""
    return {"contacts": [], "incidents": []}


def sandbox_connection(url: str, data: SandboxData, ca_bundle: str | None) -> dict[str, Any]:
    """The Airflow Connection that reaches this sandbox: app registration id/secret, tenant, token URL."""
    host = urlsplit(url)
    base = f"{host.scheme}://{host.netloc}"
    return {
        "conn_type": "crmhub_dynamics",
        "login": DEFAULT_CLIENT_ID,
        "password": DEFAULT_CLIENT_SECRET,
        "extra": {
            "tenant_id": DEFAULT_TENANT_ID,
            "token_url": f"{base}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token",
            "scope": f"{DEFAULT_RESOURCE}/.default",
        },
    }
