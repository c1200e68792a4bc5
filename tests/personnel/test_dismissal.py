"""Art. 25 dismissal through the API — credentials revoked, public notice, equipment checklist —,
term expiry by the service function and by `fieldcheck expire-terms`, and Art. 26 misconduct."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.personnel.dismissal.service import expire_terms
from tests.conftest import demo_id
from tests.personnel.helpers import db_session, make_hr, make_person, part_time_appointment, qualify

pytestmark = pytest.mark.db

FT = "sy.inspector.ft"


async def credential_numbers(client, token_for, person_id):
    r = await client.get(f"/api/v1/credentials?person_id={person_id}", headers=token_for("ln.hr"))
    assert r.status_code == 200, r.text
    return [c["number"] for c in r.json()["items"]]


async def verify(client, number):
    r = await client.get(f"/api/v1/verify?number={number}")
    assert r.status_code == 200, r.text
    return r.json()["result"]


async def test_dismissal_revokes_publishes_and_opens_checklist(client, token_for, db_url, integrate):
    ft = demo_id(FT)
    numbers = await credential_numbers(client, token_for, ft)
    assert numbers and all([await verify(client, n) == "valid" for n in numbers])
    r = await client.post(f"/api/v1/people/{ft}/dismissal", headers=token_for("sy.hr"),
                          json={"reason": "non_performance", "effective_date": "2026-11-30", "note": "年度考核不合格"})
    assert r.status_code == 201, r.text
    dismissal = r.json()
    assert dismissal["reason"] == "non_performance" and dismissal["person_id"] == str(ft)
    assert len(dismissal["revoked_credential_ids"]) == len(numbers)
    assert len(dismissal["ended_appointment_ids"]) == 1
    assert [i["item"] for i in dismissal["checklist"]] == ["credential_card", "protective_equipment",
                                                           "technical_equipment"]
    assert dismissal["checklist_complete"] is False and not any(i["returned"] for i in dismissal["checklist"])

    # Every credential is revoked at once.
    for n in numbers:
        assert await verify(client, n) == "revoked"
    # The person and the appointment are dismissed; the person can no longer act.
    person = (await client.get(f"/api/v1/people/{ft}", headers=token_for("sy.hr"))).json()
    assert person["status"] == "dismissed"
    appointments = (await client.get(f"/api/v1/people/{ft}/appointments", headers=token_for("sy.hr"))).json()
    assert appointments["items"][0]["status"] == "dismissed" and appointments["items"][0]["ended_on"] == "2026-11-30"
    assert (await client.get("/api/v1/me", headers=token_for(FT))).status_code == 401

    # The public notice: name, credential numbers, agency, date, reason — no ID number or phone.
    public = await client.get("/api/v1/public/dismissals")
    assert public.status_code == 200
    notice = next(n for n in public.json()["items"] if n["id"] == dismissal["id"])
    assert notice["name"] == person["name"] and sorted(notice["credential_numbers"]) == sorted(numbers)
    assert notice["agency_code"] == "210100" and notice["agency_name"]
    assert notice["effective_date"] == "2026-11-30" and notice["reason"] == "non_performance"
    assert "id_number" not in notice and "phone" not in notice and "note" not in notice
    full = (await client.get(f"/api/v1/people/{ft}", headers=token_for("sy.hr"))).json()
    assert full["id_number"] not in public.text and full["phone"] not in public.text

    # Dismissing twice is refused.
    twice = await client.post(f"/api/v1/people/{ft}/dismissal", headers=token_for("sy.hr"),
                              json={"reason": "other", "effective_date": "2026-12-01", "note": "x"})
    assert twice.status_code == 409 and twice.json()["code"] == "ALREADY_DISMISSED"

    # The checklist is ticked off item by item.
    url = f"/api/v1/dismissals/{dismissal['id']}/checklist"
    r = await client.post(f"{url}/credential_card", json={"returned": True, "note": "证件已收回"},
                          headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text
    card = next(i for i in r.json()["checklist"] if i["item"] == "credential_card")
    assert card["returned"] is True and card["note"] == "证件已收回" and card["recorded_at"]
    assert (await client.post(f"{url}/spaceship", json={"returned": True}, headers=token_for("sy.hr"))).status_code == 404
    assert (await client.post(f"{url}/protective_equipment", json={"returned": "yes please"},
                              headers=token_for("sy.hr"))).status_code == 422
    assert (await client.post(f"{url}/protective_equipment", json={"returned": True},
                              headers=token_for("sy.admin"))).status_code == 403
    for item in ("protective_equipment", "technical_equipment"):
        r = await client.post(f"{url}/{item}", json={"returned": True}, headers=token_for("ln.hr"))
        assert r.status_code == 200
    assert r.json()["checklist_complete"] is True
    got = await client.get(f"/api/v1/dismissals/{dismissal['id']}", headers=token_for("sy.admin"))
    assert got.status_code == 200 and got.json()["checklist_complete"] is True
    dl_hr = await make_hr(client, token_for, "210200")
    assert (await client.get(f"/api/v1/dismissals/{dismissal['id']}", headers=dl_hr)).status_code == 404
    assert (await client.get(f"/api/v1/dismissals/{dismissal['id']}",
                             headers=token_for("sy.officer1"))).status_code == 403

    await integrate()
    async with db_session(db_url) as s:
        actions = set((await s.execute(select(AuditEntry.action))).scalars())
    assert {"person.dismissed", "dismissal.notice_published", "credential.revoked",
            "dismissal.equipment_returned"} <= actions


async def test_dismissal_refusals(client, token_for):
    new = demo_id("sy.inspector.new")
    body = {"reason": "health", "effective_date": "2026-12-01", "note": "因病"}
    for who in ("sy.admin", "sy.officer1", "sy.inspector.ft", "dl.officer1"):
        r = await client.post(f"/api/v1/people/{new}/dismissal", json=body, headers=token_for(who))
        assert r.status_code == 403, who
    dl_hr = await make_hr(client, token_for, "210200")
    assert (await client.post(f"/api/v1/people/{new}/dismissal", json=body, headers=dl_hr)).status_code == 403
    assert (await client.post(f"/api/v1/people/{new}/dismissal", json=body)).status_code == 401
    hr = token_for("sy.hr")
    for bad in ({"reason": "boredom", "effective_date": "2026-12-01"}, {"reason": "health"},
                {"reason": "health", "effective_date": "soon"}, {**body, "publish": False}):
        assert (await client.post(f"/api/v1/people/{new}/dismissal", json=bad, headers=hr)).status_code == 422, bad
    officer = await client.post(f"/api/v1/people/{demo_id('sy.officer1')}/dismissal", json=body, headers=hr)
    assert officer.status_code == 422 and officer.json()["code"] == "NOT_INSPECTOR_OR_SUPERVISOR"
    assert (await client.post(f"/api/v1/people/{uuid.uuid4()}/dismissal", json=body, headers=hr)).status_code == 404
    # Still active after all the refusals.
    assert (await client.get(f"/api/v1/people/{new}", headers=hr)).json()["status"] == "active"


async def test_public_notices_paginate_and_are_rate_limited(client, token_for, app):
    hr = token_for("sy.hr")
    for username in ("sy.inspector.new", "sy.inspector.untrained", "sy.supervisor"):
        r = await client.post(f"/api/v1/people/{demo_id(username)}/dismissal", headers=hr,
                              json={"reason": "other", "effective_date": "2026-12-01"})
        assert r.status_code == 201, r.text
    first = (await client.get("/api/v1/public/dismissals?limit=2")).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (await client.get(f"/api/v1/public/dismissals?limit=2&cursor={first['next_cursor']}")).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert {n["id"] for n in first["items"]}.isdisjoint({n["id"] for n in second["items"]})
    assert (await client.get("/api/v1/public/dismissals?cursor=%%%")).status_code == 400
    assert (await client.get("/api/v1/public/dismissals?limit=0")).status_code == 422
    app.state["public_limiter"].limit = 1
    app.state["public_limiter"]._hits.clear()
    assert (await client.get("/api/v1/public/dismissals")).status_code == 200
    limited = await client.get("/api/v1/public/dismissals")
    assert limited.status_code == 429 and limited.json()["code"] == "RATE_LIMITED"


async def test_terms_expire_by_service_function(client, token_for, db_url, clock):
    hr = token_for("sy.hr")
    pt, sup = demo_id("sy.inspector.pt"), demo_id("sy.supervisor")  # both end 2028-12-31
    pt_numbers = await credential_numbers(client, token_for, pt)
    # The supervisor is renewed for a new term; the part-time inspector is not.
    renewal = await client.post(f"/api/v1/people/{sup}/appointments", headers=hr, json={
        "role": "social_supervisor", "start_date": "2029-01-01", "end_date": "2031-12-31", "contract_type": "other",
        "route": "recommendation", "recommended_by": "沈阳市律师协会", "consents": {"self": True, "employer": True}})
    assert renewal.status_code == 201, renewal.text

    # The day after the last day of the term the credential already reads as expired ...
    clock.set(datetime(2029, 1, 1, 4, 0, tzinfo=UTC))  # noon in Shenyang
    assert await verify(client, pt_numbers[0]) == "expired"

    async with db_session(db_url) as s:
        assert await expire_terms(s, date(2028, 12, 31), clock.now()) == []  # the last day still counts
        results = await expire_terms(s, date(2029, 1, 1), clock.now())
        await s.commit()
    by_person = {r.person_id: r for r in results}
    assert by_person[pt].outcome == "dismissed" and by_person[pt].dismissal_id is not None
    assert by_person[sup].outcome == "ended" and by_person[sup].dismissal_id is None
    # ... and after the run it is revoked, with a public notice of the automatic dismissal.
    assert await verify(client, pt_numbers[0]) == "revoked"
    notice = next(n for n in (await client.get("/api/v1/public/dismissals")).json()["items"]
                  if n["id"] == str(by_person[pt].dismissal_id))
    assert notice["reason"] == "term_expired" and notice["effective_date"] == "2029-01-01"
    assert notice["credential_numbers"] == pt_numbers
    dismissal = (await client.get(f"/api/v1/dismissals/{by_person[pt].dismissal_id}", headers=hr)).json()
    assert len(dismissal["checklist"]) == 3
    assert (await client.get(f"/api/v1/people/{pt}", headers=hr)).json()["status"] == "dismissed"
    supervisor = (await client.get(f"/api/v1/people/{sup}/appointments", headers=hr)).json()["items"]
    assert [a["status"] for a in supervisor] == ["ended", "active"]
    assert (await client.get(f"/api/v1/people/{sup}", headers=hr)).json()["status"] == "active"

    # Idempotent: a second run does nothing.
    async with db_session(db_url) as s:
        assert await expire_terms(s, date(2029, 1, 1), clock.now()) == []
        await s.commit()


async def test_terms_expire_by_cli(client, token_for, db_url, monkeypatch, capsys):
    from backend.cli import main

    hr = token_for("sy.hr")
    person = await make_person(client, hr, employment="part_time")
    await qualify(client, hr, person["id"], kind="professional_title", level="senior")
    r = await client.post(f"/api/v1/people/{person['id']}/appointments", headers=hr,
                          json=part_time_appointment(start_date="2025-01-01", end_date="2026-06-30"))
    assert r.status_code == 201, r.text
    monkeypatch.setenv("FIELDCHECK_DATABASE_URL", db_url)
    assert await asyncio.to_thread(main, ["expire-terms", "--today", "2026-07-01"]) == 0
    out = capsys.readouterr().out
    assert person["id"] in out and "dismissed" in out
    assert (await client.get(f"/api/v1/people/{person['id']}", headers=hr)).json()["status"] == "dismissed"
    # The second run finds nothing left to do.
    assert await asyncio.to_thread(main, ["expire-terms", "--today", "2026-07-01"]) == 0
    assert "terms expired before 2026-07-01: 0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["expire-terms", "--today", "tomorrow"])


async def test_misconduct_without_and_with_dismissal(client, token_for, clock):
    hr = token_for("sy.hr")
    ft = demo_id(FT)
    url = f"/api/v1/people/{ft}/misconduct"
    warned = await client.post(url, json={"item": 5, "sanction": "criticism", "note": "将工作证借给他人"},
                               headers=token_for("sy.admin"))
    assert warned.status_code == 201, warned.text
    assert warned.json()["item"] == "credential_misuse" and warned.json()["item_number"] == 5
    assert warned.json()["article"] == "26" and warned.json()["dismissal_id"] is None
    assert "工作证件" in warned.json()["item_text_zh"]
    # An agency admin records misconduct but does not dismiss.
    r = await client.post(url, json={"item": "leaking_confidential", "sanction": "transfer_to_judicial",
                                     "leads_to_dismissal": True}, headers=token_for("sy.admin"))
    assert r.status_code == 403
    for bad in ({"item": 9, "sanction": "warning"}, {"item": 0, "sanction": "warning"},
                {"item": "jaywalking", "sanction": "warning"}, {"item": 1, "sanction": "flogging"},
                {"item": 1, "sanction": "warning", "effective_date": "2026-12-01"}):
        assert (await client.post(url, json=bad, headers=hr)).status_code == 422, bad
    officer = await client.post(f"/api/v1/people/{demo_id('sy.officer1')}/misconduct",
                                json={"item": 1, "sanction": "warning"}, headers=hr)
    assert officer.status_code == 422 and officer.json()["code"] == "NOT_INSPECTOR_OR_SUPERVISOR"
    for who in ("sy.officer1", "sy.inspector.pt", "dl.officer1"):
        assert (await client.post(url, json={"item": 1, "sanction": "warning"},
                                  headers=token_for(who))).status_code == 403, who

    numbers = await credential_numbers(client, token_for, ft)
    clock.advance(seconds=1)
    r = await client.post(url, json={"item": "leaking_confidential", "sanction": "transfer_to_judicial",
                                     "leads_to_dismissal": True, "effective_date": "2026-12-15"}, headers=hr)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["leads_to_dismissal"] is True and body["dismissal"]["reason"] == "criminal"
    assert body["dismissal"]["misconduct_id"] == body["id"]
    dismissal = (await client.get(f"/api/v1/dismissals/{body['dismissal_id']}", headers=hr)).json()
    assert dismissal["effective_date"] == "2026-12-15"
    assert await verify(client, numbers[0]) == "revoked"
    # Item 7 (refusing the handover after dismissal) is recorded against the dismissed person.
    clock.advance(seconds=1)
    handover = await client.post(url, json={"item": 7, "sanction": "transfer_to_discipline_inspection"},
                                 headers=hr)
    assert handover.status_code == 201 and handover.json()["item"] == "refusing_handover"
    # A further dismissal through misconduct is refused and leaves no record behind.
    again = await client.post(url, json={"item": 8, "sanction": "discipline", "leads_to_dismissal": True},
                              headers=hr)
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_DISMISSED"
    listing = (await client.get(url, headers=hr)).json()["items"]
    assert [m["item"] for m in listing] == ["credential_misuse", "leaking_confidential", "refusing_handover"]


async def test_discipline_dismissal_through_misconduct(client, token_for):
    new = demo_id("sy.inspector.new")
    r = await client.post(f"/api/v1/people/{new}/misconduct", headers=token_for("ln.hr"),
                          json={"item": "abusive_conduct", "sanction": "discipline", "leads_to_dismissal": True})
    assert r.status_code == 201, r.text
    assert r.json()["dismissal"]["reason"] == "discipline"
    assert r.json()["dismissal"]["effective_date"]  # today by default


async def test_concurrent_dismissals_make_one(client, token_for, integrate):
    new = demo_id("sy.inspector.new")
    hr = token_for("sy.hr")
    results = await asyncio.gather(*[
        client.post(f"/api/v1/people/{new}/dismissal", headers=hr,
                    json={"reason": "health", "effective_date": "2026-12-01", "note": str(i)})
        for i in range(3)
    ])
    assert sorted(r.status_code for r in results) == [201, 409, 409]
    notices = (await client.get("/api/v1/public/dismissals")).json()["items"]
    assert len([n for n in notices if n["effective_date"] == "2026-12-01"]) == 1
    await integrate()
    chain = await client.get("/api/v1/audit/verify", headers=token_for("sy.admin"))
    assert chain.status_code == 200 and chain.json()["ok"] is True
