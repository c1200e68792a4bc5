"""The printed form: an A4 page set in Chinese, laid out with fpdf2 from a `PrintView` (plain
values, no database, no keys), so the layout is testable and benchmarkable on its own.

What is printed (and nothing else): the title of the document type (更正 for a correction, naming
the document it supersedes), the issuing agency, the inspection (enterprise and credit code, site
address, date, team by role, credentials shown), the content fields and findings, each signature
as its inked image with role, name and time (or the enterprise's refusal and its witness), the
RFC 8785 content hash, and a QR code to the public page `/d/{token}`.

Blocking CPU work: callers run it with `anyio.to_thread`.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from backend.core.clock import LOCAL_TZ
from backend.documents_pdf.fonts import CjkFont

TITLES = {
    "on_site_inspection_record": "现场检查记录",
    "recheck_opinion": "整改复查意见书",
    "rectification_order": "责令限期整改指令书",
    "on_site_measure_decision": "现场处理措施决定书",
    "penalty_decision": "行政处罚决定书",
    "seizure_decision": "查封扣押决定书",
}
ROLES = {
    "officer": "执法人员",
    "technical_inspector": "技术检查员",
    "enterprise_representative": "企业代表",
    "witness": "见证人",
}
CREDENTIAL_KINDS = {"work_credential": "技术检查员工作证", "enforcement_certificate": "行政执法证"}
HAZARDS = {"general": "一般隐患", "major": "重大隐患"}
#: Labels of content fields the field app sends; other keys are printed as they are.
FIELD_LABELS = {
    "text": "检查情况", "summary": "检查情况", "notes": "备注", "opinion": "复查意见", "result": "检查结果",
    "deadline": "整改期限", "requirements": "整改要求", "basis": "依据", "measures": "处理措施",
    "location": "检查地点", "scope": "检查范围", "conclusion": "结论",
}
# fontTools' subsetter logs ~40 INFO lines per embedded font, i.e. per document: noise in the
# server log, nothing an operator acts on.
logging.getLogger("fontTools").setLevel(logging.WARNING)

INK = (20, 20, 20)
MUTED = (90, 90, 90)
RULE = (150, 150, 150)
ACCENT = (160, 20, 20)


def local(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y年%m月%d日 %H:%M")


@dataclass(frozen=True)
class PrintSignature:
    role: str
    name: str
    at: datetime
    image_png: bytes | None
    refused: bool = False
    refusal_note: str | None = None
    witness_name: str | None = None


@dataclass(frozen=True)
class PrintView:
    document_id: str
    doc_type: str
    version: int
    content: dict[str, Any]
    content_sha256: str
    agency_name: str
    enterprise_name: str
    enterprise_credit_code: str
    site_address: str
    inspected_on: datetime
    locked_at: datetime | None
    #: The public page's address (the QR code); None for a secret inspection, which has none.
    page_url: str | None
    #: (role, name) of the team, officers first.
    team: list[tuple[str, str]] = field(default_factory=list)
    #: (holder, kind, number, shown to, at)
    credentials: list[tuple[str, str, str, str, datetime]] = field(default_factory=list)
    #: (hazard level, description)
    findings: list[tuple[str, str]] = field(default_factory=list)
    signatures: list[PrintSignature] = field(default_factory=list)
    #: The document this one corrects: (id, content hash).
    supersedes: tuple[str, str] | None = None

    @property
    def title(self) -> str:
        return TITLES.get(self.doc_type, self.doc_type)

    def all_text(self) -> str:
        """Everything printed, to decide whether the common font covers it."""
        parts = [self.title, self.agency_name, self.enterprise_name, self.enterprise_credit_code,
                 self.site_address, json.dumps(self.content, ensure_ascii=False)]
        parts += [n for _, n in self.team] + [" ".join(c[:4]) for c in self.credentials]
        parts += [d for _, d in self.findings]
        parts += [" ".join(filter(None, (s.name, s.refusal_note, s.witness_name))) for s in self.signatures]
        return "".join(parts)


class _Form(FPDF):
    view: PrintView

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("cjk", size=7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, f"文书编号 {self.view.document_id} · 第 {self.view.version} 版 · "
                        f"第 {self.page_no()} 页 / 共 {{nb}} 页", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 4, f"内容哈希 SHA-256（RFC 8785）{self.view.content_sha256}", align="C")


#: Chinese typesetting never starts a line with closing punctuation (GB/T 15834, 禁则).
NO_LINE_START = frozenset("，。、；：？！）》」』】〕…%,.;:?!)]")


_UNBREAKABLE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-:./_")
_MAX_UNBROKEN = 24


def _adjust(line: str, rest: str, next_line: str) -> str:
    """`line` (a prefix of `rest`) shortened so that the next line does not start with closing
    punctuation and no number, date or code ("2026-12-07", "LN-ZF-…") is split."""
    if next_line[:1] in NO_LINE_START and len(line) > 1:
        line = line[:-1]
    cut = len(line)
    while cut > 0 and line[cut - 1] in _UNBREAKABLE and rest[cut:cut + 1] in _UNBREAKABLE:
        cut -= 1
        while cut > 0 and line[cut - 1] in _UNBREAKABLE:
            cut -= 1
    if 0 < cut < len(line) and len(line) - cut <= _MAX_UNBROKEN:
        line = line[:cut]
    return line


def _kinsoku(pdf: FPDF, width: float, text: str) -> str:
    """`text` broken into lines as fpdf2 would, except for the breaks `_adjust` moves. fpdf2
    lays out the text once, and again from a line whose break moved (rarely more than twice)."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        rest = paragraph
        while rest:
            lines: list[str] = pdf.multi_cell(width, 5.5, rest, dry_run=True,  # type: ignore[assignment]
                                              output=MethodReturnValue.LINES)
            consumed, moved = 0, False
            for i in range(len(lines) - 1):
                tail = rest[consumed:]
                if not tail.startswith(lines[i]):  # fpdf2 changed the text (it should not): leave it be
                    break
                line = _adjust(lines[i], tail, lines[i + 1])
                out.append(line)
                consumed += len(line)
                while consumed < len(rest) and rest[consumed] == " ":
                    consumed += 1
                if line != lines[i]:
                    moved = True
                    break
            rest = rest[consumed:]
            if not moved:
                out.append(rest)
                break
        else:
            out.append("")
    return "\n".join(out)


def _content_lines(content: dict[str, Any]) -> list[tuple[str, str]]:
    lines = []
    for key, value in content.items():
        label = FIELD_LABELS.get(key, key)
        if isinstance(value, str):
            text = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            text = "\n".join(f"{i}. {v}" for i, v in enumerate(value, 1))
        else:
            text = json.dumps(value, ensure_ascii=False, indent=1)
        lines.append((label, text))
    return lines


def _qr_png(url: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="png", scale=6, border=2)
    return out.getvalue()


def render(view: PrintView, font: CjkFont) -> bytes:
    """The unsigned PDF (PDF/A-2b) of `view`."""
    pdf = _Form(format="A4", unit="mm", enforce_compliance="PDF/A-2B")
    pdf.view = view
    pdf.set_title(f"{view.title} {view.enterprise_name}")
    pdf.set_author(view.agency_name)
    pdf.set_creator("Fieldcheck")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(view.locked_at or view.inspected_on)
    pdf.add_font("cjk", fname=str(font.common_path), collection_font_number=font.common_index)
    if not font.covers(view.all_text()):
        pdf.add_font("cjkfull", fname=str(font.full_path), collection_font_number=font.full_index)
        pdf.set_fallback_fonts(["cjkfull"])
    for key in ("cjk", "cjkfull"):
        if key in pdf.fonts:
            # Recomputing the bounding boxes on save runs every kept CFF charstring (two thirds of
            # the render time); the whole face's box, kept instead, is a valid (larger) box.
            pdf.fonts[key].ttfont.recalcBBoxes = False  # type: ignore[union-attr]
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    width = pdf.epw

    # Header: QR at the top right, agency and title centred.
    qr_size = 26
    pdf.set_font("cjk", size=6.5)
    pdf.set_text_color(*MUTED)
    if view.page_url:
        pdf.image(io.BytesIO(_qr_png(view.page_url)), x=pdf.w - pdf.r_margin - qr_size, y=12, w=qr_size,
                  h=qr_size)
        pdf.set_xy(pdf.w - pdf.r_margin - qr_size - 2, 12 + qr_size)
        pdf.cell(qr_size + 4, 3.5, "扫码核验文书", align="C")
    else:
        pdf.set_xy(pdf.w - pdf.r_margin - qr_size - 2, 16)
        pdf.multi_cell(qr_size + 4, 3.5, "涉密检查\n不设公开核验页面", align="C")
    pdf.set_xy(pdf.l_margin, 16)
    pdf.set_text_color(*INK)
    pdf.set_font("cjk", size=11)
    pdf.cell(width, 6, view.agency_name, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("cjk", size=20)
    title = view.title + ("（更正）" if view.supersedes else "")
    pdf.cell(width, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    # Notes under the title stay clear of the QR code: centred in the band between its mirrors.
    band_x, band_w = pdf.l_margin + qr_size + 4, width - 2 * (qr_size + 4)
    pdf.set_text_color(*ACCENT)
    if view.supersedes:
        pdf.set_font("cjk", size=8)
        pdf.set_x(band_x)
        pdf.multi_cell(band_w, 4.2, f"更正文书：更正并取代原文书\n{view.supersedes[0]}\n"
                       f"原文书内容哈希 {view.supersedes[1]}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if view.locked_at is None:
        pdf.set_font("cjk", size=9)
        pdf.set_x(band_x)
        pdf.cell(band_w, 5, "草稿：签名未完成，文书尚未锁定", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_y(max(pdf.get_y() + 3, 12 + qr_size + 5))

    def heading(text: str) -> None:
        if pdf.get_y() > pdf.h - 40:
            pdf.add_page()
        pdf.ln(2)
        pdf.set_font("cjk", size=11.5)
        pdf.cell(width, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_draw_color(*RULE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1.5)

    def row(label: str, text: str, label_w: float = 34) -> None:
        # The label column fits 统一社会信用代码 (the longest fixed label) on one line; a longer
        # label (a content key) wraps, and the row is as tall as the taller column.
        pdf.set_font("cjk", size=9.5)
        pdf.set_text_color(*MUTED)
        if pdf.get_y() + 11 > pdf.page_break_trigger:  # start the row on the page its label is on
            pdf.add_page()
        y = pdf.get_y()
        page = pdf.page_no()
        pdf.multi_cell(label_w, 5.5, label, align="L", new_x=XPos.RIGHT, new_y=YPos.NEXT)
        label_bottom = pdf.get_y() if pdf.page_no() == page else 0.0
        pdf.set_xy(pdf.l_margin + label_w, y)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width - label_w, 5.5, _kinsoku(pdf, width - label_w, text or "—"), align="L",
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if pdf.page_no() == page:
            pdf.set_y(max(pdf.get_y(), label_bottom))

    heading("一、被检查单位及检查情况")
    row("被检查单位", view.enterprise_name)
    row("统一社会信用代码", view.enterprise_credit_code)
    row("检查地点", view.site_address)
    row("检查日期", local(view.inspected_on))
    by_role: dict[str, list[str]] = {}
    for role, name in view.team:
        by_role.setdefault(role, []).append(name)
    for role in ("officer", "technical_inspector"):
        if by_role.get(role):
            row(ROLES[role], "、".join(by_role[role]))
    if view.credentials:
        # No space before the number: fpdf2 would break there and leave a short line.
        shown = [f"{holder}出示{CREDENTIAL_KINDS.get(kind, kind)}（编号{number}），"
                 f"向{to}出示，{at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}"
                 for holder, kind, number, to, at in view.credentials]
        row("出示证件", "\n".join(shown))

    heading("二、" + ("检查内容" if view.doc_type != "recheck_opinion" else "复查内容"))
    for label, text in _content_lines(view.content) or [("内容", "—")]:
        row(label, text)

    if view.findings:
        heading("三、发现的问题和隐患")
        for i, (level, description) in enumerate(view.findings, 1):
            row(f"{i}. {HAZARDS.get(level, level)}", description)

    heading(("四、" if view.findings else "三、") + "签名")
    _signatures(pdf, view.signatures, width)

    pdf.ln(3)
    pdf.set_font("cjk", size=8)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(width, 4.2,
                   # No spaces around Latin words here: fpdf2 prefers breaking at a space, leaving short lines.
                   "本文书由签发机关以电子印章数字签名（PAdES）。用PDF阅读器可查看签名人与文件自签名后未被改动；"
                   + ("扫描右上角二维码可核对文书状态（已锁定或已被更正）。" if view.page_url else "")
                   + f"内容哈希：{view.content_sha256}",
                   align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def _signatures(pdf: FPDF, signatures: list[PrintSignature], width: float) -> None:
    if not signatures:
        pdf.set_font("cjk", size=9.5)
        pdf.cell(width, 6, "（尚无签名）", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    box_w = (width - 6) / 2
    box_h = 34
    row_y = pdf.get_y()
    for i, sig in enumerate(signatures):
        col = i % 2
        if col == 0 and pdf.get_y() + box_h > pdf.h - 22:
            pdf.add_page()
        x = pdf.l_margin + col * (box_w + 6)
        if col == 0:
            row_y = pdf.get_y()
        y = row_y
        pdf.set_draw_color(*RULE)
        pdf.rect(x, y, box_w, box_h)
        pdf.set_xy(x + 2, y + 1.5)
        pdf.set_font("cjk", size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(box_w - 4, 5, f"{ROLES.get(sig.role, sig.role)}：", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if sig.refused:
            pdf.set_xy(x + 2, y + 8)
            pdf.set_text_color(*ACCENT)
            pdf.multi_cell(box_w - 4, 4.8, f"拒绝签字。原因：{sig.refusal_note or '—'}\n"
                                           f"见证人：{sig.witness_name or '—'}", align="L", new_x=XPos.LMARGIN)
        elif sig.image_png:
            _ink(pdf, sig.image_png, x + 4, y + 7, box_w - 8, 18)
        pdf.set_text_color(*INK)
        pdf.set_font("cjk", size=9)
        pdf.set_xy(x + 2, y + box_h - 7)
        name = sig.name if not sig.refused else "企业代表拒签"
        pdf.cell(box_w - 4, 5, f"{name}    {local(sig.at)}", align="R")
        if col == 1 or i == len(signatures) - 1:
            pdf.set_xy(pdf.l_margin, y + box_h + 3)


def _ink(pdf: FPDF, png: bytes, x: float, y: float, w: float, h: float) -> None:
    """The inked signature, scaled to fit the box with its aspect ratio kept."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        iw, ih = im.size
    scale = min(w / iw, h / ih)
    dw, dh = iw * scale, ih * scale
    pdf.image(io.BytesIO(png), x=x + (w - dw) / 2, y=y + (h - dh) / 2, w=dw, h=dh)
