"""The whole on-site check through the API, in one test: plan → check-ins (one reported in GCJ-02)
→ credential displays → start → findings → record → countersign (two officers, the authorised
full-time inspector, the enterprise) → lock → verify → finish."""

from __future__ import annotations

import pytest

from backend.core.geo import haversine_m
from tests.conftest import demo_id
from tests.inspections.helpers import RECORD, SITE_LAT, SITE_LON, Flow, at, position, signature_png

pytestmark = pytest.mark.db


async def test_full_field_flow(client, token_for, clock, integrate):
    flow = Flow(client, token_for, clock)
    officer1, officer2, ft = (token_for(u) for u in ("sy.officer1", "sy.officer2", "sy.inspector.ft"))

    # Plan.
    ins = await flow.create(team=("sy.officer1", "sy.officer2", "sy.inspector.ft"))
    iid = ins["id"]
    assert ins["status"] == "planned"
    assert {m["person_id"] for m in ins["team"]} == {str(demo_id(u)) for u in
                                                     ("sy.officer1", "sy.officer2", "sy.inspector.ft")}
    assert ins["site"] == {"lon": SITE_LON, "lat": SITE_LAT, "crs": "wgs84", "radius_m": 200.0,
                           "address": "沈阳市和平区南京北街1号"}
    assert ins["present"] == [] and ins["evidence_count"] == 0

    # Check-ins: officer1 in WGS84 40 m east; officer2's phone reports GCJ-02 (≈ 500 m off if
    # taken raw), which the server converts before measuring.
    r = await flow.check_in(iid, "sy.officer1", dx_m=40)
    assert r.status_code == 201, r.text
    assert 35 < r.json()["distance_m"] < 45
    r = await flow.check_in(iid, "sy.officer2", dy_m=-60, crs="gcj02")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["reported_crs"] == "gcj02" and body["position"]["crs"] == "wgs84"
    assert 55 < body["distance_m"] < 65
    assert abs(haversine_m(body["position"]["lon"], body["position"]["lat"], SITE_LON, SITE_LAT) - 60) < 3

    # Not started yet: the officers have not shown their certificates.
    r = await flow.start(iid)
    assert r.status_code == 409 and r.json()["code"] == "TWO_OFFICERS_REQUIRED"

    # Displays: each officer's enforcement certificate; the inspector's scanned work credential.
    for who in ("sy.officer1", "sy.officer2"):
        r = await flow.show_certificate(iid, who)
        assert r.status_code == 201, r.text
        assert r.json()["kind"] == "enforcement_certificate" and r.json()["person_id"] == str(demo_id(who))
    r = await flow.start(iid)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress" and r.json()["started_at"]

    r = await flow.check_in(iid, "sy.inspector.ft", dx_m=-20, dy_m=15)
    assert r.status_code == 201, r.text
    r = await flow.show_work_credential(iid, "sy.inspector.ft")
    assert r.status_code == 201, r.text
    display = r.json()
    assert display["kind"] == "work_credential" and display["person_id"] == str(demo_id("sy.inspector.ft"))
    assert display["number"].startswith("LNJ-")
    assert display["shown_to"] == {"name": "李厂长", "role": "企业负责人"}

    # Findings, by an officer and by the inspector (two officers present, credential shown).
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=officer1,
                          json={"description": "消防通道堵塞", "hazard_level": "general", "position": position(10, 10)})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=ft,
                          json={"description": "储罐区未设可燃气体报警", "hazard_level": "major"})
    assert r.status_code == 201, r.text
    assert r.json()["position"] is None

    # The record, drafted by the inspector, revised by an officer (new version).
    r = await flow.document(iid, "sy.inspector.ft", content={"findings": ["消防通道堵塞"], "place": "储罐区"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["version"] == 1 and doc["locked"] is False and doc["signatures"] == []
    r = await flow.sign(doc, "sy.officer1", "officer")
    assert r.status_code == 201, r.text
    r = await client.put(f"/api/v1/documents/{doc['id']}", headers=officer1,
                         json={"content": {"findings": ["消防通道堵塞", "储罐区未设报警"], "place": "储罐区"}})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["version"] == 2 and doc["signatures"] == []  # the edit dropped officer1's signature

    # Countersign: two officers, the authorised inspector, the enterprise (entered by an officer).
    r = await flow.sign(doc, "sy.officer1", "officer")
    assert r.status_code == 201, r.text
    sig = r.json()
    assert sig["signer_name"] == "赵强" and sig["seal_kid"] and sig["document_locked"] is False
    r = await flow.sign(doc, "sy.officer2", "officer")
    assert r.status_code == 201, r.text
    assert r.json()["lock_requirements"]["inspectors_missing"] == [str(demo_id("sy.inspector.ft"))]
    r = await flow.sign(doc, "sy.inspector.ft", "technical_inspector")
    assert r.status_code == 201, r.text
    assert r.json()["document_locked"] is False
    r = await flow.sign(doc, "sy.officer1", "enterprise_representative", signer_name="李厂长")
    assert r.status_code == 201, r.text
    assert r.json()["document_locked"] is True

    # Locked: no edit, no more signatures.
    got = (await client.get(f"/api/v1/documents/{doc['id']}", headers=ft)).json()
    assert got["locked"] is True and len(got["signatures"]) == 4 and got["lock_requirements"] == {}
    assert {s["signer_role"] for s in got["signatures"]} == {"officer", "technical_inspector",
                                                             "enterprise_representative"}
    r = await client.put(f"/api/v1/documents/{doc['id']}", headers=officer1, json={"content": {"x": 1}})
    assert r.status_code == 409 and r.json()["code"] == "DOCUMENT_LOCKED"
    r = await flow.sign(doc, "sy.officer1", "witness", signer_name="王五")
    assert r.status_code == 409 and r.json()["code"] == "DOCUMENT_LOCKED"

    # Verify: hashes and seals recheck.
    r = await client.get(f"/api/v1/documents/{doc['id']}/verify", headers=officer2)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["problems"] == [] and r.json()["signatures_checked"] == 4

    # The inspection shows it all.
    r = await client.get(f"/api/v1/inspections/{iid}", headers=officer1)
    view = r.json()
    assert {p["person_id"] for p in view["present"]} == {str(demo_id(u)) for u in
                                                        ("sy.officer1", "sy.officer2", "sy.inspector.ft")}
    assert len(view["credential_displays"]) == 3 and len(view["findings"]) == 2
    assert view["documents"] == [{"id": doc["id"], "type": RECORD, "version": 2, "content_sha256":
                                  doc["content_sha256"], "locked": True, "supersedes": None, "superseded_by": None}]

    # A correction supersedes the locked record.
    r = await client.post(f"/api/v1/documents/{doc['id']}/corrections", headers=officer1,
                          json={"content": {"findings": ["消防通道堵塞"], "note": "更正"}})
    assert r.status_code == 201, r.text
    assert r.json()["supersedes"] == doc["id"] and r.json()["version"] == 1
    got = (await client.get(f"/api/v1/documents/{doc['id']}", headers=officer1)).json()
    assert got["superseded_by"] == r.json()["id"]

    # Check-out, finish.
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", headers=ft, json={"at": at(clock)})
    assert r.status_code == 201, r.text
    assert r.json()["checked_out_at"]
    r = await client.post(f"/api/v1/inspections/{iid}/finish", headers=officer2)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "finished" and r.json()["present"] == []

    # The audit chain recorded every step (once the sequencer integrated them) and still verifies.
    await integrate()
    r = await client.get("/api/v1/audit?limit=500", headers=token_for("sy.admin"))
    actions = [e["action"] for e in r.json()["items"]]
    for action in ("inspection.created", "inspection.checked_in", "inspection.credential_displayed",
                   "inspection.started", "inspection.finding_added", "document.created", "document.updated",
                   "document.signed", "document.locked", "document.corrected", "inspection.checked_out",
                   "inspection.finished"):
        assert action in actions, action
    r = await client.get("/api/v1/audit/verify", headers=token_for("sy.admin"))
    assert r.json()["ok"] is True


async def test_signature_image_is_stored_and_hashed(client, token_for, clock):
    """The seal binds the exact image bytes: verify recomputes its hash."""
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    doc = (await flow.document(ins["id"])).json()
    png = signature_png((500, 160))
    r = await flow.sign(doc, "sy.officer1", "officer", image_png=png)
    assert r.status_code == 201
    import base64
    import hashlib
    assert r.json()["image_sha256"] == hashlib.sha256(base64.b64decode(png)).hexdigest()
