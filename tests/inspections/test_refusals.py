"""Every refusal of the inspection and document endpoints, reached through the API."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from backend.core.checksums import make_id_number
from backend.personnel.models import Dispatch, Person
from tests.conftest import demo_id
from tests.inspections.helpers import (
    CERTS,
    Flow,
    at,
    blank_png,
    credit_code,
    db_session,
    inspection_body,
    position,
    signature_png,
)

pytestmark = pytest.mark.db


def code(r) -> tuple[int, str]:
    return r.status_code, r.json().get("code")


# ---------------------------------------------------------------- planning


async def test_credit_code_check_character(client, token_for, clock):
    good = credit_code()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"),
                          json=inspection_body(clock, enterprise={"name": "某公司", "credit_code": bad}))
    assert code(r) == (422, "CREDIT_CODE_INVALID")
    assert r.json()["detail"]["errors"][0]["field"] == "enterprise.credit_code"
    # Lower case is normalised, not refused.
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"),
                          json=inspection_body(clock, enterprise={"name": "某公司", "credit_code": good.lower()}))
    assert r.status_code == 201 and r.json()["enterprise"]["credit_code"] == good


@pytest.mark.parametrize(("member", "reason"), [
    ("dl.officer1", "not_of_agency_nor_dispatched"),
    ("sy.supervisor", "role"),
    ("sy.hr", "role"),
])
async def test_team_member_not_eligible(client, token_for, clock, member, reason):
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"),
                          json=inspection_body(clock, team=("sy.officer1", "sy.officer2", member)))
    assert code(r) == (422, "TEAM_MEMBER_NOT_ELIGIBLE")
    assert r.json()["detail"]["members"][0]["person_id"] == str(demo_id(member))
    assert r.json()["detail"]["members"][0]["reason"] == reason


async def test_unknown_team_member(client, token_for, clock):
    body = inspection_body(clock)
    body["team"].append(str(uuid.uuid4()))
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"), json=body)
    assert code(r) == (422, "TEAM_MEMBER_NOT_ELIGIBLE")
    assert r.json()["detail"]["members"][0]["reason"] == "unknown_person"


async def test_dispatched_inspector_may_join_during_the_dispatch(client, token_for, clock, db_url):
    r = await client.post("/api/v1/people", headers=token_for("sy.hr"), json={
        "name": "区检查员", "id_number": make_id_number("21010219900101" + f"{uuid.uuid4().int % 1000:03d}"),
        "phone": "13912345678", "agency_code": "210102", "role": "technical_inspector",
        "employment": "full_time"})
    assert r.status_code == 201, r.text
    district = r.json()["id"]
    team = [str(demo_id("sy.officer1")), str(demo_id("sy.officer2")), district]
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"),
                          json=inspection_body(clock) | {"team": team})
    assert code(r) == (422, "TEAM_MEMBER_NOT_ELIGIBLE")
    today = clock.today()
    async with db_session(db_url) as s:
        s.add(Dispatch(person_id=uuid.UUID(district), to_agency_code="210100", start_date=today - timedelta(days=1),
                       end_date=today + timedelta(days=10), created_by=demo_id("sy.hr"), created_at=clock.now()))
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"),
                          json=inspection_body(clock) | {"team": team})
    assert r.status_code == 201, r.text
    assert [m["dispatched"] for m in r.json()["team"] if m["person_id"] == district] == [True]
    # The dispatched inspector (of a lower agency) sees the inspection as a team member.
    r2 = await client.get(f"/api/v1/inspections/{r.json()['id']}", headers=token_for(uuid.UUID(district)))
    assert r2.status_code == 200
    # Planned outside the dispatch: not eligible.
    later = inspection_body(clock, planned_at=at(clock, 60 * 24 * 30)) | {"team": team}
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"), json=later)
    assert code(r) == (422, "TEAM_MEMBER_NOT_ELIGIBLE")


async def test_secret_inspections_and_inspectors(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    r = await client.post("/api/v1/inspections", headers=token_for("sy.officer1"),
                          json=inspection_body(clock, classification="secret"))
    assert code(r) == (403, "ART13_STATE_SECRET")
    assert r.json()["article"] == "13"
    secret = await flow.create(team=("sy.officer1", "sy.officer2"), classification="secret")
    for who in ("sy.inspector.ft", "sy.inspector.pt"):
        r = await client.get(f"/api/v1/inspections/{secret['id']}", headers=token_for(who))
        assert code(r) == (403, "ART13_STATE_SECRET")
        r = await flow.check_in(secret["id"], who)
        assert code(r) == (403, "ART13_STATE_SECRET")
        r = await client.get("/api/v1/inspections?limit=500", headers=token_for(who))
        assert secret["id"] not in {i["id"] for i in r.json()["items"]}
    # Officers of the agency see it; another city's officer does not even learn it exists.
    assert (await client.get(f"/api/v1/inspections/{secret['id']}", headers=token_for("sy.officer3"))).status_code \
        == 200
    assert code(await client.get(f"/api/v1/inspections/{secret['id']}", headers=token_for("dl.officer1"))) == (
        404, "NOT_FOUND")


@pytest.mark.parametrize("who", ["sy.inspector.ft", "sy.inspector.pt"])
async def test_inspectors_never_create_start_or_finish(client, token_for, clock, who):
    flow = Flow(client, token_for, clock)
    r = await client.post("/api/v1/inspections", headers=token_for(who), json=inspection_body(clock))
    assert code(r) == (403, "FORBIDDEN") and r.json()["article"] == "13"
    ins = await flow.create()
    await flow.ready_officers(ins["id"])
    r = await flow.start(ins["id"], who)
    assert code(r) == (403, "FORBIDDEN") and r.json()["article"] == "13"
    assert (await flow.start(ins["id"])).status_code == 200
    r = await client.post(f"/api/v1/inspections/{ins['id']}/finish", headers=token_for(who))
    assert code(r) == (403, "FORBIDDEN") and r.json()["article"] == "13"


# ---------------------------------------------------------------- presence


async def test_check_in_outside_site_reports_the_distance(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    r = await flow.check_in(ins["id"], "sy.officer1", dx_m=400, accuracy=5)
    assert code(r) == (422, "CHECKIN_OUTSIDE_SITE")
    detail = r.json()["detail"]
    assert 390 < detail["distance_m"] < 410
    assert detail["radius_m"] == 200 and detail["max_distance_m"] == 205
    # Accuracy widens the circle, but by at most 100 m.
    assert (await flow.check_in(ins["id"], "sy.officer2", dy_m=250, accuracy=80)).status_code == 201
    r = await flow.check_in(ins["id"], "sy.officer1", dy_m=350, accuracy=500)
    assert code(r) == (422, "CHECKIN_OUTSIDE_SITE")
    assert r.json()["detail"]["accuracy_allowance_m"] == 100
    # A GCJ-02 reading taken as WGS84 would land ~500 m off; converted, it is on site.
    gcj = position(crs="gcj02")
    raw = {"lon": gcj["lon"], "lat": gcj["lat"], "crs": "wgs84", "accuracy_m": 5}
    r = await client.post(f"/api/v1/inspections/{ins['id']}/check-ins", headers=token_for("sy.officer1"),
                          json={"position": raw, "at": at(clock)})
    assert code(r) == (422, "CHECKIN_OUTSIDE_SITE")
    r = await client.post(f"/api/v1/inspections/{ins['id']}/check-ins", headers=token_for("sy.officer1"),
                          json={"position": gcj, "at": at(clock)})
    assert r.status_code == 201 and r.json()["distance_m"] < 2


async def test_presence_state_machine(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    iid = ins["id"]
    h = token_for("sy.officer1")
    assert code(await client.post(f"/api/v1/inspections/{iid}/check-outs", headers=h, json={"at": at(clock)})) == (
        409, "NOT_CHECKED_IN")
    assert (await flow.check_in(iid, "sy.officer1")).status_code == 201
    assert code(await flow.check_in(iid, "sy.officer1")) == (409, "ALREADY_CHECKED_IN")
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", headers=h, json={"at": at(clock, -60)})
    assert code(r) == (422, "VALIDATION_ERROR") and r.json()["detail"]["errors"][0]["field"] == "at"
    r = await client.post(f"/api/v1/inspections/{iid}/check-ins", headers=token_for("sy.officer2"),
                          json={"position": position(), "at": at(clock, 60)})
    assert code(r) == (422, "VALIDATION_ERROR")  # in the future
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", headers=h,
                          json={"at": at(clock), "position": position(5, 5)})
    assert r.status_code == 201 and r.json()["check_out_position"]["crs"] == "wgs84"
    assert (await flow.check_in(iid, "sy.officer1")).status_code == 201  # back on site


async def test_finished_inspection_refuses_presence_and_acts(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    iid = ins["id"]
    r = await client.post(f"/api/v1/inspections/{iid}/finish", headers=token_for("sy.officer1"))
    assert r.status_code == 200
    assert code(await client.post(f"/api/v1/inspections/{iid}/finish", headers=token_for("sy.officer1"))) == (
        409, "INSPECTION_NOT_IN_PROGRESS")
    assert code(await flow.start(iid)) == (409, "INSPECTION_NOT_PLANNED")
    assert code(await flow.check_in(iid, "sy.inspector.pt")) == (409, "INSPECTION_FINISHED")
    assert code(await flow.show_certificate(iid, "sy.officer1")) == (409, "INSPECTION_FINISHED")
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=token_for("sy.officer1"),
                          json={"description": "x", "hazard_level": "general"})
    assert code(r) == (409, "INSPECTION_FINISHED")
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=token_for("sy.inspector.ft"),
                          json={"description": "x", "hazard_level": "general"})
    assert code(r) == (409, "INSPECTION_FINISHED")
    # Officers may still complete paperwork after leaving the site.
    assert (await flow.document(iid, "sy.officer1", "penalty_decision")).status_code == 201


async def test_finish_before_start(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    r = await client.post(f"/api/v1/inspections/{ins['id']}/finish", headers=token_for("sy.officer1"))
    assert code(r) == (409, "INSPECTION_NOT_IN_PROGRESS")
    r = await client.post(f"/api/v1/inspections/{ins['id']}/findings", headers=token_for("sy.officer1"),
                          json={"description": "x", "hazard_level": "general"})
    assert code(r) == (409, "INSPECTION_NOT_IN_PROGRESS")


async def test_non_team_officer_of_the_agency_reads_but_cannot_act(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    h = token_for("sy.officer3")
    assert (await client.get(f"/api/v1/inspections/{ins['id']}", headers=h)).status_code == 200
    assert code(await flow.check_in(ins["id"], "sy.officer3")) == (403, "FORBIDDEN")
    r = await client.post(f"/api/v1/inspections/{ins['id']}/findings", headers=h,
                          json={"description": "x", "hazard_level": "general"})
    assert code(r) == (403, "FORBIDDEN")


# ---------------------------------------------------------------- credential displays


async def test_certificate_displays(client, token_for, clock, db_url):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    iid = ins["id"]
    body = {"shown_to": {"name": "李厂长", "role": "企业负责人"}, "position": position(), "at": at(clock)}
    h = token_for("sy.officer1")
    url = f"/api/v1/inspections/{iid}/credential-displays"
    r = await client.post(url, headers=h, json=body | {"enforcement_certificate_number": "LN-ZF-999999-0000001"})
    assert code(r) == (422, "CREDENTIAL_NOT_VALID")
    r = await client.post(url, headers=h, json=body | {"enforcement_certificate_number": CERTS["sy.officer3"]})
    assert code(r) == (422, "NOT_A_TEAM_MEMBER")
    r = await client.post(url, headers=h, json=body | {"enforcement_certificate_number": CERTS["dl.officer1"]})
    assert code(r) == (422, "NOT_A_TEAM_MEMBER")
    # Neither or both of the two forms.
    assert code(await client.post(url, headers=h, json=body)) == (422, "VALIDATION_ERROR")
    r = await client.post(url, headers=h, json=body | {"enforcement_certificate_number": CERTS["sy.officer1"],
                                                       "qr_text": "x"})
    assert code(r) == (422, "VALIDATION_ERROR")
    # One officer may record another's display (the holder must be on the team).
    r = await client.post(url, headers=h, json=body | {"enforcement_certificate_number": CERTS["sy.officer2"]})
    assert r.status_code == 201 and r.json()["person_id"] == str(demo_id("sy.officer2"))
    assert r.json()["recorded_by"] == str(demo_id("sy.officer1"))
    # An expired certificate is not valid that day.
    async with db_session(db_url) as s:
        await s.execute(update(Person).where(Person.id == demo_id("sy.officer1"))
                        .values(enforcement_certificate_valid_until=date(2020, 1, 1)))
    r = await client.post(url, headers=h, json=body | {"enforcement_certificate_number": CERTS["sy.officer1"]})
    assert code(r) == (422, "CREDENTIAL_NOT_VALID")
    assert r.json()["detail"]["result"] == "expired"


async def test_work_credential_displays(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    iid = ins["id"]
    url = f"/api/v1/inspections/{iid}/credential-displays"
    body = {"shown_to": {"name": "李厂长", "role": "企业负责人"}, "position": position(), "at": at(clock)}
    h = token_for("sy.inspector.ft")
    # The supervisor's credential is genuine and valid, but she is not on the team.
    r = await client.post(url, headers=h, json=body | {"qr_text": await flow.qr_text_of("sy.supervisor")})
    assert code(r) == (422, "NOT_A_TEAM_MEMBER")
    # A tampered token does not verify.
    qr = await flow.qr_text_of("sy.inspector.ft")
    tampered = qr[:-3] + ("AAA" if not qr.endswith("AAA") else "BBB")
    r = await client.post(url, headers=h, json=body | {"qr_text": tampered})
    assert code(r) == (422, "CREDENTIAL_NOT_VALID")
    r = await client.post(url, headers=h, json=body | {"qr_text": "not a credential at all"})
    assert code(r) == (422, "CREDENTIAL_NOT_VALID")
    # The inspector's own, and the part-time colleague's scanned by them.
    assert (await client.post(url, headers=h, json=body | {"qr_text": qr})).status_code == 201
    r = await client.post(url, headers=h, json=body | {"qr_text": await flow.qr_text_of("sy.inspector.pt")})
    assert r.status_code == 201 and r.json()["person_id"] == str(demo_id("sy.inspector.pt"))


async def test_revoked_work_credential_is_not_valid(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    r = await client.get(f"/api/v1/credentials?person_id={demo_id('sy.inspector.pt')}", headers=token_for("sy.hr"))
    cred = r.json()["items"][0]
    r = await client.post(f"/api/v1/credentials/{cred['id']}/revoke", headers=token_for("ln.hr"),
                          json={"reason": "测试吊销"})
    assert r.status_code in (200, 201), r.text
    r = await client.post(f"/api/v1/inspections/{ins['id']}/credential-displays", headers=token_for("sy.officer1"),
                          json={"qr_text": cred["qr_text"], "shown_to": {"name": "李厂长", "role": "企业负责人"},
                                "position": position(), "at": at(clock)})
    assert code(r) == (422, "CREDENTIAL_NOT_VALID")
    assert r.json()["detail"]["result"] == "revoked"


# ---------------------------------------------------------------- start rule


async def test_two_officers_required_says_who_misses_what(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create(team=("sy.officer1", "sy.officer2", "sy.officer3", "sy.inspector.ft"))
    iid = ins["id"]
    assert (await flow.check_in(iid, "sy.officer1")).status_code == 201
    assert (await flow.show_certificate(iid, "sy.officer1")).status_code == 201
    assert (await flow.check_in(iid, "sy.officer2")).status_code == 201
    # Inspectors never count towards the two.
    assert (await flow.check_in(iid, "sy.inspector.ft")).status_code == 201
    assert (await flow.show_work_credential(iid, "sy.inspector.ft")).status_code == 201
    r = await flow.start(iid)
    assert code(r) == (409, "TWO_OFFICERS_REQUIRED")
    missing = {o["person_id"]: o["missing"] for o in r.json()["detail"]["officers"]}
    assert missing == {str(demo_id("sy.officer1")): [], str(demo_id("sy.officer2")): ["certificate_display"],
                       str(demo_id("sy.officer3")): ["check_in", "certificate_display"]}
    # Shown but then checked out: no longer counts.
    assert (await flow.show_certificate(iid, "sy.officer2")).status_code == 201
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", headers=token_for("sy.officer2"),
                          json={"at": at(clock)})
    assert r.status_code == 201
    r = await flow.start(iid)
    assert code(r) == (409, "TWO_OFFICERS_REQUIRED")
    assert {o["person_id"]: o["missing"] for o in r.json()["detail"]["officers"]}[str(demo_id("sy.officer2"))] == [
        "check_in"]
    assert (await flow.check_in(iid, "sy.officer2")).status_code == 201
    assert (await flow.start(iid)).status_code == 200


async def test_expired_certificate_does_not_count_at_start(client, token_for, clock, db_url):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    await flow.ready_officers(ins["id"])
    async with db_session(db_url) as s:
        await s.execute(update(Person).where(Person.id == demo_id("sy.officer2"))
                        .values(enforcement_certificate_valid_until=clock.today() - timedelta(days=1)))
    r = await flow.start(ins["id"])
    assert code(r) == (409, "TWO_OFFICERS_REQUIRED")
    assert {o["person_id"]: o["missing"] for o in r.json()["detail"]["officers"]}[str(demo_id("sy.officer2"))] == [
        "valid_enforcement_certificate"]


# ---------------------------------------------------------------- Art. 13 on enforcement acts


async def test_inspector_acting_alone(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.create()
    iid = ins["id"]
    ft = token_for("sy.inspector.ft")
    await flow.ready_officers(iid)
    assert (await flow.check_in(iid, "sy.inspector.ft")).status_code == 201
    assert (await flow.show_work_credential(iid, "sy.inspector.ft")).status_code == 201
    finding = {"description": "隐患", "hazard_level": "general"}
    # Planned: even with officers on site, nobody acts before the start.
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=ft, json=finding)
    assert code(r) == (409, "ART13_ACTING_ALONE") and r.json()["article"] == "13"
    assert (await flow.start(iid)).status_code == 200
    assert (await client.post(f"/api/v1/inspections/{iid}/findings", headers=ft, json=finding)).status_code == 201
    # An officer leaves: one officer present is acting alone.
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", headers=token_for("sy.officer2"),
                          json={"at": at(clock)})
    assert r.status_code == 201
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=ft, json=finding)
    assert code(r) == (409, "ART13_ACTING_ALONE")
    assert r.json()["detail"]["officers_present"] == 1
    assert code(await flow.document(iid, "sy.inspector.ft")) == (409, "ART13_ACTING_ALONE")
    # The officer still on site may act.
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=token_for("sy.officer1"), json=finding)
    assert r.status_code == 201


async def test_inspector_credential_not_shown(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    iid = ins["id"]
    assert (await flow.check_in(iid, "sy.inspector.pt")).status_code == 201
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=token_for("sy.inspector.pt"),
                          json={"description": "隐患", "hazard_level": "major"})
    assert code(r) == (409, "ART12_CREDENTIAL_NOT_SHOWN") and r.json()["article"] == "12"
    assert (await flow.show_work_credential(iid, "sy.inspector.pt")).status_code == 201
    r = await client.post(f"/api/v1/inspections/{iid}/findings", headers=token_for("sy.inspector.pt"),
                          json={"description": "隐患", "hazard_level": "major"})
    assert r.status_code == 201


@pytest.mark.parametrize(("doc_type", "refusal"), [
    ("rectification_order", "ART13_DECISION_FORBIDDEN"),
    ("on_site_measure_decision", "ART13_DECISION_FORBIDDEN"),
    ("penalty_decision", "ART13_DECISION_FORBIDDEN"),
    ("seizure_decision", "ART13_COERCIVE_FORBIDDEN"),
])
async def test_inspector_never_creates_edits_or_signs_decisions(client, token_for, clock, doc_type, refusal):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    r = await flow.document(ins["id"], "sy.inspector.ft", doc_type)
    assert code(r) == (403, refusal) and r.json()["article"] == "13"
    r = await flow.document(ins["id"], "sy.officer1", doc_type)
    assert r.status_code == 201
    doc = r.json()
    r = await client.put(f"/api/v1/documents/{doc['id']}", headers=token_for("sy.inspector.ft"),
                         json={"content": {"x": 1}})
    assert code(r) == (403, refusal)
    r = await flow.sign(doc, "sy.inspector.ft", "technical_inspector")
    assert code(r) == (403, refusal)


# ---------------------------------------------------------------- signatures


async def test_signature_refusals(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    iid = ins["id"]
    assert (await flow.check_in(iid, "sy.inspector.pt")).status_code == 201
    assert (await flow.show_work_credential(iid, "sy.inspector.pt")).status_code == 201
    doc = (await flow.document(iid)).json()
    # Not authorised to sign (part-time inspector).
    r = await flow.sign(doc, "sy.inspector.pt", "technical_inspector")
    assert code(r) == (403, "ART12_NOT_AUTHORISED_TO_SIGN") and r.json()["article"] == "12"
    # Never in an officer's slot, nor for the enterprise; officers not in an inspector's.
    r = await flow.sign(doc, "sy.inspector.ft", "officer")
    assert code(r) == (403, "SIGNER_ROLE_MISMATCH") and r.json()["article"] == "13"
    r = await flow.sign(doc, "sy.inspector.ft", "enterprise_representative", signer_name="李厂长")
    assert code(r) == (403, "SIGNER_ROLE_MISMATCH")
    r = await flow.sign(doc, "sy.officer1", "technical_inspector")
    assert code(r) == (403, "SIGNER_ROLE_MISMATCH")
    # Blank ink, not a PNG, not base64.
    assert code(await flow.sign(doc, "sy.officer1", "officer", image_png=blank_png())) == (422, "SIGNATURE_BLANK")
    import base64
    r = await flow.sign(doc, "sy.officer1", "officer", image_png=base64.b64encode(b"GIF89a....").decode())
    assert code(r) == (422, "SIGNATURE_BLANK")
    r = await flow.sign(doc, "sy.officer1", "officer", image_png="!!!not base64!!!")
    assert code(r) == (422, "VALIDATION_ERROR")
    # Stale: the document changed after it was read.
    r = await client.put(f"/api/v1/documents/{doc['id']}", headers=token_for("sy.officer2"),
                         json={"content": {"text": "修改"}})
    assert r.status_code == 200
    r = await flow.sign(doc, "sy.officer1", "officer")
    assert code(r) == (409, "STALE_DOCUMENT")
    assert r.json()["detail"]["current_version"] == 2
    doc = r.json() and (await client.get(f"/api/v1/documents/{doc['id']}", headers=token_for("sy.officer1"))).json()
    assert (await flow.sign(doc, "sy.officer1", "officer")).status_code == 201
    assert code(await flow.sign(doc, "sy.officer1", "officer")) == (409, "ALREADY_SIGNED")
    # Missing pieces of the body.
    r = await flow.sign(doc, "sy.officer1", "witness")  # no signer_name
    assert code(r) == (422, "VALIDATION_ERROR") and r.json()["detail"]["errors"][0]["field"] == "signer_name"
    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures", headers=token_for("sy.officer2"),
                          json={"signer_role": "officer", "image_png": signature_png()})
    assert code(r) == (422, "VALIDATION_ERROR") and r.json()["detail"]["errors"][0]["field"] == "content_sha256"
    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures", headers=token_for("sy.officer2"),
                          json={"signer_role": "officer", "refused": True, "refusal_note": "x"})
    assert code(r) == (422, "VALIDATION_ERROR") and r.json()["detail"]["errors"][0]["field"] == "refused"


async def test_enterprise_refusal_locks_and_verifies(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started(team=("sy.officer1", "sy.officer2", "sy.inspector.ft"))
    doc = (await flow.document(ins["id"], "sy.officer1", "rectification_order")).json()
    assert (await flow.sign(doc, "sy.officer1", "officer")).status_code == 201
    assert (await flow.sign(doc, "sy.officer2", "officer")).status_code == 201
    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures", headers=token_for("sy.officer1"),
                          json={"signer_role": "enterprise_representative", "refused": True,
                                "refusal_note": "负责人拒绝签字", "witness_name": "王五"})
    assert r.status_code == 201, r.text
    assert r.json()["refused"] is True and r.json()["image_sha256"] is None and r.json()["document_locked"] is True
    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures", headers=token_for("sy.officer1"),
                          json={"signer_role": "enterprise_representative", "refused": True,
                                "refusal_note": "再次"})
    assert code(r) == (409, "DOCUMENT_LOCKED")
    v = (await client.get(f"/api/v1/documents/{doc['id']}/verify", headers=token_for("sy.officer1"))).json()
    assert v["ok"] is True and v["signatures_checked"] == 3


async def test_record_waits_for_every_present_authorised_inspector(client, token_for, clock):
    """sy.inspector.ft (authorised) was present: the record does not lock until they sign."""
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    doc = (await flow.document(ins["id"])).json()
    for who, role, extra in (("sy.officer1", "officer", {}), ("sy.officer2", "officer", {}),
                             ("sy.officer1", "enterprise_representative", {"signer_name": "李厂长"})):
        r = await flow.sign(doc, who, role, **extra)
        assert r.status_code == 201, r.text
    assert r.json()["document_locked"] is False
    assert r.json()["lock_requirements"]["inspectors_missing"] == [str(demo_id("sy.inspector.ft"))]
    r = await flow.sign(doc, "sy.inspector.ft", "technical_inspector")
    assert r.status_code == 201 and r.json()["document_locked"] is True


async def test_correction_rules(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started(team=("sy.officer1", "sy.officer2"))
    doc = (await flow.document(ins["id"], "sy.officer1", "penalty_decision")).json()
    r = await client.post(f"/api/v1/documents/{doc['id']}/corrections", headers=token_for("sy.officer1"),
                          json={"content": {"x": 1}})
    assert code(r) == (409, "DOCUMENT_NOT_LOCKED")
    for who in ("sy.officer1", "sy.officer2"):
        assert (await flow.sign(doc, who, "officer")).status_code == 201
    assert (await flow.sign(doc, "sy.officer2", "enterprise_representative", signer_name="李厂长")).status_code == 201
    r = await client.post(f"/api/v1/documents/{doc['id']}/corrections", headers=token_for("sy.officer1"),
                          json={"content": {"x": 2}})
    assert r.status_code == 201 and r.json()["type"] == "penalty_decision"
    r = await client.post(f"/api/v1/documents/{doc['id']}/corrections", headers=token_for("sy.officer1"),
                          json={"content": {"x": 3}})
    assert code(r) == (409, "DOCUMENT_SUPERSEDED")


async def test_unknown_ids_are_404(client, token_for):
    h = token_for("sy.officer1")
    nobody = uuid.uuid4()
    assert code(await client.get(f"/api/v1/inspections/{nobody}", headers=h)) == (404, "NOT_FOUND")
    assert code(await client.get(f"/api/v1/documents/{nobody}", headers=h)) == (404, "NOT_FOUND")
    assert code(await client.get(f"/api/v1/documents/{nobody}/verify", headers=h)) == (404, "NOT_FOUND")
    assert code(await client.put(f"/api/v1/documents/{nobody}", headers=h, json={"content": {}})) == (404,
                                                                                                     "NOT_FOUND")
    r = await client.post(f"/api/v1/inspections/{nobody}/check-ins", headers=h,
                          json={"position": position(), "at": "2026-11-26T10:00:00+08:00"})
    assert code(r) == (404, "NOT_FOUND")


# ---------------------------------------------------------------- signing authorisations


async def test_signing_authorisation_grants_art12_signing(client, token_for, clock):
    pt = demo_id("sy.inspector.pt")
    url = f"/api/v1/people/{pt}/signing-authorisations"
    body = {"document_types": ["on_site_inspection_record"], "valid_until": (clock.today() + timedelta(days=365))
            .isoformat()}
    assert code(await client.post(url, headers=token_for("sy.hr"), json=body)) == (403, "FORBIDDEN")
    r = await client.post(url, headers=token_for("sy.admin"), json=body | {"valid_until": "2020-01-01"})
    assert code(r) == (422, "VALIDATION_ERROR")
    r = await client.post(url, headers=token_for("sy.admin"), json=body | {"document_types": ["penalty_decision"]})
    assert code(r) == (422, "VALIDATION_ERROR")
    r = await client.post(f"/api/v1/people/{demo_id('sy.officer1')}/signing-authorisations",
                          headers=token_for("sy.admin"), json=body)
    assert code(r) == (422, "NOT_A_TECHNICAL_INSPECTOR")
    assert code(await client.post(f"/api/v1/people/{uuid.uuid4()}/signing-authorisations",
                                  headers=token_for("sy.admin"), json=body)) == (404, "NOT_FOUND")
    client_id = str(uuid.uuid4())
    r = await client.post(url, headers=token_for("sy.admin"), json=body | {"id": client_id})
    assert r.status_code == 201, r.text
    assert r.json()["granted_by"] == str(demo_id("sy.admin")) and r.json()["id"] == client_id
    again = await client.post(url, headers=token_for("sy.admin"), json=body | {"id": client_id})
    assert again.status_code == 200 and again.json() == r.json()

    # Now the part-time inspector signs records (not re-check opinions: not in the grant).
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    assert (await flow.check_in(ins["id"], "sy.inspector.pt")).status_code == 201
    assert (await flow.show_work_credential(ins["id"], "sy.inspector.pt")).status_code == 201
    rec = (await flow.document(ins["id"])).json()
    assert (await flow.sign(rec, "sy.inspector.pt", "technical_inspector")).status_code == 201
    opinion = (await flow.document(ins["id"], doc_type="recheck_opinion")).json()
    assert code(await flow.sign(opinion, "sy.inspector.pt", "technical_inspector")) == (
        403, "ART12_NOT_AUTHORISED_TO_SIGN")
    # A grant from a sibling city's leadership would not count; another city's person is out of reach.
    r = await client.post("/api/v1/people", headers=token_for("ln.hr"), json={
        "name": "大连检查员", "id_number": make_id_number("21020219900101" + f"{uuid.uuid4().int % 1000:03d}"),
        "phone": "13912345679", "agency_code": "210200", "role": "technical_inspector", "employment": "full_time"})
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/people/{r.json()['id']}/signing-authorisations", headers=token_for("sy.admin"),
                          json=body)
    assert code(r) == (403, "FORBIDDEN")
