"""Database-free intake of evidence photos: what the bytes are, whether they decode, what their
EXIF says, and a small JPEG to show in lists.

Everything here is synchronous Pillow work; callers run it with `anyio.to_thread.run_sync`. Every
function treats the file as hostile: the declared pixel count is checked against a limit before
anything is decoded, JPEGs are decoded at reduced DCT scale (`draft`) to keep memory low, and
metadata is read so that garbage yields empty fields instead of exceptions. The only exceptions
that leave this module for a bad file are the DomainErrors below (413, 415, 422).
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, Final, TypeVar

from PIL import ExifTags, Image, ImageFile, JpegImagePlugin, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational
from pillow_heif import register_heif_opener
from pillow_heif.as_plugin import HeifImageFile

from backend.core.errors import DomainError, TooLarge, Unprocessable, UnsupportedMediaType

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
HEIC: Final = "image/heic"
ACCEPTED_MEDIA_TYPES: Final = frozenset({JPEG, PNG, HEIC})

# Current phone sensors (Samsung 200 MP, Xiaomi/Huawei 108 MP) must pass; Pillow's own default
# (~89 MP) would refuse them. Settings may lower or raise it through `configure_pillow`.
DEFAULT_MAX_PIXELS: Final = 250_000_000
# How many leading bytes `sniff_media_type` looks at; an `ftyp` box with many brands is longer
# than the 12 bytes that suffice for JPEG and PNG.
SNIFF_BYTES: Final = 256
THUMBNAIL_MAX_PX: Final = 512
THUMBNAIL_QUALITY: Final = 80
# Exotic free text in Make/Model/Software is cut here rather than stored whole.
_MAX_TEXT = 200

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# HEVC-coded HEIF. `mif1`/`msf1` only say "some HEIF" and are also what AVIF files list, so they
# count only when an HEVC brand is listed next to them; AVIF is refused (not in API.md's list).
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"miaf"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def configure_pillow(max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Process-wide Pillow settings. Runs at import with the default; `create_app` may call it again
    with the configured limit (the module reads no environment itself)."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that, and then decodes anyway. Any
    # code path that opens an image through `Image.open` must fail there instead.
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    # A truncated upload must be refused, never padded with grey and accepted as evidence.
    ImageFile.LOAD_TRUNCATED_IMAGES = False


register_heif_opener()
configure_pillow()


# --- results ---------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    """`width`/`height` are the pixel grid as encoded; `oriented_*` are what a viewer shows after
    applying `orientation` (EXIF 1-8, 1 when absent)."""

    media_type: str
    width: int
    height: int
    oriented_width: int
    oriented_height: int
    orientation: int
    exif: ExifInfo = field(default_factory=ExifInfo)


# --- media type ------------------------------------------------------------------------------


def sniff_media_type(head: bytes) -> str | None:
    """The media type the leading bytes prove (`image/jpeg`, `image/png`, `image/heic`), or None.

    Only magic bytes count, never a file name or a client's Content-Type. Pass at least the first
    `SNIFF_BYTES` bytes so a long HEIF `ftyp` box is seen whole.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PNG_MAGIC):
        return PNG
    if _is_hevc_heif(head):
        return HEIC
    return None


def _is_hevc_heif(head: bytes) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box_size = int.from_bytes(head[0:4], "big")
    if box_size == 0:  # "extends to end of file": all we have
        box_size = len(head)
    if box_size < 16 or box_size % 4:
        return False  # also refuses size 1 (64-bit size): no real ftyp box needs it
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _AVIF_BRANDS:
        return False
    if major in _HEVC_BRANDS:
        return True
    return major in _GENERIC_HEIF_BRANDS and bool(compatible & _HEVC_BRANDS)


# --- opening ---------------------------------------------------------------------------------


def _factory(media_type: str) -> Callable[[IO[bytes]], ImageFile.ImageFile]:
    # The plugin constructors parse the header only. Going through them instead of `Image.open`
    # (a) tries only the format the magic bytes proved and (b) lets our own limit, with the
    # declared width and height in the error, run before Pillow's bomb check.
    if media_type == JPEG:
        return JpegImagePlugin.jpeg_factory  # may return an MPO (phones' multi-picture JPEGs)
    if media_type == PNG:
        return PngImagePlugin.PngImageFile
    if media_type == HEIC:
        return HeifImageFile
    raise UnsupportedMediaType(
        f"Unsupported media type {media_type!r}; send JPEG, PNG or HEIC.",
        f"不支持的文件类型 {media_type!r}，请上传 JPEG、PNG 或 HEIC 图片。",
        detail={"media_type": media_type, "accepted": sorted(ACCEPTED_MEDIA_TYPES)},
    )


def _corrupt(reason: str, exc: BaseException | None = None) -> Unprocessable:
    detail: dict[str, Any] = {"reason": reason}
    if exc is not None:
        detail["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return Unprocessable(
        f"The image is corrupt or truncated ({reason}).",
        f"图片已损坏或不完整（{reason}）。",
        code="IMAGE_CORRUPT",
        detail=detail,
    )


def _too_large(width: int, height: int, max_pixels: int) -> TooLarge:
    return TooLarge(
        f"The image declares {width}x{height} pixels; at most {max_pixels} pixels are accepted.",
        f"图片声明尺寸为 {width}x{height} 像素，超过上限 {max_pixels} 像素。",
        code="TOO_LARGE",
        detail={"width": width, "height": height, "pixels": width * height, "max_pixels": max_pixels},
    )


@contextmanager
def _open_checked(path: Path, media_type: str, max_pixels: int) -> Iterator[ImageFile.ImageFile]:
    """Open lazily (header only) and refuse what is too big before a single pixel is decoded."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone flipped the global: truncated evidence would be accepted. Fail loudly instead.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for evidence intake")
    factory = _factory(media_type)
    with Path(path).open("rb") as fp:
        sniffed = sniff_media_type(fp.read(SNIFF_BYTES))
        if sniffed != media_type:
            raise UnsupportedMediaType(
                f"The file's content is not {media_type}.",
                f"文件内容不是 {media_type} 图片。",
                detail={"declared": media_type, "sniffed": sniffed},
            )
        if media_type == HEIC:
            # libheif decodes a grid image with missing tiles without complaint (it paints them
            # a flat colour), so a cut upload must be caught on the container instead.
            _check_bmff_boxes(fp)
        fp.seek(0)
        try:
            im = factory(fp)
        except Exception as exc:
            raise _corrupt("unreadable header", exc) from exc
        try:
            width, height = im.size
            if width <= 0 or height <= 0:
                raise _corrupt("empty image")
            if width * height > max_pixels:
                raise _too_large(width, height, max_pixels)
            yield im
        finally:
            im.close()


def _check_bmff_boxes(fp: IO[bytes], max_boxes: int = 1024) -> None:
    """Every top-level ISO BMFF box (ftyp, meta, mdat, ...) must end inside the file.

    A cut upload leaves the last box (normally `mdat`, the coded tiles) declaring more bytes than
    remain. Checking the container is cheap and does not depend on the decoder noticing.
    """
    end = fp.seek(0, io.SEEK_END)
    position = 0
    for _ in range(max_boxes):
        if position == end:
            return
        fp.seek(position)
        header = fp.read(16)
        if len(header) < 8:
            raise _corrupt("truncated HEIF container")
        if not all(0x20 <= b <= 0x7E for b in header[4:8]):
            return  # not a box type: some vendor's trailer after the last box, not our concern
        size = int.from_bytes(header[0:4], "big")
        if size == 1:  # 64-bit size follows the type
            if len(header) < 16:
                raise _corrupt("truncated HEIF container")
            size = int.from_bytes(header[8:16], "big")
            minimum = 16
        elif size == 0:  # the last box, extending to the end of the file
            return
        else:
            minimum = 8
        if size < minimum:
            raise _corrupt("malformed HEIF box")
        if position + size > end:
            raise _corrupt("truncated HEIF container")
        position += size
    raise _corrupt("too many HEIF boxes")


def _decode(im: ImageFile.ImageFile) -> None:
    try:
        im.load()
    except DomainError:
        raise
    except Exception as exc:
        raise _corrupt("image data does not decode", exc) from exc


def _draft_for_verification(im: ImageFile.ImageFile) -> None:
    # 1/8 DCT scale: libjpeg still walks every entropy-coded segment (so truncation and broken
    # streams are found) but writes 1/64 of the pixels.
    width, height = im.size
    im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))


# --- inspection ------------------------------------------------------------------------------


def inspect_image(path: str | Path, media_type: str, *, max_pixels: int) -> ImageInfo:
    """Dimensions, orientation and EXIF of an uploaded photo, after proving it decodes.

    Raises UnsupportedMediaType (415) when the content is not `media_type` or the type is not
    accepted, TooLarge (413, code TOO_LARGE, detail width/height) when the header declares more
    than `max_pixels`, Unprocessable (422, code IMAGE_CORRUPT) when it does not decode.
    """
    with _open_checked(Path(path), media_type, max_pixels) as im:
        stored = im.size
        if media_type == JPEG:
            _draft_for_verification(im)
        # PNG has no reduced-scale decode, and HEIC is decoded whole on purpose: its draft() would
        # decode an embedded thumbnail, which proves nothing about the primary image.
        _decode(im)
        return _image_info(im, media_type, stored)


def _image_info(im: ImageFile.ImageFile, media_type: str, stored: tuple[int, int]) -> ImageInfo:
    """The ImageInfo of a decoded image whose header declared `stored` (its size before draft)."""
    exif = _read_exif(im)
    if media_type == HEIC:
        # libheif applies the container's rotation/mirroring while decoding and pillow-heif
        # resets the EXIF tag to 1, keeping the camera's value in info. The size Pillow reports
        # is therefore already oriented; the encoded grid is the swapped one for 5-8.
        original = _orientation(_lenient(lambda: im.info.get("original_orientation")))
        if original is not None:
            exif = replace(exif, orientation=original)
        orientation = exif.orientation or 1
        oriented = stored
        stored = _swap(oriented, orientation)
    else:
        orientation = exif.orientation or 1
        oriented = _swap(stored, orientation)
    return ImageInfo(
        media_type=media_type,
        width=stored[0],
        height=stored[1],
        oriented_width=oriented[0],
        oriented_height=oriented[1],
        orientation=orientation,
        exif=exif,
    )


def inspect_and_thumbnail(
    path: str | Path, media_type: str, *, max_pixels: int, max_px: int = THUMBNAIL_MAX_PX
) -> tuple[ImageInfo, bytes]:
    """`inspect_image` and `make_thumbnail` from ONE decode: what intake uses.

    The header is read and the declared size checked against `max_pixels` before any pixel is
    decoded (413 TOO_LARGE). A JPEG is then decoded once at the smallest DCT scale that still covers
    `max_px` (libjpeg walks every entropy-coded segment at any scale, so a truncated or broken
    stream fails here with 422 IMAGE_CORRUPT, exactly as the 1/8-scale verification would), and
    that decode yields both the EXIF/dimensions and the thumbnail. PNG and HEIC are decoded whole,
    once, as before. Same errors as `inspect_image`.
    """
    with _open_checked(Path(path), media_type, max_pixels) as im:
        stored = im.size
        if media_type == JPEG:
            im.draft("RGB", (max_px, max_px))
        _decode(im)
        info = _image_info(im, media_type, stored)
        thumbnail = _thumbnail_of(im, max_px)
    return info, thumbnail


_BYTES_PER_PIXEL: Final = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16B": 2, "I;16L": 2,
                           "RGB": 3, "YCbCr": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4, "I": 4, "F": 4}


def decode_estimate(path: str | Path, media_type: str, *, max_pixels: int, max_px: int = THUMBNAIL_MAX_PX) -> int:
    """Bytes `inspect_and_thumbnail` may need for this file, from its header alone (nothing is
    decoded). Refuses what declares more than `max_pixels` (413), like the intake itself.

    Rough on purpose, and on the high side: what counts is that a 240 MP PNG is seen to need
    gigabytes before it is decoded. A JPEG is decoded at 1/8 scale (`draft`), but a progressive
    one makes libjpeg keep every DCT coefficient of the full image (2 bytes per sample); PNG and
    HEIC are decoded whole, and the thumbnail step copies the decoded image once more."""
    with _open_checked(Path(path), media_type, max_pixels) as im:
        width, height = im.size
        pixels = width * height
        if media_type == JPEG:
            scale = max(1, min(8, width // max_px, height // max_px))
            drafted = (pixels // (scale * scale)) * 3 * 2
            if im.info.get("progressive") or im.info.get("progression"):
                return drafted + pixels * 3 * 2
            return drafted + 4 * 1024 * 1024
        bands = _BYTES_PER_PIXEL.get(im.mode, 4)
        if media_type == HEIC:
            return pixels * (4 * 2 + 2)  # libheif's YCbCr planes, the RGB(A) image, its copy
        return pixels * bands * 2 + 4 * 1024 * 1024


def _swap(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    # EXIF orientations 5-8 include a 90° turn.
    return (size[1], size[0]) if orientation >= 5 else size


# --- thumbnails ------------------------------------------------------------------------------


def make_thumbnail(
    path: str | Path,
    media_type: str,
    max_px: int = THUMBNAIL_MAX_PX,
    *,
    max_pixels: int | None = None,
) -> bytes:
    """A JPEG no larger than `max_px` on its long side, upright (EXIF orientation applied), RGB.

    `max_pixels` defaults to Pillow's configured limit; the same errors as `inspect_image`.
    """
    limit = max_pixels if max_pixels is not None else (Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS)
    with _open_checked(Path(path), media_type, limit) as im:
        if media_type == JPEG:
            # Decode straight to the smallest DCT scale that still covers max_px on both sides.
            im.draft("RGB", (max_px, max_px))
        _decode(im)
        return _thumbnail_of(im, max_px)


# EXIF orientation → the transposition that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _stored_orientation(im: Image.Image) -> int:
    """The EXIF orientation still to be applied to the decoded pixels (1 when absent or unreadable).
    For HEIC it is 1: libheif has applied the container's transformation already."""
    if isinstance(im, HeifImageFile):
        return 1
    exif = _lenient(im.getexif)
    value = _lenient(lambda: exif.get(_Base.Orientation)) if exif is not None else None
    return _orientation(value) or 1


def _thumbnail_of(im: ImageFile.ImageFile, max_px: int) -> bytes:
    """The thumbnail JPEG of a decoded (possibly drafted) image, upright."""
    icc_profile = im.info.get("icc_profile")
    orientation = _stored_orientation(im)
    small = im.copy()
    # The bounding box is square, so shrinking before turning gives the same size; turning the
    # small image is what saves the time (ImageOps.exif_transpose would turn the large one and
    # re-serialise the EXIF, which a thumbnail does not carry).
    small.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    upright = small.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else small
    rgb = _to_rgb(upright)
    out = io.BytesIO()
    rgb.save(
        out,
        "JPEG",
        quality=THUMBNAIL_QUALITY,
        icc_profile=icc_profile if isinstance(icc_profile, bytes) else None,
    )
    return out.getvalue()


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit grey: a plain convert("RGB") clips everything above 255 to white.
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        # Transparent areas become white (a phone shows them on white), not black.
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


# --- editors ---------------------------------------------------------------------------------

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


def _lenient(fn: Callable[[], _T]) -> _T | None:
    try:
        return fn()
    except Exception:  # hostile metadata must never fail an upload; the field stays empty
        logger.debug("unreadable EXIF field", exc_info=True)
        return None


def _read_exif(im: Image.Image) -> ExifInfo:
    exif = _lenient(im.getexif)
    if exif is None:
        return ExifInfo()
    ifd0: dict[int, Any] = _lenient(lambda: dict(exif.items())) or {}
    sub: dict[int, Any] = _lenient(lambda: dict(exif.get_ifd(ExifTags.IFD.Exif))) or {}
    gps: dict[int, Any] = _lenient(lambda: dict(exif.get_ifd(ExifTags.IFD.GPSInfo))) or {}

    lat_lon = _lenient(lambda: _gps_position(gps))
    taken = _lenient(lambda: _taken_at(ifd0, sub))
    return ExifInfo(
        lat=lat_lon[0] if lat_lon else None,
        lon=lat_lon[1] if lat_lon else None,
        taken_at=taken,
        taken_at_has_offset=taken is not None and taken.tzinfo is not None,
        make=_lenient(lambda: _text(ifd0.get(_Base.Make))),
        model=_lenient(lambda: _text(ifd0.get(_Base.Model))),
        software=_lenient(lambda: _text(ifd0.get(_Base.Software))),
        orientation=_lenient(lambda: _orientation(ifd0.get(_Base.Orientation))),
    )


def _orientation(value: object) -> int | None:
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
