"""Social supervision (Art. 19, 20) through the HTTP API: submissions, the agency's answer,
visibility, the supervisor's masked identity, deadlines."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from tests.conftest import demo_id
from tests.incidents.helpers import audit_actions, make_person, notifications_of

pytestmark = pytest.mark.db

BASE = "/api/v1/supervision/submissions"


def body(**over):
    data = {"kind": "hazard_clue", "agency_code": "210100", "subject": "某化工厂消防通道堵塞",
            "body": "东门消防通道长期堆放货物", "position": {"lon": 123.40, "lat": 41.80, "crs": "wgs84"}}
    data.update(over)
    return data


async def submit(client, token_for, **over):
    r = await client.post(BASE, json=body(**over), headers=token_for("sy.supervisor"))
    assert r.status_code == 201, r.text
    return r.json()


async def test_submit_answer_workflow(client, token_for, clock, db_url):
    sub = await submit(client, token_for)
    assert sub["status"] == "received" and sub["feedback"] is None and sub["overdue"] is False
    received = datetime.fromisoformat(sub["received_at"].replace("Z", "+00:00"))
    assert received == clock.now()
    assert datetime.fromisoformat(sub["due_at"].replace("Z", "+00:00")) == clock.now() + timedelta(days=15)
    assert sub["supervisor"] == {"id": str(demo_id("sy.supervisor")), "name": sub["supervisor"]["name"]}
    assert sub["position"]["lon"] == 123.40
    # The target agency's staff (and above) are told.
    for staff in ("sy.admin", "sy.hr", "ln.hr"):
        kinds = [n["kind"] for n in await notifications_of(client, token_for(staff))
                 if n["subject"] == f"supervision_submission:{sub['id']}"]
        assert kinds == ["supervision_received"], staff

    clock.advance(days=3)
    r = await client.post(f"{BASE}/{sub['id']}/feedback", json={"text": "已责令整改并复查", "outcome": "adopted"},
                          headers=token_for("sy.admin"))
    assert r.status_code == 201, r.text
    answered = r.json()
    assert answered["status"] == "answered"
    assert answered["feedback"]["text"] == "已责令整改并复查" and answered["feedback"]["outcome"] == "adopted"
    assert answered["feedback"]["answered_by"] == str(demo_id("sy.admin"))
    # Twice is refused.
    r = await client.post(f"{BASE}/{sub['id']}/feedback", json={"text": "again", "outcome": "x"},
                          headers=token_for("sy.hr"))
    assert r.status_code == 409 and r.json()["code"] == "INVALID_TRANSITION"
    assert r.json()["detail"]["from"] == "answered"
    # The supervisor sees the answer and is notified.
    mine = await client.get(f"{BASE}/{sub['id']}", headers=token_for("sy.supervisor"))
    assert mine.status_code == 200 and mine.json()["feedback"]["outcome"] == "adopted"
    kinds = [n["kind"] for n in await notifications_of(client, token_for("sy.supervisor"))]
    assert kinds == ["supervision_answered"]
    assert await audit_actions(db_url, f"supervision_submission:{sub['id']}") == [
        "supervision.submitted", "supervision.answered"]


async def test_submit_to_own_agency_or_below_only(client, token_for):
    assert (await submit(client, token_for, agency_code="210102"))["agency_code"] == "210102"
    for code in ("210000", "210200", "21SF00"):
        r = await client.post(BASE, json=body(agency_code=code), headers=token_for("sy.supervisor"))
        assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN", code
        assert r.json()["article"] == "19"
    r = await client.post(BASE, json=body(agency_code="999999"), headers=token_for("sy.supervisor"))
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "agency_code"


@pytest.mark.parametrize("who", ["sy.inspector.ft", "sy.officer1", "sy.admin", "sy.hr", "ln.hr", "dl.officer1"])
async def test_only_supervisors_submit(client, token_for, who):
    r = await client.post(BASE, json=body(), headers=token_for(who))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"


async def test_visibility_and_masked_identity(client, token_for):
    dl_hr = await make_person(client, token_for, "210200", "hr_admin")
    other_supervisor = await make_person(client, token_for, "210100", "social_supervisor")
    district_hr = await make_person(client, token_for, "210102", "hr_admin")
    sub = await submit(client, token_for)
    path = f"{BASE}/{sub['id']}"
    for who in ("sy.supervisor", "sy.admin", "sy.hr", "ln.hr"):
        r = await client.get(path, headers=token_for(who))
        assert r.status_code == 200, who
        assert r.json()["supervisor"]["id"] == str(demo_id("sy.supervisor")), who
        assert r.json()["supervisor_masked"] is False
    # Officers of the agency may follow up the clue, but do not learn who sent it.
    for who in ("sy.officer1",):
        r = await client.get(path, headers=token_for(who))
        assert r.status_code == 200
        assert r.json()["supervisor"] is None and r.json()["supervisor_masked"] is True
        listed = (await client.get(BASE, headers=token_for(who))).json()["items"]
        assert [s["supervisor"] for s in listed] == [None]
        assert str(demo_id("sy.supervisor")) not in (await client.get(path, headers=token_for(who))).text
    for who in ("sy.inspector.ft", "dl.officer1", dl_hr, other_supervisor, district_hr):
        r = await client.get(path, headers=token_for(who))
        assert r.status_code == 404, who
        listed = await client.get(BASE, headers=token_for(who))
        assert listed.status_code == 200 and listed.json()["items"] == [], who


async def test_who_may_answer(client, token_for):
    dl_hr = await make_person(client, token_for, "210200", "hr_admin")
    district_hr = await make_person(client, token_for, "210102", "hr_admin")
    sub = await submit(client, token_for)
    path = f"{BASE}/{sub['id']}/feedback"
    fb = {"text": "收到", "outcome": "handled"}
    for who in ("sy.officer1", "sy.supervisor"):
        r = await client.post(path, json=fb, headers=token_for(who))
        assert r.status_code == 403, who
    for who in ("sy.inspector.ft", "dl.officer1", dl_hr, district_hr):
        r = await client.post(path, json=fb, headers=token_for(who))
        assert r.status_code == 404, who
    # Staff above the target agency may answer; staff of a lower agency answer submissions to it.
    low = await submit(client, token_for, agency_code="210102")
    r = await client.post(f"{BASE}/{low['id']}/feedback", json=fb, headers=token_for(district_hr))
    assert r.status_code == 201, r.text
    r = await client.post(path, json=fb, headers=token_for("ln.hr"))
    assert r.status_code == 201


async def test_lists_mine_and_overdue(client, token_for, clock):
    first = await submit(client, token_for)
    clock.advance(days=1)
    second = await submit(client, token_for, kind="suggestion", agency_code="210102")
    clock.advance(minutes=1)  # distinct times: equal ones are ordered by (random) id
    answered = await submit(client, token_for, kind="criticism")
    await client.post(f"{BASE}/{answered['id']}/feedback", json={"text": "x", "outcome": "y"},
                      headers=token_for("sy.hr"))
    mine = (await client.get(f"{BASE}?mine=true", headers=token_for("sy.supervisor"))).json()["items"]
    assert [s["id"] for s in mine] == [answered["id"], second["id"], first["id"]]
    assert (await client.get(f"{BASE}?mine=true", headers=token_for("sy.hr"))).json()["items"] == []
    page = (await client.get(f"{BASE}?limit=2", headers=token_for("sy.hr"))).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (await client.get(f"{BASE}?limit=2&cursor={page['next_cursor']}", headers=token_for("sy.hr"))).json()
    assert [s["id"] for s in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    received = (await client.get(f"{BASE}?status=received", headers=token_for("sy.hr"))).json()["items"]
    assert {s["id"] for s in received} == {first["id"], second["id"]}

    clock.advance(days=14, minutes=-1)  # first is now exactly 15 days old: at the deadline, not past it
    assert (await client.get(f"{BASE}?overdue=true", headers=token_for("sy.hr"))).json()["items"] == []
    clock.advance(seconds=1)
    over = (await client.get(f"{BASE}?overdue=true", headers=token_for("sy.hr"))).json()["items"]
    assert [s["id"] for s in over] == [first["id"]] and over[0]["overdue"] is True
    clock.advance(days=1)
    over = (await client.get(f"{BASE}?overdue=true", headers=token_for("sy.admin"))).json()["items"]
    assert {s["id"] for s in over} == {first["id"], second["id"]}
    mine_over = (await client.get(f"{BASE}?mine=true&overdue=true", headers=token_for("sy.supervisor"))).json()
    assert {s["id"] for s in mine_over["items"]} == {first["id"], second["id"]}
    # Answering late clears it.
    await client.post(f"{BASE}/{first['id']}/feedback", json={"text": "x", "outcome": "y"}, headers=token_for("sy.hr"))
    over = (await client.get(f"{BASE}?overdue=true", headers=token_for("sy.hr"))).json()["items"]
    assert [s["id"] for s in over] == [second["id"]]


async def test_idempotent_submission(client, token_for):
    data = body(id=str(uuid.uuid4()))
    a = await client.post(BASE, json=data, headers=token_for("sy.supervisor"))
    b = await client.post(BASE, json=data, headers=token_for("sy.supervisor"))
    assert (a.status_code, b.status_code) == (201, 200) and a.json() == b.json()
    c = await client.post(BASE, json={**data, "subject": "other"}, headers=token_for("sy.supervisor"))
    assert c.status_code == 409 and c.json()["code"] == "ID_CONFLICT"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"kind": "complaint"}, "kind"),
        ({"subject": ""}, "subject"),
        ({"body": 5}, "body"),
        ({"agency_code": None}, "agency_code"),
        ({"extra": True}, "extra"),
        ({"position": {"lon": 123.4, "lat": 95}}, "lat"),
    ],
)
async def test_bad_submissions(client, token_for, over, field):
    r = await client.post(BASE, json=body(**over), headers=token_for("sy.supervisor"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["errors"][0]["field"] == field


async def test_bad_feedback_and_queries(client, token_for):
    sub = await submit(client, token_for)
    r = await client.post(f"{BASE}/{sub['id']}/feedback", json={"text": "x"}, headers=token_for("sy.hr"))
    assert r.status_code == 422
    r = await client.post(f"{BASE}/{sub['id']}/feedback", content=b"{oops",
                          headers={**token_for("sy.hr"), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "MALFORMED_JSON"
    r = await client.post(f"{BASE}/{uuid.uuid4()}/feedback", json={"text": "x", "outcome": "y"},
                          headers=token_for("sy.hr"))
    assert r.status_code == 404
    for query in ("mine=perhaps", "status=lost", "limit=-1", "cursor=%%%"):
        r = await client.get(f"{BASE}?{query}", headers=token_for("sy.hr"))
        assert 400 <= r.status_code < 500, query
