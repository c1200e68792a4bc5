"""Art. 28 and Art. 29 cases end to end through the HTTP API, and every illegal step refused."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tests.incidents.helpers import audit_actions, iso, notifications_of, report

pytestmark = pytest.mark.db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def post(client, token_for, path, body, who="sy.hr"):
    return await client.post(f"/api/v1/incidents/{path}", json=body, headers=token_for(who))


async def test_art28_workflow(client, token_for, clock, db_url):
    case = await report(client, token_for, clock, kind="attack", victim="relative", relative_relation="配偶",
                        position={"lon": 123.4315, "lat": 41.8057, "crs": "wgs84", "accuracy_m": 8.0})
    assert case["status"] == "reported" and case["article"] == "28"
    assert case["relative_relation"] == "配偶"
    assert at(case["reported_at"]) == clock.now()
    assert at(case["police_notify_due_at"]) == clock.now() + timedelta(hours=24)
    assert case["clarification_due_at"] is None and case["overdue"] is False
    assert case["reporter"]["name"] and case["agency_code"] == "210100"
    assert case["position"] == {"lon": 123.4315, "lat": 41.8057, "crs": "wgs84", "accuracy_m": 8.0}
    cid = case["id"]

    clock.advance(hours=2)
    r = await post(client, token_for, f"{cid}/police-notifications",
                   {"police_unit": "沈阳市公安局和平分局", "notified_at": iso(clock.now() - timedelta(minutes=30)),
                    "case_number": "SY2026-001", "contact": "张警官 024-12345678"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "police_notified" and at(body["police_notified_at"]) == clock.now()
    assert body["police_notifications"][0]["police_unit"] == "沈阳市公安局和平分局"
    assert body["police_notifications"][0]["late"] is False

    clock.advance(hours=1)
    r = await post(client, token_for, f"{cid}/actions", {"note": "陪同报案并联系律师", "at": iso(clock.now())},
                   who="sy.admin")
    assert r.status_code == 201 and r.json()["status"] == "assisting"
    first_assist = r.json()["assisting_at"]
    clock.advance(hours=1)
    r = await post(client, token_for, f"{cid}/actions", {"note": "安排心理疏导", "at": iso(clock.now())})
    assert r.status_code == 201
    assert r.json()["status"] == "assisting" and r.json()["assisting_at"] == first_assist
    assert [a["note"] for a in r.json()["actions"]] == ["陪同报案并联系律师", "安排心理疏导"]

    r = await post(client, token_for, f"{cid}/close", {"outcome": "公安机关已立案，当事人已处理"}, who="ln.hr")
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["status"] == "closed" and closed["outcome"] == "公安机关已立案，当事人已处理"
    assert at(closed["closed_at"]) == clock.now()
    for field in ("reported_at", "police_notified_at", "assisting_at", "closed_at"):
        assert closed[field] is not None
    assert closed["investigating_at"] is None and closed["found_at"] is None

    # The reporter sees the whole case; every step is in the audit log.
    mine = await client.get(f"/api/v1/incidents/{cid}", headers=token_for("sy.inspector.ft"))
    assert mine.status_code == 200 and mine.json() == closed
    assert await audit_actions(db_url, f"incident:{cid}") == [
        "incident.reported", "incident.police_notified", "incident.assistance_recorded",
        "incident.assistance_recorded", "incident.closed"]


async def test_art29_not_liable_workflow(client, token_for, clock, db_url):
    case = await report(client, token_for, clock, who="sy.supervisor", kind="false_accusation")
    assert case["article"] == "29" and case["police_notify_due_at"] is None
    cid = case["id"]
    r = await post(client, token_for, f"{cid}/investigation", {"note": "成立调查组"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "investigating" and r.json()["investigation_note"] == "成立调查组"
    clock.advance(days=3)
    r = await post(client, token_for, f"{cid}/findings", {"liable": False, "note": "举报内容不属实"})
    assert r.status_code == 201, r.text
    found = r.json()
    assert found["status"] == "found_not_liable" and found["liable"] is False
    assert at(found["found_at"]) == clock.now()
    assert at(found["clarification_due_at"]) == clock.now() + timedelta(days=10)
    clock.advance(days=2)
    r = await post(client, token_for, f"{cid}/clarifications",
                   {"form": "public_notice", "text": "经调查，举报不实，特此澄清", "published_at": iso(clock.now())},
                   who="sy.admin")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "clarified" and r.json()["clarifications"][0]["form"] == "public_notice"
    r = await post(client, token_for, f"{cid}/close", {"outcome": "已澄清，消除影响"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert await audit_actions(db_url, f"incident:{cid}") == [
        "incident.reported", "incident.investigation_started", "incident.finding_recorded", "incident.clarified",
        "incident.closed"]


async def test_investigation_needs_no_body(client, token_for, clock):
    case = await report(client, token_for, clock, kind="defamation")
    r = await client.post(f"/api/v1/incidents/{case['id']}/investigation", headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "investigating" and r.json()["investigation_note"] is None


async def test_art29_liable_cannot_be_clarified(client, token_for, clock):
    cid = (await report(client, token_for, clock, kind="false_complaint"))["id"]
    await post(client, token_for, f"{cid}/investigation", {})
    r = await post(client, token_for, f"{cid}/findings", {"liable": True, "note": "确有违规"})
    assert r.status_code == 201 and r.json()["status"] == "found_liable"
    assert r.json()["clarification_due_at"] is None
    r = await post(client, token_for, f"{cid}/clarifications",
                   {"form": "letter", "text": "x", "published_at": iso(clock.now())})
    assert r.status_code == 409
    err = r.json()
    assert err["code"] == "INVALID_TRANSITION" and err["article"] == "29"
    assert err["detail"]["from"] == "found_liable" and err["detail"]["to"] == "clarified"
    r = await post(client, token_for, f"{cid}/close", {"outcome": "依规处理"})
    assert r.status_code == 200 and r.json()["status"] == "closed"


def _invalid(r, src, dst):
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "INVALID_TRANSITION"
    assert (body["detail"]["from"], body["detail"]["to"]) == (src, dst)
    assert body["message"] and body["message_zh"]


async def test_art28_illegal_steps(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    now = iso(clock.now())
    police = {"police_unit": "派出所", "notified_at": now}
    _invalid(await post(client, token_for, f"{cid}/actions", {"note": "x", "at": now}), "reported", "assisting")
    _invalid(await post(client, token_for, f"{cid}/close", {"outcome": "x"}), "reported", "closed")
    _invalid(await post(client, token_for, f"{cid}/investigation", {}), "reported", "investigating")
    _invalid(await post(client, token_for, f"{cid}/findings", {"liable": False, "note": "x"}),
             "reported", "found_not_liable")
    _invalid(await post(client, token_for, f"{cid}/clarifications",
                        {"form": "other", "text": "x", "published_at": now}), "reported", "clarified")
    assert (await post(client, token_for, f"{cid}/police-notifications", police)).status_code == 201
    _invalid(await post(client, token_for, f"{cid}/police-notifications", police), "police_notified",
             "police_notified")
    _invalid(await post(client, token_for, f"{cid}/close", {"outcome": "x"}), "police_notified", "closed")
    assert (await post(client, token_for, f"{cid}/actions", {"note": "x", "at": now})).status_code == 201
    assert (await post(client, token_for, f"{cid}/close", {"outcome": "x"})).status_code == 200
    _invalid(await post(client, token_for, f"{cid}/actions", {"note": "x", "at": now}), "closed", "assisting")
    _invalid(await post(client, token_for, f"{cid}/close", {"outcome": "x"}), "closed", "closed")
    # Nothing refused changed the case.
    final = (await client.get(f"/api/v1/incidents/{cid}", headers=token_for("sy.hr"))).json()
    assert len(final["police_notifications"]) == 1 and len(final["actions"]) == 1


async def test_art29_illegal_steps(client, token_for, clock):
    cid = (await report(client, token_for, clock, kind="defamation"))["id"]
    now = iso(clock.now())
    _invalid(await post(client, token_for, f"{cid}/police-notifications", {"police_unit": "x", "notified_at": now}),
             "reported", "police_notified")
    _invalid(await post(client, token_for, f"{cid}/close", {"outcome": "x"}), "reported", "closed")
    await post(client, token_for, f"{cid}/investigation", {})
    _invalid(await post(client, token_for, f"{cid}/investigation", {}), "investigating", "investigating")
    # Clarifying before a not-liable finding.
    _invalid(await post(client, token_for, f"{cid}/clarifications",
                        {"form": "meeting", "text": "x", "published_at": now}), "investigating", "clarified")
    _invalid(await post(client, token_for, f"{cid}/actions", {"note": "x", "at": now}), "investigating", "assisting")
    await post(client, token_for, f"{cid}/findings", {"liable": False, "note": "x"})
    _invalid(await post(client, token_for, f"{cid}/findings", {"liable": True, "note": "x"}),
             "found_not_liable", "found_liable")
    _invalid(await post(client, token_for, f"{cid}/close", {"outcome": "x"}), "found_not_liable", "closed")


async def test_times_in_the_future_are_refused(client, token_for, clock):
    future = iso(clock.now() + timedelta(hours=2))
    r = await client.post("/api/v1/incidents", json={
        "kind": "threat", "victim": "self", "occurred_at": future, "description": "x"},
        headers=token_for("sy.inspector.ft"))
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "occurred_at"
    cid = (await report(client, token_for, clock))["id"]
    r = await post(client, token_for, f"{cid}/police-notifications", {"police_unit": "x", "notified_at": future})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "notified_at"
    assert (await client.get(f"/api/v1/incidents/{cid}", headers=token_for("sy.hr"))).json()["status"] == "reported"


async def test_late_police_notification_is_marked_late(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    clock.advance(hours=30)
    r = await post(client, token_for, f"{cid}/police-notifications",
                   {"police_unit": "派出所", "notified_at": iso(clock.now())})
    assert r.status_code == 201
    assert r.json()["police_notifications"][0]["late"] is True
    assert r.json()["overdue"] is False


async def test_reported_case_notifies_staff_above_in_same_transaction(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    for staff in ("sy.admin", "sy.hr", "ln.hr"):
        items = await notifications_of(client, token_for(staff))
        hits = [n for n in items if n["subject"] == f"incident:{cid}"]
        assert [n["kind"] for n in hits] == ["incident_reported"], staff
        assert hits[0]["read"] is False and hits[0]["data"]["article"] == "28"
    for other in ("sy.officer1", "sy.inspector.pt", "sy.inspector.ft", "dl.officer1"):
        assert not [n for n in await notifications_of(client, token_for(other))
                    if n["subject"] == f"incident:{cid}"], other


async def test_idempotent_report_and_steps(client, token_for, clock):
    from tests.incidents.helpers import incident_body

    body = incident_body(clock, id=str(uuid.uuid4()))
    headers = token_for("sy.inspector.ft")
    first = await client.post("/api/v1/incidents", json=body, headers=headers)
    again = await client.post("/api/v1/incidents", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] == body["id"]
    changed = await client.post("/api/v1/incidents", json={**body, "kind": "attack"}, headers=headers)
    assert changed.status_code == 409 and changed.json()["code"] == "ID_CONFLICT"
    # One case, one notification per staff member.
    listing = (await client.get("/api/v1/incidents", headers=headers)).json()["items"]
    assert [i["id"] for i in listing] == [body["id"]]

    step = {"id": str(uuid.uuid4()), "police_unit": "派出所", "notified_at": iso(clock.now())}
    a = await post(client, token_for, f"{body['id']}/police-notifications", step)
    b = await post(client, token_for, f"{body['id']}/police-notifications", step)
    assert (a.status_code, b.status_code) == (201, 200)
    assert a.json() == b.json()
    close_headers = {**token_for("sy.hr"), "Idempotency-Key": "close-once"}
    await post(client, token_for, f"{body['id']}/actions", {"note": "x", "at": iso(clock.now())})
    c1 = await client.post(f"/api/v1/incidents/{body['id']}/close", json={"outcome": "结案"}, headers=close_headers)
    c2 = await client.post(f"/api/v1/incidents/{body['id']}/close", json={"outcome": "结案"}, headers=close_headers)
    assert (c1.status_code, c2.status_code) == (200, 200) and c1.json() == c2.json()
