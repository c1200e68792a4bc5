"""Evidence photos through the API (API.md §Evidence photos), on SpatiaLite and PostGIS: the upload
and its receipt, storage, flags, every refusal, idempotency, custody, lists, GeoJSON, and who may
see or send what."""

from __future__ import annotations

import hashlib
import io
import struct
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from PIL import Image

from backend.core.clock import LOCAL_TZ
from backend.evidence.storage import EvidenceStore
from tests.conftest import SAMPLES, demo_id
from tests.inspections.helpers import SITE_LAT, SITE_LON, Flow, iso, position

pytestmark = pytest.mark.db

M_PER_DEG_LAT = 111_320.0
M_PER_DEG_LON = 111_320.0 * 0.7455  # at 41.8° N


# --- photos -------------------------------------------------------------------------------------


def offset(dx_m: float = 0.0, dy_m: float = 0.0) -> tuple[float, float]:
    """(lon, lat) dx_m east and dy_m north of the site."""
    return SITE_LON + dx_m / M_PER_DEG_LON, SITE_LAT + dy_m / M_PER_DEG_LAT


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60, 4)
    return float(d), float(m), s


def photo(*, gps: tuple[float, float] | None = None, taken: datetime | None = None, with_offset: bool = True,
          software: str | None = None, size: tuple[int, int] = (640, 480), fmt: str = "JPEG") -> bytes:
    """A small photo-like image (random noise: every call gives new bytes) with the EXIF asked for.
    `taken` is written as local (Asia/Shanghai) wall-clock time, with "+08:00" if `with_offset`."""
    im = Image.merge("RGB", [Image.effect_noise(size, 60) for _ in range(3)])
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "2211133C"
    if software:
        exif[0x0131] = software
    sub: dict[int, Any] = {}
    if taken is not None:
        local = taken.astimezone(LOCAL_TZ).strftime("%Y:%m:%d %H:%M:%S")
        exif[0x0132] = local
        sub[0x9003] = local
        if with_offset:
            sub[0x9011] = "+08:00"
    if sub:
        exif[0x8769] = sub
    if gps is not None:
        lon, lat = gps
        exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)}
    out = io.BytesIO()
    im.save(out, fmt, exif=exif, quality=85) if fmt == "JPEG" else im.save(out, fmt)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, idat: bytes, *, bit_depth: int = 8, color_type: int = 0) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def png_bomb() -> bytes:
    """A valid PNG of 50000x50000 1-bit pixels (2.5 gigapixels) in ~300 kB."""
    width = height = 50_000
    rows = bytes(1 + (width + 7) // 8) * 1000
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(rows) for _ in range(height // 1000)) + deflate.flush()
    return png_declaring(width, height, idat, bit_depth=1)


# --- requests -----------------------------------------------------------------------------------


class Uploader:
    def __init__(self, client: Any, token_for: Any, clock: Any) -> None:
        self.client = client
        self.token_for = token_for
        self.clock = clock

    def fields(self, data: bytes, **over: Any) -> dict[str, str]:
        lon, lat = offset()
        fields: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": iso(self.clock.now()),
                                  "lon": lon, "lat": lat, "crs": "wgs84", "accuracy_m": 8.0, "note": "东侧储罐区"}
        fields.update(over)
        return {k: str(v) for k, v in fields.items() if v is not None}

    async def upload(self, iid: str, data: bytes, who: str = "sy.officer1", *, filename: str = "IMG_0001.jpg",
                     headers: dict[str, str] | None = None, **over: Any) -> Any:
        return await self.client.post(
            f"/api/v1/inspections/{iid}/evidence", files={"file": (filename, data, "image/jpeg")},
            data=self.fields(data, **over), headers={**self.token_for(who), **(headers or {})})


@pytest.fixture
def flow(client, token_for, clock) -> Flow:
    return Flow(client, token_for, clock)


@pytest.fixture
def up(client, token_for, clock) -> Uploader:
    return Uploader(client, token_for, clock)


def good_photo(clock: Any, dx_m: float = 10.0, dy_m: float = 5.0) -> bytes:
    return photo(gps=offset(dx_m, dy_m), taken=clock.now())


def assert_error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert set(body) == {"status", "code", "message", "message_zh", "article", "detail"}
    return body


# --- the main flow ------------------------------------------------------------------------------


async def test_upload_read_custody_and_receipt(client, flow, up, token_for, clock, settings, integrate):
    ins = await flow.started()
    iid = ins["id"]
    data = good_photo(clock)
    sha = hashlib.sha256(data).hexdigest()

    r = await up.upload(iid, data, headers={"User-Agent": "FieldcheckApp/1.0 (Android 14)"})
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["sha256"] == sha and ev["size"] == len(data) and ev["media_type"] == "image/jpeg"
    assert (ev["width"], ev["height"]) == (640, 480)
    assert ev["exif"]["make"] == "Xiaomi" and ev["exif"]["model"] == "2211133C"
    assert ev["exif"]["taken_at"] == iso(clock.now()) and ev["exif"]["taken_at_has_offset"] is True
    assert ev["location"]["source"] == "exif"
    assert abs(ev["location"]["lon"] - offset(10, 5)[0]) < 1e-5
    assert 9 < ev["distance_to_site_m"] < 14
    assert ev["flags"] == []
    assert ev["inspection_id"] == iid and ev["uploaded_by"] == str(demo_id("sy.officer1"))
    assert ev["note"] == "东侧储罐区"
    assert ev["thumbnail_url"] == f"/api/v1/evidence/{ev['id']}/thumbnail"
    assert ev["original_url"] == f"/api/v1/evidence/{ev['id']}/original"
    assert r.headers["location"] == f"/api/v1/evidence/{ev['id']}"

    # The receipt verifies with the published seal keys and states what was received.
    keys = (await client.get("/api/v1/evidence/keys")).json()["keys"]
    header = jwt.get_unverified_header(ev["receipt"])
    assert header["alg"] == "EdDSA"
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    claims = jwt.decode(ev["receipt"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    assert claims["sha256"] == sha and claims["size"] == len(data)
    assert claims["evidence_id"] == ev["id"] and claims["inspection_id"] == iid
    assert claims["uploader"] == str(demo_id("sy.officer1"))
    assert claims["received_at"] == iso(clock.now())
    tampered = ev["receipt"][:-4] + ("AAAA" if not ev["receipt"].endswith("AAAA") else "BBBB")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(tampered, jwt.PyJWK(jwk).key, algorithms=["EdDSA"])

    # Stored content-addressed, with its thumbnail.
    store = EvidenceStore(settings.data_dir)
    assert store.original_path(sha).read_bytes() == data
    assert store.original_path(sha).parent == Path(settings.data_dir) / "evidence" / sha[:2] / sha[2:4]
    assert store.thumbnail_path(sha).is_file()

    # Metadata read.
    r = await client.get(f"/api/v1/evidence/{ev['id']}", headers=token_for("sy.officer2"))
    assert r.status_code == 200 and r.json() == ev

    # The original: exactly the bytes uploaded.
    r = await client.get(ev["original_url"], headers={**token_for("sy.officer2"), "User-Agent": "curl/8"})
    assert r.status_code == 200
    assert r.content == data and hashlib.sha256(r.content).hexdigest() == sha
    assert r.headers["content-type"].startswith("image/jpeg")
    assert r.headers["etag"] == f'"{sha}"'

    # The thumbnail: a JPEG of at most 512 px.
    r = await client.get(ev["thumbnail_url"], headers=token_for("sy.admin"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/jpeg")
    thumb = Image.open(io.BytesIO(r.content))
    assert thumb.format == "JPEG" and max(thumb.size) <= 512

    # Custody: upload, original read, thumbnail read; oldest first, who, when, from where.
    r = await client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=token_for("sy.officer1"))
    assert r.status_code == 200, r.text
    custody = r.json()
    assert custody["sha256"] == sha and custody["next_cursor"] is None
    items = custody["items"]
    assert [i["action"] for i in items] == ["upload", "read_original", "read_thumbnail"]
    assert [i["seq"] for i in items] == sorted(i["seq"] for i in items)
    assert items[0]["actor"] == str(demo_id("sy.officer1")) and items[0]["actor_role"] == "officer"
    assert items[0]["user_agent"] == "FieldcheckApp/1.0 (Android 14)"
    assert items[0]["detail"]["sha256"] == sha
    assert items[1]["actor"] == str(demo_id("sy.officer2")) and items[1]["user_agent"] == "curl/8"
    assert items[2]["actor"] == str(demo_id("sy.admin")) and items[2]["actor_role"] == "agency_admin"
    assert all(i["client_address"] for i in items)
    assert all(i["at"].endswith("Z") for i in items)

    # Paging the custody log.
    r = await client.get(f"/api/v1/evidence/{ev['id']}/custody?limit=2", headers=token_for("sy.officer1"))
    page = r.json()
    assert [i["action"] for i in page["items"]] == ["upload", "read_original"] and page["next_cursor"]
    r = await client.get(f"/api/v1/evidence/{ev['id']}/custody?limit=2&cursor={page['next_cursor']}",
                         headers=token_for("sy.officer1"))
    assert [i["action"] for i in r.json()["items"]] == ["read_thumbnail"]

    # The upload is in the audit chain, once the sequencer integrated it.
    await integrate()
    r = await client.get("/api/v1/audit?limit=500", headers=token_for("sy.admin"))
    assert r.status_code == 200, r.text
    assert any(e["action"] == "evidence.upload" and e["subject"] == f"evidence:{ev['id']}" for e in r.json()["items"])


async def test_same_photo_again_is_the_same_record(client, flow, up, token_for, clock):
    iid = (await flow.started())["id"]
    data = good_photo(clock)
    first = await up.upload(iid, data)
    assert first.status_code == 201, first.text
    # Same bytes, even with other form values (a retry after a lost response): 200, same record.
    again = await up.upload(iid, data, note="retry", accuracy_m=30)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    other = await up.upload(iid, good_photo(clock))
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]

    r = await client.get(f"/api/v1/evidence/{first.json()['id']}/custody", headers=token_for("sy.officer1"))
    assert [i["action"] for i in r.json()["items"]] == ["upload", "duplicate_upload"]
    r = await client.get(f"/api/v1/inspections/{iid}/evidence", headers=token_for("sy.officer1"))
    assert sorted(i["id"] for i in r.json()["items"]) == sorted([first.json()["id"], other.json()["id"]])

    # The same photo for another inspection is another record (the file is stored once).
    iid2 = (await flow.started())["id"]
    r = await up.upload(iid2, data)
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]


async def test_client_id_and_idempotency_key(client, flow, up, token_for, clock):
    iid = (await flow.started())["id"]
    client_id = str(uuid.uuid4())
    data = good_photo(clock)
    r = await up.upload(iid, data, id=client_id)
    assert r.status_code == 201, r.text
    assert r.json()["id"] == client_id
    r2 = await up.upload(iid, data, id=client_id)
    assert r2.status_code == 200 and r2.json() == r.json()
    # The same id for another photo: refused.
    r = await up.upload(iid, good_photo(clock), id=client_id)
    assert_error(r, 409, "ID_CONFLICT")

    # Idempotency-Key (what the offline sync engine uses: "op:<op_id>").
    op = f"op:{uuid.uuid4()}"
    data = good_photo(clock)
    r = await up.upload(iid, data, headers={"Idempotency-Key": op})
    assert r.status_code == 201, r.text
    r2 = await up.upload(iid, data, headers={"Idempotency-Key": op})
    assert r2.status_code == 200 and r2.json() == r.json()
    assert r2.headers.get("idempotent-replayed") == "true"
    r3 = await up.upload(iid, good_photo(clock), headers={"Idempotency-Key": op})
    assert_error(r3, 409, "ID_CONFLICT")


# --- flags --------------------------------------------------------------------------------------


async def flags_of(up: Uploader, iid: str, data: bytes, **over: Any) -> dict[str, Any]:
    r = await up.upload(iid, data, **over)
    assert r.status_code == 201, r.text
    return r.json()


async def test_flags(flow, up, clock):
    iid = (await flow.started())["id"]
    now = clock.now()

    # NO_GPS: the location is the device's.
    ev = await flags_of(up, iid, photo(taken=now))
    assert ev["flags"] == ["NO_GPS"]
    assert ev["location"]["source"] == "device" and ev["exif"]["lon"] is None
    assert ev["distance_to_site_m"] < 1

    # OUTSIDE_SITE: 1 km east, both positions agree.
    far = offset(1000, 0)
    ev = await flags_of(up, iid, photo(gps=far, taken=now), lon=far[0], lat=far[1])
    assert ev["flags"] == ["OUTSIDE_SITE"]
    assert 990 < ev["distance_to_site_m"] < 1010

    # The tolerance is radius_m (200) + min(accuracy_m, 100): 250 m out is inside with 80 m accuracy,
    # outside with 20 m, and inside with any accuracy above 100 only up to 300 m.
    p250 = offset(0, 250)
    ev = await flags_of(up, iid, photo(taken=now), lon=p250[0], lat=p250[1], accuracy_m=80)
    assert ev["flags"] == ["NO_GPS"] and ev["checks"]["site_tolerance_m"] == 280
    ev = await flags_of(up, iid, photo(taken=now), lon=p250[0], lat=p250[1], accuracy_m=20)
    assert ev["flags"] == ["NO_GPS", "OUTSIDE_SITE"]
    p350 = offset(0, 350)
    ev = await flags_of(up, iid, photo(taken=now), lon=p350[0], lat=p350[1], accuracy_m=5000)
    assert ev["flags"] == ["NO_GPS", "OUTSIDE_SITE"] and ev["checks"]["site_tolerance_m"] == 300

    # EXIF_DEVICE_MISMATCH: EXIF at the site, the phone 150 m away (inside the site).
    dev = offset(0, 150)
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now), lon=dev[0], lat=dev[1])
    assert ev["flags"] == ["EXIF_DEVICE_MISMATCH"]
    assert 145 < ev["checks"]["exif_device_distance_m"] < 155
    # 80 m apart is not a mismatch.
    dev = offset(0, 80)
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now), lon=dev[0], lat=dev[1])
    assert ev["flags"] == []

    # TIME_MISMATCH: EXIF time 30 minutes before captured_at ...
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now - timedelta(minutes=30)))
    assert ev["flags"] == ["TIME_MISMATCH"] and ev["checks"]["exif_time_offset_s"] == 1800
    # ... 9 minutes is fine ...
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now - timedelta(minutes=9)))
    assert ev["flags"] == []
    # ... or captured_at outside the inspection (2 h before it started; no EXIF time at all).
    ev = await flags_of(up, iid, photo(gps=offset()), captured_at=iso(now - timedelta(hours=2)))
    assert ev["flags"] == ["TIME_MISMATCH"]
    assert ev["checks"]["window_start"] == iso(now - timedelta(minutes=10))

    # A camera time without an offset is Asia/Shanghai wall-clock time: no mismatch ...
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now, with_offset=False))
    assert ev["flags"] == [] and ev["exif"]["taken_at_has_offset"] is False
    assert ev["exif"]["taken_at"] == iso(now)
    # ... and a captured_at given with any offset is the same instant.
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now),
                        captured_at=now.astimezone(LOCAL_TZ).isoformat())
    assert ev["flags"] == []

    # EDITED: EXIF Software names an editor.
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now, software="Adobe Photoshop 25.0 (Windows)"))
    assert ev["flags"] == ["EDITED"] and ev["exif"]["software"] == "Adobe Photoshop 25.0 (Windows)"
    ev = await flags_of(up, iid, photo(gps=offset(), taken=now, software="HDR+ 1.0.540104767zd"))
    assert ev["flags"] == []

    # Everything at once, in API.md's order.
    far = offset(2000, 0)
    ev = await flags_of(up, iid, photo(taken=now - timedelta(hours=1), software="Snapseed 2.0"),
                        lon=far[0], lat=far[1])
    assert ev["flags"] == ["NO_GPS", "OUTSIDE_SITE", "TIME_MISMATCH", "EDITED"]
    far_exif = offset(3000, 0)
    ev = await flags_of(up, iid, photo(gps=far_exif, taken=now))
    assert ev["flags"] == ["OUTSIDE_SITE", "EXIF_DEVICE_MISMATCH"]


async def test_gcj02_device_position_is_converted(flow, up, clock):
    iid = (await flow.started())["id"]
    p = position(30, 0, crs="gcj02")  # what AMap reports 30 m east of the site (≈ 500 m off raw)
    ev = await flags_of(up, iid, photo(taken=clock.now()), lon=p["lon"], lat=p["lat"], crs="gcj02")
    assert ev["device_position"]["reported_crs"] == "gcj02" and ev["device_position"]["crs"] == "wgs84"
    assert ev["location"]["source"] == "device"
    assert 25 < ev["distance_to_site_m"] < 35
    assert ev["flags"] == ["NO_GPS"]


async def test_png_upload(flow, up, clock):
    iid = (await flow.started())["id"]
    r = await up.upload(iid, photo(fmt="PNG", size=(300, 200)), filename="screen.png")
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == "image/png" and r.json()["flags"] == ["NO_GPS"]


# --- refusals -----------------------------------------------------------------------------------


async def test_refusals(client, flow, up, token_for, clock, settings):
    iid = (await flow.started())["id"]
    data = good_photo(clock)

    # The hash computed on the phone must be that of the bytes received.
    body = assert_error(await up.upload(iid, data, sha256="0" * 64), 422, "HASH_MISMATCH")
    assert body["detail"]["received"] == hashlib.sha256(data).hexdigest()
    body = assert_error(await up.upload(iid, data[:-10]  # a cut transfer, hash of the whole
                                        , sha256=hashlib.sha256(data).hexdigest()), 422, "HASH_MISMATCH")

    # Not an image, whatever the name says.
    text = b"this is not a photo, despite the name\n" * 10
    assert_error(await up.upload(iid, text, filename="photo.jpg"), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(await up.upload(iid, b"GIF89a" + b"\x00" * 100, filename="a.gif"), 415, "UNSUPPORTED_MEDIA_TYPE")

    # A decompression bomb and a PNG declaring a huge size: 413 before decoding.
    body = assert_error(await up.upload(iid, png_bomb(), filename="bomb.png"), 413, "TOO_LARGE")
    assert body["detail"]["width"] == 50_000
    huge = png_declaring(100_000, 100_000, zlib.compress(b"\x00" * 64), color_type=6)
    body = assert_error(await up.upload(iid, huge, filename="huge.png"), 413, "TOO_LARGE")
    assert body["detail"]["pixels"] == 10_000_000_000

    # Truncated JPEG: corrupt.
    cut = data[: len(data) // 2]
    body = assert_error(await up.upload(iid, cut), 422, "IMAGE_CORRUPT")
    assert body["detail"]["reason"]

    # Nothing of the refused uploads stayed behind: no temp files, no rows.
    store = EvidenceStore(settings.data_dir)
    assert list(store.temp_files()) == []
    r = await client.get(f"/api/v1/inspections/{iid}/evidence", headers=token_for("sy.officer1"))
    assert r.json()["items"] == []


async def test_validation_errors(client, flow, up, token_for, clock):
    iid = (await flow.started())["id"]
    data = good_photo(clock)
    url = f"/api/v1/inspections/{iid}/evidence"
    auth = token_for("sy.officer1")

    # Missing fields, all reported at once.
    r = await client.post(url, files={"file": ("a.jpg", data, "image/jpeg")}, headers=auth)
    body = assert_error(r, 422, "VALIDATION_ERROR")
    fields = {e["field"] for e in body["detail"]["errors"]}
    assert {"sha256", "captured_at", "lon", "lat"} <= fields

    # No file.
    r = await client.post(url, files={"note": (None, "x")}, data=up.fields(data), headers=auth)
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert any(e["field"] == "file" and e["code"] == "required" for e in body["detail"]["errors"])

    cases = [
        ({"captured_at": "2026-11-26 10:00:00"}, "captured_at", "timezone_required"),
        ({"captured_at": "yesterday"}, "captured_at", "invalid"),
        ({"lon": "200"}, "lon", "OUT_OF_RANGE"),
        ({"lat": "abc"}, "lat", "type"),
        ({"lat": "nan"}, "lat", "type"),
        ({"lat": None}, "lat", "required"),
        ({"crs": "bd09"}, "crs", "CRS_UNSUPPORTED"),
        ({"accuracy_m": "-1"}, "accuracy_m", "range"),
        ({"sha256": "xyz"}, "sha256", "invalid"),
        ({"id": "not-a-uuid"}, "id", "invalid"),
        ({"note": "长" * 5000}, "note", "too_long"),
        ({"colour": "red"}, "colour", "unknown_field"),
    ]
    for over, field, code in cases:
        r = await up.upload(iid, data, **over)
        body = assert_error(r, 422, "VALIDATION_ERROR")
        assert any(e["field"] == field and e["code"] == code for e in body["detail"]["errors"]), (over, body)

    # Two files in one upload.
    r = await client.post(url, files=[("file", ("a.jpg", data, "image/jpeg")), ("file", ("b.jpg", data, "image/jpeg"))],
                          data=up.fields(data), headers=auth)
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert any(e["field"] == "file" and e["code"] == "duplicate" for e in body["detail"]["errors"])

    # Not multipart at all: a JSON body.
    r = await client.post(url, json={"sha256": "0" * 64}, headers=auth)
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    # A multipart body cut before its closing boundary.
    boundary = "b0undary"
    raw = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n").encode() + data
    r = await client.post(url, content=raw, headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert_error(r, 400, "MALFORMED_MULTIPART")
    r = await client.post(url, content=b"garbage", headers={**auth, "Content-Type": "multipart/form-data"})
    assert_error(r, 400, "MALFORMED_MULTIPART")

    # Bad query parameters and ids.
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?near_lon=123.4", headers=auth)
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert {e["field"] for e in body["detail"]["errors"]} == {"near_lat", "within_m"}
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?near_lon=123.4&near_lat=41.8&within_m=-5", headers=auth)
    assert_error(r, 422, "VALIDATION_ERROR")
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?near_lon=abc&near_lat=41.8&within_m=5", headers=auth)
    assert r.status_code in (400, 422)
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?near_lon=500&near_lat=41.8&within_m=5", headers=auth)
    body = assert_error(r, 422, "VALIDATION_ERROR")
    assert body["detail"]["errors"][0]["field"] == "near_lon"
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?cursor=%%%", headers=auth)
    assert r.status_code == 400
    r = await client.get(f"/api/v1/evidence/{uuid.uuid4()}/custody?cursor=eyJ4IjoxfQ", headers=auth)
    assert r.status_code in (400, 404)
    r = await client.get("/api/v1/evidence/not-a-uuid", headers=auth)
    assert r.status_code in (400, 404)
    r = await client.get(f"/api/v1/evidence/{uuid.uuid4()}", headers=auth)
    assert_error(r, 404, "NOT_FOUND")


async def test_size_limit(keys_dir, db_url, clock, token_for, tmp_path):
    """Over settings.max_upload_bytes: 413, announced (Content-Length) or streamed."""
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.settings import Settings

    small = Settings(database_url=db_url, data_dir=str(keys_dir), demo=True, public_base_url="http://testserver.local",
                     max_upload_bytes=50_000)
    app = create_app(small, clock=clock)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        flow = Flow(client, token_for, clock)
        up = Uploader(client, token_for, clock)
        iid = (await flow.started())["id"]
        big = photo(gps=offset(), taken=clock.now(), size=(1200, 900))
        assert len(big) > 50_000
        assert_error(await up.upload(iid, big), 413, "TOO_LARGE")

        # Streamed without a Content-Length (chunked): counted as it arrives, refused mid-stream.
        from backend.core.errors import TooLarge
        from backend.evidence.upload import receive_upload

        async def chunks():
            fields = up.fields(big)
            boundary = "xyzzy"
            for name, value in fields.items():
                yield f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()
            yield f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n".encode()
            for i in range(0, len(big), 8192):
                yield big[i:i + 8192]
            yield f"\r\n--{boundary}--\r\n".encode()

        with pytest.raises(TooLarge):
            await receive_upload(chunks(), content_type="multipart/form-data; boundary=xyzzy", content_length=None,
                                 store=EvidenceStore(small.data_dir), max_file_bytes=small.max_upload_bytes)
        received = await receive_upload(chunks(), content_type="multipart/form-data; boundary=xyzzy",
                                        content_length=None, store=EvidenceStore(small.data_dir),
                                        max_file_bytes=len(big))
        assert received.sha256 == hashlib.sha256(big).hexdigest() and received.size == len(big)
        assert received.spool_path.read_bytes() == big
        received.spool_path.unlink()
        assert list(EvidenceStore(small.data_dir).temp_files()) == []
        small_photo = photo(gps=offset(), taken=clock.now(), size=(160, 120))
        r = await up.upload(iid, small_photo)
        assert r.status_code == 201, r.text


# --- who may send and see -----------------------------------------------------------------------


async def test_article13_and_roles(client, flow, up, token_for, clock):
    # Planned, not started: a technical inspector may not act (alone or otherwise).
    planned = await flow.create()
    r = await flow.check_in(planned["id"], "sy.inspector.ft")
    assert r.status_code == 201, r.text
    body = assert_error(await up.upload(planned["id"], good_photo(clock), "sy.inspector.ft"), 409, "ART13_ACTING_ALONE")
    assert body["article"] == "13"

    ins = await flow.started()
    iid = ins["id"]
    # In progress, two officers present, credential shown: the inspector may upload.
    r = await up.upload(iid, good_photo(clock), "sy.inspector.ft")
    assert r.status_code == 201, r.text
    # The part-time inspector has not shown a credential: Art. 12.
    r = await flow.check_in(iid, "sy.inspector.pt")
    assert r.status_code == 201, r.text
    assert_error(await up.upload(iid, good_photo(clock), "sy.inspector.pt"), 409, "ART12_CREDENTIAL_NOT_SHOWN")
    # Officer 2 leaves: one officer on site, the inspector would be acting alone.
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", json={"at": iso(clock.now())},
                          headers=token_for("sy.officer2"))
    assert r.status_code in (200, 201), r.text
    body = assert_error(await up.upload(iid, good_photo(clock), "sy.inspector.ft"), 409, "ART13_ACTING_ALONE")
    assert body["article"] == "13"
    # An officer still may.
    r = await up.upload(iid, good_photo(clock), "sy.officer1")
    assert r.status_code == 201, r.text

    # Not enforcement staff, not on the team, another city.
    assert_error(await up.upload(iid, good_photo(clock), "sy.supervisor"), 403, "FORBIDDEN")
    assert_error(await up.upload(iid, good_photo(clock), "sy.officer3"), 403, "FORBIDDEN")
    assert_error(await up.upload(iid, good_photo(clock), "dl.officer1"), 403, "FORBIDDEN")
    assert_error(await up.upload(str(uuid.uuid4()), good_photo(clock)), 404, "NOT_FOUND")
    r = await client.post(f"/api/v1/inspections/{iid}/evidence", files={"file": ("a.jpg", b"x", "image/jpeg")})
    assert_error(r, 401, "UNAUTHENTICATED")


async def test_another_city_sees_nothing(client, flow, up, token_for, clock):
    iid = (await flow.started())["id"]
    r = await up.upload(iid, good_photo(clock))
    ev = r.json()
    dl = token_for("dl.officer1")
    for path in (f"/api/v1/evidence/{ev['id']}", ev["original_url"], ev["thumbnail_url"],
                 f"/api/v1/evidence/{ev['id']}/custody", f"/api/v1/inspections/{iid}/evidence",
                 f"/api/v1/inspections/{iid}/evidence.geojson"):
        assert_error(await client.get(path, headers=dl), 404, "NOT_FOUND")
        r = await client.get(path)
        assert_error(r, 401, "UNAUTHENTICATED")
    # Nothing was recorded for the refused reads.
    r = await client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=token_for("sy.officer1"))
    assert [i["action"] for i in r.json()["items"]] == ["upload"]


async def test_secret_inspection_evidence_is_hidden_from_inspectors(client, flow, up, token_for, clock):
    ins = await flow.create(team=("sy.officer1", "sy.officer2"), classification="secret")
    iid = ins["id"]
    await flow.ready_officers(iid)
    assert (await flow.start(iid)).status_code == 200
    r = await up.upload(iid, good_photo(clock))
    assert r.status_code == 201, r.text
    ev = r.json()
    ft = token_for("sy.inspector.ft")
    for path in (f"/api/v1/evidence/{ev['id']}", ev["original_url"], ev["thumbnail_url"],
                 f"/api/v1/inspections/{iid}/evidence", f"/api/v1/inspections/{iid}/evidence.geojson"):
        r = await client.get(path, headers=ft)
        assert r.status_code in (403, 404), (path, r.text)
        if r.status_code == 403:
            assert r.json()["code"] == "ART13_STATE_SECRET"
        assert "sha256" not in r.text
    assert_error(await up.upload(iid, good_photo(clock), "sy.inspector.ft"), 403, "ART13_STATE_SECRET")


# --- lists, radius queries, GeoJSON ---------------------------------------------------------------


async def test_list_near_and_geojson(client, flow, up, token_for, clock):
    iid = (await flow.started())["id"]
    auth = token_for("sy.officer1")
    ids = {}
    for name, (dx, dy) in {"centre": (0, 0), "east150": (150, 0), "north600": (0, 600)}.items():
        gps = offset(dx, dy)
        r = await up.upload(iid, photo(gps=gps, taken=clock.now()), lon=gps[0], lat=gps[1])
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
    no_position = await up.upload(iid, photo(taken=clock.now()))  # device position: the site
    assert no_position.status_code == 201

    r = await client.get(f"/api/v1/inspections/{iid}/evidence", headers=auth)
    assert r.status_code == 200
    assert len(r.json()["items"]) == 4 and r.json()["next_cursor"] is None

    async def near(lon: float, lat: float, within: float, crs: str = "wgs84") -> set[str]:
        r = await client.get(f"/api/v1/inspections/{iid}/evidence",
                             params={"near_lon": lon, "near_lat": lat, "within_m": within, "near_crs": crs},
                             headers=auth)
        assert r.status_code == 200, r.text
        return {i["id"] for i in r.json()["items"]}

    lon, lat = offset()
    assert await near(lon, lat, 100) == {ids["centre"], no_position.json()["id"]}
    assert await near(lon, lat, 160) == {ids["centre"], ids["east150"], no_position.json()["id"]}
    assert ids["north600"] not in await near(lon, lat, 590)
    assert ids["north600"] in await near(lon, lat, 610)
    e_lon, e_lat = offset(150, 0)
    assert await near(e_lon, e_lat, 10) == {ids["east150"]}
    p = position(150, 0, crs="gcj02")
    assert await near(p["lon"], p["lat"], 10, "gcj02") == {ids["east150"]}

    # Paging.
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?limit=3", headers=auth)
    page = r.json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    r = await client.get(f"/api/v1/inspections/{iid}/evidence?limit=3&cursor={page['next_cursor']}", headers=auth)
    assert len(r.json()["items"]) == 1 and r.json()["next_cursor"] is None

    # GeoJSON (RFC 7946): lon, lat order; its own media type; recorded as an export.
    r = await client.get(f"/api/v1/inspections/{iid}/evidence.geojson", headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 4
    by_id = {f["id"]: f for f in fc["features"]}
    f = by_id[ids["north600"]]
    assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
    lon6, lat6 = offset(0, 600)
    assert f["geometry"]["coordinates"] == pytest.approx([lon6, lat6], abs=1e-6)
    assert f["properties"]["location_source"] == "exif"
    assert f["properties"]["flags"] == ["OUTSIDE_SITE"]
    assert f["properties"]["original_url"].endswith("/original")
    r = await client.get(f"/api/v1/inspections/{iid}/evidence.geojson?near_lon={lon}&near_lat={lat}&within_m=100",
                         headers=auth)
    assert {f["id"] for f in r.json()["features"]} == {ids["centre"], no_position.json()["id"]}
    r = await client.get(f"/api/v1/evidence/{ids['north600']}/custody", headers=auth)
    assert [i["action"] for i in r.json()["items"]] == ["upload", "export"]
    assert r.json()["items"][1]["detail"]["format"] == "geojson"


# --- every real sample --------------------------------------------------------------------------

ALL_SAMPLES = sorted(p for p in SAMPLES.rglob("*") if p.is_file()) if SAMPLES.is_dir() else []


def test_samples_are_there():
    assert len(ALL_SAMPLES) > 40, f"samples missing from {SAMPLES}"


async def test_every_sample_file_through_the_api(client, flow, up, token_for, clock):
    iid = (await flow.started())["id"]
    seen: dict[str, str] = {}
    for path in ALL_SAMPLES:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        r = await up.upload(iid, data, filename=path.name)
        rel = path.relative_to(SAMPLES).as_posix()
        assert r.status_code < 500, (rel, r.text)
        if path.suffix.lower() in (".jpg", ".jpeg", ".heic"):
            # Every real camera file, broken EXIF included, is a valid photo.
            assert r.status_code == (200 if sha in seen else 201), (rel, r.text)
            ev = r.json()
            assert ev["sha256"] == sha
            seen[sha] = ev["id"]
            if path.parent.name == "gps":
                assert ev["location"]["source"] == "exif", rel
                assert 43.4 < ev["location"]["lat"] < 43.5 and 11.8 < ev["location"]["lon"] < 11.95, rel
                assert "OUTSIDE_SITE" in ev["flags"] and "NO_GPS" not in ev["flags"]
                assert ev["distance_to_site_m"] > 7_000_000
            if path.suffix.lower() == ".heic":
                assert ev["media_type"] == "image/heic"
        else:
            assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    # Thumbnails of all of them, and one original back byte for byte.
    auth = token_for("sy.officer1")
    for eid in seen.values():
        r = await client.get(f"/api/v1/evidence/{eid}/thumbnail", headers=auth)
        assert r.status_code == 200
        assert max(Image.open(io.BytesIO(r.content)).size) <= 512
    heic = next(p for p in ALL_SAMPLES if p.suffix.lower() == ".heic")
    r = await client.get(f"/api/v1/evidence/{seen[hashlib.sha256(heic.read_bytes()).hexdigest()]}/original",
                         headers=auth)
    assert r.content == heic.read_bytes()


async def test_count_for_inspection(flow, up, clock, db_url):
    from backend.core.db import make_engine, make_sessionmaker
    from backend.evidence.service import count_for_inspection
    from backend.inspections.repository import evidence_count

    iid = (await flow.started())["id"]
    for _ in range(2):
        assert (await up.upload(iid, good_photo(clock))).status_code == 201
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            assert await count_for_inspection(session, uuid.UUID(iid)) == 2
            assert await count_for_inspection(session, uuid.uuid4()) == 0
            # The inspection's own read counts the same rows without going through evidence.
            assert await evidence_count(session, uuid.UUID(iid)) == 2
            assert await evidence_count(session, uuid.uuid4()) == 0
    finally:
        await engine.dispose()


def test_utc_helper():
    assert iso(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00Z"


async def test_openapi_describes_the_upload(client):
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    body = paths["/api/v1/inspections/{inspection_id}/evidence"]["post"]["requestBody"]
    schema = body["content"]["multipart/form-data"]["schema"]
    assert {"file", "sha256", "captured_at", "lon", "lat", "crs", "accuracy_m", "note", "id"} <= set(schema["properties"])
    assert schema["properties"]["file"]["format"] == "binary"
    for path in ("/api/v1/evidence/{evidence_id}/original", "/api/v1/evidence/{evidence_id}/custody",
                 "/api/v1/inspections/{inspection_id}/evidence.geojson", "/api/v1/evidence/keys"):
        assert path in paths


async def test_photos_uploaded_after_the_inspection_finished(client, flow, up, token_for, clock):
    """An officer's phone that was offline on site uploads later; the capture time decides."""
    iid = (await flow.started())["id"]
    during = clock.now()
    clock.advance(hours=1)
    r = await client.post(f"/api/v1/inspections/{iid}/finish", headers=token_for("sy.officer1"))
    assert r.status_code == 200, r.text
    clock.advance(hours=3)
    ev = await flags_of(up, iid, photo(gps=offset(), taken=during), captured_at=iso(during))
    assert ev["flags"] == []
    assert ev["checks"]["window_end"] == iso(during + timedelta(hours=1, minutes=10))
    ev = await flags_of(up, iid, photo(gps=offset(), taken=clock.now()), captured_at=iso(clock.now()))
    assert ev["flags"] == ["TIME_MISMATCH"]
    # A technical inspector never acts on a finished inspection (Art. 13(2)).
    assert_error(await up.upload(iid, good_photo(clock), "sy.inspector.ft"), 409, "INSPECTION_FINISHED")
