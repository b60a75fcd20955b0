"""Steward review inside the Airflow UI: work the review queue from the browser (issue 16).

A small FastAPI app, mounted in the Airflow API server by ``plugins/crmhub_steward_plugin.py`` at
:data:`URL_PREFIX` and listed under *Browse → Steward review*. Every request is authenticated by
Airflow itself (the ``_token`` JWT cookie the UI's login sets, or an ``Authorization: Bearer`` token:
``airflow.api_fastapi.core_api.security.get_user``); an unauthenticated browser is sent to the auth
manager's login page and back. Record values are personal data, so only stewards see them: a user whose
Airflow role is in ``CRMHUB_STEWARD_ROLES`` (default ``admin,op``) or whose name is in
``CRMHUB_STEWARD_USERS`` (comma separated). Anyone else gets 403, and the refusal is audited.

Pages: ``/`` the queue (ids, scores, reasons; recent decisions; merges that can be undone), ``/pair``
one pair with both records' values side by side, score and explanation, and the decisions taken on it,
with *Link*, *Split* and *Defer*; ``/audit`` who saw and decided what (``audit.steward_activity``).
Decisions go to ``core.steward_decisions`` with who and when and apply on the next reconcile run.
Values come from the run folder of the run that wrote the queue (``<data dir>/runs/<run>/contacts.parquet``);
without it a side shows its golden record's current values, marked as such.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from crmhub import paths
from crmhub.quality.offline import VENDOR_DIR
from crmhub.warehouse import Warehouse, steward
from crmhub.warehouse.steward import PAIR_FIELDS, StewardError
from crmhub.warehouse.url import default_url

URL_PREFIX = "/crmhub-steward"
ROLES_ENV = "CRMHUB_STEWARD_ROLES"
USERS_ENV = "CRMHUB_STEWARD_USERS"
DEFAULT_ROLES = "admin,op"
QUEUE_PAGE_ROWS = 500
LABELS = {
    "first_name": "First name",
    "name_prefix": "Prefix",
    "last_name": "Last name",
    "company": "Company",
    "email": "E-mail",
    "phone": "Phone",
    "address_line": "Address",
    "postcode": "Postcode",
    "city": "City",
    "country": "Country",
    "social_network": "Social network",
    "social_handle": "Handle",
    "source_created_at": "Created in source",
    "source_updated_at": "Updated in source",
    "is_deleted": "Deleted in source",
}


# -- who may do what ---------------------------------------------------------------------------------
def _csv_env(name: str, default: str = "") -> set[str]:
    return {p.strip().lower() for p in os.environ.get(name, default).split(",") if p.strip()}


def user_name(user: Any) -> str:
    """The name decisions and the audit record: the login name where the user object has one."""
    return str(getattr(user, "username", None) or user.get_name() or user.get_id())


def user_roles(user: Any) -> set[str]:
    """Role names, lower case: ``role`` (simple auth manager) and/or ``roles`` (FAB auth manager)."""
    roles = set()
    if isinstance(getattr(user, "role", None), str):
        roles.add(user.role.lower())
    for role in getattr(user, "roles", None) or []:
        roles.add(str(getattr(role, "name", role)).lower())
    return roles


def is_steward(user: Any) -> bool:
    """Whether ``user`` may see record values and decide: a steward role or a named steward."""
    return user_name(user).lower() in _csv_env(USERS_ENV) or bool(user_roles(user) & _csv_env(ROLES_ENV, DEFAULT_ROLES))


def warehouse_url() -> str:
    """The warehouse the tasks load: the ``crmhub_warehouse`` Connection (environment, secrets backend or
    metadata DB — the API server reads them all), else ``CRMHUB_WAREHOUSE_URL``, else the embedded DuckDB."""
    from crmhub.orchestration.resources import WAREHOUSE_CONN_ID

    try:
        from airflow.models.connection import Connection

        uri = Connection.get_connection_from_secrets(WAREHOUSE_CONN_ID).get_uri()
    except Exception:  # not defined (AirflowNotFoundException), or no metadata DB here: the environment
        return default_url()
    scheme, _, rest = uri.partition("://")
    return f"postgresql://{rest}" if scheme in ("postgres", "postgresql") else uri


# -- data --------------------------------------------------------------------------------------------
def data_dir() -> Path:
    return Path(os.environ.get("CRMHUB_DATA_DIR", paths.DATA_DIR))


def run_contacts_path(run_id: str) -> Path:
    """The canonical contacts of a reconcile run (``crmhub.stages.reconcile_steps.run_folder``)."""
    from crmhub.stages.reconcile_steps import run_folder

    return run_folder(data_dir(), run_id).path("contacts")


def run_records(run_id: str | None, *records: tuple[str, str]) -> pd.DataFrame | None:
    """The canonical contact rows of ``records`` in ``run_id``'s run folder (filtered while reading, so a
    million-record file costs a scan, not memory), or ``None`` when the folder is gone."""
    if not run_id or not records:
        return None
    path = run_contacts_path(run_id)
    wanted = [[("source", "=", source), ("source_id", "=", source_id)] for source, source_id in records]
    try:
        frame = pd.read_parquet(path, filters=wanted)
    except (OSError, ValueError):  # removed by retention, or an unreadable file: the golden fallback
        return None
    return frame.astype({"source": str, "source_id": str})


# -- HTML --------------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<span class='text-muted'>—</span>"
    return html.escape(str(value))


def _rec(source: Any, source_id: Any) -> str:
    return f"{_e(source)}: {_e(source_id)}"


def _page(request: Request, title: str, body: str, user: Any) -> HTMLResponse:
    base = request.scope.get("root_path", "")
    return HTMLResponse(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<link rel='stylesheet' href='{base}/static/vendor/bootstrap/bootstrap.min.css'>"
        "<style>td.differs{background:#fff3cd} .explain{font-family:monospace;white-space:pre-wrap}</style>"
        "</head><body class='container-fluid py-3'>"
        f"<nav class='mb-3'><a href='{base}/'>Review queue</a> · <a href='{base}/audit'>Audit</a>"
        f"<span class='float-right text-muted' id='steward-user'>Signed in as {html.escape(user_name(user))}"
        "</span></nav>"
        f"<h1 class='h3'>{html.escape(title)}</h1>{body}</body></html>"
    )


def _pair_query(ls: str, lid: str, rs: str, rid: str) -> str:
    return urlencode({"left_source": ls, "left_source_id": lid, "right_source": rs, "right_source_id": rid})


def _hidden(**fields: str) -> str:
    return "".join(
        f"<input type='hidden' name='{k}' value='{html.escape(str(v), quote=True)}'>" for k, v in fields.items()
    )


async def airflow_user(request: Request) -> Any:
    """The signed-in Airflow user: ``airflow.api_fastapi.core_api.security.get_user`` (Bearer token, else the
    UI's ``_token`` cookie), 401 without one. Imported on the first request, so that importing the plugin in
    a scheduler or worker does not pull in the API server's modules."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


# -- the app -----------------------------------------------------------------------------------------
def create_app(
    warehouse_url: Callable[[], str] = warehouse_url, *, authenticate: Callable[..., Any] | None = None
) -> FastAPI:
    """The steward app over the warehouse at ``warehouse_url()`` (read per request, default :func:`warehouse_url`).

    ``authenticate`` is the dependency that yields the signed-in user; default Airflow's ``get_user``.
    """
    authenticate = authenticate or airflow_user
    app = FastAPI(title="Social CRM Hub steward review", docs_url=None, redoc_url=None, openapi_url=None)
    migrated: set[str] = set()

    @contextmanager
    def warehouse() -> Iterator[Warehouse]:
        url = warehouse_url()
        try:
            wh = Warehouse.from_url(url, lock_timeout=15)
        except Exception as exc:  # DuckDB held by a running load, PostgreSQL down: say so, not a stack trace
            raise HTTPException(503, f"the warehouse is not available right now ({type(exc).__name__}); retry") from exc
        try:
            if url not in migrated:  # audit.steward_activity may be newer than the last load's migrate
                wh.migrate()
                migrated.add(url)
            yield wh
        finally:
            wh.close()

    @app.exception_handler(HTTPException)
    async def _errors(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 401 and request.method == "GET":
            return RedirectResponse(_login_url(request), status_code=303)
        return HTMLResponse(
            f"<!DOCTYPE html><html><body class='container py-3'><h1>{exc.status_code}</h1>"
            f"<p id='steward-error'>{html.escape(str(exc.detail))}</p></body></html>",
            status_code=exc.status_code,
        )

    def steward_user(request: Request, user: Any = Depends(authenticate)) -> Any:  # noqa: B008
        if not is_steward(user):
            with warehouse() as wh:
                steward.log_activity(
                    wh.engine, user_name(user), "denied", detail=f"{request.method} {request.url.path}"
                )
            roles = ", ".join(sorted(user_roles(user))) or "none"
            raise HTTPException(
                403,
                f"{user_name(user)} (role {roles}) may not work the steward review: it needs an Airflow role in "
                f"{ROLES_ENV} ({os.environ.get(ROLES_ENV, DEFAULT_ROLES)}) or the name in {USERS_ENV}.",
            )
        if request.method == "POST":
            _same_origin(request)
        return user

    steward_dep = Depends(steward_user)  # annotations are strings here: FastAPI resolves defaults, not locals

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def queue(request: Request, user: Any = steward_dep) -> HTMLResponse:
        base = request.scope.get("root_path", "")
        with warehouse() as wh:
            pairs = steward.review_pairs(wh.engine)
            history = steward.decision_history(wh.engine).head(20)
            merges = wh.merge_log()
            steward.log_activity(wh.engine, user_name(user), "view_queue", detail=f"{len(pairs)} pair(s)")
        rows = []
        for n, p in enumerate(pairs.head(QUEUE_PAGE_ROWS).itertuples(), start=1):
            q = _pair_query(p.left_source, p.left_source_id, p.right_source, p.right_source_id)
            deferred = f"deferred by {_e(p.deferred_by)}" if p.deferred_by else ""
            rows.append(
                f"<tr><td>{n}</td><td>{float(p.score):.2f}</td><td>{_e(p.reason)}</td><td>{_e(p.rule)}</td>"
                f"<td>{_rec(p.left_source, p.left_source_id)}</td><td>{_rec(p.right_source, p.right_source_id)}</td>"
                f"<td>{deferred}</td><td><a class='open-pair' href='{base}/pair?{q}'>Open</a></td></tr>"
            )
        run = f" (run {_e(pairs.loc[0, 'run_id'])})" if len(pairs) else ""
        body = (
            f"<p id='queue-size'><strong>{len(pairs)}</strong> pair(s) to review{run}. Decisions apply on the "
            "next reconcile run.</p>"
            "<table class='table table-sm table-striped' id='queue'><thead><tr><th>#</th><th>Score</th><th>Reason</th>"
            "<th>Rule</th><th>Left record</th><th>Right record</th><th></th><th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            + (f"<p>Showing the first {QUEUE_PAGE_ROWS}.</p>" if len(pairs) > QUEUE_PAGE_ROWS else "")
            + "<h2 class='h5'>Recent decisions</h2>"
            + _decisions_table(history)
            + "<h2 class='h5'>Golden merges</h2>"
            + _merges_table(merges, base)
        )
        return _page(request, "Steward review", body, user)

    @app.get("/pair", response_class=HTMLResponse, include_in_schema=False)
    def pair(
        request: Request,
        left_source: str,
        left_source_id: str,
        right_source: str,
        right_source_id: str,
        user: Any = steward_dep,
    ) -> HTMLResponse:
        base = request.scope.get("root_path", "")
        left, right = (left_source, left_source_id), (right_source, right_source_id)
        with warehouse() as wh:
            queued = steward.review_pairs(wh.engine)
            run_id = queued["run_id"].iloc[0] if len(queued) else None
            view = steward.review_pair(wh.engine, left, right, records=run_records(run_id, left, right))
            steward.log_activity(wh.engine, user_name(user), "view_pair", left, right)
        q = view["queue"]
        lv, rv = view["left"], view["right"]
        head = (
            f"<tr><th></th><th id='left-record'>{_rec(*left)}<br><small>{_e(lv['values_from'])}</small></th>"
            f"<th id='right-record'>{_rec(*right)}<br><small>{_e(rv['values_from'])}</small></th></tr>"
        )
        cells = []
        for field in PAIR_FIELDS:
            a, b = lv.get(field), rv.get(field)
            differs = " class='differs'" if str(a or "").strip().lower() != str(b or "").strip().lower() else ""
            cells.append(f"<tr><th>{LABELS[field]}</th><td{differs}>{_e(a)}</td><td{differs}>{_e(b)}</td></tr>")
        if q:
            score = (
                f"<p id='pair-score'>Score <strong>{float(q['score']):.2f}</strong> · {_e(q['reason'])}"
                f" · rule {_e(q['rule'])}"
                f" · golden ids {_e(q['left_golden_id'])} / {_e(q['right_golden_id'])}"
                + (f" · deferred by {_e(q['deferred_by'])} at {_e(q['deferred_at'])}" if q.get("deferred_by") else "")
                + f"</p><p>Explanation:</p><p class='explain' id='pair-explanation'>{_e(q['explanation'])}</p>"
            )
        else:
            score = "<p id='pair-score'>This pair is not in the current review queue.</p>"
        if not view["decisions"].empty:
            last = view["decisions"].iloc[0]
            score = (
                f"<div class='alert alert-info' id='pair-decided'>Decision in force: <strong>{_e(last['decision'])}"
                f"</strong> by {_e(last['decided_by'])} at {_e(last['decided_at'])}. It applies on the next "
                "reconcile run.</div>" + score
            )
        fields = _hidden(left_source=left[0], left_source_id=left[1], right_source=right[0], right_source_id=right[1])
        actions = (
            f"<form method='post' action='{base}/decide' class='form-inline mb-3' id='decide'>{fields}"
            "<input class='form-control mr-2' name='note' placeholder='note (defer)' maxlength='500'>"
            "<button class='btn btn-success mr-2' name='decision' value='link' id='btn-link'>"
            "Link (same person)</button>"
            "<button class='btn btn-danger mr-2' name='decision' value='split' id='btn-split'>"
            "Split (different people)</button>"
            "<button class='btn btn-secondary' name='decision' value='defer' id='btn-defer'>Defer</button></form>"
        )
        body = (
            score
            + f"<table class='table table-sm table-bordered' id='pair-values'><thead>{head}</thead>"
            + f"<tbody>{''.join(cells)}</tbody></table>"
            + actions
            + "<h2 class='h5'>Decisions on this pair</h2>"
            + _decisions_table(view["decisions"], table_id="pair-decisions")
        )
        return _page(request, "Review pair", body, user)

    @app.post("/decide", include_in_schema=False)
    async def decide(request: Request, user: Any = steward_dep) -> RedirectResponse:
        form = await _form(request)
        left = (form.get("left_source", ""), form.get("left_source_id", ""))
        right = (form.get("right_source", ""), form.get("right_source_id", ""))
        decision = form.get("decision", "")
        if not all(left + right):
            raise HTTPException(400, "both records must be named")
        name = user_name(user)
        with warehouse() as wh:
            try:
                if decision == "defer":
                    steward.defer(wh.engine, left, right, name, form.get("note") or None)
                else:
                    decision_id = wh.record_decision(left, right, decision, name)
                    steward.log_activity(wh.engine, name, decision, left, right, f"decision {decision_id}")
            except StewardError as exc:
                raise HTTPException(400, str(exc)) from exc
        base = request.scope.get("root_path", "")
        return RedirectResponse(f"{base}/pair?{_pair_query(*left, *right)}", status_code=303)

    @app.post("/undo", include_in_schema=False)
    async def undo(request: Request, user: Any = steward_dep) -> RedirectResponse:
        merge_id = (await _form(request)).get("merge_id", "")
        with warehouse() as wh:
            try:
                made = wh.undo_merge(merge_id, user_name(user))
            except StewardError as exc:
                raise HTTPException(400, str(exc)) from exc
            steward.log_activity(wh.engine, user_name(user), "undo_merge", detail=f"merge {merge_id}: {made} split(s)")
        return RedirectResponse(f"{request.scope.get('root_path', '')}/", status_code=303)

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit(request: Request, user: Any = steward_dep) -> HTMLResponse:
        with warehouse() as wh:
            rows = steward.activity(wh.engine, limit=1000)
        cells = "".join(
            f"<tr><td>{_e(r.occurred_at)}</td><td>{_e(r.actor)}</td><td>{_e(r.action)}</td>"
            f"<td>{_rec(r.left_source, r.left_source_id)}</td><td>{_rec(r.right_source, r.right_source_id)}</td>"
            f"<td>{_e(r.detail)}</td></tr>"
            for r in rows.itertuples()
        )
        body = (
            "<p>Who saw and decided what (newest first, last 1000; table <code>audit.steward_activity</code>).</p>"
            "<table class='table table-sm' id='audit'><thead><tr><th>When</th><th>Who</th><th>Action</th>"
            f"<th>Left record</th><th>Right record</th><th>Detail</th></tr></thead><tbody>{cells}</tbody></table>"
        )
        return _page(request, "Steward audit", body, user)

    app.mount("/static/vendor", StaticFiles(directory=VENDOR_DIR), name="steward_vendor")
    return app


def _decisions_table(decisions: pd.DataFrame, table_id: str = "decisions") -> str:
    if decisions.empty:
        return f"<p id='{table_id}'>None yet.</p>"
    rows = "".join(
        f"<tr><td class='decided-at'>{_e(d.decided_at)}</td><td class='decided-by'>{_e(d.decided_by)}</td>"
        f"<td class='decision'>{_e(d.decision)}</td>"
        f"<td>{_rec(d.left_source, d.left_source_id)}</td><td>{_rec(d.right_source, d.right_source_id)}</td>"
        f"<td>{_e(d.restore_golden_id)}</td></tr>"
        for d in decisions.itertuples()
    )
    return (
        f"<table class='table table-sm' id='{table_id}'><thead><tr><th>When</th><th>Who</th><th>Decision</th>"
        "<th>Left record</th><th>Right record</th><th>Restores golden id</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _merges_table(merges: pd.DataFrame, base: str) -> str:
    merges = merges[merges["event"] == "merge"] if "event" in merges.columns else merges
    if merges.empty:
        return "<p id='merges'>No golden merges logged.</p>"
    rows = []
    for m in merges.tail(200).itertuples():
        if bool(m.undone):
            action = f"undone by {_e(m.undone_by)} at {_e(m.undone_at)}"
        else:
            action = (
                f"<form method='post' action='{base}/undo' class='m-0'>{_hidden(merge_id=m.merge_id)}"
                "<button class='btn btn-sm btn-outline-warning'>Undo merge</button></form>"
            )
        rows.append(
            f"<tr><td>{_e(m.merged_at)}</td><td>{_e(m.loser_golden_id)} → {_e(m.winner_golden_id)}</td>"
            f"<td>{_e(m.rule)}</td><td>{action}</td></tr>"
        )
    return (
        "<table class='table table-sm' id='merges'><thead><tr><th>When</th><th>Merged (loser → winner)</th>"
        f"<th>Rule</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (no python-multipart needed), first value per field."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0].strip() for k, v in parse_qs(body, keep_blank_values=True).items()}


def _same_origin(request: Request) -> None:
    """Refuse a cross-site form post (the JWT cookie is ``SameSite=Lax``; this also covers older browsers)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, "cross-site request refused")


def _login_url(request: Request) -> str:
    """The auth manager's login page, coming back to this page after login."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        from airflow.api_fastapi.app import get_auth_manager

        return get_auth_manager().get_url_login(next_url=target)
    except Exception:  # no Airflow auth manager (tests of the app alone): the generic login route
        return f"/auth/login?next={quote(target)}"
