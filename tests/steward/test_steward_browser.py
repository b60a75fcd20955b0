"""The steward review worked end to end in a real browser, inside a real Airflow API server (issue 16).

A reconcile run (``crmhub.stages.reconcile_steps`` functions) leaves a pair in review in a DuckDB warehouse;
``airflow api-server`` (simple auth manager, two users with passwords) serves the hub's plugins; headless
Chromium logs in through Airflow's own login page, opens *Browse → Steward review* inside the Airflow UI,
opens the pair (both records' values side by side), links it and sees the decision with who and when.
The next reconcile run then gives both records one golden id and empties the queue. A viewer is refused
and never sees a value. Screenshots land in ``artifacts/ui/steward_*.png``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from headless_chromium import headless_chromium

from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, conform, empty_frame
from crmhub.paths import PROJECT_DIR
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse, steward
from crmhub_dev.localrun import local_airflow

pytestmark = pytest.mark.airflow

ARTIFACTS = PROJECT_DIR / "artifacts" / "ui"
USERS = {"stella": ("op", "stella-pw-1"), "victor": ("viewer", "victor-pw-1")}
LEFT, RIGHT = ("hubspot", "h1"), ("salesforce", "0031")
EMAIL, PHONE = "jan.devries@example.nl", "+31612345678"


def _ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def contacts() -> pd.DataFrame:
    """Jan de Vries twice (same name, another address, one with e-mail, one with phone: a review-band
    pair, score 7) and an unrelated Petra."""
    jan = dict(first_name="Jan", name_prefix="de", last_name="Vries", city="Amsterdam", country="NL", is_deleted=False)
    rows = [
        dict(jan, source=LEFT[0], source_id=LEFT[1], email=EMAIL, address_line="Keizersgracht 12", postcode="1015 CX",
             source_created_at=_ts("2024-01-01"), source_updated_at=_ts("2025-01-01")),
        dict(jan, source=RIGHT[0], source_id=RIGHT[1], phone=PHONE, address_line="Prinsengracht 80", postcode="1015 DX",
             source_created_at=_ts("2024-02-01"), source_updated_at=_ts("2025-02-01")),
        dict(source="hubspot", source_id="h2", first_name="Petra", last_name="Jansen", email="petra@example.nl",
             city="Utrecht", country="NL", is_deleted=False, source_updated_at=_ts("2025-01-01")),
    ]  # fmt: skip
    return conform(pd.DataFrame(rows), CONTACT_COLUMNS)


def reconcile_run(warehouse_url: str, data_dir: Path, run_id: str) -> dict[str, Any]:
    """Match, survive and load one run whose canonical records are :func:`contacts` (the stage's own steps)."""
    files = stage.run_folder(data_dir, run_id)
    files.write("contacts", contacts())
    files.write("interactions", empty_frame(INTERACTION_COLUMNS))
    with Warehouse.from_url(warehouse_url) as wh:
        wh.migrate()
        stage.match_and_survive(wh, files, run_id, rules=load_rules())
        return stage.load(wh, files, run_id, state_dir=stage.state_dir(data_dir))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Hub:
    api_url: str
    warehouse_url: str
    data_dir: Path
    log: Path


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    home = tmp_path_factory.mktemp("steward-airflow")
    data_dir = home / "data"
    warehouse_url = f"duckdb://{home / 'warehouse.duckdb'}"
    reconcile_run(warehouse_url, data_dir, "manual__run-1")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({u: pw for u, (_, pw) in USERS.items()}), encoding="utf-8")
    port = _free_port()
    airflow = local_airflow(
        home,
        connections={},
        warehouse_url=warehouse_url,
        data_dir=data_dir,
        extra_env={
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}/",
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        },
    )
    airflow.migrate()
    log = home / "api-server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "api-server", "--host", "127.0.0.1", "--port", str(port)],
            env=airflow.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    api_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{api_url}/api/v2/monitor/health", timeout=5) as response,
            ):
                if response.status == 200:
                    break
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(1)
        yield Hub(api_url, warehouse_url, data_dir, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with headless_chromium(
        tmp_path_factory.mktemp("chromium-profile"), "--disable-quic", "--window-size=1600,1000"
    ) as driver:
        yield driver


def _shot(driver: Any, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"steward_{name}.png"))


def _body(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def _wait_text(driver: Any, *texts: str, timeout: float = 60) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout).until(lambda d: all(t in _body(d) for t in texts))
    except Exception:
        _shot(driver, "failure")
        raise AssertionError(f"page never showed {texts}: {driver.current_url}\n{_body(driver)[:3000]}") from None
    return _body(driver)


def _login(driver: Any, api_url: str, user: str, next_path: str) -> None:
    """Log in on Airflow's own login page (simple auth manager), coming back to ``next_path``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(f"{api_url}{next_path}")  # not signed in: the steward app sends the browser to the login page
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[type=password]"))
    assert "/auth/login" in driver.current_url, driver.current_url
    _shot(driver, f"login_{user}")
    username = driver.find_element(By.CSS_SELECTOR, "input[name=username], input#username, input[type=text]")
    username.send_keys(user)
    driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(USERS[user][1])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: "/auth/login" not in d.current_url)


def test_a_steward_links_a_pair_in_the_airflow_ui_and_the_next_run_merges_it(hub: Hub, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    with Warehouse.from_url(hub.warehouse_url) as wh:
        queued = wh.review_queue()
    assert len(queued) == 1, queued

    _login(driver, hub.api_url, "stella", "/crmhub-steward/")
    _wait_text(driver, "1 pair(s) to review", "Signed in as stella")

    # inside the Airflow UI: Browse → Steward review is an entry of Airflow's navigation, the page in its frame
    driver.get(f"{hub.api_url}/")
    browse = WebDriverWait(driver, 60).until(
        lambda d: [e for e in d.find_elements(By.XPATH, "//*[normalize-space(text())='Browse']") if e.is_displayed()]
    )
    browse[0].click()
    entry = WebDriverWait(driver, 30).until(
        lambda d: [e for e in d.find_elements(By.XPATH, "//*[text()='Steward review']") if e.is_displayed()]
    )
    _shot(driver, "browse_menu")
    entry[0].click()
    WebDriverWait(driver, 60).until(lambda d: "/plugin/crmhub-steward" in d.current_url)
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.TAG_NAME, "iframe"))
    time.sleep(2)  # let the frame render for the screenshot
    _shot(driver, "in_airflow_ui")
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    _wait_text(driver, "1 pair(s) to review")
    driver.find_element(By.CSS_SELECTOR, "a.open-pair").click()
    text = _wait_text(driver, EMAIL, PHONE, "Keizersgracht 12", "Prinsengracht 80", "Score 7.00", "address=different")
    assert "source record" in text  # the records' own values, from the run that wrote the queue
    driver.switch_to.default_content()
    _shot(driver, "pair_in_airflow_ui")
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    driver.find_element(By.ID, "btn-link").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#pair-decisions td.decided-by"))
    assert driver.find_element(By.CSS_SELECTOR, "#pair-decisions td.decided-by").text == "stella"
    assert driver.find_element(By.CSS_SELECTOR, "#pair-decisions td.decision").text == "link"
    assert driver.find_element(By.CSS_SELECTOR, "#pair-decisions td.decided-at").text.startswith("20")
    assert "Decision in force: link by stella at 20" in driver.find_element(By.ID, "pair-decided").text
    driver.switch_to.default_content()
    _shot(driver, "linked")

    with Warehouse.from_url(hub.warehouse_url) as wh:
        history = steward.decision_history(wh.engine)
        audit = steward.activity(wh.engine)
    assert list(history[["decision", "decided_by"]].itertuples(index=False, name=None)) == [("link", "stella")]
    assert abs(pd.Timestamp.now(tz="UTC") - pd.Timestamp(history.loc[0, "decided_at"])) < pd.Timedelta(minutes=10)
    seen = set(audit[["actor", "action"]].itertuples(index=False, name=None))
    assert {("stella", "view_queue"), ("stella", "view_pair"), ("stella", "link")} <= seen

    # the next reconcile run applies the decision: one golden id for both records, nothing left to review
    result = reconcile_run(hub.warehouse_url, hub.data_dir, "manual__run-2")
    assert result["review_queue"] == 0, result
    with Warehouse.from_url(hub.warehouse_url) as wh:
        xref = wh.current_xref().set_index(["source", "source_id"])
    assert xref.loc[LEFT, "golden_id"] == xref.loc[RIGHT, "golden_id"] != xref.loc[("hubspot", "h2"), "golden_id"]
    assert xref.loc[LEFT, "match_rule"] == "steward"
    driver.get(f"{hub.api_url}/crmhub-steward/")
    _wait_text(driver, "0 pair(s) to review", "stella")
    _shot(driver, "queue_after_next_run")


def test_a_viewer_is_refused_and_sees_no_values(hub: Hub, browser: Any) -> None:
    driver = browser
    _login(driver, hub.api_url, "victor", "/crmhub-steward/")
    text = _wait_text(driver, "may not work the steward review")
    _shot(driver, "viewer_refused")
    assert EMAIL not in text and PHONE not in text
    driver.get(
        f"{hub.api_url}/crmhub-steward/pair?left_source=hubspot&left_source_id=h1&right_source=salesforce&right_source_id=0031"
    )
    assert EMAIL not in _wait_text(driver, "may not work the steward review")
    with Warehouse.from_url(hub.warehouse_url) as wh:
        audit = steward.activity(wh.engine)
    assert ("victor", "denied") in set(audit[["actor", "action"]].itertuples(index=False, name=None))
