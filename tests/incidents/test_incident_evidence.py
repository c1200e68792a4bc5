"""Photos attached to incidents (API.md §Incidents: "photos, as for inspections"): the evidence intake
reused, with the case's own visibility — its reporter and staff of its agency or above."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from PIL import Image

from tests.conftest import SAMPLES, demo_id
from tests.incidents.helpers import audit_actions, iso, make_person, report

pytestmark = pytest.mark.db

SAMPLE = SAMPLES / "jpg" / "gps" / "DSCN0010.jpg"


def fields(data: bytes, clock: Any, **over: Any) -> dict[str, str]:
    body: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": iso(clock.now()),
                            "note": "威胁短信截图"}
    body.update(over)
    return {k: str(v) for k, v in body.items() if v is not None}


async def attach(client: Any, token_for: Any, clock: Any, cid: str, data: bytes, who: str = "sy.inspector.ft",
                 *, headers: dict[str, str] | None = None, **over: Any) -> Any:
    return await client.post(f"/api/v1/incidents/{cid}/evidence", files={"file": ("IMG_0001.jpg", data, "image/jpeg")},
                             data=fields(data, clock, **over), headers={**token_for(who), **(headers or {})})


def small_jpeg(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


async def test_reporter_attaches_a_real_photo(client, token_for, clock, db_url):
    cid = (await report(client, token_for, clock))["id"]
    data = SAMPLE.read_bytes()
    sha = hashlib.sha256(data).hexdigest()

    r = await attach(client, token_for, clock, cid, data, lon=123.43, lat=41.80, accuracy_m=10)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["sha256"] == sha and ev["size"] == len(data) and ev["media_type"] == "image/jpeg"
    assert ev["owner_kind"] == "incident" and ev["owner_id"] == cid and ev["inspection_id"] is None
    assert ev["uploaded_by"] == str(demo_id("sy.inspector.ft"))
    # The camera's EXIF (Nikon COOLPIX P6000 with GPS) is read.
    assert ev["exif"]["make"] and "NIKON" in ev["exif"]["make"].upper()
    assert ev["exif"]["lat"] is not None and ev["exif"]["lon"] is not None
    assert ev["location"]["source"] == "exif"
    assert ev["distance_to_site_m"] is None and "OUTSIDE_SITE" not in ev["flags"]
    assert ev["receipt"] and r.headers["location"] == f"/api/v1/evidence/{ev['id']}"

    # The same photo again: the same record.
    again = await attach(client, token_for, clock, cid, data)
    assert again.status_code == 200 and again.json()["id"] == ev["id"]

    # Listed on the case, for the reporter and for staff of the agency and above.
    for who in ("sy.inspector.ft", "sy.admin", "sy.hr", "ln.hr"):
        r = await client.get(f"/api/v1/incidents/{cid}/evidence", headers=token_for(who))
        assert r.status_code == 200, who
        assert [e["id"] for e in r.json()["items"]] == [ev["id"]], who
        assert r.json()["next_cursor"] is None

    # The original (exact bytes) and the thumbnail, for the reporter and for agency staff.
    for who in ("sy.inspector.ft", "sy.admin"):
        r = await client.get(ev["original_url"], headers=token_for(who))
        assert r.status_code == 200, who
        assert r.content == data
        r = await client.get(ev["thumbnail_url"], headers=token_for(who))
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        with Image.open(io.BytesIO(r.content)) as thumb:
            assert max(thumb.size) <= 512
        r = await client.get(f"/api/v1/evidence/{ev['id']}", headers=token_for(who))
        assert r.status_code == 200 and r.json()["sha256"] == sha

    # Custody: who read what, oldest first.
    r = await client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text
    custody = r.json()
    assert custody["sha256"] == sha
    actions = [(e["action"], e["actor"]) for e in custody["items"]]
    reporter, admin = str(demo_id("sy.inspector.ft")), str(demo_id("sy.admin"))
    assert actions == [
        ("upload", reporter), ("duplicate_upload", reporter),
        ("read_original", reporter), ("read_thumbnail", reporter),
        ("read_original", admin), ("read_thumbnail", admin),
    ]
    r = await client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=token_for("sy.inspector.ft"))
    assert r.status_code == 200

    assert "evidence.upload" in await audit_actions(db_url, f"evidence:{ev['id']}")


async def test_staff_attach_too_and_position_is_optional(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    data = small_jpeg()
    r = await attach(client, token_for, clock, cid, data, who="sy.admin")
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["uploaded_by"] == str(demo_id("sy.admin"))
    assert ev["location"] is None and ev["device_position"] is None
    assert "NO_GPS" in ev["flags"]
    # The provincial personnel office (above the reporter's agency) may attach as well.
    r = await attach(client, token_for, clock, cid, small_jpeg("blue"), who="ln.hr", lon=123.43, lat=41.80,
                     crs="gcj02")
    assert r.status_code == 201, r.text
    assert r.json()["location"]["source"] == "device"
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", headers=token_for("sy.inspector.ft"))
    assert len(r.json()["items"]) == 2


async def test_others_get_404(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    ev = (await attach(client, token_for, clock, cid, small_jpeg())).json()
    dl_hr = await make_person(client, token_for, "210200", "hr_admin")
    district_admin = await make_person(client, token_for, "210102", "agency_admin")
    data = small_jpeg("green")
    # Another reporter, colleagues (officers), another city, a district below the reporter's agency.
    for who in ("sy.inspector.pt", "sy.supervisor", "sy.officer1", "dl.officer1", dl_hr, district_admin):
        r = await attach(client, token_for, clock, cid, data, who=who)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", who
        r = await client.get(f"/api/v1/incidents/{cid}/evidence", headers=token_for(who))
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", who
        for url in (f"/api/v1/evidence/{ev['id']}", ev["original_url"], ev["thumbnail_url"],
                    f"/api/v1/evidence/{ev['id']}/custody"):
            r = await client.get(url, headers=token_for(who))
            assert r.status_code == 404, (who, url)
    # Nothing of theirs was stored.
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", headers=token_for("sy.inspector.ft"))
    assert [e["id"] for e in r.json()["items"]] == [ev["id"]]
    # No such incident.
    missing = "00000000-0000-4000-8000-000000000000"
    r = await attach(client, token_for, clock, missing, data, who="ln.hr")
    assert r.status_code == 404
    r = await client.get(f"/api/v1/incidents/{missing}/evidence", headers=token_for("ln.hr"))
    assert r.status_code == 404


async def test_unauthenticated(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    data = small_jpeg()
    r = await client.post(f"/api/v1/incidents/{cid}/evidence", files={"file": ("a.jpg", data, "image/jpeg")},
                          data=fields(data, clock))
    assert r.status_code == 401
    r = await client.get(f"/api/v1/incidents/{cid}/evidence")
    assert r.status_code == 401


async def test_refusals_as_for_inspections(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    data = SAMPLE.read_bytes()
    # Hash mismatch.
    r = await attach(client, token_for, clock, cid, data, sha256="0" * 64)
    assert r.status_code == 422 and r.json()["code"] == "HASH_MISMATCH"
    # Not an image.
    text = b"not a photo at all" * 10
    r = await attach(client, token_for, clock, cid, text)
    assert r.status_code == 415 and r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    # Truncated JPEG.
    cut = data[: len(data) // 2]
    r = await attach(client, token_for, clock, cid, cut)
    assert r.status_code == 422 and r.json()["code"] == "IMAGE_CORRUPT"
    # Bad fields: one 422 listing them, never a 500.
    r = await attach(client, token_for, clock, cid, data, captured_at="yesterday", lon="east", bogus="x")
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"
    assert {e["field"] for e in r.json()["detail"]["errors"]} >= {"captured_at", "lon", "bogus"}
    # lon without lat.
    r = await attach(client, token_for, clock, cid, data, lon=123.4)
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "lat"
    # Not multipart.
    r = await client.post(f"/api/v1/incidents/{cid}/evidence", json={"sha256": "x"},
                          headers=token_for("sy.inspector.ft"))
    assert r.status_code == 415
    # Bad list parameters.
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", params={"cursor": "garbage"},
                         headers=token_for("sy.inspector.ft"))
    assert r.status_code == 400
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", params={"near_lon": 123.4},
                         headers=token_for("sy.inspector.ft"))
    assert r.status_code == 422
    # Nothing stored by any of it.
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", headers=token_for("sy.inspector.ft"))
    assert r.json()["items"] == []


async def test_client_id_replay_and_list_paging(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    photo_id = "4b1d2f0e-8c3a-4e5b-9a7c-1d2e3f4a5b6c"
    data = small_jpeg()
    r = await attach(client, token_for, clock, cid, data, id=photo_id, headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 201 and r.json()["id"] == photo_id
    r = await attach(client, token_for, clock, cid, data, id=photo_id, headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 200 and r.json()["id"] == photo_id
    for color in ("blue", "green"):
        clock.advance(minutes=1)
        r = await attach(client, token_for, clock, cid, small_jpeg(color))
        assert r.status_code == 201
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", params={"limit": 2}, headers=token_for("sy.admin"))
    page = r.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    r = await client.get(f"/api/v1/incidents/{cid}/evidence", params={"limit": 2, "cursor": page["next_cursor"]},
                         headers=token_for("sy.admin"))
    assert len(r.json()["items"]) == 1 and r.json()["next_cursor"] is None
    # Incident photos are not an inspection's.
    assert all(e["inspection_id"] is None for e in page["items"])
