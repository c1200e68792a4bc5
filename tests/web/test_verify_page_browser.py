"""The whole path a bystander takes: a phone camera opens a demo credential's QR URL on a real
server (uvicorn on 127.0.0.1, SQLite built by the migrations and the demo seed), headless Chromium
shows a green 有效 with the holder's name; after a revocation, a reload shows red.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: chromium chromium-driver); fails, does
not skip, without them. Selenium Manager is never used (explicit driver path, nothing downloaded).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from backend.app import create_app
from backend.settings import Settings
from tests.conftest import demo_id

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from backend.cli import _seed
    from backend.migrations.runner import upgrade

    data = tmp_path_factory.mktemp("browser-data")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{data / 'fieldcheck.db'}", data_dir=str(data),
                        demo=True, public_base_url=base)
    upgrade(settings.resolved_database_url)
    asyncio.run(_seed(settings, demo=True))
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield base
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(f"browser tests need {', '.join(missing)}: apt-get install -y chromium chromium-driver",
                    pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=412,915"):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        browser.set_page_load_timeout(30)
        yield browser
    finally:
        browser.quit()


def rgb(css: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*[\d.]+)?\)", css.strip())
    assert match, css
    r, g, b = (int(v) for v in match.groups())
    return r, g, b


def test_scan_shows_green_then_red_after_revocation(server: str, driver: webdriver.Chrome) -> None:
    with httpx.Client(base_url=server, timeout=30) as api:
        login = api.post("/api/v1/auth/token", json={"username": "ln.hr", "password": "fieldcheck-demo"})
        assert login.status_code == 200, login.text
        hr = {"Authorization": f"Bearer {login.json()['access_token']}"}
        listing = api.get("/api/v1/credentials", params={"person_id": str(demo_id("sy.inspector.ft"))}, headers=hr)
        cred = listing.json()["items"][0]
        assert cred["qr_text"].startswith(f"{server}/v/")

        driver.get(cred["qr_text"])  # what the phone camera opens
        verdict = driver.find_element(By.ID, "result")
        assert verdict.is_displayed()
        assert verdict.get_attribute("data-result") == "valid"
        assert "有效" in verdict.text
        r, g, b = rgb(verdict.value_of_css_property("color"))
        assert g > r + 40 and g > b + 20, (r, g, b)  # green
        holder = driver.find_element(By.CSS_SELECTOR, "dd.holder")
        assert holder.is_displayed() and holder.text == "吴晓明"
        assert cred["number"] in driver.find_element(By.CSS_SELECTOR, "dd.number").text
        assert driver.execute_script("return document.documentElement.lang") == "zh-CN"

        revoke = api.post(f"/api/v1/credentials/{cred['id']}/revoke", json={"reason": "演示吊销"}, headers=hr)
        assert revoke.status_code == 200, revoke.text

        driver.refresh()
        verdict = driver.find_element(By.ID, "result")
        assert verdict.get_attribute("data-result") == "revoked"
        assert "已吊销" in verdict.text and "有效" not in verdict.text
        r, g, b = rgb(verdict.value_of_css_property("color"))
        assert r > g + 80 and r > b + 80, (r, g, b)  # red
        assert driver.find_element(By.CSS_SELECTOR, "dd.holder").text == "吴晓明"

        driver.get(f"{server}/v/not-a-credential")
        assert driver.find_element(By.ID, "result").get_attribute("data-result") == "malformed"
