"""Is a handwritten-signature image a real PNG with ink on it (API.md §Documents and signatures,
`422 SIGNATURE_BLANK`)?

A pure check on bytes, no database: the signature service calls it before it hashes and seals the
image, in the event loop's thread for an image of a signature pad's size (`inline_ok`: about a
millisecond, less than handing it to a worker thread costs) and in a worker thread otherwise.
The canvas of the field app exports transparent or white backgrounds, so both count as paper;
everything else that is reasonably opaque and not near-white is ink.
"""

from __future__ import annotations

import io
import struct
from typing import Final

from PIL import Image, ImageChops, ImageFile, PngImagePlugin

from backend.core.errors import DomainError, TooLarge, Unprocessable

PNG_MAGIC: Final = b"\x89PNG\r\n\x1a\n"
MIN_WIDTH: Final = 50
MIN_HEIGHT: Final = 20
# A pixel is paper when it is mostly transparent or when it is this light (0-255 luminance).
ALPHA_OPAQUE: Final = 128
NEAR_WHITE: Final = 230
# A pen stroke across a signature box covers well over 0.2 % of it; a stray tap or JPEG-like
# speckle does not. Both bounds must hold, so a tiny canvas cannot pass on a handful of dots.
MIN_INK_RATIO: Final = 0.002
MIN_INK_PIXELS: Final = 50
#: Checked in the caller's thread up to this many declared pixels (a 600x400 pad): decoding one
#: takes about 1 ms. Larger images (up to the 4-megapixel limit) go to a worker thread.
INLINE_MAX_PIXELS: Final = 240_000

# Lookup tables for Image.point (a lambda is called 256 times per use).
_DARK_LUT: Final = [255 if v < NEAR_WHITE else 0 for v in range(256)]
_OPAQUE_LUT: Final = [255 if v >= ALPHA_OPAQUE else 0 for v in range(256)]


def inline_ok(data: bytes) -> bool:
    """Whether the PNG header declares a small image, cheap enough to check without a worker
    thread. Anything unusual (not a PNG, a short or odd header) answers False: the full check
    then runs in a thread and reports it."""
    if len(data) < 24 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        return False
    width, height = struct.unpack(">II", data[16:24])
    return width * height <= INLINE_MAX_PIXELS


def _blank(reason: str, message: str, message_zh: str, **detail: object) -> Unprocessable:
    return Unprocessable(
        message,
        message_zh,
        code="SIGNATURE_BLANK",
        detail={"reason": reason, **detail},
    )


def check_signature_png(
    data: bytes, *, max_bytes: int = 512_000, max_pixels: int = 4_000_000
) -> tuple[int, int]:
    """Return (width, height) of a signature PNG that decodes fully and carries ink.

    Raises TooLarge (413) for more than `max_bytes` bytes or `max_pixels` declared pixels, and
    Unprocessable (422, code SIGNATURE_BLANK, `detail.reason` one of not_png, corrupt, too_small,
    blank) otherwise.
    """
    if len(data) > max_bytes:
        raise TooLarge(
            f"The signature image is {len(data)} bytes; at most {max_bytes} are accepted.",
            f"签名图片大小为 {len(data)} 字节，超过上限 {max_bytes} 字节。",
            code="TOO_LARGE",
            detail={"size": len(data), "max_bytes": max_bytes},
        )
    if not data.startswith(PNG_MAGIC):
        raise _blank("not_png", "The signature image is not a PNG.", "签名图片不是 PNG 格式。")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for signature checks")

    try:
        # The PNG plugin directly: only PNG is tried, and the header alone is read, so the size
        # check below runs before anything is inflated.
        im = PngImagePlugin.PngImageFile(io.BytesIO(data))
    except Exception as exc:
        raise _blank(
            "corrupt", "The signature PNG is corrupt.", "签名 PNG 图片已损坏。", error=_describe(exc)
        ) from exc
    with im:
        width, height = im.size
        if width * height > max_pixels:
            raise TooLarge(
                f"The signature image declares {width}x{height} pixels; at most {max_pixels} are accepted.",
                f"签名图片声明尺寸为 {width}x{height} 像素，超过上限 {max_pixels} 像素。",
                code="TOO_LARGE",
                detail={"width": width, "height": height, "max_pixels": max_pixels},
            )
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            raise _blank(
                "too_small",
                f"The signature image is {width}x{height} pixels; "
                f"at least {MIN_WIDTH}x{MIN_HEIGHT} is needed.",
                f"签名图片尺寸为 {width}x{height} 像素，至少需要 {MIN_WIDTH}x{MIN_HEIGHT}。",
                width=width,
                height=height,
            )
        try:
            im.load()
            ink = _count_ink(im)
        except DomainError:
            raise
        except Exception as exc:
            raise _blank(
                "corrupt",
                "The signature PNG is corrupt or truncated.",
                "签名 PNG 图片已损坏或不完整。",
                error=_describe(exc),
            ) from exc

    needed = max(MIN_INK_PIXELS, int(width * height * MIN_INK_RATIO))
    if ink < needed:
        raise _blank(
            "blank",
            "The signature image has no ink on it.",
            "签名图片为空白，未检测到笔迹。",
            ink_pixels=ink,
            required_pixels=needed,
        )
    return width, height


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _count_ink(im: Image.Image) -> int:
    rgba = _to_rgba(im)
    dark = rgba.convert("L").point(_DARK_LUT)
    opaque = rgba.getchannel("A").point(_OPAQUE_LUT)
    # Both masks are 0/255, so the darker of the two is 255 exactly where a pixel is ink.
    return ImageChops.darker(dark, opaque).histogram()[255]


def _to_rgba(im: Image.Image) -> Image.Image:
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit grey: scale to 8 bits rather than let convert() clip everything to white.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGBA")
    return im.convert("RGBA")
