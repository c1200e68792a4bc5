"""The paper's QR code in a real browser: a locked record printed by a real server (uvicorn on
127.0.0.1, SQLite built by the migrations and the demo seed), its page 1 rendered by pdftoppm,
the QR decoded by zxing-cpp, and the URL opened in headless Chromium at a phone's width; after a
correction, the same URL says superseded and links to the correction's page.

Needs chromium, chromium-driver and poppler-utils (Debian); fails, does not skip, without them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.documents_pdf.helpers import page_png, pdftotext, qr_texts
from tests.inspections.helpers import CERTS, inspection_body, position, signature_png
from tests.web.test_verify_page_browser import driver, server  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.browser
REVIEW = Path(__file__).resolve().parents[2] / "var" / "review"


class _Now:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _login(api: httpx.Client, who: str) -> dict[str, str]:
    r = api.post("/api/v1/auth/token", json={"username": who, "password": "fieldcheck-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _stamp() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _sign(api: httpx.Client, doc: dict[str, Any], headers: dict[str, str], role: str, **extra: Any) -> None:
    body = {"signer_role": role, "image_png": signature_png(), "content_sha256": doc["content_sha256"],
            "position": position(), "at": _stamp(), **extra}
    r = api.post(f"/api/v1/documents/{doc['id']}/signatures", json=body, headers=headers)
    assert r.status_code == 201, r.text


def _locked(api: httpx.Client, doc: dict[str, Any], o1: dict[str, str], o2: dict[str, str]) -> None:
    _sign(api, doc, o1, "officer")
    _sign(api, doc, o2, "officer")
    _sign(api, doc, o1, "enterprise_representative", signer_name="李厂长")


def test_qr_on_the_paper_opens_the_document_page(server: str, driver: webdriver.Chrome) -> None:  # noqa: F811
    with httpx.Client(base_url=server, timeout=60) as api:
        o1, o2 = _login(api, "sy.officer1"), _login(api, "sy.officer2")
        r = api.post("/api/v1/inspections", json=inspection_body(_Now(), team=("sy.officer1", "sy.officer2")),
                     headers=o1)
        assert r.status_code == 201, r.text
        iid = r.json()["id"]
        for who, h in (("sy.officer1", o1), ("sy.officer2", o2)):
            r = api.post(f"/api/v1/inspections/{iid}/check-ins", json={"position": position(), "at": _stamp()},
                         headers=h)
            assert r.status_code == 201, r.text
            r = api.post(f"/api/v1/inspections/{iid}/credential-displays", headers=h, json={
                "enforcement_certificate_number": CERTS[who], "shown_to": {"name": "李厂长", "role": "企业负责人"},
                "position": position(), "at": _stamp()})
            assert r.status_code == 201, r.text
        assert api.post(f"/api/v1/inspections/{iid}/start", headers=o1).status_code == 200
        r = api.post(f"/api/v1/inspections/{iid}/documents", headers=o1, json={
            "type": "on_site_inspection_record",
            "content": {"text": "检查组对储罐区、装卸区进行了检查，发现消防通道堵塞。", "requirements": ["立即疏通消防通道"]}})
        assert r.status_code == 201, r.text
        doc = r.json()
        _locked(api, doc, o1, o2)

        pdf = api.get(f"/api/v1/documents/{doc['id']}.pdf", headers=o1)
        assert pdf.status_code == 200, pdf.text
        REVIEW.mkdir(parents=True, exist_ok=True)
        (REVIEW / "record-page1.png").write_bytes(page_png(pdf.content, dpi=110))
        (url,) = qr_texts(pdf.content)
        assert url.startswith(f"{server}/d/")
        assert "现场检查记录" in pdftotext(pdf.content)

        driver.get(url)  # what a phone camera opens
        status = driver.find_element(By.ID, "result")
        assert status.is_displayed() and status.get_attribute("data-status") == "locked"
        assert "已签署锁定" in status.text
        assert driver.find_element(By.ID, "enterprise").text == "沈阳示例化工有限公司"
        assert driver.find_element(By.ID, "hash").text == doc["content_sha256"]
        signers = driver.find_element(By.ID, "signers").text
        assert "执法人员" in signers and "企业代表" in signers and "李厂长" in signers
        assert driver.execute_script("return document.documentElement.lang") == "zh-CN"
        # Phone width: nothing sticks out sideways (the 64-character hash wraps).
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        driver.save_screenshot(str(REVIEW / "document-page.png"))

        r = api.post(f"/api/v1/documents/{doc['id']}/corrections", headers=o1,
                     json={"content": {"text": "更正：消防通道已当场疏通。"}})
        assert r.status_code == 201, r.text
        correction = r.json()
        _locked(api, correction, o1, o2)

        driver.refresh()  # the old paper's QR code again
        status = driver.find_element(By.ID, "result")
        assert status.get_attribute("data-status") == "superseded" and "已被更正" in status.text
        driver.find_element(By.ID, "superseded-by").click()
        assert driver.find_element(By.ID, "result").get_attribute("data-status") == "locked"
        assert "（更正）" in driver.find_element(By.ID, "type").text
        new_pdf = api.get(f"/api/v1/documents/{correction['id']}.pdf", headers=o1).content
        assert qr_texts(new_pdf) == [driver.current_url]
