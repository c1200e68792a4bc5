"""Server-rendered public pages: the credential verification page (``GET /v/{token}``) and its
error pages.

Plain HTML5 strings, no template engine: ``lang="zh-CN"``, a viewport meta for phones, all CSS in
one inline ``<style>`` element, no external assets, no JavaScript (a Content-Security-Policy meta
forbids both), ``noindex`` (the page names a person). Every interpolated value goes through
``html.escape``.

The result is shown in large type, green for ``valid`` and red for everything else, with a ✓/✕
mark so that colour is not the only signal.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

__all__ = [
    "RESULT_LABELS",
    "render_error_page",
    "render_verification_page",
]

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    _SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except (ImportError, ZoneInfoNotFoundError):  # pragma: no cover - no tz database: China has no DST
    _SHANGHAI = timezone(timedelta(hours=8), "CST")

GREEN = "#1b5e20"
GREEN_TINT = "#e8f5e9"
RED = "#b71c1c"
RED_TINT = "#ffebee"
GREY = "#37474f"
GREY_TINT = "#eceff1"

#: result -> (Chinese label, English label)
RESULT_LABELS: dict[str, tuple[str, str]] = {
    "valid": ("有效", "Valid"),
    "revoked": ("已吊销", "Revoked"),
    "suspended": ("已暂停", "Suspended"),
    "expired": ("已过期", "Expired"),
    "forged": ("伪造或被篡改", "Forged or tampered with"),
    "unknown": ("查无此证", "No such credential"),
    "malformed": ("无法识别", "Not recognised"),
}
_FALLBACK_LABEL = ("无法核验", "Cannot be verified")

_EXPLANATIONS: dict[str, tuple[str, str]] = {
    "valid": (
        "此证件有效。请核对持证人姓名与其身份证件是否一致：证件仅限本人使用，不得转借。",
        "This credential is valid. Check that the holder's name matches their identity card: "
        "a credential may be used by its holder only.",
    ),
    "revoked": (
        "此证件已被吊销，持证人不得凭此证件开展检查或监督工作。",
        "This credential has been revoked; it may not be used for inspection or supervision work.",
    ),
    "suspended": (
        "此证件已暂停使用，持证人暂不得凭此证件开展工作。",
        "This credential is suspended and may not be used at present.",
    ),
    "expired": (
        "此证件已超过有效期。",
        "This credential has expired.",
    ),
    "forged": (
        "证件二维码的签名校验未通过或与登记信息不符，证件可能是伪造或被篡改的。"
        "请勿配合其开展工作，并向当地应急管理部门报告。",
        "The QR code's signature does not verify or does not match the record: the credential may "
        "be forged or altered. Report it to the local emergency-management authority.",
    ),
    "unknown": (
        "未查询到此证件。请核对证件编号，或向当地应急管理部门核实。",
        "No credential with this number or code exists. Check the number or ask the local "
        "emergency-management authority.",
    ),
    "malformed": (
        "无法识别此二维码或证件编号。请确认扫描的是辽宁省应急管理部门签发的证件。",
        "This QR code or credential number cannot be read. Make sure it is a credential issued by "
        "Liaoning's emergency-management authorities.",
    ),
}
_FALLBACK_EXPLANATION = (
    "核验结果异常，请向当地应急管理部门核实。",
    "The verification result is not understood; ask the local emergency-management authority.",
)

_KIND_LABELS = {
    "technical_inspector": "技术检查员",
    "social_supervisor": "社会监督员",
}
_CSS = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f5f5f5;color:#212121;line-height:1.5;
font-family:"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",
"WenQuanYi Micro Hei",system-ui,sans-serif;overflow-wrap:anywhere;word-break:break-word}
main{max-width:40rem;margin:0 auto;padding:1rem}
header.site{font-size:.95rem;color:#455a64;margin:0 0 .75rem}
.verdict-box{border:4px solid var(--accent);background:var(--tint);border-radius:12px;
padding:1.25rem 1rem;text-align:center;margin:0 0 1rem}
.verdict{margin:0;font-size:3rem;line-height:1.2;font-weight:700}
.verdict .mark{display:inline-block;margin-right:.25em}
.verdict-en{margin:.25rem 0 0;font-size:1.1rem;font-weight:600}
.explain{margin:.75rem 0 0;font-size:1rem;text-align:left}
.explain-en{margin:.25rem 0 0;font-size:.85rem;color:#546e7a;text-align:left}
dl.details{background:#fff;border-radius:12px;padding:.5rem 1rem;margin:0 0 1rem;
box-shadow:0 1px 2px rgba(0,0,0,.12)}
dl.details div{padding:.6rem 0;border-bottom:1px solid #eceff1}
dl.details div:last-child{border-bottom:0}
dt{font-size:.9rem;color:#607d8b}
dd{margin:0;font-size:1.25rem;font-weight:600}
dd.holder{font-size:1.75rem}
dd.number{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;word-break:break-all}
.checked{font-size:.95rem;color:#455a64;margin:0 0 1rem}
footer{font-size:.8rem;color:#78909c;border-top:1px solid #cfd8dc;padding-top:.75rem}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _to_shanghai(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the server's convention)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_SHANGHAI)


def _format_day(value: object) -> str:
    """A date for display: RFC 3339 timestamps become the date in Beijing time."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return f"{_to_shanghai(value):%Y-%m-%d}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    text = str(value).strip()
    try:
        if len(text) == 10:
            return f"{date.fromisoformat(text):%Y-%m-%d}"
        return f"{_to_shanghai(datetime.fromisoformat(text.replace('Z', '+00:00'))):%Y-%m-%d}"
    except ValueError:
        return text


_VERIFY_HEADER = "辽宁省应急管理综合行政执法 · 证件核验"
_VERIFY_FOOTER = ("本页面为辽宁省应急管理技术检查员、社会监督员证件的在线核验结果。"
                  "如有疑问，请向当地应急管理部门核实。")


def _page(title: str, accent: str, tint: str, body: str) -> str:
    return page_shell(title, accent, tint, body, header=_VERIFY_HEADER, footer=_VERIFY_FOOTER)


def page_shell(title: str, accent: str, tint: str, body: str, *, header: str, footer: str,
               extra_css: str = "") -> str:
    """The one HTML frame of every public page (strict CSP, no scripts, no external requests)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'\">\n"
        '<meta name="robots" content="noindex, nofollow">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="format-detection" content="telephone=no">\n'
        f"<title>{_e(title)}</title>\n"
        f"<style>{_CSS}{extra_css}</style>\n"
        "</head>\n"
        f'<body style="--accent:{accent};--tint:{tint}">\n'
        "<main>\n"
        f'<header class="site">{_e(header)}</header>\n'
        f"{body}"
        f"<footer>{_e(footer)}</footer>\n"
        "</main>\n"
        "</body>\n"
        "</html>\n"
    )


def render_verification_page(result: Mapping[str, Any] | None, *, checked_at: datetime) -> str:
    """The verification page for one result of ``POST /api/v1/verify`` (API.md §Verification).

    `result` is the verify response body, or None for input that is not a credential at all
    (the ``MALFORMED_CREDENTIAL`` case; ``{"result": "malformed"}`` means the same). Any result
    other than ``valid`` is shown in red. `checked_at` is shown in Beijing time (Asia/Shanghai);
    a naive value is taken as UTC.
    """
    outcome = "malformed" if result is None else str(result.get("result") or "malformed")
    label_zh, label_en = RESULT_LABELS.get(outcome, _FALLBACK_LABEL)
    explain_zh, explain_en = _EXPLANATIONS.get(outcome, _FALLBACK_EXPLANATION)
    is_valid = outcome == "valid"
    accent, tint = (GREEN, GREEN_TINT) if is_valid else (RED, RED_TINT)
    mark = "✓" if is_valid else "✕"

    parts: list[str] = [
        f'<section class="verdict-box" aria-live="polite">\n'
        f'<p id="result" class="verdict {"verdict-ok" if is_valid else "verdict-bad"}" '
        f'data-result="{_e(outcome)}" style="color:{accent}">'
        f'<span class="mark" aria-hidden="true">{mark}</span>{_e(label_zh)}</p>\n'
        f'<p class="verdict-en" style="color:{accent}">{_e(label_en)}</p>\n'
        f'<p class="explain">{_e(explain_zh)}</p>\n'
        f'<p class="explain-en" lang="en">{_e(explain_en)}</p>\n'
        "</section>\n"
    ]

    credential = result.get("credential") if result is not None else None
    rows: list[tuple[str, str, str]] = []
    if isinstance(credential, Mapping):
        kind = credential.get("kind")
        rows = [
            ("持证人姓名", "holder", str(credential.get("holder_name") or "—")),
            ("证件编号", "number", str(credential.get("number") or "—")),
            ("证件类别", "kind", _KIND_LABELS.get(str(kind), str(kind or "—"))),
            (
                "所属单位",
                "agency",
                str(credential.get("agency_name") or credential.get("agency_code") or "—"),
            ),
            (
                "有效期",
                "validity",
                f"{_format_day(credential.get('issued_at'))} 至 {_format_day(credential.get('expires_at'))}",
            ),
        ]
    reason = result.get("reason") if result is not None else None
    if reason:
        rows.append(("说明", "reason", str(reason)))
    if rows:
        parts.append('<dl class="details">\n')
        parts.extend(
            f'<div><dt>{_e(label)}</dt><dd class="{css}">{_e(value)}</dd></div>\n'
            for label, css, value in rows
        )
        parts.append("</dl>\n")

    local = _to_shanghai(checked_at)
    machine = f"{local.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    parts.append(
        f'<p class="checked">核验时间：<time datetime="{machine}">{local:%Y-%m-%d %H:%M:%S}</time>'
        "（北京时间，UTC+8）</p>\n"
    )
    return _page(f"证件核验：{label_zh}", accent, tint, "".join(parts))


_ERROR_TITLES: dict[int, tuple[str, str]] = {
    400: ("请求无效", "Bad request"),
    404: ("页面不存在", "Not found"),
    429: ("请求过于频繁", "Too many requests"),
}


def render_error_page(status: int, message_zh: str, message: str) -> str:
    """A plain error page (404, 429, ...) in the style of the verification page."""
    title_zh, title_en = _ERROR_TITLES.get(int(status), ("出错了", "Error"))
    body = (
        '<section class="verdict-box">\n'
        f'<p id="result" class="verdict" data-status="{_e(int(status))}" style="color:{GREY}">'
        f"{_e(title_zh)}</p>\n"
        f'<p class="verdict-en" style="color:{GREY}">{_e(int(status))} {_e(title_en)}</p>\n'
        f'<p class="explain">{_e(message_zh)}</p>\n'
        f'<p class="explain-en" lang="en">{_e(message)}</p>\n'
        "</section>\n"
    )
    return _page(f"{title_zh}（{int(status)}）", GREY, GREY_TINT, body)
