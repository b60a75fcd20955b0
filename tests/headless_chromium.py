"""Headless Chromium for the browser tests: Debian's chromium and chromium-driver through selenium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

BASE_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)  # fmt: skip


@contextmanager
def headless_chromium(profile_dir: Path, *flags: str) -> Iterator[Any]:
    """A WebDriver on a fresh profile with ``flags`` added (window size, host rules); quit afterwards."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_bin):
        pytest.skip("Debian chromium and chromium-driver are not installed (scripts/install_test_deps.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*BASE_FLAGS, *flags, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(driver_bin))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
