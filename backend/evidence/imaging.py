"""Database-free intake of evidence photos: what the bytes are, whether they decode, what their
EXIF says (read by backend/evidence/exif.py), and a small JPEG to show in lists. The media type
comes from the leading bytes (backend/evidence/mediatype.py).

Everything here is synchronous Pillow work; callers run it with `anyio.to_thread.run_sync`. Every
function treats the file as hostile: the declared pixel count is checked against a limit before
anything is decoded, JPEGs are decoded at reduced DCT scale (`draft`) to keep memory low, and
metadata is read so that garbage yields empty fields instead of exceptions. The only exceptions
that leave this module for a bad file are the DomainErrors below (413, 415, 422).
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Final

from PIL import ExifTags, Image, ImageFile, JpegImagePlugin, PngImagePlugin
from pillow_heif import register_heif_opener
from pillow_heif.as_plugin import HeifImageFile

from backend.core.errors import DomainError, TooLarge, Unprocessable, UnsupportedMediaType
from backend.evidence.exif import ExifInfo, is_edited, lenient, orientation_value, read_exif
from backend.evidence.mediatype import ACCEPTED_MEDIA_TYPES, HEIC, JPEG, PNG, SNIFF_BYTES, sniff_media_type

__all__ = [
    "ACCEPTED_MEDIA_TYPES", "DEFAULT_MAX_PIXELS", "HEIC", "JPEG", "PNG", "SNIFF_BYTES", "THUMBNAIL_MAX_PX",
    "THUMBNAIL_QUALITY", "ExifInfo", "ImageInfo", "configure_pillow", "decode_estimate", "inspect_and_thumbnail",
    "inspect_image", "is_edited", "make_thumbnail", "sniff_media_type",
]

logger = logging.getLogger(__name__)

# Current phone sensors (Samsung 200 MP, Xiaomi/Huawei 108 MP) must pass; Pillow's own default
# (~89 MP) would refuse them. Settings may lower or raise it through `configure_pillow`.
DEFAULT_MAX_PIXELS: Final = 250_000_000
THUMBNAIL_MAX_PX: Final = 512
THUMBNAIL_QUALITY: Final = 80


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
    exif = read_exif(im)
    if media_type == HEIC:
        # libheif applies the container's rotation/mirroring while decoding and pillow-heif
        # resets the EXIF tag to 1, keeping the camera's value in info. The size Pillow reports
        # is therefore already oriented; the encoded grid is the swapped one for 5-8.
        original = orientation_value(lenient(lambda: im.info.get("original_orientation")))
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
    exif = lenient(im.getexif)
    value = lenient(lambda: exif.get(ExifTags.Base.Orientation)) if exif is not None else None
    return orientation_value(value) or 1


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

