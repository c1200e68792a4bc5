"""Helpers of the printed-document tests: a locked record through the API, and the poppler and
zxing-cpp tools that read a PDF the way a person with the paper would."""

from __future__ import annotations

import io
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image

from tests.inspections.helpers import Flow

TEAM = ("sy.officer1", "sy.officer2", "sy.inspector.ft")
FINDINGS = ("消防通道堵塞", "储罐区未设可燃气体报警")


def pdftotext(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


def page_png(pdf: bytes, page: int = 1, dpi: int = 150) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "doc.pdf"
        src.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile",
                        str(src), str(Path(tmp) / "page")], check=True)
        return (Path(tmp) / "page.png").read_bytes()


def qr_texts(pdf: bytes) -> list[str]:
    image = Image.open(io.BytesIO(page_png(pdf)))
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode]


def flip_content_byte(pdf: bytes) -> bytes:
    """One byte changed inside the first page's content stream (inside the signed byte range)."""
    start = pdf.index(b"stream", pdf.index(b"/Contents")) + len(b"stream\n") + 40
    changed = bytearray(pdf)
    changed[start] ^= 0x01
    return bytes(changed)


async def locked_record(flow: Flow, *, refuse: bool = False, classification: str = "normal",
                        content: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(inspection, locked document): two officers, the authorised inspector (normal inspections)
    and the enterprise (or its recorded refusal) signed."""
    team = TEAM if classification == "normal" else ("sy.officer1", "sy.officer2")
    started = await flow.started(team=team, classification=classification)
    ins = (await flow.client.get(f"/api/v1/inspections/{started['id']}", headers=flow.token_for("sy.officer1"))).json()
    for text, level in zip(FINDINGS, ("general", "major"), strict=True):
        r = await flow.client.post(f"/api/v1/inspections/{ins['id']}/findings", headers=flow.token_for("sy.officer1"),
                                   json={"description": text, "hazard_level": level})
        assert r.status_code == 201, r.text
    r = await flow.document(ins["id"], content=content or {"text": "检查组对储罐区和装卸区进行了检查。",
                                                           "requirements": ["立即疏通消防通道"]})
    assert r.status_code == 201, r.text
    doc = r.json()
    signers = [("sy.officer1", "officer", {}), ("sy.officer2", "officer", {})]
    if classification == "normal":
        signers.append(("sy.inspector.ft", "technical_inspector", {}))
    if refuse:
        signers.append(("sy.officer1", "enterprise_representative",
                        {"refused": True, "refusal_note": "负责人不在场", "witness_name": "王见证",
                         "image_png": None, "content_sha256": None}))
    else:
        signers.append(("sy.officer1", "enterprise_representative", {"signer_name": "李厂长"}))
    for who, role, extra in signers:
        r = await flow.sign(doc, who, role, **extra)
        assert r.status_code == 201, r.text
    got = (await flow.client.get(f"/api/v1/documents/{doc['id']}", headers=flow.token_for("sy.officer1"))).json()
    assert got["locked"] is True, got
    return ins, got
