"""Serve the Data Docs site inside the Airflow API server, so the UI can link to it.

The gates build one static GX site in ``<data dir>/data_docs`` (``CRMHUB_DATA_DIR``). This small
FastAPI app, mounted by ``plugins/crmhub_data_docs_plugin.py``, serves it and adds ``/runs/<run_id>``:
the pages of one DAG run (raw, canonical, golden and warehouse suites), which the DAG-run view links to.
Everything a page loads is served from here: ``/static/vendor/*`` (Bootstrap, jQuery, bootstrap-table,
Font Awesome, ...) comes from the assets the hub ships (:mod:`crmhub.quality.offline`), so the pages
are styled and the list of runs renders in a closed network too.
No GX import here: serving files needs none.
"""

from __future__ import annotations

import contextlib
import html
import os
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from crmhub import paths
from crmhub.quality.offline import SITE_VENDOR, VENDOR_DIR

URL_PREFIX = "/crmhub-data-docs"


def docs_dir() -> Path:
    """Where the gates write Data Docs: ``<CRMHUB_DATA_DIR>/data_docs``, read when the app is built."""
    return Path(os.environ.get("CRMHUB_DATA_DIR", paths.DATA_DIR)) / "data_docs"


def run_pages(site: Path, run_id: str) -> list[Path]:
    """Validation pages of one run, relative to the site: ``validations/<suite>/<run_id>/<time>/*.html``.

    Directory names are compared, never globbed, so a run id with ``[`` or ``*`` matches only itself.
    """
    validations = site / "validations"
    if not validations.is_dir():
        return []
    pages = []
    for suite in sorted(p for p in validations.iterdir() if p.is_dir()):
        run_dir = suite / run_id
        if run_dir.parent == suite and run_dir.is_dir():
            pages += sorted(run_dir.rglob("*.html"))
    return [p.relative_to(site) for p in pages]


def create_app(site: Path | None = None) -> FastAPI:
    """The Data Docs app over ``site`` (default: :func:`docs_dir`)."""
    root = site or docs_dir()
    app = FastAPI(title="Social CRM Hub Data Docs", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse(f"{URL_PREFIX}/index.html")

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run(run_id: str) -> HTMLResponse:
        pages = run_pages(root, run_id)
        title = f"Data Docs of run {html.escape(run_id)}"
        if not pages:
            body = f"<p>No validation results for this run yet. <a href='{URL_PREFIX}/index.html'>All runs</a></p>"
        else:
            items = "".join(
                f"<li><a href='{URL_PREFIX}/{quote(p.as_posix())}'>{html.escape(p.parts[1])}</a></li>" for p in pages
            )
            body = f"<ul>{items}</ul><p><a href='{URL_PREFIX}/index.html'>All runs</a></p>"
        style = f"<link rel='stylesheet' href='{URL_PREFIX}/{SITE_VENDOR.as_posix()}/bootstrap/bootstrap.min.css'>"
        return HTMLResponse(
            f"<!DOCTYPE html><html><head><title>{title}</title>{style}</head>"
            f"<body class='container py-3'><h1>{title}</h1>{body}</body></html>"
        )

    with contextlib.suppress(OSError):  # before the first gate ran: serve 404s, not a server error
        root.mkdir(parents=True, exist_ok=True)
    # The shipped assets, also for a site whose own copy is missing or older than this release.
    app.mount(f"/{SITE_VENDOR.as_posix()}", StaticFiles(directory=VENDOR_DIR), name="data_docs_vendor")
    app.mount("/", StaticFiles(directory=root, html=True, check_dir=False), name="data_docs")
    return app
