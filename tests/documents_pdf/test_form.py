"""The printed form and its seal without a database: layout (fonts, 禁则 line breaks, PDF/A
metadata), the seal authority's certificates, PAdES signing and validation, page tokens."""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from fpdf import FPDF

from backend.core.signing import KeyRing
from backend.documents_pdf import ca, signer
from backend.documents_pdf.fonts import cjk_font
from backend.documents_pdf.layout import NO_LINE_START, _kinsoku, render
from backend.documents_pdf.service import render_and_seal
from backend.documents_pdf.tokens import page_token, read_page_token
from bench.pdf_sample import sample_view
from tests.documents_pdf.helpers import flip_content_byte, pdftotext, qr_texts

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
ORIGIN = "fieldcheck.test"


@pytest.fixture(scope="module")
def font_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fonts")


@pytest.fixture
def rings(tmp_path: Path) -> tuple[KeyRing, KeyRing]:
    return KeyRing(tmp_path, "ca").load(), KeyRing(tmp_path, "seal").load()


def test_rare_characters_fall_back_to_the_full_face_and_every_font_is_embedded(font_dir):
    view = sample_view(rare=True)
    font = cjk_font(font_dir)
    assert not font.covers(view.all_text()) and font.covers("现场检查记录")
    pdf = render(view, font)
    text = pdftotext(pdf)
    assert "沈阳示例化工有限公司（喆堃）" in text and "现场检查记录" in text
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert len(rows) == 2  # the common face and the fallback, both CJK
    assert all(" yes yes yes " in row for row in rows), fonts  # embedded, subset, with ToUnicode


def test_pdfa_2b_metadata(font_dir):
    pdf = render(sample_view(), cjk_font(font_dir))
    assert b"<pdfaid:part>2</pdfaid:part>" in pdf and b"<pdfaid:conformance>B</pdfaid:conformance>" in pdf
    assert b"/OutputIntents" in pdf and b"/GTS_PDFA1" in pdf


def test_no_line_starts_with_closing_punctuation(font_dir):
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(cjk_font(font_dir).common_path))
    pdf.add_page()
    pdf.set_font("cjk", size=9.5)
    text = "检查组到达现场后，在企业安全负责人陪同下对储罐区、装卸区、配电室和中控室进行了检查。" * 8
    for width in (60.0, 73.0, 88.0, 131.0):
        lines = _kinsoku(pdf, width, text).split("\n")
        assert "".join(lines) == text
        assert len(lines) > 2
        assert not any(line[:1] in NO_LINE_START for line in lines), (width, lines)
    codes = "王强出示行政执法证（编号LN-ZF-210100-2024004），向李厂长出示，2026-12-07 09:30；" * 6
    for width in (60.0, 73.0, 88.0, 131.0):
        lines = _kinsoku(pdf, width, codes).split("\n")
        assert "".join(lines).replace(" ", "") == codes.replace(" ", "")
        # Every code and date lies whole on one line.
        assert sum(line.count("LN-ZF-210100-2024004") for line in lines) == 6, (width, lines)
        assert sum(line.count("2026-12-07") for line in lines) == 6, (width, lines)


def test_seal_certificate_chains_to_the_root_and_names_the_agency(rings):
    ca_ring, seal_ring = rings
    root = ca.issue_root(ca_ring.current, ORIGIN, NOW)
    seal = ca.issue_seal(ca_ring.current, root.der, seal_ring.current, "210100", "沈阳市应急管理局", ORIGIN, NOW)
    root_cert = x509.load_der_x509_certificate(root.der)
    seal_cert = x509.load_der_x509_certificate(seal.der)
    seal_cert.verify_directly_issued_by(root_cert)
    assert root_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not seal_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert "沈阳市应急管理局" in seal_cert.subject.rfc4514_string()
    # The derived keys are a function of the ring key: every node and restart gets the same one.
    assert ca.derived_p256(seal_ring.current, "seal").private_numbers() == \
        ca.derived_p256(KeyRing(seal_ring.directory.parent, "seal").load().current, "seal").private_numbers()
    assert ca.derived_p256(seal_ring.current, "seal").private_numbers() != \
        ca.derived_p256(seal_ring.current, "ca").private_numbers()


def test_signed_pdf_validates_and_a_changed_byte_or_another_root_fails(rings, font_dir):
    ca_ring, seal_ring = rings
    root = ca.issue_root(ca_ring.current, ORIGIN, NOW)
    seal = ca.issue_seal(ca_ring.current, root.der, seal_ring.current, "210100", "沈阳市应急管理局", ORIGIN, NOW)
    pdf = render_and_seal(sample_view(), font_dir, seal_ring.current, seal.der, root.der, "沈阳市应急管理局", "沈阳")
    check = signer.check_pdf(pdf, [root.der])
    assert check.ok and check.coverage == "ENTIRE_FILE"
    assert not signer.check_pdf(flip_content_byte(pdf), [root.der]).intact
    other = ca.issue_root(ca_ring.rotate(), ORIGIN, NOW)
    untrusted = signer.check_pdf(pdf, [other.der])
    assert untrusted.intact and not untrusted.trusted
    # Poppler (what Evince and Okular use) accepts the signature itself, too.
    out = subprocess.run(["pdfsig", "-"], input=pdf, capture_output=True)
    if out.returncode != 0:  # older pdfsig cannot read stdin
        path = font_dir / "signed.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdfsig", str(path)], capture_output=True)
    assert b"Signature is Valid" in out.stdout, out.stdout
    # The rotated-away keys still verify what they signed.
    assert signer.check_pdf(pdf, [root.der, other.der]).ok


def test_qr_code_carries_the_page_address(font_dir):
    url = "https://fieldcheck.example.cn/d/" + "A" * 107
    assert qr_texts(render(sample_view(page_url=url), cjk_font(font_dir))) == [url]
    secret = render(dataclasses.replace(sample_view(), page_url=None), cjk_font(font_dir))
    assert qr_texts(secret) == [] and "涉密检查" in pdftotext(secret)


def test_page_tokens(tmp_path):
    ring = KeyRing(tmp_path, "seal").load()
    doc = uuid.uuid4()
    token = page_token(ring, doc)
    assert len(token) == 107 and read_page_token(ring, token) == doc
    ring.rotate()
    assert read_page_token(ring, token) == doc  # printed before a rotation: still opens
    assert read_page_token(ring, page_token(ring, doc)) == doc
    stranger = KeyRing(tmp_path / "other", "seal").load()
    assert read_page_token(ring, page_token(stranger, doc)) is None
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert read_page_token(ring, forged) is None
    for junk in ("", "x", "é" * 107, "=" * 107, token + "A"):
        assert read_page_token(ring, junk) is None
