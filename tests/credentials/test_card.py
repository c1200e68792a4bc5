"""The printable credential card: ID-1 at 300 dpi, CJK text, a scannable QR code."""

from __future__ import annotations

import base64
import io
import json
from datetime import date
from pathlib import Path

import pytest
import segno
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageFont

from backend.credentials import card as card_module
from backend.credentials import fonts as fonts_module
from backend.credentials.card import CARD_SIZE_PX, KIND_TITLES, find_cjk_font, render_card

MM_PER_INCH = 25.4
LONG_AGENCY = (
    "沈阳市沈北新区辉山经济技术开发区应急管理综合行政执法大队第一中队"
    "（道义街道办事处安全生产监督管理站、蒲河新城化工园区安全监管办公室联合派驻组）"
)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_verification_url(base: str = "http://127.0.0.1:8000") -> str:
    """A realistic qr_text: {public_base_url}/v/{compact JWS, EdDSA with kid} of about 450 characters."""
    header = {"alg": "EdDSA", "kid": "cred-2026-01-7f3a9c", "typ": "JWT"}
    payload = {
        "iss": base,
        "jti": "9b2d6a3e-1c4f-4e8b-8d2a-7f5e3c1b0a99",
        "sub": "3f6f1f8e-6f0c-4c7e-9a55-2b1f0d7a9e41",
        "num": "LNJ-2026-000017-X",
        "knd": "technical_inspector",
        "agc": "210100",
        "iat": 1767571200,
        "exp": 1862265600,
    }
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    signature = Ed25519PrivateKey.generate().sign(signing_input.encode("ascii"))
    return f"{base}/v/{signing_input}.{_b64url(signature)}"


@pytest.fixture(scope="module")
def qr_text() -> str:
    url = make_verification_url()
    assert 400 <= len(url) <= 500, len(url)
    assert url.count(".") >= 4  # host dots + the two JWS separators
    return url


def render(qr_text: str, **overrides: object) -> bytes:
    fields: dict[str, object] = {
        "holder_name": "张伟",
        "number": "LNJ-2026-000017-X",
        "kind": "technical_inspector",
        "agency_name": "沈阳市应急管理综合行政执法队",
        "valid_from": date(2026, 1, 5),
        "valid_until": date(2029, 1, 4),
        "qr_text": qr_text,
    }
    fields.update(overrides)
    return render_card(**fields)  # type: ignore[arg-type]


def open_png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def decode_single_qr(image: Image.Image) -> zxingcpp.Barcode:
    barcodes = zxingcpp.read_barcodes(image)
    assert len(barcodes) == 1, [b.text for b in barcodes]
    barcode = barcodes[0]
    assert barcode.valid
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode


def symbol_box(barcode: zxingcpp.Barcode) -> tuple[int, int, int, int]:
    position = barcode.position
    corners = [position.top_left, position.top_right, position.bottom_right, position.bottom_left]
    xs = [p.x for p in corners]
    ys = [p.y for p in corners]
    return min(xs), min(ys), max(xs), max(ys)


def is_pure_white(image: Image.Image, box: tuple[int, int, int, int]) -> bool:
    region = image.convert("RGB").crop(box)
    return region.getextrema() == ((255, 255), (255, 255), (255, 255))


def assert_quiet_zone_white(image: Image.Image, barcode: zxingcpp.Barcode, text: str) -> None:
    """The 4-module quiet zone around the symbol contains nothing but white pixels."""
    modules = segno.make(text, error="m", boost_error=False).symbol_size(scale=1, border=0)[0]
    x0, y0, x1, y1 = symbol_box(barcode)
    module_px = (x1 - x0) / modules
    assert module_px >= 2.5  # printable: ≥ 0.2 mm per module at 300 dpi
    quiet = round(4 * module_px)
    slack = 2  # zxing's corners are within a pixel or so of the symbol edge
    bands = [
        (x0 - quiet, y0 - quiet, x1 + quiet, y0 - slack),  # above
        (x0 - quiet, y1 + slack, x1 + quiet, y1 + quiet),  # below
        (x0 - quiet, y0 - quiet, x0 - slack, y1 + quiet),  # left
        (x1 + slack, y0 - quiet, x1 + quiet, y1 + quiet),  # right
    ]
    width, height = image.size
    for band in bands:
        assert min(band[0], band[1]) >= 0, band
        assert band[2] <= width, band
        assert band[3] <= height, band
        assert is_pure_white(image, band), f"quiet zone not white in {band}"


# --- geometry, metadata ----------------------------------------------------------------------


def test_card_is_id1_at_300_dpi(qr_text: str) -> None:
    image = open_png(render(qr_text))
    assert image.format == "PNG"
    assert image.size == (1011, 638) == CARD_SIZE_PX
    # 85.60 × 53.98 mm at 300 dpi
    assert round(85.60 / MM_PER_INCH * 300) == 1011
    assert round(53.98 / MM_PER_INCH * 300) == 638
    dpi = image.info["dpi"]
    assert dpi[0] == pytest.approx(300, abs=0.5)
    assert dpi[1] == pytest.approx(300, abs=0.5)
    assert image.mode == "RGB"


def test_qr_decodes_to_exactly_the_qr_text(qr_text: str) -> None:
    image = open_png(render(qr_text))
    barcode = decode_single_qr(image)
    assert barcode.text == qr_text
    assert barcode.ec_level == "M"


def test_qr_is_at_least_20_mm_wide_with_a_4_module_quiet_zone(qr_text: str) -> None:
    image = open_png(render(qr_text))
    barcode = decode_single_qr(image)
    x0, y0, x1, y1 = symbol_box(barcode)
    width_mm = (x1 - x0 + 1) / 300 * MM_PER_INCH
    height_mm = (y1 - y0 + 1) / 300 * MM_PER_INCH
    assert width_mm >= 20.0, width_mm
    assert height_mm >= 20.0, height_mm
    assert x1 < image.width
    assert y1 < image.height
    assert_quiet_zone_white(image, barcode, qr_text)


def test_short_qr_text_gets_a_bigger_code(qr_text: str) -> None:
    short = "http://127.0.0.1:8000/v/abc"
    small = decode_single_qr(open_png(render(short)))
    large = decode_single_qr(open_png(render(qr_text)))
    assert small.text == short
    assert symbol_box(small)[2] - symbol_box(small)[0] >= 236
    # fewer modules → each module drawn larger, but the code never exceeds its column
    assert symbol_box(small)[2] - symbol_box(small)[0] <= 400
    assert symbol_box(large)[2] - symbol_box(large)[0] <= 400


# --- long text -------------------------------------------------------------------------------


@pytest.mark.parametrize("with_photo", [False, True])
def test_long_agency_and_name_still_fit_and_decode(qr_text: str, with_photo: bool) -> None:
    photo = Image.new("RGB", (600, 800), (200, 40, 40)) if with_photo else None
    data = render(
        qr_text,
        holder_name="阿不都热合曼·买买提明·艾力江·库尔班·吐尔逊托合提",
        agency_name=LONG_AGENCY * 2,
        number="LNS-2026-999999-7",
        kind="social_supervisor",
        photo=photo,
    )
    image = open_png(data)
    assert image.size == (1011, 638)
    barcode = decode_single_qr(image)
    assert barcode.text == qr_text
    # nothing written into the QR code's quiet zone ...
    assert_quiet_zone_white(image, barcode, qr_text)
    # ... nor below the last field, down to the cutting guide
    assert is_pure_white(image, (20, 612, 991, 628))
    # the text column really has text in it (the agency lines are drawn, not dropped)
    assert not is_pure_white(image, (card_module._MARGIN, 400, 600, 560))


def test_wrapping_never_exceeds_the_column() -> None:
    fitted = card_module._fit(LONG_AGENCY, 300, start=32, single_line_min=28, min_size=20, max_lines=3)
    assert 1 <= len(fitted.lines) <= 3
    for line in fitted.lines:
        assert card_module._width(fitted.style, line) <= 300
    short = card_module._fit("沈阳市应急管理局", 300, start=32, single_line_min=28, min_size=20, max_lines=3)
    assert short.lines == ["沈阳市应急管理局"]
    assert short.style.size == 32
    latin = card_module._fit(
        "Shenyang Emergency Management Comprehensive Administrative Law Enforcement Detachment",
        300,
        start=32,
        single_line_min=28,
        min_size=20,
        max_lines=2,
    )
    assert all(card_module._width(latin.style, line) <= 300 for line in latin.lines)
    assert latin.lines[0].split()[0] == "Shenyang"  # words are not cut in the middle


def test_control_characters_are_flattened(qr_text: str) -> None:
    assert card_module._clean("沈阳市\n应急\t管理局\u202e\x00") == "沈阳市 应急 管理局"
    decode_single_qr(open_png(render(qr_text, agency_name="沈阳市\n应急管理局\r\n")))


# --- content ---------------------------------------------------------------------------------


def test_kinds_have_their_own_title_and_colour(qr_text: str) -> None:
    inspector = open_png(render(qr_text, kind="technical_inspector"))
    supervisor = open_png(render(qr_text, kind="social_supervisor"))
    assert KIND_TITLES == {"technical_inspector": "技术检查员证", "social_supervisor": "社会监督员证"}
    r, g, b = inspector.getpixel((30, 150))
    assert b > r
    assert b > g
    r, g, b = supervisor.getpixel((30, 150))
    assert g > r
    assert g > b
    # white text on the header: the title line differs (other characters), the issuer line does not
    assert differing_ink(inspector, supervisor, (150, 80, 860, 160)) > 0.05
    assert differing_ink(inspector, supervisor, (150, 15, 860, 75)) < 0.005


def differing_ink(a: Image.Image, b: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Fraction of pixels in `box` that are white-ish text in one image and not in the other."""
    ink_a = a.crop(box).convert("L").point(lambda v: 255 if v > 200 else 0).tobytes()
    ink_b = b.crop(box).convert("L").point(lambda v: 255 if v > 200 else 0).tobytes()
    return sum(x != y for x, y in zip(ink_a, ink_b, strict=True)) / len(ink_a)


def test_holder_name_is_drawn(qr_text: str) -> None:
    one = open_png(render(qr_text, holder_name="张伟"))
    other = open_png(render(qr_text, holder_name="李娜"))
    name_box = (card_module._MARGIN, 200, 500, 290)
    assert not is_pure_white(one, name_box)
    assert one.crop(name_box).tobytes() != other.crop(name_box).tobytes()
    # everything outside the fields is identical: the name does not move anything else
    assert one.crop((0, 300, 1011, 638)).tobytes() == other.crop((0, 300, 1011, 638)).tobytes()


def test_photo_is_placed(qr_text: str) -> None:
    photo = Image.new("RGB", (300, 400), (220, 30, 30))
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG")
    image = open_png(render(qr_text, photo=buffer.getvalue())).convert("RGB")
    r, g, b = image.getpixel((card_module._MARGIN + 90, card_module._BODY_TOP + 120))
    assert r > 180
    assert g < 80
    assert b < 80
    assert decode_single_qr(image).text == qr_text
    without = open_png(render(qr_text)).convert("RGB")
    assert without.getpixel((card_module._MARGIN + 90, card_module._BODY_TOP + 120)) != (r, g, b)


def test_cjk_font_is_a_real_cjk_face() -> None:
    font = find_cjk_font()
    assert Path(font.path).is_file()
    assert "CJK" in font.family or "SC" in font.family
    assert font.family.endswith("SC")  # Simplified Chinese forms
    face = ImageFont.truetype(font.path, 48, index=font.index)
    tofu = face.getmask("\U0010fffd")
    for char in "辽宁省应急管理技术检查员证社会监督":
        mask = face.getmask(char)
        assert mask.getbbox() is not None
        assert bytes(mask) != bytes(tofu) or mask.size != tofu.size, char
    bold = find_cjk_font(True)
    assert "Bold" in Path(bold.path).name
    assert not bold.synthetic_bold


# --- refusals --------------------------------------------------------------------------------


def test_unknown_kind(qr_text: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        render(qr_text, kind="officer")


def test_validity_must_not_end_before_it_starts(qr_text: str) -> None:
    with pytest.raises(ValueError, match="valid_until"):
        render(qr_text, valid_from=date(2026, 2, 1), valid_until=date(2026, 1, 31))


@pytest.mark.parametrize("field", ["holder_name", "number"])
def test_empty_name_or_number(qr_text: str, field: str) -> None:
    with pytest.raises(ValueError):
        render(qr_text, **{field: " \n "})


@pytest.mark.parametrize("length", [1200, 2000, 5000])
def test_qr_text_too_long_for_the_card(length: int) -> None:
    with pytest.raises(ValueError, match="20 mm"):
        render("http://127.0.0.1:8000/v/" + ("A1b2C3d4" * 1000)[:length])


def test_unreadable_photo(qr_text: str) -> None:
    with pytest.raises(ValueError, match="photo"):
        render(qr_text, photo=b"not an image")


# --- font discovery --------------------------------------------------------------------------


@pytest.fixture
def fresh_font_cache():
    card_module.find_cjk_font.cache_clear()
    yield
    card_module.find_cjk_font.cache_clear()


@pytest.mark.usefixtures("fresh_font_cache")
def test_no_cjk_font_is_a_clear_runtime_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qr_text: str
) -> None:
    (tmp_path / "NotoSansCJK-Broken.ttc").write_bytes(b"this is not a font")  # skipped, not a crash
    monkeypatch.setattr(fonts_module, "_FONT_FILES", {False: ("/nonexistent/a.ttc",), True: ()})
    monkeypatch.setattr(fonts_module, "_FONT_SEARCH_ROOTS", (str(tmp_path), "/nonexistent"))
    with pytest.raises(RuntimeError, match="fonts-noto-cjk"):
        find_cjk_font()
    with pytest.raises(RuntimeError, match="apt-get install -y fonts-noto-cjk"):
        render(qr_text)


@pytest.mark.usefixtures("fresh_font_cache")
def test_font_found_by_search_when_not_at_the_usual_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qr_text: str
) -> None:
    real = Path(find_cjk_font(False).path)
    card_module.find_cjk_font.cache_clear()
    elsewhere = tmp_path / "fonts" / "cjk"
    elsewhere.mkdir(parents=True)
    (elsewhere / "NotoSansCJK-Regular.ttc").symlink_to(real)
    monkeypatch.setattr(fonts_module, "_FONT_FILES", {False: ("/nonexistent/a.ttc",), True: ()})
    monkeypatch.setattr(fonts_module, "_FONT_SEARCH_ROOTS", (str(tmp_path),))
    found = find_cjk_font(False)
    assert found.path == str(elsewhere / "NotoSansCJK-Regular.ttc")
    assert found.family == "Noto Sans CJK SC"
    # no bold face anywhere: the regular one is emboldened
    bold = find_cjk_font(True)
    assert bold.synthetic_bold
    assert bold.path == found.path
    assert decode_single_qr(open_png(render(qr_text))).text == qr_text
