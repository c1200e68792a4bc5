"""`GET /api/v1/documents/{id}.pdf` and the public page `/d/{token}` through the API, on both
databases: what the paper says (pdftotext), where its QR code leads (pdftoppm + zxing-cpp), that
pyHanko accepts the agency's seal and rejects a changed byte, corrections, secret inspections,
caching and who may print."""

from __future__ import annotations

import asyncio
import shutil
import uuid

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.core.signing import Keys
from backend.documents_pdf import signer
from backend.documents_pdf.tokens import page_token
from tests.documents_pdf.helpers import FINDINGS, flip_content_byte, locked_record, pdftotext, qr_texts
from tests.inspections.helpers import Flow, credit_code

pytestmark = pytest.mark.db


async def check_pdf(pdf: bytes, root_ders: list[bytes]) -> signer.SealCheck:
    # pyHanko's synchronous validator runs its own event loop: not on the test's.
    return await asyncio.to_thread(signer.check_pdf, pdf, root_ders)


async def roots(client) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    r = await client.get("/api/v1/seal-certificates")
    assert r.status_code == 200, r.text
    return [x509.load_pem_x509_certificate(c["pem"].encode()).public_bytes(serialization.Encoding.DER)
            for c in r.json()["roots"]]


async def test_locked_record_prints_signs_and_links_to_its_page(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins, doc = await locked_record(flow)
    officer = token_for("sy.officer2")

    r = await client.get(f"/api/v1/documents/{doc['id']}.pdf", headers=officer)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert "private" in r.headers["cache-control"]
    pdf = r.content
    assert pdf.startswith(b"%PDF-1.7")

    text = pdftotext(pdf)
    assert "现场检查记录" in text
    assert ins["enterprise"]["name"] in text and credit_code() in text
    assert "沈阳市和平区南京北街1号" in text
    for sig in doc["signatures"]:
        assert sig["signer_name"] in text, sig["signer_name"]
    for finding in FINDINGS:
        assert finding in text
    assert "立即疏通消防通道" in text and "重大隐患" in text
    assert doc["content_sha256"] in text.replace("\n", "")
    assert "执法人员" in text and "技术检查员" in text and "企业代表" in text

    # The agency's seal: accepted by pyHanko's validator against the published root...
    check = await check_pdf(pdf, await roots(client))
    assert check.ok and check.coverage == "ENTIRE_FILE", check
    assert "沈阳市应急管理局" in check.signer and "210100" in check.signer
    # ...and refused once one byte of the content is changed.
    assert not (await check_pdf(flip_content_byte(pdf), await roots(client))).intact

    # Rendered once: the same bytes again, under both spellings, and as "version 1".
    again = await client.get(f"/api/v1/documents/{doc['id']}/pdf", headers=token_for("sy.officer1"))
    assert again.status_code == 200 and again.content == pdf
    v = await client.get(f"/api/v1/documents/{doc['id']}/versions/{doc['version']}.pdf", headers=officer)
    assert v.status_code == 200 and v.content == pdf
    assert again.headers["etag"] == r.headers["etag"]

    # The QR code on page 1 opens the public page of this document.
    (url,) = qr_texts(pdf)
    assert url.startswith("http://testserver.local/d/")
    page = await client.get(url.removeprefix("http://testserver.local"))
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-status="locked"' in html and "已签署锁定" in html
    assert ins["enterprise"]["name"] in html and doc["content_sha256"] in html and "现场检查记录" in html
    for sig in doc["signatures"]:
        assert sig["signer_name"] in html
    # Nothing else about the inspection: no findings, no address, no credit code, no content.
    for secret in (*FINDINGS, "南京北街", credit_code(), "立即疏通消防通道"):
        assert secret not in html


async def test_refusal_is_printed_with_its_witness(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    _, doc = await locked_record(flow, refuse=True)
    r = await client.get(f"/api/v1/documents/{doc['id']}.pdf", headers=token_for("sy.officer1"))
    assert r.status_code == 200, r.text
    text = pdftotext(r.content)
    assert "拒绝签字" in text and "负责人不在场" in text and "王见证" in text


async def test_correction_is_marked_and_the_old_page_says_superseded(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    officer = token_for("sy.officer1")
    ins, old = await locked_record(flow)
    old_pdf = (await client.get(f"/api/v1/documents/{old['id']}.pdf", headers=officer)).content
    (old_url,) = qr_texts(old_pdf)

    r = await client.post(f"/api/v1/documents/{old['id']}/corrections", headers=officer,
                          json={"content": {"text": "更正：储罐区检查情况补充。"}})
    assert r.status_code == 201, r.text
    new = r.json()
    for who, role, extra in (("sy.officer1", "officer", {}), ("sy.officer2", "officer", {}),
                             ("sy.inspector.ft", "technical_inspector", {}),
                             ("sy.officer1", "enterprise_representative", {"signer_name": "李厂长"})):
        assert (await flow.sign(new, who, role, **extra)).status_code == 201
    new_pdf = (await client.get(f"/api/v1/documents/{new['id']}.pdf", headers=officer)).content
    text = pdftotext(new_pdf).replace("\n", "")
    assert "现场检查记录（更正）" in text and "更正" in text
    assert old["id"] in text  # names the document it supersedes
    assert (await check_pdf(new_pdf, await roots(client))).ok

    # The old paper's QR code now says "superseded", with a link to the correction's page.
    page = await client.get(old_url.removeprefix("http://testserver.local"))
    assert page.status_code == 200
    assert 'data-status="superseded"' in page.text and "已被更正" in page.text
    (new_url,) = qr_texts(new_pdf)
    new_path = new_url.removeprefix("http://testserver.local")
    assert f'href="{new_path}"' in page.text
    new_page = await client.get(new_path)
    assert 'data-status="locked"' in new_page.text and "（更正）" in new_page.text
    assert f'href="{old_url.removeprefix("http://testserver.local")}"' in new_page.text
    # The old PDF is still the same file: printed once, never re-rendered.
    assert (await client.get(f"/api/v1/documents/{old['id']}.pdf", headers=officer)).content == old_pdf
    assert ins["id"]


async def test_secret_inspection_has_no_public_page_and_no_qr(client, token_for, clock, keys_dir):
    flow = Flow(client, token_for, clock)
    ins, doc = await locked_record(flow, classification="secret", refuse=True)
    r = await client.get(f"/api/v1/documents/{doc['id']}.pdf", headers=token_for("sy.officer1"))
    assert r.status_code == 200, r.text
    assert qr_texts(r.content) == []
    assert "涉密检查" in pdftotext(r.content)
    # Even with a genuine token (made by the server's own key) the page says nothing.
    token = page_token(Keys(keys_dir).load().seal, uuid.UUID(doc["id"]))
    page = await client.get(f"/d/{token}")
    assert page.status_code == 404
    assert ins["enterprise"]["name"] not in page.text and doc["content_sha256"] not in page.text
    assert "查无此文书" in page.text
    # A technical inspector may not print it (Art. 13(1)).
    r = await client.get(f"/api/v1/documents/{doc['id']}.pdf", headers=token_for("sy.inspector.ft"))
    assert r.status_code == 403 and r.json()["code"] == "ART13_STATE_SECRET"


async def test_draft_is_marked_and_not_cached_and_old_versions_have_no_pdf(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    officer = token_for("sy.officer1")
    ins = await flow.started(team=("sy.officer1", "sy.officer2"))
    doc = (await flow.document(ins["id"])).json()
    r = await client.get(f"/api/v1/documents/{doc['id']}.pdf", headers=officer)
    assert r.status_code == 200 and "no-cache" in r.headers["cache-control"]
    assert "草稿" in pdftotext(r.content)
    r = await client.put(f"/api/v1/documents/{doc['id']}", headers=officer, json={"content": {"text": "第二版"}})
    assert r.status_code == 200
    r = await client.get(f"/api/v1/documents/{doc['id']}/versions/1.pdf", headers=officer)
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await client.get(f"/api/v1/documents/{doc['id']}/versions/2.pdf", headers=officer)
    assert r.status_code == 200 and "第二版" in pdftotext(r.content)
    for bad in ("versions/0.pdf", "versions/x.pdf", "versions/99999999999999999999.pdf"):
        r = await client.get(f"/api/v1/documents/{doc['id']}/{bad}", headers=officer)
        assert r.status_code in (400, 404) and "code" in r.json(), (bad, r.text)


async def test_who_may_print(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started(team=("sy.officer1", "sy.officer2"))
    doc = (await flow.document(ins["id"])).json()
    path = f"/api/v1/documents/{doc['id']}.pdf"
    assert (await client.get(path)).status_code == 401
    r = await client.get(path, headers=token_for("dl.officer1"))  # another city's officer
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await client.get(f"/api/v1/documents/{uuid.uuid4()}.pdf", headers=token_for("sy.officer1"))
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await client.get("/api/v1/documents/not-a-uuid.pdf", headers=token_for("sy.officer1"))
    assert r.status_code in (400, 404) and "code" in r.json()


async def test_public_page_refuses_forged_tokens_and_is_rate_limited(settings, clock, token_for):
    app = create_app(msgspec.structs.replace(settings, public_rate_limit=3), clock=clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        forged = "A" * 107
        for path in ("/d/x", f"/d/{forged}", "/d/" + "-" * 107):
            r = await c.get(path)
            assert r.status_code in (400, 404), (path, r.status_code)
        r = await c.get("/d/x")
        assert r.status_code == 429 and r.headers["retry-after"]
        assert 'lang="zh-CN"' in r.text


async def test_certificate_chain_is_public(client):
    r = await client.get("/api/v1/seal-certificates")
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["roots"]) >= 1 and body["roots"][0]["pem"].startswith("-----BEGIN CERTIFICATE-----")
    pem = await client.get("/api/v1/seal-certificates/roots.pem")
    assert pem.status_code == 200 and pem.text.count("BEGIN CERTIFICATE") == len(body["roots"])


async def test_key_rotation_issues_new_certificates_and_old_papers_still_check(settings, clock, token_for,
                                                                               keys_dir, tmp_path):
    """`fieldcheck keys rotate` (seal and ca): the next PDF gets a new certificate under a new
    root; the earlier PDF, its page and its cached file stay as they were."""
    shutil.copytree(keys_dir / "keys", tmp_path / "keys")  # same access keys: token_for still works
    (keys_dir / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache").symlink_to(keys_dir / "cache")  # the cut font, made once per test session
    rotated = msgspec.structs.replace(settings, data_dir=str(tmp_path))
    officer = token_for("sy.officer1")

    async with AsyncTestClient(app=create_app(rotated, clock=clock), base_url="http://testserver.local") as c:
        _, first = await locked_record(Flow(c, token_for, clock))
        first_pdf = (await c.get(f"/api/v1/documents/{first['id']}.pdf", headers=officer)).content
        before = (await c.get("/api/v1/seal-certificates")).json()

    keys = Keys(tmp_path).load()
    keys.seal.rotate()
    keys.ca.rotate()

    async with AsyncTestClient(app=create_app(rotated, clock=clock), base_url="http://testserver.local") as c:
        _, second = await locked_record(Flow(c, token_for, clock))
        second_pdf = (await c.get(f"/api/v1/documents/{second['id']}.pdf", headers=officer)).content
        after = (await c.get("/api/v1/seal-certificates")).json()
        assert len(after["roots"]) == len(before["roots"]) + 1
        assert {s["sha256"] for s in before["seals"]} < {s["sha256"] for s in after["seals"]}
        all_roots = await roots(c)
        first_check = await check_pdf(first_pdf, all_roots)
        second_check = await check_pdf(second_pdf, all_roots)
        assert first_check.ok and second_check.ok
        # Only the new root vouches for the new PDF; only an old one for the old PDF.
        newest = [r for r in all_roots if r not in await roots_of(before)]
        assert (await check_pdf(second_pdf, newest)).ok and not (await check_pdf(first_pdf, newest)).trusted
        # The old paper: same file, and its QR code still opens its page.
        assert (await c.get(f"/api/v1/documents/{first['id']}.pdf", headers=officer)).content == first_pdf
        (old_url,) = qr_texts(first_pdf)
        page = await c.get(old_url.removeprefix("http://testserver.local"))
        assert page.status_code == 200 and 'data-status="locked"' in page.text


async def roots_of(body: dict) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return [x509.load_pem_x509_certificate(c["pem"].encode()).public_bytes(serialization.Encoding.DER)
            for c in body["roots"]]
