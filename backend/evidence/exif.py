"""What a photo's EXIF says (position, capture time, camera, software, orientation), read so that
garbage yields empty fields instead of exceptions, and whether the software that last wrote it is
an image editor. Pure Pillow work on an opened image; no decode happens here."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Final, TypeVar

from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# Exotic free text in Make/Model/Software is cut here rather than stored whole.
_MAX_TEXT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ExifInfo:
    """What the camera wrote, as far as it could be read. Every field is None when absent or
    unreadable; nothing here has been checked against the device or the site."""

    lon: float | None = None
    lat: float | None = None
    taken_at: datetime | None = None
    # False: `taken_at` is the camera's local wall-clock time (naive), zone unknown.
    taken_at_has_offset: bool = False
    make: str | None = None
    model: str | None = None
    software: str | None = None
    orientation: int | None = None

    @property
    def has_gps(self) -> bool:
        return self.lon is not None and self.lat is not None


# Lower-case substrings of EXIF Software written by programs that re-save a photo after editing
# it. Camera and phone firmware ("Ver.1.00", "COOLPIX P6000V1.0", "HDR+ 1.0.2", iOS's bare "17.1",
# "00WW_3_380_SP02") and transfer tools ("Nikon Transfer") are not editors. Windows Photo
# Gallery counts: it only writes Software when it re-saved the file.
EDITOR_MARKERS: Final = (
    "photoshop",  # Photoshop, Photoshop Elements, Photoshop Express, Camera Raw
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "meitu",
    "美图",  # 美图秀秀 (Meitu)
    "美颜",  # 美颜相机 (BeautyCam)
    "beautycam",
    "醒图",
    "xingtu",
    "affinity photo",
    "pixelmator",
    "paint.net",
    "acdsee",
    "painttool sai",
    "paintshop",
    "paint shop pro",
    "corel",
    "capture one",
    "capture nx",
    "digital photo professional",
    "darktable",
    "rawtherapee",
    "luminar",
    "picasa",
    "photoscape",
    "fotor",
    "facetune",
    "polarr",
    "vsco",
    "canva",
    "photo gallery",  # (Windows Live) Photo Gallery
    "photo editor",  # Windows Photo Editor, various apps
    "imagemagick",
    "graphicsmagick",
)


def is_edited(software: str | None) -> bool:
    """True when EXIF Software names an image editor rather than camera firmware."""
    if not software:
        return False
    text = software.casefold()
    return any(marker in text for marker in EDITOR_MARKERS)


# --- EXIF ------------------------------------------------------------------------------------

_Base = ExifTags.Base
_GPS = ExifTags.GPS


def lenient(fn: Callable[[], _T]) -> _T | None:
    try:
        return fn()
    except Exception:  # hostile metadata must never fail an upload; the field stays empty
        logger.debug("unreadable EXIF field", exc_info=True)
        return None


def read_exif(im: Image.Image) -> ExifInfo:
    exif = lenient(im.getexif)
    if exif is None:
        return ExifInfo()
    ifd0: dict[int, Any] = lenient(lambda: dict(exif.items())) or {}
    sub: dict[int, Any] = lenient(lambda: dict(exif.get_ifd(ExifTags.IFD.Exif))) or {}
    gps: dict[int, Any] = lenient(lambda: dict(exif.get_ifd(ExifTags.IFD.GPSInfo))) or {}

    lat_lon = lenient(lambda: _gps_position(gps))
    taken = lenient(lambda: _taken_at(ifd0, sub))
    return ExifInfo(
        lat=lat_lon[0] if lat_lon else None,
        lon=lat_lon[1] if lat_lon else None,
        taken_at=taken,
        taken_at_has_offset=taken is not None and taken.tzinfo is not None,
        make=lenient(lambda: _text(ifd0.get(_Base.Make))),
        model=lenient(lambda: _text(ifd0.get(_Base.Model))),
        software=lenient(lambda: _text(ifd0.get(_Base.Software))),
        orientation=lenient(lambda: orientation_value(ifd0.get(_Base.Orientation))),
    )


def orientation_value(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 8:
        return value
    return None


def _decode_text(raw: bytes) -> str:
    raw = raw.split(b"\x00", 1)[0]
    # EXIF says ASCII; phones and Chinese editors write UTF-8 or GB18030 anyway.
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.split("\x00", 1)[0]
        # Pillow decodes ASCII tags as Latin-1; undo that for UTF-8/GB18030 bytes ("ç¾å¾" → 美图).
        if any(ord(c) > 0x7F for c in value) and all(ord(c) <= 0xFF for c in value):
            value = _decode_text(value.encode("latin-1"))
    elif isinstance(value, bytes | bytearray):
        value = _decode_text(bytes(value))
    else:
        return None
    printable = "".join(c for c in value if unicodedata.category(c)[0] != "C" or c.isspace())
    text = " ".join(printable.split())[:_MAX_TEXT]
    return text or None


def _number(value: object) -> float | None:
    """A finite float from an EXIF number; None for 0-denominator rationals and other garbage."""
    if isinstance(value, bool):
        return None
    if isinstance(value, IFDRational):
        if value.denominator == 0:
            return None
        result = float(value.numerator) / float(value.denominator)
    elif isinstance(value, int | float | Fraction):
        result = float(value)
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        if value[1] == 0:
            return None
        result = value[0] / value[1]
    else:
        return None
    return result if math.isfinite(result) else None


def _ref(value: object) -> str | None:
    text = _text(value)
    return text[0].upper() if text else None


def _degrees(value: object, limit: float) -> float | None:
    """Degrees from an EXIF (deg, min, sec) triple; decimal minutes or degrees are allowed."""
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None or n < 0 for n in numbers):
        return None
    deg, minutes, seconds = (*(n for n in numbers if n is not None), 0.0, 0.0)[:3]
    # 60 itself is tolerated: some writers round 59.9999 seconds up.
    if minutes > 60 or seconds > 60:
        return None
    result = deg + minutes / 60 + seconds / 3600
    return result if result <= limit else None


def _gps_position(gps: dict[int, Any]) -> tuple[float, float] | None:
    if not gps:
        return None
    # "V" = measurement void: the receiver had no fix and the numbers are stale or zero.
    if _ref(gps.get(_GPS.GPSStatus)) == "V":
        return None
    lat = _degrees(gps.get(_GPS.GPSLatitude), 90.0)
    lon = _degrees(gps.get(_GPS.GPSLongitude), 180.0)
    lat_ref = _ref(gps.get(_GPS.GPSLatitudeRef))
    lon_ref = _ref(gps.get(_GPS.GPSLongitudeRef))
    # Without its reference a value could be either hemisphere; guessing would misplace evidence.
    if lat is None or lon is None or lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
        return None
    if lat == 0 and lon == 0:
        return None  # what cameras write when they never had a fix
    return (-lat if lat_ref == "S" else lat, -lon if lon_ref == "W" else lon)


_DATETIME_RE = re.compile(r"(\d{4})[:\-/](\d{2})[:\-/](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _parse_datetime(value: object, subsec: object) -> datetime | None:
    text = _text(value)
    match = _DATETIME_RE.match(text) if text else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        result = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 — zone unknown here
    except ValueError:
        return None  # "0000:00:00 00:00:00" and friends
    digits = _text(subsec)
    if digits and digits.isdigit() and digits.isascii():
        result = result.replace(microsecond=int(digits[:6].ljust(6, "0")))
    return result


def _parse_offset(value: object) -> timezone | None:
    text = _text(value)
    match = _OFFSET_RE.fullmatch(text) if text else None
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes >= 60:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def _taken_at(ifd0: dict[int, Any], sub: dict[int, Any]) -> datetime | None:
    original = _parse_datetime(sub.get(_Base.DateTimeOriginal), sub.get(_Base.SubsecTimeOriginal))
    modified = _parse_datetime(ifd0.get(_Base.DateTime), sub.get(_Base.SubsecTime))
    if original is not None:
        offset = _parse_offset(sub.get(_Base.OffsetTimeOriginal))
        # OffsetTime belongs to DateTime (last change); it is also right for the capture time only
        # when the file was not re-saved later, i.e. both times agree.
        if (
            offset is None
            and modified is not None
            and modified.replace(microsecond=0) == original.replace(microsecond=0)
        ):
            offset = _parse_offset(sub.get(_Base.OffsetTime))
        return original.replace(tzinfo=offset) if offset is not None else original
    if modified is not None:
        offset = _parse_offset(sub.get(_Base.OffsetTime))
        return modified.replace(tzinfo=offset) if offset is not None else modified
    return None
