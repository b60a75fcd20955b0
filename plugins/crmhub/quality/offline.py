"""Data Docs that work without the internet: no CDN, no S3 logo, no ``dataContextId`` beacon.

GX renders pages that load their CSS/JS from public CDNs, show a logo fetched from S3 with the data
context's id in the query string, and link to greatexpectations.io. In a closed network the pages are
unstyled and the index's list of runs, drawn in the browser by bootstrap-table, stays empty.
:func:`localize_site` runs after every Data Docs build: it copies the assets the hub ships
(``static/vendor/``, see its README) into the site and rewrites the freshly rendered pages to use
them, by relative links, so the site works served by the hub's Airflow plugin and opened from disk.
No GX import here.
"""

from __future__ import annotations

import filecmp
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

#: The assets shipped with the hub; copied to ``<site>/static/vendor``.
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
SITE_VENDOR = Path("static") / "vendor"

#: CDN URL (regex) → file under ``static/vendor``. Versions as GX 1.24 asks for them.
CDN_ASSETS: tuple[tuple[str, str], ...] = (
    (r"https://maxcdn\.bootstrapcdn\.com/bootstrap/4\.3\.1/css/bootstrap\.min\.css", "bootstrap/bootstrap.min.css"),
    (r"https://stackpath\.bootstrapcdn\.com/bootstrap/4\.3\.1/js/bootstrap\.min\.js", "bootstrap/bootstrap.min.js"),
    (r"https://code\.jquery\.com/jquery-3\.7\.1\.min\.js", "jquery/jquery.min.js"),
    (
        r"https://unpkg\.com/bootstrap-table@1\.19\.\d/dist/bootstrap-table\.min\.css",
        "bootstrap-table/bootstrap-table.min.css",
    ),
    (
        r"https://unpkg\.com/bootstrap-table@1\.19\.\d/dist/bootstrap-table\.min\.js",
        "bootstrap-table/bootstrap-table.min.js",
    ),
    (
        r"https://unpkg\.com/bootstrap-table@1\.19\.\d/dist/extensions/filter-control/"
        r"bootstrap-table-filter-control(?:\.min)?\.css",
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    ),
    (
        r"https://unpkg\.com/bootstrap-table@1\.19\.\d/dist/extensions/filter-control/"
        r"bootstrap-table-filter-control(?:\.min)?\.js",
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    ),
    (r"https://cdnjs\.cloudflare\.com/ajax/libs/popper\.js/1\.12\.9/umd/popper\.min\.js", "popper/popper.min.js"),
    (
        r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/css/bootstrap-datepicker\.min\.css",
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    ),
    (
        r"https://cdnjs\.cloudflare\.com/ajax/libs/bootstrap-datepicker/1\.9\.0/js/bootstrap-datepicker\.min\.js",
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    ),
    (
        r"https://cdn\.jsdelivr\.net/npm/@forevolve/bootstrap-dark@1\.1\.0/dist/css/bootstrap-prefers-dark(?:\.min)?\.css",
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
    ),
    (r"https://cdnjs\.cloudflare\.com/ajax/libs/font-awesome/6\.6\.0/css/all\.min\.css", "fontawesome/css/all.min.css"),
)
_CDN = [(re.compile(pattern), target) for pattern, target in CDN_ASSETS]

#: GX's logo on S3 (with ``?d=<time>&dataContextId=<uuid>``: a beacon) → the copy GX puts in the site.
_S3_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[\w.-]+\.amazonaws\.com/[\w.-]+\.png(?:\?[^\"')\s]*)?"
)
LOCAL_LOGO = "static/images/logo-long.png"
#: Vega is used only for charts no hub suite draws; its script tags go.
_VEGA = re.compile(r"\s*<script[^>]*src=\"https://cdn\.jsdelivr\.net/npm/vega[\w-]*@\d+\"[^>]*>\s*</script>")
#: GX's newsletter paragraph and "getting started" buttons: links out, no use offline.
_NEWSLETTER = re.compile(r"<p>[^<]*newsletter\s*<a [^>]*>[^<]*</a>\s*</p>", re.IGNORECASE)
#: Any link still pointing out of the site keeps its text and loses its target.
_EXTERNAL_LINK = re.compile(r"<a\b([^>]*?)\shref=\"https?://[^\"]*\"([^>]*)>", re.IGNORECASE)
_EXTERNAL_URL = re.compile(r"https?://[^\s\"'<>)]+")
#: References to the site's own ``static/`` folder; GX miscounts the depth for some (the favicon of a
#: validation page points one folder too high), so all are set to the page's real depth.
_SITE_STATIC = re.compile(r"(?P<q>[\"'(])(?:\.\./)*static/")


def install_assets(site: Path) -> Path:
    """Copy the shipped assets into ``site/static/vendor`` (files that differ or are missing)."""
    target = site / SITE_VENDOR
    for source in VENDOR_DIR.rglob("*"):
        if source.is_dir():
            continue
        dest = target / source.relative_to(VENDOR_DIR)
        if dest.is_file() and filecmp.cmp(source, dest, shallow=False):
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return target


def localize_html(text: str, depth: int) -> str:
    """``text`` of a page ``depth`` folders below the site root, with every external reference local."""
    up = "../" * depth
    for pattern, target in _CDN:
        text = pattern.sub(f"{up}{SITE_VENDOR.as_posix()}/{target}", text)
    text = _S3_LOGO.sub(f"{up}{LOCAL_LOGO}", text)
    text = _VEGA.sub("", text)
    text = _NEWSLETTER.sub("", text)
    text = _EXTERNAL_LINK.sub(lambda m: f"<a{m.group(1)}{m.group(2)}>", text)
    return _SITE_STATIC.sub(lambda m: f"{m['q']}{up}static/", text)


def external_urls(text: str) -> list[str]:
    """Every ``http(s)://`` URL left in ``text`` (what a page would still reach out for)."""
    return _EXTERNAL_URL.findall(text)


#: Marks a site whose every page has been rewritten (pages rendered before the hub shipped its assets).
ALL_DONE_MARKER = SITE_VENDOR / ".all-pages-localized"


def localize_site(site: Path, pages: Iterable[Path] | None = None, *, once_all: bool = False) -> list[Path]:
    """Install the assets and rewrite ``pages`` (default: every ``*.html`` of the site) in place.

    Rewriting is idempotent, so pages rendered earlier may be passed again. With ``once_all``, a site
    not yet marked as fully rewritten gets every page rewritten this once. Returns the pages changed.
    """
    site = site.resolve()
    install_assets(site)
    marker = site / ALL_DONE_MARKER
    if once_all and not marker.exists():
        pages = None
    changed = []
    for page in pages if pages is not None else site.rglob("*.html"):
        page = page.resolve()
        if not page.is_file() or SITE_VENDOR.parts[0] in page.relative_to(site).parts[:1]:
            continue
        text = page.read_text(encoding="utf-8")
        local = localize_html(text, len(page.relative_to(site).parts) - 1)
        if local != text:
            page.write_text(local, encoding="utf-8")
            changed.append(page)
    if pages is None:
        marker.touch()
    return changed
