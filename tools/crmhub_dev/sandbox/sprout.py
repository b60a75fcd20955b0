"""Fake Sprout Social API: customer metadata, profile analytics and the inbox messages endpoint.

Why: the Sprout connector has to handle a customer id that scopes every path, read queries sent as
``POST`` with a JSON body of ``filters``/``fields``/``limit``/``page_cursor``, the ``{"data", "paging",
"error"}`` envelope, ``202`` ("processed but not ready, retry"), and a 60 requests/minute limit that is
signalled by a bare 429 (Sprout sends no rate-limit headers and no ``Retry-After``), all without a real
Sprout account.

Wire format, as Sprout documents it (api.sproutsocial.com/docs):

- ``GET /v1/metadata/client`` -> ``{"data": [{"customer_id", "name"}]}`` (the only unscoped call);
- ``GET /v1/{cid}/metadata/customer`` -> the customer's profiles (``customer_profile_id``,
  ``network_type``, ``name``, ``native_name``, ``native_id``, ``link``, ``groups``);
- ``GET /v1/{cid}/metadata/customer/tags`` -> every tag (``tag_id``, ``text``, ``type``, ``active``,
  ``groups``), unpaged;
- ``POST /v1/{cid}/analytics/profiles`` with ``customer_profile_id.eq(...)`` and
  ``reporting_period.in(YYYY-MM-DD..YYYY-MM-DD)`` -> one row per profile and day
  (``dimensions`` + ``metrics``), page-index paging (``page``; ``paging.current_page/total_pages``);
- ``POST /v1/{cid}/messages`` with ``customer_profile_id.eq(...)`` and ``created_time.in(a..b)``
  (``..`` inclusive, ``...`` end-exclusive; no trailing ``Z``), ``fields``, ``limit`` <= 100 and
  ``page_cursor`` -> ``{"data": [...], "paging": {"next_cursor": ...}}``; ``paging`` is absent on the
  last page. Only the requested ``fields`` come back (``guid`` always).

Every response carries ``X-Sprout-Request-ID``, ``X-Sprout-API-Version`` and ``X-Sprout-Server-Version``.
Messages carry no follower counts of their authors: Sprout only reports followers of the customer's own
profiles (``lifetime_snapshot.followers_count`` in profile analytics).
"""

# No ``from __future__ import annotations``: FastAPI must resolve the route signatures of the app built
# inside create_sprout_app, whose FastAPI imports are local so that ``derive`` can be loaded without it.
import base64
import bisect
import json
import random
import re
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from crmhub_dev.sandbox import message_corpus
from crmhub_dev.sandbox.datagen import CAMPAIGNS, DeriveContext, SandboxData, iso_s

DEFAULT_TOKEN = "sandbox-sprout-api-token"
CUSTOMER_ID = 1870632
CUSTOMER_NAME = "Social CRM Hub B.V."
API_VERSION = "1.1"
SERVER_VERSION = "1.1.3018"
MAX_MESSAGE_LIMIT = 100
DEFAULT_MESSAGE_LIMIT = 50
DEFAULT_ANALYTICS_LIMIT = 1000

#: The brand's profiles in Sprout (a different tool than Hootsuite, so its own ids).
PROFILES: list[dict[str, Any]] = [
    {"customer_profile_id": 4410211, "network_type": "twitter", "name": "Social CRM Hub",
     "native_name": "socialcrmhub", "native_id": "1261768027", "link": "https://twitter.com/socialcrmhub",
     "groups": [88211]},
    {"customer_profile_id": 4410215, "network_type": "fb_instagram_account", "name": "Social CRM Hub",
     "native_name": "socialcrmhub.nl", "native_id": "17841400008460056",
     "link": "https://www.instagram.com/socialcrmhub.nl", "groups": [88211]},
    {"customer_profile_id": 4410218, "network_type": "facebook", "name": "Social CRM Hub",
     "native_name": "socialcrmhub", "native_id": "177463958820", "link": "https://www.facebook.com/socialcrmhub",
     "groups": [88211]},
    {"customer_profile_id": 4410222, "network_type": "linkedin_company", "name": "Social CRM Hub B.V.",
     "native_name": "social-crm-hub", "native_id": "5012345",
     "link": "https://www.linkedin.com/company/social-crm-hub", "groups": [88211, 88214]},
]  # fmt: skip
#: canonical network -> the Sprout network_type of the brand profile people write to
NETWORK_TYPE = {"twitter": "twitter", "instagram": "fb_instagram_account", "facebook": "facebook",
                "linkedin": "linkedin_company"}  # fmt: skip
SPROUT_NETWORK = {"twitter": "TWITTER", "instagram": "INSTAGRAM", "facebook": "FACEBOOK", "linkedin": "LINKEDIN"}
#: canonical network -> (inbound post types, outbound reply type)
POST_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "twitter": (("TWITTER_MENTION", "TWITTER_MENTION", "TWITTER_DIRECT_MESSAGE"), "TWEET"),
    "instagram": (("INSTAGRAM_COMMENT", "INSTAGRAM_COMMENT", "INSTAGRAM_DIRECT_MESSAGE"), "INSTAGRAM_OUTBOUND_COMMENT"),
    "facebook": (("FACEBOOK_COMMENT", "FACEBOOK_CONVERSATION"), "FACEBOOK_OUTBOUND_COMMENT"),
    "linkedin": (("LINKEDIN_COMMENT",), "LINKEDIN_COMPANY_UPDATE"),
}
BROADCAST_TYPES = {"twitter": "TWEET", "instagram": "INSTAGRAM_MEDIA", "facebook": "FACEBOOK_POST",
                   "linkedin": "LINKEDIN_COMPANY_UPDATE"}  # fmt: skip
#: label tags (service work) and campaign tags (the datagen campaigns), as Sprout's tag metadata lists them
LABEL_TAGS = ["service", "klacht", "retour", "sales", "vip"]
TAGS: list[dict[str, Any]] = [
    *({"tag_id": 321 + i, "text": name, "type": "LABEL", "active": True, "groups": [88211]}
      for i, name in enumerate(LABEL_TAGS)),
    *({"tag_id": 410 + i, "text": name, "type": "CAMPAIGN", "active": i < 3, "groups": [88211]}
      for i, (name, _) in enumerate(CAMPAIGNS)),
]  # fmt: skip
TAG_ID = {t["text"]: t["tag_id"] for t in TAGS}
BASE_FOLLOWERS = {4410211: 12_840, 4410215: 31_205, 4410218: 8_930, 4410222: 2_415}

#: The inbound texts (labelled in crmhub_dev.sandbox.message_corpus; labels kept as ``message_labels``).
INBOUND_NL = [entry[0] for entry in message_corpus.INBOUND_NL]
INBOUND_EN = [entry[0] for entry in message_corpus.INBOUND_EN]
INBOUND_FA = [entry[0] for entry in message_corpus.INBOUND_FA]
REPLIES = [
    "Bedankt voor je bericht! Stuur ons even een DM met je ordernummer 📦",
    "Sorry voor het wachten, we zoeken het voor je uit 🙏",
    "Thanks for reaching out! We've sent you a DM 💬",
    "Goed om te horen! Fijne dag nog ☀️",
]
FILTER = re.compile(r"^\s*([a-z_.]+)\.(eq|in)\((.*)\)\s*$", re.S)
MESSAGE_FIELDS = (
    "guid", "created_time", "text", "network", "post_type", "customer_profile_id", "profile_guid", "perma_link",
    "language_code", "parent_guid", "from", "from.guid", "from.name", "from.screen_name", "from.profile_picture",
    "internal", "internal.tags", "internal.tags.id",
)  # fmt: skip


@dataclass
class SproutSettings:
    """API token, customer, limits and faults (defaults follow Sprout's documentation).

    ``not_ready_once_per_page`` answers the first request for every messages page with ``202`` (Sprout:
    "processed successfully but not ready"); the client must ask again for the same page.
    """

    token: str = DEFAULT_TOKEN
    customer_id: int = CUSTOMER_ID
    rate_limit_per_minute: int = 60
    not_ready_once_per_page: bool = False
    faults: dict[str, int] = field(default_factory=dict)


# -- data ------------------------------------------------------------------------------------------
def _handle_for(ctx: DeriveContext, person: dict[str, Any], taken: set[str]) -> str:
    """A handle for a person who is social only on Sprout: from the latin name, unique across vendors."""
    first, last = person["latin"]
    base = re.sub(r"[^a-z0-9_]", "", f"{first}_{last}".lower().replace(" ", ""))[:13] or "user"
    handle = base if ctx.rng.random() < 0.5 else f"{base[:11]}{ctx.rng.randint(10, 99)}"
    n = 2
    while handle in taken:
        handle = f"{base[:12]}{n}"
        n += 1
    taken.add(handle)
    return handle


def derive(ctx: DeriveContext) -> dict[str, Any]:
    """Sprout's profiles, tags, messages and follower history, made from the generated people.

    About 70% of the people with a handle (the Hootsuite people) also write to the brand's Sprout
    profiles, and about 8% of the people without one are social only on Sprout (a Facebook or
    LinkedIn commenter, say). Each writer sends 2-5 inbound messages; about half get a reply. Campaign
    posts are tagged with the datagen campaign names. Returns ``message_truth`` (guid -> person_id or
    None) and ``message_labels`` (inbound guid -> hidden true language, intent and hard-case kind, from
    :mod:`crmhub_dev.sandbox.message_corpus`) next to what the API serves.
    """
    rng = ctx.rng
    profile_of = {p["network_type"]: p for p in PROFILES}
    taken = {p["handle"] for p in ctx.persons if p.get("handle")}
    writers: list[tuple[dict[str, Any], str, str, str]] = []  # person, network, handle, display
    for person in ctx.persons:
        if person.get("handle"):
            if rng.random() < 0.7:
                writers.append((person, person["social_network"], person["handle"], person["handle_display"]))
        elif rng.random() < 0.08:
            network = rng.choice(["twitter", "instagram", "facebook", "linkedin"])
            handle = _handle_for(ctx, person, taken)
            writers.append((person, network, handle, handle if rng.random() < 0.6 else handle.capitalize()))

    drafts: list[tuple[datetime, dict[str, Any], str | None]] = []
    for person, network, handle, display in writers:
        ctx.add_record(person, f"{network}:{handle}")
        author_id = str(rng.randrange(10**9, 10**10)) if network == "twitter" else str(rng.randrange(10**15, 10**16))
        first, last = person["latin"]
        shown_name = rng.choice([f"{first} {last}", f"{person['first_name']} {person['last_name']}", first,
                                 f"{first} {last[0]}.", f"{first} ✨"])  # fmt: skip
        author = {
            "guid": author_id if rng.random() < 0.9 else None,  # Sprout omits it for some message types
            "name": shown_name,
            "screen_name": display,
            "profile_picture": f"https://pbs.sproutcdn.example/avatars/{author_id}.jpg",
        }
        inbound_types, reply_type = POST_TYPES[network]
        for _ in range(rng.randint(2, 5)):
            at = ctx.when(ctx.start, ctx.anchor - timedelta(minutes=30)).replace(microsecond=0)
            pool = (message_corpus.INBOUND_FA if person["kind"] == "persian" and rng.random() < 0.5
                    else message_corpus.INBOUND_NL if rng.random() < 0.65 else message_corpus.INBOUND_EN)  # fmt: skip
            post_type = rng.choice(inbound_types)
            entry = rng.choice(pool)
            text = entry[0]
            if post_type == "TWITTER_MENTION":
                text = f"@socialcrmhub {text}"
            tags = rng.choice([[], [], ["service"], ["klacht"], ["service", "retour"], ["sales"]])
            if rng.random() < 0.12:
                tags = [*tags, rng.choice(CAMPAIGNS)[0]]  # a reaction to a campaign post
            msg = {"network": network, "post_type": post_type, "text": text, "from": dict(author), "tags": tags,
                   "language": message_corpus.wire_language(entry[1]),
                   "_label": message_corpus.label(entry)}  # fmt: skip
            drafts.append((at, msg, person["person_id"]))
            if rng.random() < 0.5:
                reply_at = at + timedelta(minutes=rng.randint(3, 600))
                if reply_at < ctx.anchor:
                    text = rng.choice(REPLIES)
                    if network == "twitter":
                        text = f"@{rng.choice([display, handle])} {text}"
                    drafts.append((reply_at, {"network": network, "post_type": reply_type, "text": text,
                                              "from": None, "tags": tags[:1], "language": "nl",
                                              "reply_to": len(drafts) - 1}, person["person_id"]))  # fmt: skip
    for _ in range(max(2, len(writers) // 6)):
        at = ctx.when(ctx.start, ctx.anchor - timedelta(minutes=30)).replace(second=0, microsecond=0)
        name, text = rng.choice(CAMPAIGNS)
        network = rng.choice(list(BROADCAST_TYPES))
        drafts.append((at, {"network": network, "post_type": BROADCAST_TYPES[network], "text": text.replace(
            "ow.ly", "sprou.tt"), "from": None, "tags": [name], "language": "nl"}, None))  # fmt: skip

    order = sorted(range(len(drafts)), key=lambda i: drafts[i][0])
    guids: dict[int, str] = {}
    messages: list[dict[str, Any]] = []
    truth: dict[str, str | None] = {}
    labels: dict[str, dict[str, str | None]] = {}
    for i in order:
        at, msg, person_id = drafts[i]
        network = msg["network"]
        profile = profile_of[NETWORK_TYPE[network]]
        guid = _guid(rng, network, profile)
        guids[i] = guid
        outbound = msg["from"] is None
        sender = msg["from"] or {
            "guid": profile["native_id"],
            "name": profile["name"],
            "screen_name": profile["native_name"],
            "profile_picture": f"https://pbs.sproutcdn.example/avatars/{profile['native_id']}.jpg",
        }
        if sender.get("guid") is None:
            sender = {k: v for k, v in sender.items() if k != "guid"}
        parent = guids.get(msg["reply_to"]) if "reply_to" in msg else None
        messages.append(
            {
                "guid": guid,
                "created_time": iso_s(at),
                "text": msg["text"],
                "network": SPROUT_NETWORK[network],
                "post_type": msg["post_type"],
                "customer_profile_id": profile["customer_profile_id"],
                "profile_guid": profile["native_id"],
                "perma_link": _perma_link(network, profile, guid, sender.get("screen_name", "")),
                "language_code": msg["language"],
                "parent_guid": parent,
                "from": sender,
                "internal": {"tags": [{"id": TAG_ID[t]} for t in msg["tags"]]},
                "_outbound": outbound,
            }
        )
        truth[guid] = person_id
        if "_label" in msg:  # inbound: the hidden ground truth, never served
            labels[guid] = dict(msg["_label"])
    for message in messages:
        message.pop("_outbound")
    analytics = _follower_history(ctx)
    return {
        "customer": {"customer_id": CUSTOMER_ID, "name": CUSTOMER_NAME},
        "profiles": [dict(p) for p in PROFILES],
        "tags": [dict(t) for t in TAGS],
        "messages": messages,
        "analytics": analytics,
        "message_truth": truth,
        "message_labels": labels,
    }


def _guid(rng: Any, network: str, profile: dict[str, Any]) -> str:
    if network == "twitter":
        return str(rng.randrange(10**18, 2 * 10**18))
    if network == "instagram":
        return str(rng.randrange(17 * 10**15, 18 * 10**15))
    if network == "facebook":
        return f"{profile['native_id']}_{rng.randrange(10**15, 10**16)}"
    return f"urn:li:comment:(urn:li:activity:{rng.randrange(7 * 10**18, 8 * 10**18)},{rng.randrange(10**18)})"


def _perma_link(network: str, profile: dict[str, Any], guid: str, screen_name: str) -> str | None:
    if network == "twitter":
        return f"https://twitter.com/{screen_name or 'i'}/status/{guid}"
    if network == "facebook":
        return f"https://www.facebook.com/{profile['native_id']}/posts/{guid.split('_')[-1]}"
    if network == "linkedin":
        return f"https://www.linkedin.com/feed/update/{guid}"
    return None  # Instagram comments and DMs have no public link


def _follower_history(ctx: DeriveContext) -> dict[int, list[tuple[str, int, int]]]:
    """Per profile: (day, lifetime followers at the end of the day, net growth that day) over the history."""
    out: dict[int, list[tuple[str, int, int]]] = {}
    first_day = (ctx.start - timedelta(days=1)).date()
    days = (ctx.anchor.date() - first_day).days + 1
    for profile in PROFILES:
        pid = profile["customer_profile_id"]
        followers = BASE_FOLLOWERS[pid]
        rows = []
        for d in range(days):
            growth = ctx.rng.randint(-4, 25)
            followers += growth
            rows.append(((first_day + timedelta(days=d)).isoformat(), followers, growth))
        out[pid] = rows
    return out


def sprout_data(data: SandboxData) -> dict[str, Any]:
    """What the sandbox's Sprout serves (made by :func:`derive` when the data set was generated)."""
    if "sprout" not in data.vendors:
        raise ValueError("this data set has no Sprout data: is 'sprout' registered in crmhub_dev.sandbox.vendors?")
    return data.vendors["sprout"]


# -- request parsing -------------------------------------------------------------------------------
class BadRequest(ValueError):
    """A request body Sprout answers with 400 and an ``error`` string."""


def parse_filters(filters: Any) -> dict[str, tuple[str, str]]:
    """``["customer_profile_id.eq(1, 2)", ...]`` -> ``{field: (operator, arguments)}``."""
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise BadRequest("filters must be an array of filter strings")
    out = {}
    for text in filters:
        found = FILTER.match(text)
        if not found:
            raise BadRequest(f"Invalid filter: {text}")
        out[found.group(1)] = (found.group(2), found.group(3))
    return out


def profile_ids(filters: dict[str, tuple[str, str]]) -> set[int]:
    if "customer_profile_id" not in filters or filters["customer_profile_id"][0] != "eq":
        raise BadRequest("A customer_profile_id.eq filter is required")
    try:
        ids = {int(part) for part in filters["customer_profile_id"][1].split(",") if part.strip()}
    except ValueError as exc:
        raise BadRequest("customer_profile_id values must be integers") from exc
    if not ids:
        raise BadRequest("customer_profile_id.eq needs at least one id")
    return ids


def time_range(filters: dict[str, tuple[str, str]], name: str) -> tuple[str, str, bool]:
    """(start, end, end_inclusive) of ``name.in(a..b)`` or ``name.in(a...b)``."""
    if name not in filters or filters[name][0] != "in":
        raise BadRequest(f"A {name}.in filter is required")
    args = filters[name][1].strip()
    if "..." in args:
        start, end = args.split("...", 1)
        inclusive = False
    elif ".." in args:
        start, end = args.split("..", 1)
        inclusive = True
    else:
        raise BadRequest(f"{name}.in needs a range like 2026-10-01T00:00:00..2026-11-01T00:00:00")
    return start.strip(), end.strip(), inclusive


def parse_filter_time(value: str) -> datetime:
    if value.endswith("Z"):
        raise BadRequest(f"Invalid date time {value!r}: give it without a zone designator (times are UTC)")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"Invalid date time {value!r}") from exc
    if parsed.tzinfo is not None:
        raise BadRequest(f"Invalid date time {value!r}: give it without an offset (times are UTC)")
    return parsed.replace(tzinfo=UTC)


def encode_cursor(offset: int, signature: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "s": signature}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, signature: str) -> int:
    try:
        body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, sig = int(body["o"]), str(body["s"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("Invalid page_cursor") from exc
    if sig != signature:
        raise BadRequest("page_cursor does not belong to this query")
    return offset


def project(message: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Only the requested fields (dotted names pick nested keys); ``guid`` always."""
    out: dict[str, Any] = {"guid": message["guid"]}
    for name in fields:
        head, _, rest = name.partition(".")
        if head not in message:
            continue
        if not rest or not isinstance(message[head], dict):
            out[head] = message[head]
        elif head == "internal":
            out["internal"] = message["internal"]  # tags are a list of objects; keep them whole
        else:
            out.setdefault(head, {})
            if rest in message[head]:
                out[head][rest] = message[head][rest]
    return out


# -- the app ---------------------------------------------------------------------------------------
def create_sprout_app(data: SandboxData, settings: SproutSettings | None = None) -> Any:
    """Build the fake Sprout app over ``data``; limits, faults and 202 bookkeeping live in the app."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    from crmhub_dev.sandbox.faults import (
        FaultState,
        SlidingWindow,
        install_sandbox_routes,
        log_request,
        page_fault_response,
    )

    settings = settings or SproutSettings()
    served = sprout_data(data)
    app = FastAPI(title="Sprout Social sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    faults = FaultState(settings.faults)
    window = SlidingWindow(settings.rate_limit_per_minute, 60_000)
    token_issued_at = time.monotonic()
    asked_once: set[str] = set()
    profiles = served["profiles"]
    known_profiles = {p["customer_profile_id"] for p in profiles}
    messages = sorted(served["messages"], key=lambda m: (m["created_time"], m["guid"]))
    created = {m["guid"]: _parse_created(m["created_time"]) for m in messages}
    app.state.faults = faults
    app.state.settings = settings

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"data": [], "error": message}, status_code=status)

    @app.middleware("http")
    async def vendor_behaviour(request: Request, call_next: Any) -> Response:
        started = time.monotonic()
        path = request.url.path
        if not path.startswith("/v1/"):
            return await call_next(request)
        await faults.delay()
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if token != settings.token or faults.token_revoked(token_issued_at):
            response: Response = error(401, "Unauthorized: the access token is missing, invalid or expired")
        elif faults.take_forced_rate_limit() or not window.hit():
            response = error(429, "Too Many Requests")
        elif request.method == "POST" and "json" not in request.headers.get("content-type", ""):
            response = error(415, "Unsupported Media Type: request bodies must be JSON")
        else:
            response = await call_next(request)
        response.headers["X-Sprout-Request-ID"] = str(uuid.uuid4())
        response.headers["X-Sprout-API-Version"] = API_VERSION
        response.headers["X-Sprout-Server-Version"] = SERVER_VERSION
        log_request("sprout", request, response.status_code, started)
        return response

    def check_customer(customer_id: int) -> JSONResponse | None:
        if customer_id != settings.customer_id:
            return error(403, "Forbidden: the token has no access to this customer")
        return None

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise BadRequest("The request body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")
        return body

    @app.get("/v1/metadata/client")
    async def client() -> dict[str, Any]:
        return {"data": [{"customer_id": settings.customer_id, "name": served["customer"]["name"]}]}

    @app.get("/v1/{customer_id}/metadata/customer")
    async def customer_profiles(customer_id: int) -> Response:
        return check_customer(customer_id) or JSONResponse({"data": profiles})

    @app.get("/v1/{customer_id}/metadata/customer/tags")
    async def customer_tags(customer_id: int) -> Response:
        return check_customer(customer_id) or JSONResponse({"data": served["tags"]})

    @app.post("/v1/{customer_id}/analytics/profiles")
    async def profile_analytics(customer_id: int, request: Request) -> Response:
        denied = check_customer(customer_id)
        if denied:
            return denied
        try:
            body = await json_body(request)
            filters = parse_filters(body.get("filters"))
            ids = profile_ids(filters)
            start_raw, end_raw, inclusive = time_range(filters, "reporting_period")
            try:
                start, end = date.fromisoformat(start_raw), date.fromisoformat(end_raw)
            except ValueError as exc:
                raise BadRequest("reporting_period must be given as YYYY-MM-DD..YYYY-MM-DD") from exc
            if end < start or (end - start).days > 366:
                raise BadRequest("reporting_period must be at most one year and end after it starts")
            metrics = body.get("metrics")
            if not isinstance(metrics, list) or not metrics:
                raise BadRequest("metrics is required")
            unknown = sorted(set(metrics) - {"lifetime_snapshot.followers_count", "net_follower_growth"})
            if unknown:
                raise BadRequest(f"Invalid metrics for these profiles: {', '.join(unknown)}")
            page, limit = int(body.get("page", 1)), int(body.get("limit", DEFAULT_ANALYTICS_LIMIT))
        except (BadRequest, TypeError, ValueError) as exc:
            return error(400, str(exc))
        if ids - known_profiles:
            return error(403, "Forbidden: profile ids outside this customer")
        rows = []
        for pid in sorted(ids):
            for day, followers, growth in served["analytics"][pid]:
                d = date.fromisoformat(day)
                if start <= d and (d <= end if inclusive else d < end):
                    values = {"lifetime_snapshot.followers_count": followers, "net_follower_growth": growth}
                    rows.append({"dimensions": {"customer_profile_id": pid, "reporting_period.by(day)": day},
                                 "metrics": {m: values[m] for m in metrics}})  # fmt: skip
        total_pages = max(1, -(-len(rows) // max(1, limit)))
        if not 1 <= page <= total_pages:
            return error(400, f"page {page} is greater than total_pages {total_pages}")
        chunk = rows[(page - 1) * limit : page * limit]
        return JSONResponse({"data": chunk, "paging": {"current_page": page, "total_pages": total_pages}})

    @app.post("/v1/{customer_id}/messages")
    async def list_messages(customer_id: int, request: Request) -> Response:
        denied = check_customer(customer_id)
        if denied:
            return denied
        try:
            body = await json_body(request)
            filters = parse_filters(body.get("filters"))
            ids = profile_ids(filters)
            start_raw, end_raw, inclusive = time_range(filters, "created_time")
            start, end = parse_filter_time(start_raw), parse_filter_time(end_raw)
            fields = body.get("fields") or []
            if not isinstance(fields, list) or any(f not in MESSAGE_FIELDS for f in fields):
                bad = [f for f in fields if f not in MESSAGE_FIELDS] if isinstance(fields, list) else fields
                raise BadRequest(f"Invalid fields: {bad}")
            limit = body.get("limit", DEFAULT_MESSAGE_LIMIT)
            if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_MESSAGE_LIMIT:
                raise BadRequest(f"limit must be an integer between 1 and {MAX_MESSAGE_LIMIT}")
            signature = f"{sorted(ids)}|{start_raw}|{end_raw}|{inclusive}"
            signature = format(zlib.crc32(signature.encode()), "08x")
            cursor = body.get("page_cursor")
            offset = decode_cursor(str(cursor), signature) if cursor else 0
        except BadRequest as exc:
            return error(400, str(exc))
        if ids - known_profiles:
            return error(403, "Forbidden: profile ids outside this customer")
        page_key = f"{signature}:{offset}"
        if settings.not_ready_once_per_page and page_key not in asked_once:
            asked_once.add(page_key)
            return JSONResponse({"data": []}, status_code=202)
        fault = faults.next_page_fault()
        if fault == "server_error_page":
            return page_fault_response(fault, faults, None)
        pool = [
            m
            for m in messages
            if m["customer_profile_id"] in ids
            and start <= created[m["guid"]]
            and (created[m["guid"]] <= end if inclusive else created[m["guid"]] < end)
        ]
        page = [project(m, fields) for m in pool[offset : offset + limit]]
        page = faults.with_duplicate(fault, page)
        payload: dict[str, Any] = {"data": page}
        if offset + limit < len(pool):
            payload["paging"] = {"next_cursor": encode_cursor(offset + limit, signature)}
        if fault in ("html_error_page", "malformed_page"):
            return page_fault_response(fault, faults, payload)
        return JSONResponse(payload)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> Response:
        return error(404, "Not Found: no such endpoint")

    @app.exception_handler(405)
    async def wrong_method(request: Request, exc: Exception) -> Response:
        return error(405, "Method Not Allowed")

    @app.post("/_sandbox/messages", include_in_schema=False)
    async def post_message(request: Request) -> Response:
        """A new inbound message, posted now (issue 17: the fast path's tests and latency benchmark).

        Body: ``{"network", "handle", "text"}`` and optionally ``"name"``; answers the message's guid.
        """
        body = await request.json()
        network = body.get("network")
        if network not in NETWORK_TYPE or not body.get("handle") or not body.get("text"):
            return error(400, "network (twitter, instagram, facebook, linkedin), handle and text are required")
        profile = next(p for p in profiles if p["network_type"] == NETWORK_TYPE[network])
        now = datetime.now(UTC).replace(microsecond=0)
        guid = _guid(random.Random(uuid.uuid4().int), network, profile)
        post_type = POST_TYPES[network][0][0]
        text = f"@socialcrmhub {body['text']}" if post_type == "TWITTER_MENTION" else str(body["text"])
        handle = str(body["handle"])
        author = {"guid": str(zlib.crc32(handle.encode())), "name": str(body.get("name") or handle),
                  "screen_name": handle, "profile_picture": None}  # fmt: skip
        message = {
            "guid": guid, "created_time": iso_s(now), "text": text, "network": SPROUT_NETWORK[network],
            "post_type": post_type, "customer_profile_id": profile["customer_profile_id"],
            "profile_guid": profile["native_id"], "perma_link": _perma_link(network, profile, guid, handle),
            "language_code": str(body.get("language") or "nl"), "parent_guid": None, "from": author,
            "internal": {"tags": []},
        }  # fmt: skip
        created[guid] = now
        at = bisect.bisect_right([(created[m["guid"]], m["guid"]) for m in messages], (now, guid))
        messages.insert(at, message)
        return JSONResponse({"guid": guid, "created_time": message["created_time"]}, status_code=201)

    install_sandbox_routes(app, "sprout", faults, data.ground_truth)
    return app


def _parse_created(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def sandbox_connection(url: str, data: SandboxData, ca_bundle: str | None) -> dict[str, Any]:
    """The Airflow Connection that reaches this sandbox: the API token as the password (bearer)."""
    return {"conn_type": "crmhub_sprout", "login": None, "password": DEFAULT_TOKEN,
            "extra": {"customer_id": str(CUSTOMER_ID)}}  # fmt: skip
