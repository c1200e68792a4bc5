"""Qualifications and appointments through the API: eligibility (Art. 7, 9, 11, 17, 18), terms
(Art. 22), one active appointment per role, who may appoint."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from tests.conftest import demo_id
from tests.personnel.helpers import (
    db_session,
    full_time_appointment,
    id_number,
    make_hr,
    make_person,
    part_time_appointment,
    qualify,
    supervisor_appointment,
)

pytestmark = pytest.mark.db


async def test_qualification_added_and_listed(client, token_for):
    hr = token_for("sy.hr")
    person = await make_person(client, hr)
    q = await qualify(client, hr, person["id"], kind="professional_title", level="deputy_senior", field="矿山安全")
    assert q["kind"] == "professional_title" and q["level"] == "deputy_senior"
    listing = await client.get(f"/api/v1/people/{person['id']}/qualifications", headers=token_for("sy.admin"))
    assert listing.status_code == 200
    assert [i["id"] for i in listing.json()["items"]] == [q["id"]]
    # The provincial office sees it too; another city's staff does not see the person at all.
    assert (await client.get(f"/api/v1/people/{person['id']}/qualifications", headers=token_for("ln.hr"))).status_code == 200
    dl_hr = await make_hr(client, token_for, "210200")
    assert (await client.get(f"/api/v1/people/{person['id']}/qualifications", headers=dl_hr)).status_code == 404


async def test_qualification_refusals(client, token_for):
    hr = token_for("sy.hr")
    person = await make_person(client, hr)
    url = f"/api/v1/people/{person['id']}/qualifications"
    bad_level = await client.post(url, json={"kind": "degree", "level": "level_2"}, headers=hr)
    assert bad_level.status_code == 422 and bad_level.json()["detail"]["errors"][0]["field"] == "level"
    unknown_kind = await client.post(url, json={"kind": "phd", "level": "doctor"}, headers=hr)
    assert unknown_kind.status_code == 422 and unknown_kind.json()["code"] == "VALIDATION_ERROR"
    extra = await client.post(url, json={"kind": "degree", "level": "master", "grade": "A"}, headers=hr)
    assert extra.status_code == 422
    wrong_type = await client.post(url, json={"kind": "degree", "level": "master", "safety_related": "yes"}, headers=hr)
    assert wrong_type.status_code == 422
    malformed = await client.post(url, content=b"{not json", headers={**hr, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    for who in ("sy.admin", "sy.officer1", "sy.inspector.ft", "dl.officer1"):
        r = await client.post(url, json={"kind": "degree", "level": "master"}, headers=token_for(who))
        assert r.status_code == 403, who
    dl_hr = await make_hr(client, token_for, "210200")
    r = await client.post(url, json={"kind": "degree", "level": "master"}, headers=dl_hr)
    assert r.status_code == 403
    missing = await client.post(f"/api/v1/people/{uuid.uuid4()}/qualifications",
                                json={"kind": "degree", "level": "master"}, headers=hr)
    assert missing.status_code == 404


async def test_full_time_appointment_created_listed_and_audited(client, token_for, db_url, integrate):
    hr = token_for("sy.hr")
    person = await make_person(client, hr)
    await qualify(client, hr, person["id"])
    body = full_time_appointment(id=str(uuid.uuid4()))
    r = await client.post(f"/api/v1/people/{person['id']}/appointments", json=body, headers=hr)
    assert r.status_code == 201, r.text
    appointment = r.json()
    assert appointment["status"] == "active" and appointment["employment"] == "full_time"
    assert appointment["agency_code"] == "210100" and appointment["end_date"] is None
    # Same id and body again: the stored answer, 200.
    again = await client.post(f"/api/v1/people/{person['id']}/appointments", json=body, headers=hr)
    assert again.status_code == 200 and again.json()["id"] == appointment["id"]
    listing = await client.get(f"/api/v1/people/{person['id']}/appointments", headers=hr)
    assert [a["id"] for a in listing.json()["items"]] == [appointment["id"]]
    await integrate()
    async with db_session(db_url) as s:
        actions = (await s.execute(select(AuditEntry.action).where(AuditEntry.subject == f"person:{person['id']}"))).scalars().all()
    assert "appointment.created" in actions and "qualification.added" in actions


async def test_not_eligible_lists_every_violation_at_once(client, token_for):
    hr = token_for("sy.hr")
    # Born in 2010: 16 on the start date; no qualification; two disqualifying declarations.
    person = await make_person(client, hr, id_number=id_number("20100301"))
    body = full_time_appointment(declarations={"full_civil_capacity": True, "criminal_record": True,
                                               "dishonest_list": True, "unresolved_labor_dispute": True})
    r = await client.post(f"/api/v1/people/{person['id']}/appointments", json=body, headers=hr)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["code"] == "NOT_ELIGIBLE"
    violations = err["detail"]["violations"]
    codes = {v["code"] for v in violations}
    assert codes == {"ART11_UNDER_18", "ART11_CRIMINAL_RECORD", "ART11_DISHONEST_LIST", "ART11_LABOR_DISPUTE",
                     "ART7_QUALIFICATION_REQUIRED"}
    for v in violations:
        assert v["article"] in {"7", "11"} and v["message"]
    # Nothing was stored.
    listing = await client.get(f"/api/v1/people/{person['id']}/appointments", headers=hr)
    assert listing.json()["items"] == []


async def test_civil_capacity_must_be_declared(client, token_for):
    hr = token_for("sy.hr")
    person = await make_person(client, hr)
    await qualify(client, hr, person["id"])
    r = await client.post(f"/api/v1/people/{person['id']}/appointments",
                          json=full_time_appointment(declarations={}), headers=hr)
    assert r.status_code == 422
    assert [v["code"] for v in r.json()["detail"]["violations"]] == ["ART11_NO_CIVIL_CAPACITY"]
    assert r.json()["article"] == "11"


async def test_part_time_term_too_long_and_consent(client, token_for):
    hr = token_for("sy.hr")
    person = await make_person(client, hr, employment="part_time")
    await qualify(client, hr, person["id"], kind="professional_title", level="deputy_senior")
    url = f"/api/v1/people/{person['id']}/appointments"
    too_long = await client.post(url, json=part_time_appointment(end_date="2029-01-02"), headers=hr)
    assert too_long.status_code == 422
    assert [v["code"] for v in too_long.json()["detail"]["violations"]] == ["ART22_TERM_TOO_LONG"]
    assert too_long.json()["article"] == "22"
    no_consent = await client.post(url, json=part_time_appointment(consents={"self": True}), headers=hr)
    assert {v["code"] for v in no_consent.json()["detail"]["violations"]} == {"ART9_CONSENT_REQUIRED"}
    no_term = part_time_appointment()
    del no_term["end_date"]
    r = await client.post(url, json=no_term, headers=hr)
    assert {v["code"] for v in r.json()["detail"]["violations"]} == {"ART22_TERM_REQUIRED"}
    # Exactly three years is fine; employment defaults to the person's.
    ok = part_time_appointment(end_date="2029-01-01")
    del ok["employment"]
    r = await client.post(url, json=ok, headers=hr)
    assert r.status_code == 201, r.text
    assert r.json()["employment"] == "part_time"


async def test_supervisor_appointment(client, token_for):
    hr = token_for("sy.hr")
    person = await make_person(client, hr, role="social_supervisor", employment=None)
    url = f"/api/v1/people/{person['id']}/appointments"
    r = await client.post(url, json=supervisor_appointment(consents={"self": True, "employer": False},
                                                            end_date="2029-06-30"), headers=hr)
    assert r.status_code == 422
    assert {v["code"] for v in r.json()["detail"]["violations"]} == {"ART18_CONSENT_REQUIRED", "ART22_TERM_TOO_LONG"}
    invited = supervisor_appointment(route="invitation", invitee_category="lawyer",
                                     consulted=["沈阳市人大常委会", "沈阳市司法局"])
    del invited["recommended_by"]
    r = await client.post(url, json=invited, headers=hr)
    assert r.status_code == 201, r.text
    assert "沈阳市司法局" in r.json()["consulted"]


async def test_role_must_match_and_one_active_appointment_per_role(client, token_for):
    hr = token_for("sy.hr")
    new = demo_id("sy.inspector.new")
    wrong_role = await client.post(f"/api/v1/people/{new}/appointments", json=supervisor_appointment(), headers=hr)
    assert wrong_role.status_code == 422 and wrong_role.json()["code"] == "ROLE_MISMATCH"
    wrong_employment = await client.post(f"/api/v1/people/{new}/appointments",
                                         json=full_time_appointment(employment="part_time"), headers=hr)
    assert wrong_employment.status_code == 422
    # sy.inspector.new already holds an open-ended full-time appointment.
    again = await client.post(f"/api/v1/people/{new}/appointments",
                              json=full_time_appointment(start_date="2026-06-01"), headers=hr)
    assert again.status_code == 409
    assert again.json()["code"] == "APPOINTMENT_EXISTS"


async def test_renewal_after_the_term_is_allowed(client, token_for):
    hr = token_for("sy.hr")
    pt = demo_id("sy.inspector.pt")  # part-time, 2026-01-01 .. 2028-12-31
    overlapping = await client.post(f"/api/v1/people/{pt}/appointments",
                                    json=part_time_appointment(start_date="2028-06-01", end_date="2031-05-31"),
                                    headers=hr)
    assert overlapping.status_code == 409
    renewal = await client.post(f"/api/v1/people/{pt}/appointments",
                                json=part_time_appointment(start_date="2029-01-01", end_date="2031-12-31"),
                                headers=hr)
    assert renewal.status_code == 201, renewal.text


async def test_who_may_appoint(client, token_for):
    hr = token_for("sy.hr")
    person = await make_person(client, hr)
    await qualify(client, hr, person["id"])
    url = f"/api/v1/people/{person['id']}/appointments"
    for who in ("sy.admin", "sy.officer1", "sy.inspector.ft", "dl.officer1"):
        r = await client.post(url, json=full_time_appointment(), headers=token_for(who))
        assert r.status_code == 403, who
    dl_hr = await make_hr(client, token_for, "210200")
    assert (await client.post(url, json=full_time_appointment(), headers=dl_hr)).status_code == 403
    assert (await client.post(url, json=full_time_appointment())).status_code == 401
    bad = await client.post(url, json=full_time_appointment(route="lottery"), headers=hr)
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"
    unknown = await client.post(url, json=full_time_appointment(declarations={"full_civil_capacity": True,
                                                                              "tall": True}), headers=hr)
    assert unknown.status_code == 422
    bad_consent = await client.post(url, json=full_time_appointment(consents={"boss": True}), headers=hr)
    assert bad_consent.status_code == 422
    bad_date = await client.post(url, json=full_time_appointment(start_date="2026-02-30"), headers=hr)
    assert bad_date.status_code == 422
    # The provincial office (above) may.
    r = await client.post(url, json=full_time_appointment(), headers=token_for("ln.hr"))
    assert r.status_code == 201, r.text
