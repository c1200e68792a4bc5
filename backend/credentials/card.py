"""Printable work credential card (API.md ``GET /api/v1/credentials/{id}/card.png``).

An ISO/IEC 7810 ID-1 card (85.60 × 53.98 mm) at 300 dpi: 1011 × 638 px, PNG with 300 dpi
metadata. Chinese text is drawn with Noto Sans CJK SC (backend/credentials/fonts.py); the QR code
(segno, error correction M, quiet zone of 4 modules, symbol at least 20 mm wide) carries ``qr_text``,
the verification URL, so that any phone camera opens the verification page.

Layout: a coloured header with the title (blue for technical inspectors, teal for social
supervisors), then on the left the optional photo and the fields 姓名 / 证件编号 / 所属单位 / 有效期,
each value shrunk (and, for the agency, wrapped to up to three lines) until it fits its column, and on the
right the QR code with "扫码核验" under it. Text never enters the QR code's quiet zone.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import segno
from PIL import Image, ImageDraw, ImageOps

from backend.credentials.fonts import CJKFont, Style, find_cjk_font
from backend.credentials.fonts import style as font_style

__all__ = [
    "CARD_DPI",
    "CARD_SIZE_PX",
    "KIND_TITLES",
    "QR_MIN_MM",
    "CJKFont",
    "find_cjk_font",
    "render_card",
]

CARD_DPI = 300
CARD_WIDTH_MM = 85.60
CARD_HEIGHT_MM = 53.98


def _mm(mm: float) -> int:
    return round(mm * CARD_DPI / 25.4)


CARD_SIZE_PX = (_mm(CARD_WIDTH_MM), _mm(CARD_HEIGHT_MM))  # (1011, 638)
QR_MIN_MM = 20.0
QR_BORDER_MODULES = 4
_QR_MIN_SYMBOL_PX = math.ceil(QR_MIN_MM * CARD_DPI / 25.4)  # 237 px
# 3 px = 0.25 mm per module: below that, print spread and phone cameras make scanning unreliable.
_QR_MIN_MODULE_PX = 3

ISSUER_TITLE = "辽宁省应急管理综合行政执法"
KIND_TITLES: dict[str, str] = {
    "technical_inspector": "技术检查员证",
    "social_supervisor": "社会监督员证",
}
_KIND_COLOURS: dict[str, tuple[int, int, int]] = {
    "technical_inspector": (11, 79, 156),  # deep blue
    "social_supervisor": (12, 110, 90),  # teal green
}
_ACCENT = (232, 113, 28)  # emergency-management orange
_INK = (25, 25, 25)
_LABEL = (105, 105, 105)
_WHITE = (255, 255, 255)

# --- text fitting -----------------------------------------------------------------------------

_ELLIPSIS = "…"
# Latin words and numbers stay together when wrapping; CJK text may break between any characters.
_TOKEN_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_/]*|\s+|.", re.DOTALL)


def _clean(text: object) -> str:
    """One line of printable text: control and format characters become spaces, runs collapse."""
    chars = (" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in str(text))
    return " ".join("".join(chars).split())


def _width(style: Style, text: str) -> float:
    if not text:
        return 0.0
    left, _top, right, _bottom = style.font.getbbox(text, stroke_width=style.stroke)
    return max(float(right), style.font.getlength(text)) - min(0, left)


def _wrap(style: Style, text: str, max_width: float) -> list[str]:
    """Greedy line breaking: CJK between characters, Latin words whole where possible."""
    tokens: list[str] = []
    for token in _TOKEN_RE.findall(text):
        if not token.isspace() and len(token) > 1 and _width(style, token) > max_width:
            tokens.extend(token)  # a word longer than the line: break it anywhere
        else:
            tokens.append(token)
    lines: list[str] = []
    current = ""
    for token in tokens:
        candidate = current + token
        if not current or _width(style, candidate.rstrip()) <= max_width:
            current = candidate
            continue
        lines.append(current.rstrip())
        current = "" if token.isspace() else token
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _ellipsize(style: Style, text: str, max_width: float) -> str:
    if _width(style, text) <= max_width:
        return text
    while text and _width(style, text.rstrip() + _ELLIPSIS) > max_width:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


@dataclass(frozen=True)
class _Fitted:
    style: Style
    lines: list[str]


def _fit(
    text: str,
    max_width: float,
    *,
    start: int,
    single_line_min: int,
    min_size: int,
    max_lines: int = 1,
    bold: bool = False,
) -> _Fitted:
    """Largest size at which the text fits: one line down to `single_line_min`, then up to
    `max_lines` lines down to `min_size`; past that, the last line is cut with an ellipsis."""
    for size in range(start, single_line_min - 1, -1):
        style = font_style(size, bold=bold)
        if _width(style, text) <= max_width:
            return _Fitted(style, [text])
    if max_lines > 1:
        for size in range(start, min_size - 1, -1):
            style = font_style(size, bold=bold)
            lines = _wrap(style, text, max_width)
            if len(lines) <= max_lines and all(_width(style, line) <= max_width for line in lines):
                return _Fitted(style, lines)
    style = font_style(min_size, bold=bold)
    lines = _wrap(style, text, max_width) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], "".join(lines[max_lines - 1 :])]
    lines[-1] = _ellipsize(style, lines[-1], max_width)
    return _Fitted(style, lines)


def _draw_lines(
    draw: ImageDraw.ImageDraw, x: int, y: int, fitted: _Fitted, fill: tuple[int, int, int]
) -> int:
    """Draw top-aligned lines; return the y below the last line."""
    line_height = round(fitted.style.size * 1.25)
    for line in fitted.lines:
        draw.text(
            (x, y),
            line,
            font=fitted.style.font,
            fill=fill,
            anchor="lt",
            stroke_width=fitted.style.stroke,
            stroke_fill=fill,
        )
        y += line_height
    return y


# --- QR code ----------------------------------------------------------------------------------


def _qr_image(qr_text: str, max_px: int) -> Image.Image:
    """The QR code with its 4-module quiet zone, the largest integer scale that fits `max_px`."""
    too_long = (
        f"qr_text is too long ({len(qr_text)} characters) to print a QR code at least {QR_MIN_MM:g} mm "
        f"wide with modules of at least {_QR_MIN_MODULE_PX} px on the card"
    )
    try:
        qr = segno.make(qr_text, error="m", boost_error=False, micro=False)
    except segno.DataOverflowError as exc:
        raise ValueError(too_long) from exc
    modules = qr.symbol_size(scale=1, border=QR_BORDER_MODULES)[0]
    scale = max_px // modules
    symbol_px = (modules - 2 * QR_BORDER_MODULES) * scale
    if scale < _QR_MIN_MODULE_PX or symbol_px < _QR_MIN_SYMBOL_PX:
        raise ValueError(too_long)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=QR_BORDER_MODULES, dark="#000000", light="#ffffff")
    buffer.seek(0)
    with Image.open(buffer) as image:
        return image.convert("RGB")


# --- the card ---------------------------------------------------------------------------------

_MARGIN = 40  # ~3.4 mm
_HEADER_HEIGHT = 168
_ACCENT_HEIGHT = 8
_BODY_TOP = _HEADER_HEIGHT + _ACCENT_HEIGHT + 14
_QR_MAX_PX = 388  # QR including the quiet zone
_QR_RIGHT = 22  # the quiet zone itself is white space, so the QR can sit near the edge
_PHOTO_BOX = (180, 240)  # 15 × 20 mm
_CORNER_RADIUS = _mm(3.18)


def _open_photo(photo: bytes | Image.Image) -> Image.Image:
    if isinstance(photo, Image.Image):
        image = photo
    else:
        try:
            image = Image.open(io.BytesIO(photo))
            image.load()
        except (OSError, Image.DecompressionBombError, ValueError) as exc:
            raise ValueError("photo is not a readable image") from exc
    image = ImageOps.exif_transpose(image)
    return ImageOps.fit(image.convert("RGB"), _PHOTO_BOX, method=Image.Resampling.LANCZOS)


def _format_date(value: date) -> str:
    return f"{value:%Y-%m-%d}"


def render_card(
    *,
    holder_name: str,
    number: str,
    kind: str,
    agency_name: str,
    valid_from: date,
    valid_until: date,
    qr_text: str,
    photo: bytes | Image.Image | None = None,
) -> bytes:
    """Render the credential card as PNG bytes (1011 × 638 px, 300 dpi).

    ValueError for an unknown `kind`, an empty name or number, a validity that ends before it
    starts, a `qr_text` too long for a ≥ 20 mm QR code, or an unreadable `photo`. RuntimeError
    when no CJK font is installed (Debian package fonts-noto-cjk).
    """
    if kind not in KIND_TITLES:
        raise ValueError(f"unknown credential kind {kind!r}; expected one of {sorted(KIND_TITLES)}")
    holder_name, number, agency_name = _clean(holder_name), _clean(number), _clean(agency_name)
    if not holder_name or not number:
        raise ValueError("holder_name and number must not be empty")
    if valid_until < valid_from:
        raise ValueError("valid_until is before valid_from")
    if not isinstance(qr_text, str) or not qr_text:
        raise ValueError("qr_text must be a non-empty string")

    width, height = CARD_SIZE_PX
    colour = _KIND_COLOURS[kind]
    card = Image.new("RGB", CARD_SIZE_PX, _WHITE)
    draw = ImageDraw.Draw(card)

    # Header band (rounded top corners) and accent stripe.
    draw.rounded_rectangle(
        (0, 0, width - 1, _HEADER_HEIGHT + _CORNER_RADIUS),
        radius=_CORNER_RADIUS,
        fill=colour,
        corners=(True, True, False, False),
    )
    draw.rectangle((0, _HEADER_HEIGHT, width - 1, height - 1), fill=_WHITE)
    draw.rectangle((0, _HEADER_HEIGHT, width - 1, _HEADER_HEIGHT + _ACCENT_HEIGHT - 1), fill=_ACCENT)
    header_width = width - 2 * _MARGIN
    issuer = _fit(ISSUER_TITLE, header_width, start=44, single_line_min=24, min_size=24, bold=True)
    title = _fit(KIND_TITLES[kind], header_width, start=66, single_line_min=30, min_size=30, bold=True)
    for fitted, top in ((issuer, 22), (title, 80)):
        line = fitted.lines[0]
        x = round((width - _width(fitted.style, line)) / 2)
        _draw_lines(draw, x, top, _Fitted(fitted.style, [line]), _WHITE)

    # QR code on the right, caption under it.
    qr = _qr_image(qr_text, _QR_MAX_PX)
    qr_x = width - _QR_RIGHT - qr.width
    qr_y = _BODY_TOP - 8
    card.paste(qr, (qr_x, qr_y))
    caption = _fit("扫码核验真伪", qr.width, start=26, single_line_min=16, min_size=16)
    caption_x = qr_x + round((qr.width - _width(caption.style, caption.lines[0])) / 2)
    _draw_lines(draw, caption_x, qr_y + qr.height + 2, caption, _LABEL)  # below the quiet zone

    # Left column: photo (optional), then the fields.
    text_left = _MARGIN
    if photo is not None:
        picture = _open_photo(photo)
        card.paste(picture, (_MARGIN, _BODY_TOP + 4))
        draw.rectangle(
            (_MARGIN - 1, _BODY_TOP + 3, _MARGIN + _PHOTO_BOX[0], _BODY_TOP + 4 + _PHOTO_BOX[1]),
            outline=(200, 200, 200),
        )
        text_left = _MARGIN + _PHOTO_BOX[0] + 26
    text_width = qr_x - 12 - text_left

    label_style = font_style(22)
    validity = f"{_format_date(valid_from)} 至 {_format_date(valid_until)}"
    fields = (
        ("姓名", _fit(holder_name, text_width, start=54, single_line_min=24, min_size=24, bold=True)),
        ("证件编号", _fit(number, text_width, start=38, single_line_min=22, min_size=22, bold=True)),
        (
            "所属单位",
            _fit(agency_name or "—", text_width, start=32, single_line_min=28, min_size=20, max_lines=3),
        ),
        ("有效期", _fit(validity, text_width, start=32, single_line_min=18, min_size=18)),
    )
    y = _BODY_TOP
    for label, fitted in fields:
        y = _draw_lines(draw, text_left, y, _Fitted(label_style, [label]), _LABEL) - 2
        y = _draw_lines(draw, text_left, y, fitted, _INK) + 10

    # Cutting guide.
    draw.rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=_CORNER_RADIUS, outline=(190, 190, 190), width=2
    )

    out = io.BytesIO()
    card.save(out, format="PNG", dpi=(CARD_DPI, CARD_DPI), optimize=True)
    return out.getvalue()
