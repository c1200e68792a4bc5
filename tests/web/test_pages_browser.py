"""The verification page in a real browser: Debian's headless Chromium at a phone's viewport.

Needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages chromium, chromium-driver); the
test fails, it does not skip, when they are missing. Selenium Manager is never used: the driver path
is given explicitly, so nothing is downloaded.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from backend.web.pages import render_error_page, render_verification_page

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PHONE = (390, 844)
CHECKED_AT = datetime(2026, 3, 5, 6, 30, 15, tzinfo=UTC)
XSS = "<script>alert(1)</script>"
LONG_AGENCY = (
    "沈阳市沈北新区辉山经济技术开发区应急管理综合行政执法大队第一中队"
    "（道义街道办事处安全生产监督管理站、蒲河新城化工园区安全监管办公室联合派驻组）"
)


def credential(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "number": "LNJ-2026-000017-X",
        "kind": "technical_inspector",
        "holder_name": "张伟",
        "agency_code": "210100",
        "agency_name": "沈阳市应急管理综合行政执法队",
        "issued_at": "2026-01-05T02:00:00Z",
        "expires_at": "2029-01-04",
        "status": "valid",
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(
            f"browser tests need {', '.join(missing)}: run the test setup first "
            "(as root: apt-get update && apt-get install -y chromium chromium-driver)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={PHONE[0]},{PHONE[1]}",
    ):
        options.add_argument(argument)
    # Desktop Chrome will not make a window narrower than 500 px, and it ignores the viewport meta;
    # phone emulation gives the page a real 390 × 844 phone viewport (iPhone 12-15, 3× density), in
    # which the viewport meta decides the layout width, as on a phone.
    options.add_experimental_option(
        "mobileEmulation",
        {"deviceMetrics": {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 3.0, "touch": True}},
    )
    browser = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        browser.set_page_load_timeout(30)
        yield browser
    finally:
        browser.quit()


def open_page(driver: webdriver.Chrome, markup: str, path: Path) -> None:
    path.write_text(markup, encoding="utf-8")
    driver.get(path.as_uri())


def parse_rgb(css_colour: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*[\d.]+)?\)", css_colour.strip())
    assert match, css_colour
    r, g, b = (int(v) for v in match.groups())
    return r, g, b


def is_green(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return g > r + 40 and g > b + 20


def is_red(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > g + 80 and r > b + 80


def check_page(driver: webdriver.Chrome, shot: Path, colour_ok, label: str) -> None:
    inner_width = driver.execute_script("return window.innerWidth")
    inner_height = driver.execute_script("return window.innerHeight")
    assert inner_width == PHONE[0]  # really a phone-sized viewport (thanks to the viewport meta)
    # no horizontal overflow, whatever the content
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll_width <= inner_width, (scroll_width, inner_width)
    body_scroll = driver.execute_script("return document.body.scrollWidth")
    assert body_scroll <= inner_width, (body_scroll, inner_width)

    verdict = driver.find_element(By.ID, "result")
    assert verdict.is_displayed()
    assert verdict.text.endswith(label)
    rect = verdict.rect
    assert rect["x"] >= 0
    assert rect["x"] + rect["width"] <= inner_width
    assert rect["y"] + rect["height"] <= inner_height  # above the fold, no scrolling needed
    font_size = float(verdict.value_of_css_property("font-size").removesuffix("px"))
    assert font_size >= 40, font_size  # large type
    colour = parse_rgb(verdict.value_of_css_property("color"))
    assert colour_ok(colour), colour

    assert driver.save_screenshot(str(shot))
    with Image.open(shot) as image:
        screenshot = image.convert("RGB")
    assert screenshot.width >= inner_width
    # the verdict's pixels on screen are in its colour (the text was painted, not just laid out)
    ratio = driver.execute_script("return window.devicePixelRatio") or 1
    box = tuple(
        round(v * ratio)
        for v in (rect["x"], rect["y"], rect["x"] + rect["width"], rect["y"] + rect["height"])
    )
    raw = screenshot.crop(box).tobytes()
    painted = (tuple(raw[i : i + 3]) for i in range(0, len(raw), 3))
    assert sum(1 for pixel in painted if colour_ok(pixel)) > 200


def test_valid_page_is_big_and_green(driver: webdriver.Chrome, tmp_path: Path) -> None:
    body = {"result": "valid", "checked_at": "2026-03-05T06:30:15Z", "credential": credential()}
    open_page(driver, render_verification_page(body, checked_at=CHECKED_AT), tmp_path / "valid.html")
    check_page(driver, tmp_path / "verify-valid.png", is_green, "有效")
    assert driver.find_element(By.CSS_SELECTOR, "dd.holder").text == "张伟"
    assert driver.find_element(By.CSS_SELECTOR, "dd.number").text == "LNJ-2026-000017-X"
    assert "北京时间" in driver.find_element(By.CSS_SELECTOR, ".checked").text
    assert driver.execute_script("return document.documentElement.lang") == "zh-CN"


@pytest.mark.parametrize(
    ("result", "label"),
    [("revoked", "已吊销"), ("suspended", "已暂停"), ("expired", "已过期"), ("forged", "伪造或被篡改")],
)
def test_bad_results_are_big_and_red(
    driver: webdriver.Chrome, tmp_path: Path, result: str, label: str
) -> None:
    body = {
        "result": result,
        "checked_at": "2026-03-05T06:30:15Z",
        "credential": credential(status=result if result != "forged" else "valid"),
        "reason": "已解聘" if result == "revoked" else None,
    }
    open_page(driver, render_verification_page(body, checked_at=CHECKED_AT), tmp_path / f"{result}.html")
    check_page(driver, tmp_path / f"verify-{result}.png", is_red, label)


@pytest.mark.parametrize(
    ("body", "label"), [(None, "无法识别"), ({"result": "unknown", "credential": None}, "查无此证")]
)
def test_garbage_and_unknown_are_red(
    driver: webdriver.Chrome, tmp_path: Path, body: dict[str, object] | None, label: str
) -> None:
    open_page(driver, render_verification_page(body, checked_at=CHECKED_AT), tmp_path / "garbage.html")
    name = "malformed" if body is None else "unknown"
    check_page(driver, tmp_path / f"verify-{name}.png", is_red, label)
    assert not driver.find_elements(By.CSS_SELECTOR, "dl.details")


def test_hostile_and_long_content_neither_runs_nor_overflows(
    driver: webdriver.Chrome, tmp_path: Path
) -> None:
    body = {
        "result": "valid",
        "checked_at": "2026-03-05T06:30:15Z",
        "credential": credential(
            holder_name=XSS + "Maximilian-Alexander-Johannes-Wolfgang-von-Hohenzollern-Sigmaringen",
            agency_name=LONG_AGENCY + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" * 3,
            number="LNJ-2026-000017-X" * 4,
        ),
        "reason": "x" * 200,
    }
    open_page(driver, render_verification_page(body, checked_at=CHECKED_AT), tmp_path / "hostile.html")
    with pytest.raises(NoAlertPresentException):
        _ = driver.switch_to.alert.text
    assert driver.find_elements(By.TAG_NAME, "script") == []
    holder = driver.find_element(By.CSS_SELECTOR, "dd.holder")
    assert holder.text.replace("\n", "").startswith(XSS)
    check_page(driver, tmp_path / "verify-hostile.png", is_green, "有效")


@pytest.mark.parametrize("status", [404, 429])
def test_error_pages_fit_a_phone(driver: webdriver.Chrome, tmp_path: Path, status: int) -> None:
    markup = render_error_page(
        status, "请求过于频繁，请稍后再试。" if status == 429 else "未找到。", "Error."
    )
    open_page(driver, markup, tmp_path / f"{status}.html")
    inner_width = driver.execute_script("return window.innerWidth")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= inner_width
    verdict = driver.find_element(By.ID, "result")
    assert verdict.is_displayed()
    assert str(status) in driver.find_element(By.CSS_SELECTOR, ".verdict-en").text
    assert driver.save_screenshot(str(tmp_path / f"error-{status}.png"))
    png = (tmp_path / f"error-{status}.png").read_bytes()
    assert Image.open(io.BytesIO(png)).size[0] >= inner_width
