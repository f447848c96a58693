"""A real headless browser (Debian's chromium, driven by selenium) for the GUI tests.

Locally a missing browser or selenium skips; with CI=true it fails, as every
missing server does.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, require_binary

DESKTOP = (1280, 800)
PHONE = (390, 844)
WAIT_S = 10


def _selenium() -> Any:
    try:
        import selenium.webdriver as webdriver
    except ImportError:
        message = "selenium is not installed (pip install -e '.[dev]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return webdriver


@contextmanager
def chromium() -> Iterator[Any]:
    webdriver = _selenium()
    binary = require_binary("chromium")
    driver_path = require_binary("chromedriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--disable-background-networking",
                f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(arg)
    # the page's console (errors included) stays readable for failure messages
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def console(driver: Any) -> str:
    try:
        return "\n".join(f"{e['level']}: {e['message']}" for e in driver.get_log("browser"))
    except Exception:  # noqa: BLE001 - only used to explain a failure
        return ""


def wait_for(driver: Any, condition: Any, what: str, timeout: float = WAIT_S) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        main = driver.find_elements("id", "main")
        text = main[0].text if main else driver.page_source[:2000]
        raise AssertionError(f"timed out waiting for {what}; page shows:\n{text}\n"
                             f"console:\n{console(driver)}") from None


def screenshot(driver: Any, folder: Path, name: str) -> Path:
    """Kept as a test artifact under pytest's temporary folder (never committed)."""
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 0
    return path


def env_screenshot_dir(default: Path) -> Path:
    """``KONGPY_GUI_SCREENSHOTS`` names another folder (e.g. a CI artifact)."""
    folder = Path(os.environ.get("KONGPY_GUI_SCREENSHOTS") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
