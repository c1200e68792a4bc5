"""Signature images: a real PNG, a sane size, and ink on it (API.md `422 SIGNATURE_BLANK`)."""

from __future__ import annotations

import io
import struct
import time
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFile

from backend.core.errors import TooLarge, Unprocessable
from backend.inspections.ink import INLINE_MAX_PIXELS, check_signature_png, inline_ok


def _png(im: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, "PNG", **params)
    return out.getvalue()


def _signature(
    size: tuple[int, int] = (600, 200),
    *,
    mode: str = "RGBA",
    background: object = (0, 0, 0, 0),
    ink: object = (20, 30, 120, 255),
    width: int = 4,
) -> Image.Image:
    """A canvas with a signature-like scrawl across it, as the field app's pad exports it."""
    im = Image.new(mode, size, background)
    w, h = size
    points = [
        (int(w * x), int(h * y))
        for x, y in [(0.1, 0.7), (0.2, 0.3), (0.3, 0.75), (0.4, 0.25), (0.5, 0.7), (0.65, 0.35), (0.9, 0.6)]
    ]
    ImageDraw.Draw(im).line(points, fill=ink, width=width, joint="curve")
    return im


def _blank_reason(data: bytes, **kwargs: int) -> str:
    with pytest.raises(Unprocessable) as refused:
        check_signature_png(data, **kwargs)
    assert refused.value.code == "SIGNATURE_BLANK"
    assert refused.value.http_status == 422
    assert refused.value.message
    assert refused.value.message_zh
    return str(refused.value.detail["reason"])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _raw_png(width: int, height: int, idat: bytes, *, color_type: int = 6) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


# --- accepted ----------------------------------------------------------------------------------


def test_stroke_on_transparent_canvas() -> None:
    assert check_signature_png(_png(_signature())) == (600, 200)


def test_stroke_on_white_rgb_canvas() -> None:
    im = _signature(mode="RGB", background="white", ink=(0, 0, 0))
    assert check_signature_png(_png(im)) == (600, 200)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "1"])
def test_other_png_modes(mode: str) -> None:
    im = _signature(mode="RGB", background="white", ink=(0, 0, 0)).convert(mode)
    assert check_signature_png(_png(im)) == (600, 200)


def _palette_canvas(with_stroke: bool) -> bytes:
    # Index 0 is black *and* transparent (tRNS), as canvas exporters often write it.
    im = Image.new("P", (600, 200), 0)
    im.putpalette([0, 0, 0, 20, 30, 120] + [0, 0, 0] * 254)
    if with_stroke:
        ImageDraw.Draw(im).line([(60, 140), (300, 40), (540, 120)], fill=1, width=4)
    return _png(im, transparency=0)


def test_palette_with_transparency() -> None:
    assert check_signature_png(_palette_canvas(with_stroke=True)) == (600, 200)
    assert _blank_reason(_palette_canvas(with_stroke=False)) == "blank"


def test_sixteen_bit_grey() -> None:
    im = Image.new("I;16", (400, 150), 65535)
    ImageDraw.Draw(im).line([(20, 75), (380, 80)], fill=0, width=5)
    assert check_signature_png(_png(im)) == (400, 150)


def test_light_blue_ink_counts() -> None:
    # A pale ballpoint blue is still well below the near-white threshold.
    assert check_signature_png(_png(_signature(ink=(120, 150, 230, 255))))


def test_minimum_size_exactly() -> None:
    im = Image.new("L", (50, 20), 255)
    ImageDraw.Draw(im).rectangle((5, 5, 44, 14), fill=0)
    assert check_signature_png(_png(im)) == (50, 20)


def test_large_but_allowed_canvas_is_fast() -> None:
    data = _png(_signature((2000, 2000), width=6))
    start = time.perf_counter()
    assert check_signature_png(data) == (2000, 2000)
    assert time.perf_counter() - start < 1.0


# --- blank -------------------------------------------------------------------------------------


def test_blank_white() -> None:
    assert _blank_reason(_png(Image.new("RGB", (600, 200), "white"))) == "blank"


def test_fully_transparent() -> None:
    # Transparent *black* pixels: a check that ignored alpha would see a page full of ink.
    assert _blank_reason(_png(Image.new("RGBA", (600, 200), (0, 0, 0, 0)))) == "blank"


def test_near_white_smudge_is_blank() -> None:
    im = _signature(mode="RGB", background="white", ink=(240, 240, 240))
    assert _blank_reason(_png(im)) == "blank"


def test_faint_alpha_stroke_is_blank() -> None:
    # Dark colour, but almost fully transparent: invisible on paper.
    assert _blank_reason(_png(_signature(ink=(0, 0, 0, 40)))) == "blank"


def test_a_few_dots_are_blank() -> None:
    im = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    for x in range(0, 600, 60):
        draw.point((x, 100), fill=(0, 0, 0, 255))  # 10 pixels: below both bounds
    assert _blank_reason(_png(im)) == "blank"


def test_ink_below_ratio_is_blank() -> None:
    # 1000x1000 canvas: 0.2 % is 2000 pixels; a short 200-pixel tick is 50+ pixels but not enough.
    im = Image.new("L", (1000, 1000), 255)
    ImageDraw.Draw(im).line([(100, 500), (300, 500)], fill=0, width=1)
    with pytest.raises(Unprocessable) as refused:
        check_signature_png(_png(im))
    assert refused.value.detail["reason"] == "blank"
    assert refused.value.detail["required_pixels"] == 2000
    assert 150 < refused.value.detail["ink_pixels"] < 2000


def test_small_canvas_needs_fifty_ink_pixels() -> None:
    im = Image.new("L", (100, 40), 255)  # 0.2 % would be 8 pixels; the floor of 50 applies
    ImageDraw.Draw(im).line([(10, 20), (49, 20)], fill=0)  # 40 pixels
    assert _blank_reason(_png(im)) == "blank"
    ImageDraw.Draw(im).line([(10, 25), (29, 25)], fill=0)  # 60 pixels
    assert check_signature_png(_png(im)) == (100, 40)


# --- not a usable PNG --------------------------------------------------------------------------


def test_jpeg_renamed_to_png() -> None:
    out = io.BytesIO()
    _signature(mode="RGB", background="white", ink=(0, 0, 0)).save(out, "JPEG")
    assert _blank_reason(out.getvalue()) == "not_png"


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image", b"GIF89a" + b"\x00" * 100, b"\x89PNG\r\n", b"<svg/>"],
    ids=["empty", "text", "gif", "magic-cut", "svg"],
)
def test_not_png(data: bytes) -> None:
    assert _blank_reason(data) == "not_png"


def test_truncated_png() -> None:
    data = _png(_signature(mode="RGB", background="white", ink=(0, 0, 0)))
    assert _blank_reason(data[: len(data) // 2]) == "corrupt"


def test_png_cut_inside_header() -> None:
    data = _png(_signature())
    assert _blank_reason(data[:20]) == "corrupt"


def test_png_with_bad_crc() -> None:
    data = bytearray(_png(_signature()))
    data[29] ^= 0xFF  # inside the IHDR CRC
    assert _blank_reason(bytes(data)) == "corrupt"


def test_png_with_garbage_image_data() -> None:
    assert _blank_reason(_raw_png(600, 200, b"\x78\x9c" + b"\xde\xad\xbe\xef" * 50)) == "corrupt"


def test_png_too_small() -> None:
    im = Image.new("L", (49, 30), 0)
    with pytest.raises(Unprocessable) as refused:
        check_signature_png(_png(im))
    assert refused.value.detail == {"reason": "too_small", "width": 49, "height": 30}
    assert _blank_reason(_png(Image.new("L", (300, 19), 0))) == "too_small"


# --- too large ---------------------------------------------------------------------------------


def test_too_many_bytes() -> None:
    with pytest.raises(TooLarge) as refused:
        check_signature_png(b"\x89PNG\r\n\x1a\n" + b"\x00" * 600_000)
    assert refused.value.http_status == 413
    assert refused.value.detail == {"size": 600_008, "max_bytes": 512_000}


def test_byte_limit_is_configurable() -> None:
    data = _png(_signature())
    assert check_signature_png(data, max_bytes=len(data)) == (600, 200)
    with pytest.raises(TooLarge):
        check_signature_png(data, max_bytes=len(data) - 1)


def test_huge_declared_ihdr_refused_before_decoding() -> None:
    # A 70-byte file claiming 100000x100000 RGBA (40 GB decoded).
    data = _raw_png(100_000, 100_000, zlib.compress(b"\x00" * 16))
    assert len(data) < 100
    start = time.perf_counter()
    with pytest.raises(TooLarge) as refused:
        check_signature_png(data)
    elapsed_ms = (time.perf_counter() - start) * 1000
    assert refused.value.code == "TOO_LARGE"
    assert (refused.value.detail["width"], refused.value.detail["height"]) == (100_000, 100_000)
    assert elapsed_ms < 50


def test_pixel_limit_is_configurable() -> None:
    data = _png(_signature((600, 200)))
    assert check_signature_png(data, max_pixels=120_000) == (600, 200)
    with pytest.raises(TooLarge):
        check_signature_png(data, max_pixels=119_999)


def test_load_truncated_images_must_stay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        check_signature_png(_png(_signature()))


# --- which images are checked without a worker thread ------------------------------------------


def test_a_pad_sized_signature_is_checked_inline() -> None:
    assert inline_ok(_png(_signature((600, 400))))
    assert inline_ok(_raw_png(INLINE_MAX_PIXELS // 100, 100, zlib.compress(b"")))


def test_a_larger_image_goes_to_a_thread() -> None:
    assert not inline_ok(_png(_signature((601, 400))))
    assert not inline_ok(_raw_png(INLINE_MAX_PIXELS // 100 + 1, 100, zlib.compress(b"")))
    assert not inline_ok(_raw_png(100_000, 100_000, zlib.compress(b"\x00" * 16)))


@pytest.mark.parametrize("data", [b"", b"\x89PNG\r\n\x1a\n", b"GIF89a" + b"\x00" * 40,
                                  b"\x89PNG\r\n\x1a\n" + _chunk(b"tEXt", b"abcdefgh") + b"\x00" * 8])
def test_anything_odd_goes_to_a_thread(data: bytes) -> None:
    # Not a PNG, cut short, or a first chunk that is not IHDR: the full check (in a thread) decides.
    assert not inline_ok(data)
