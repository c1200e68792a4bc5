"""The public page of a printed document, `GET /d/{token}` (what the QR code on the paper opens).

It says only what the paper says at the top: document type, enterprise, date, content hash,
signers by role, and whether the document is locked, still a draft, or superseded by a correction
(with a link to it). Nothing else about the inspection; for a secret inspection, nothing at all
(the same "not found" page as a bad token). Same style and rules as the credential page: zh-CN,
phone-sized, no scripts or external assets, every value escaped.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from backend.core.clock import LOCAL_TZ
from backend.documents_pdf.service import PublicDocument
from backend.web.pages import GREEN, GREEN_TINT, GREY, GREY_TINT, RED, RED_TINT, page_shell

_EXTRA_CSS = """
dd.hash{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:.95rem;word-break:break-all}
ul.signers{list-style:none;margin:0;padding:0}
ul.signers li{font-size:1.15rem;font-weight:600;padding:.15rem 0}
ul.signers .role{display:inline-block;min-width:6em;font-weight:400;color:#607d8b;font-size:.95rem}
a.link{display:block;margin:.75rem 0 0;font-size:1.1rem;font-weight:600;color:#0d47a1}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _local(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).strftime(fmt)


def _shell(title: str, accent: str, tint: str, body: str) -> str:
    return page_shell(title, accent, tint, body, extra_css=_EXTRA_CSS,
                      header="辽宁省应急管理综合行政执法 · 文书核验",
                      footer="本页面显示执法文书的签署与锁定状态，供持有纸质文书者核对。"
                             "文书全文以纸质件或签发机关数字签名的 PDF 文件为准；如有疑问，请向签发机关核实。")


def render_document_page(doc: PublicDocument | None, *, checked_at: datetime) -> str:
    if doc is None:
        body = (
            '<section class="verdict-box">\n'
            f'<p id="result" class="verdict" data-status="unknown" style="color:{GREY}">查无此文书</p>\n'
            '<p class="explain">未找到与此二维码对应的文书。请确认扫描的是应急管理部门出具的文书，'
            "或向签发机关核实。</p>\n"
            "</section>\n"
        )
        return _shell("文书核验：查无此文书", GREY, GREY_TINT, body)
    if doc.superseded_by:
        state, label, accent, tint = "superseded", "已被更正", RED, RED_TINT
        explain = "此文书已被更正文书取代，请以更正后的文书为准。"
    elif doc.locked:
        state, label, accent, tint = "locked", "已签署锁定", GREEN, GREEN_TINT
        explain = "此文书已完成签署并锁定，内容不可再修改。请核对纸质文书上的内容哈希与下方一致。"
    else:
        state, label, accent, tint = "draft", "尚未锁定", GREY, GREY_TINT
        explain = "此文书尚未完成签署，内容仍可能修改。"
    mark = "✓" if state == "locked" else "✕" if state == "superseded" else "…"
    parts = [
        '<section class="verdict-box" aria-live="polite">\n'
        f'<p id="result" class="verdict" data-status="{state}" style="color:{accent}">'
        f'<span class="mark" aria-hidden="true">{mark}</span>{_e(label)}</p>\n'
        f'<p class="explain">{_e(explain)}</p>\n'
    ]
    if doc.superseded_by:
        parts.append(f'<a id="superseded-by" class="link" href="{_e(doc.superseded_by)}">查看更正后的文书 →</a>\n')
    parts.append("</section>\n")
    title = doc.title + ("（更正）" if doc.supersedes else "")
    rows = [
        ("文书类型", "type", _e(title)),
        ("被检查单位", "enterprise", _e(doc.enterprise_name)),
        ("检查日期", "date", _e(_local(doc.inspected_on, "%Y-%m-%d"))),
        ("版本", "version", _e(f"第 {doc.version} 版" + (f"，{_local(doc.locked_at)} 锁定" if doc.locked_at else ""))),
        ("内容哈希（SHA-256）", "hash", _e(doc.content_sha256)),
    ]
    parts.append('<dl class="details">\n')
    parts.extend(f'<div><dt>{label}</dt><dd class="{css}" id="{css}">{value}</dd></div>\n'
                 for label, css, value in rows)
    signers = "".join(
        f'<li><span class="role">{_e(role)}</span>{_e("拒绝签字" if refused else name)}</li>'
        for role, name, refused in doc.signers) or "<li>（尚无签名）</li>"
    parts.append(f'<div><dt>签名人</dt><dd><ul class="signers" id="signers">{signers}</ul></dd></div>\n')
    if doc.supersedes:
        parts.append(f'<div><dt>更正</dt><dd><a id="supersedes" class="link" href="{_e(doc.supersedes)}">'
                     "本文书更正并取代的原文书 →</a></dd></div>\n")
    parts.append("</dl>\n")
    parts.append(f'<p class="checked">查询时间：{_e(_local(checked_at, "%Y-%m-%d %H:%M:%S"))}（北京时间）</p>\n')
    return _shell(f"文书核验：{title}", accent, tint, "".join(parts))
