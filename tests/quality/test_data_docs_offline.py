"""Data Docs work in a closed network: no page reaches out (no CDN, no S3 logo, no ``dataContextId``
beacon), every asset a page loads is in the site and served by the hub's app, and the index's list of
runs renders in a browser that cannot resolve any outside host."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from headless_chromium import headless_chromium

from crmhub.model import GOLDEN_COLUMNS, conform
from crmhub.quality import validate
from crmhub.quality.docs_app import URL_PREFIX, create_app
from crmhub.quality.offline import VENDOR_DIR, external_urls, localize_html, localize_site

RUNS = ("manual__2026-11-02T00:00:00+00:00", "scheduled__2026-11-03T02:00:00+00:00")
_LOCAL_REF = re.compile(r"""(?:src|href)=["']([^"'#]+)["']|url\(['"]?([^'")]+)['"]?\)""")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    golden = conform(
        pd.DataFrame(
            {
                "golden_id": ["g-001", "g-002"],
                "email": ["a@example.nl", None],
                "country": ["NL", "DE"],
                "source_updated_at": [pd.Timestamp("2024-05-01T10:00:00Z")] * 2,
            }
        ),
        GOLDEN_COLUMNS,
    )
    site = tmp_path_factory.mktemp("offline") / "data_docs"
    for run_id in RUNS:
        validate("golden_contacts", golden, run_id=run_id, docs_dir=site)
    return site


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "vendor" not in p.parts)


def test_no_rendered_page_holds_an_external_url(site: Path) -> None:
    pages = _pages(site)
    assert len(pages) >= 4  # index, the suite page, one validation page per run
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert external_urls(text) == [], (page.relative_to(site), external_urls(text)[:5])
        assert "dataContextId" not in text and "amazonaws" not in text, page


def test_every_local_reference_of_a_page_exists_in_the_site(site: Path) -> None:
    for page in _pages(site):
        for match in _LOCAL_REF.finditer(page.read_text(encoding="utf-8")):
            ref = match.group(1) or match.group(2)
            if ref.startswith(("data:", "javascript:", "mailto:")) or "{" in ref or "$" in ref:
                continue
            target = (page.parent / unquote(ref.split("?")[0])).resolve()
            if ref.endswith((".css", ".js", ".png", ".svg", ".ico", ".woff2")):
                assert target.is_file(), (page.relative_to(site), ref)


def test_the_app_serves_the_shipped_assets_even_without_the_sites_copy(site: Path, tmp_path: Path) -> None:
    client = TestClient(create_app(site))
    index = client.get("/index.html").text
    for ref in re.findall(r"""(?:src|href)=["'](static/vendor/[^"']+)["']""", index):
        assert client.get("/" + ref).status_code == 200, ref
    bare = tmp_path / "old_site"
    bare.mkdir()
    assert TestClient(create_app(bare)).get("/static/vendor/jquery/jquery.min.js").status_code == 200
    assert "https://" not in client.get(f"/runs/{RUNS[0]}").text


def test_localizing_is_idempotent_and_rewrites_pages_rendered_before(tmp_path: Path) -> None:
    page = (
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>'
        '<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1&dataContextId=x">'
        '<a href="https://greatexpectations.io">Great Expectations</a>'
    )
    once = localize_html(page, 2)
    assert localize_html(once, 2) == once and external_urls(once) == []
    assert '"../../static/vendor/bootstrap/bootstrap.min.css"' in once and "vega" not in once
    assert "../../static/images/logo-long.png" in once and ">Great Expectations</a>" in once
    old = tmp_path / "validations" / "s" / "r" / "t"
    old.mkdir(parents=True)
    (old / "page.html").write_text(page, encoding="utf-8")
    assert localize_site(tmp_path, [], once_all=True) == [(old / "page.html").resolve()]
    assert localize_site(tmp_path, [], once_all=True) == []  # once only
    assert (tmp_path / "static" / "vendor" / "jquery" / "jquery.min.js").is_file()
    assert (VENDOR_DIR / "README.md").is_file()


# -- the list of runs in a real browser that can reach nothing but this machine ----------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    import uvicorn

    root = FastAPI()
    root.mount(URL_PREFIX, create_app(site))  # as the Airflow API server mounts the plugin's app
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}{URL_PREFIX}/"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def closed_network_browser(tmp_path_factory) -> Iterator[object]:
    with headless_chromium(
        tmp_path_factory.mktemp("chromium-profile"),
        "--window-size=1400,900",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # a closed network: no outside host resolves
    ) as driver:
        yield driver


def test_the_list_of_runs_renders_in_a_closed_network(served: str, closed_network_browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = closed_network_browser
    driver.get(urljoin(served, "index.html"))
    WebDriverWait(driver, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "table.table tbody tr[data-index]")) >= len(RUNS)
    )
    assert driver.execute_script("return typeof window.jQuery === 'function' && !!jQuery.fn.bootstrapTable")
    text = driver.find_element(By.TAG_NAME, "body").text
    assert all(run_id in text for run_id in RUNS), text[:2000]
    # every resource came from this machine, and every linked stylesheet loaded (has rules)
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")
    assert resources and all(url.startswith("http://127.0.0.1:") for url in resources), resources
    failed = driver.execute_script(
        "return Array.from(document.styleSheets).filter(s => s.href).filter(s => { try { return !s.cssRules.length } "
        "catch (e) { return true } }).map(s => s.href)"
    )
    assert failed == [], failed
