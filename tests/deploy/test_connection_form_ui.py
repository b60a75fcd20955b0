"""The crmhub_dynamics connection form in the real Airflow UI (API server + headless Chromium).

Admin -> Connections -> Add Connection, type "Dynamics 365 Dataverse (Social CRM Hub)": the standard
fields carry the vendor's labels and "Extra Fields" offers Tenant ID, Token URL, Scope and the CA
bundle; untouched extras are stored as null (never ""), which the connectors read as "not set".
Screenshots go to artifacts/ui/.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmhub.paths import PROJECT_DIR
from crmhub_dev.localrun import local_airflow

pytestmark = pytest.mark.airflow
ARTIFACTS = PROJECT_DIR / "artifacts" / "ui"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_url(tmp_path_factory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("form-home")
    port = _free_port()
    airflow = local_airflow(
        home,
        connections={},
        warehouse_url=None,
        data_dir=home / "data",
        extra_env={"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "AIRFLOW__API__HOST": "127.0.0.1"},
    )
    airflow.migrate()
    log = (home / "api-server.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("airflow")), "api-server", "--port", str(port)],
        env=airflow.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/version", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (home / "api-server.log").read_text()
                assert time.monotonic() < deadline, "API server did not start"
                time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_bin, "run scripts/install_test_deps.sh (Debian chromium, chromium-driver)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1600,1200",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_bin))
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def test_dynamics_form_has_its_labels_and_extra_fields(api_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    def dialog_text(d) -> str:
        return d.find_element(By.CSS_SELECTOR, "[role=dialog]").text

    def button(label: str):
        return WebDriverWait(browser, 30).until(
            lambda d: next((b for b in d.find_elements(By.TAG_NAME, "button") if b.text == label), None)
        )

    browser.get(f"{api_url}/connections")
    try:
        button("Add Connection").click()
        combo = WebDriverWait(browser, 30).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[role=dialog] input[role=combobox]")
        )
        combo.click()
        combo.send_keys("Dynamics 365")
        body = (By.TAG_NAME, "body")
        WebDriverWait(browser, 30).until(lambda d: "Dataverse (Social CRM Hub)" in d.find_element(*body).text)
        combo.send_keys(Keys.ENTER)
        WebDriverWait(browser, 30).until(lambda d: "Client ID (app registration)" in dialog_text(d))
        standard = dialog_text(browser)
        assert "Dynamics 365 Dataverse (Social CRM Hub)" in standard
        assert {"API host", "Client ID (app registration)", "Client secret"} <= set(standard.splitlines())
        button("Extra Fields").click()
        WebDriverWait(browser, 30).until(lambda d: "Tenant ID" in dialog_text(d))
        browser.save_screenshot(str(ARTIFACTS / "connection_form_crmhub_dynamics.png"))
        extras = set(dialog_text(browser).splitlines())
        assert {"Tenant ID", "Token URL", "Scope", "CA bundle (verify)"} <= extras
        button("Extra Fields JSON").click()
        WebDriverWait(browser, 30).until(lambda d: '"tenant_id": null' in dialog_text(d))
        browser.save_screenshot(str(ARTIFACTS / "connection_form_crmhub_dynamics_extra_json.png"))
        assert '"verify": null' in dialog_text(browser)  # untouched: null, never "" (which disables TLS checks)
    finally:
        browser.save_screenshot(str(ARTIFACTS / "connection_form_last.png"))
