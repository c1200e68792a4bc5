"""`inspect_and_thumbnail`, the single-decode intake step: the same facts and thumbnail as
`inspect_image` + `make_thumbnail`, the same refusals, and one decode per photo."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from backend.evidence import imaging
from backend.evidence.imaging import JPEG, PNG, inspect_and_thumbnail, inspect_image, make_thumbnail

REPO = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("FIELDCHECK_SAMPLES_DIR") or REPO.parent / "shared" / "samples" / "exif").resolve()
LIMIT = imaging.DEFAULT_MAX_PIXELS
# A representative spread: GPS JPEGs, phones, every orientation, HEIC, PNG, hostile EXIF.
PICKS = [
    "jpg/gps/DSCN0010.jpg",
    "jpg/mobile/HMD_Nokia_8.3_5G.jpg",
    *(f"jpg/orientation/{shape}_{n}.jpg" for shape in ("portrait", "landscape") for n in range(1, 9)),
    "jpg/tests/87_OSError.jpg",
    "jpg/Canon_40D.jpg",
]
EXTRA = sorted(p.relative_to(SAMPLES).as_posix() for p in SAMPLES.rglob("*")
               if p.suffix.lower() in (".heic", ".png")) if SAMPLES.is_dir() else []


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == "JPEG" and im.mode == "RGB"
    return im


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
@pytest.mark.parametrize("rel", PICKS + EXTRA[:6])
def test_same_as_the_two_step_functions(rel: str) -> None:
    path = SAMPLES / rel
    assert path.is_file(), f"sample {rel} missing from {SAMPLES} (set FIELDCHECK_SAMPLES_DIR)"
    media_type = imaging.sniff_media_type(path.read_bytes()[: imaging.SNIFF_BYTES])
    assert media_type is not None
    info, thumb = inspect_and_thumbnail(path, media_type, max_pixels=LIMIT)
    assert info == inspect_image(path, media_type, max_pixels=LIMIT)
    one, two = _open(thumb), _open(make_thumbnail(path, media_type, max_pixels=LIMIT))
    assert one.size == two.size and max(one.size) <= imaging.THUMBNAIL_MAX_PX
    assert ImageStat.Stat(ImageChops.difference(one.convert("L"), two.convert("L"))).mean[0] < 3
    # Upright: the thumbnail's shape is the oriented one.
    if info.oriented_width != info.oriented_height:
        assert (one.width > one.height) == (info.oriented_width > info.oriented_height)


def test_one_decode_per_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = imaging._decode
    monkeypatch.setattr(imaging, "_decode", lambda im: (calls.append(im), real(im)))
    inspect_and_thumbnail(SAMPLES / "jpg/gps/DSCN0010.jpg", JPEG, max_pixels=LIMIT)
    assert len(calls) == 1


def _jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("fraction", [0.95, 0.6, 0.2])
def test_truncated_jpeg_is_corrupt(tmp_path: Path, fraction: float) -> None:
    # Large enough that the thumbnail decode runs at a reduced DCT scale.
    whole = _jpeg((2400, 1800))
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[: int(len(whole) * fraction)])
    with pytest.raises(imaging.Unprocessable) as refused:
        inspect_and_thumbnail(path, JPEG, max_pixels=LIMIT)
    assert refused.value.code == "IMAGE_CORRUPT" and refused.value.http_status == 422


def test_truncated_real_photo_is_corrupt(tmp_path: Path) -> None:
    whole = (SAMPLES / "jpg/gps/DSCN0010.jpg").read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(imaging.Unprocessable) as refused:
        inspect_and_thumbnail(path, JPEG, max_pixels=LIMIT)
    assert refused.value.code == "IMAGE_CORRUPT"


def _png_bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width = height = 50_000
    rows = bytes(1 + (width + 7) // 8) * 1000
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(rows) for _ in range(height // 1000)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_bomb_refused_before_any_decode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_bomb())

    def no_decode(im: object) -> None:
        raise AssertionError("decoded a bomb")

    monkeypatch.setattr(imaging, "_decode", no_decode)
    with pytest.raises(imaging.TooLarge) as refused:
        inspect_and_thumbnail(path, PNG, max_pixels=LIMIT)
    assert refused.value.code == "TOO_LARGE"
    assert refused.value.detail["width"] == 50_000
    # A JPEG over a configured limit, likewise.
    jpeg = tmp_path / "big.jpg"
    jpeg.write_bytes(_jpeg((400, 300)))
    with pytest.raises(imaging.TooLarge):
        inspect_and_thumbnail(jpeg, JPEG, max_pixels=1000)


def test_content_must_match_the_type(tmp_path: Path) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(_jpeg((64, 48)))
    with pytest.raises(imaging.UnsupportedMediaType):
        inspect_and_thumbnail(path, PNG, max_pixels=LIMIT)
