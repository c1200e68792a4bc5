"""Art. 16 dispatch through the API: only to an agency above the inspector's own, by staff who
speak for that agency; and `dispatched_to`, which the inspections domain asks."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from backend.core.pagination import encode_cursor
from backend.guards.dispatch import dispatch_covers
from backend.personnel.dispatch.repository import covering_clause
from backend.personnel.dispatch.service import dispatched_to
from backend.personnel.models import Dispatch, Person
from tests.conftest import demo_id
from tests.personnel.helpers import appointed_inspector, db_session, make_hr

pytestmark = pytest.mark.db


def body(person_id, to, start="2026-12-01", end="2026-12-31", **over):
    out = {"person_id": str(person_id), "to_agency_code": to, "start_date": start, "end_date": end}
    out.update(over)
    return out


async def test_dispatch_to_an_upper_agency(client, token_for, db_url):
    district = await appointed_inspector(client, token_for, agency_code="210102")
    r = await client.post("/api/v1/dispatches", json=body(district["id"], "210100"), headers=token_for("sy.admin"))
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["from_agency_code"] == "210102" and d["to_agency_code"] == "210100"
    listing = await client.get(f"/api/v1/dispatches?person_id={district['id']}", headers=token_for("sy.hr"))
    assert [x["id"] for x in listing.json()["items"]] == [d["id"]]
    # Another city sees none of it.
    assert (await client.get("/api/v1/dispatches", headers=token_for("dl.officer1"))).json()["items"] == []
    # The province borrows a city inspector (two levels up works the same way).
    province = await client.post("/api/v1/dispatches", json=body(demo_id("sy.inspector.ft"), "210000"),
                                 headers=token_for("ln.hr"))
    assert province.status_code == 201, province.text
    far = await client.post("/api/v1/dispatches", json=body(district["id"], "210000", start="2027-01-01",
                                                            end="2027-01-31"), headers=token_for("ln.hr"))
    assert far.status_code == 201, far.text
    overlap = await client.post("/api/v1/dispatches", json=body(district["id"], "210100", start="2026-12-20",
                                                                end="2027-01-10"), headers=token_for("sy.hr"))
    assert overlap.status_code == 409 and overlap.json()["code"] == "DISPATCH_EXISTS"

    pid = uuid.UUID(district["id"])
    async with db_session(db_url) as s:
        assert await dispatched_to(s, pid, "210100", date(2026, 12, 1)) is True
        assert await dispatched_to(s, pid, "210100", date(2026, 12, 31)) is True
        assert await dispatched_to(s, pid, "210100", date(2027, 1, 1)) is False
        assert await dispatched_to(s, pid, "210100", date(2026, 11, 30)) is False
        assert await dispatched_to(s, pid, "210000", date(2026, 12, 15)) is False
        assert await dispatched_to(s, pid, "210000", date(2027, 1, 15)) is True
    # Once dismissed, nobody may borrow them any more.
    r = await client.post(f"/api/v1/people/{pid}/dismissal", json={"reason": "other", "effective_date": "2026-12-10"},
                          headers=token_for("sy.hr"))
    assert r.status_code == 201, r.text
    async with db_session(db_url) as s:
        assert await dispatched_to(s, pid, "210100", date(2026, 12, 15)) is False
    again = await client.post("/api/v1/dispatches", json=body(pid, "210100", start="2027-03-01", end="2027-03-31"),
                              headers=token_for("sy.hr"))
    assert again.status_code == 409 and again.json()["code"] == "PERSON_NOT_ACTIVE"


async def test_dispatch_to_a_sibling_or_lower_agency_is_refused(client, token_for):
    district = await appointed_inspector(client, token_for, agency_code="210102")
    hr = token_for("sy.hr")
    for person, to in ((district["id"], "210103"),                     # sibling district
                       (district["id"], "210102"),                     # its own agency
                       (demo_id("sy.inspector.ft"), "210102"),         # a lower agency
                       (demo_id("sy.inspector.ft"), "210112400"),      # a park, further down
                       (demo_id("sy.inspector.ft"), "210200")):        # another city
        r = await client.post("/api/v1/dispatches", json=body(person, to), headers=token_for("ln.hr"))
        assert r.status_code == 403, (person, to)
        assert r.json()["code"] == "ART16_NOT_UPPER_LEVEL" and r.json()["article"] == "16"
    r = await client.post("/api/v1/dispatches", json=body(district["id"], "210103"), headers=hr)
    assert r.json()["code"] == "ART16_NOT_UPPER_LEVEL"


async def test_dispatch_refusals(client, token_for):
    ft = demo_id("sy.inspector.ft")
    # Upper level, but the caller does not speak for it: the city cannot lend its inspector to the province.
    r = await client.post("/api/v1/dispatches", json=body(ft, "210000"), headers=token_for("sy.hr"))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    dl_hr = await make_hr(client, token_for, "210200")
    r = await client.post("/api/v1/dispatches", json=body(ft, "210000"), headers=dl_hr)
    assert r.status_code == 403
    for who in ("sy.officer1", "sy.inspector.ft", "sy.supervisor", "dl.officer1"):
        r = await client.post("/api/v1/dispatches", json=body(ft, "210000"), headers=token_for(who))
        assert r.status_code == 403, who
    assert (await client.post("/api/v1/dispatches", json=body(ft, "210000"))).status_code == 401
    ln = token_for("ln.hr")
    officer = await client.post("/api/v1/dispatches", json=body(demo_id("sy.officer1"), "210000"), headers=ln)
    assert officer.status_code == 422 and officer.json()["code"] == "NOT_AN_INSPECTOR"
    backwards = await client.post("/api/v1/dispatches", json=body(ft, "210000", start="2026-12-31", end="2026-12-01"),
                                  headers=ln)
    assert backwards.status_code == 422
    for bad in (body(uuid.uuid4(), "210000"), body(ft, "999999"), body("not-a-uuid", "210000"),
                body(ft, "210000", end="whenever"), body(ft, "210000", reason="busy")):
        assert (await client.post("/api/v1/dispatches", json=bad, headers=ln)).status_code == 422, bad
    malformed = await client.post("/api/v1/dispatches", content=b'{"person_id": ', headers={
        **ln, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    for cursor in ("zzz", encode_cursor({"d": "2027-13-01", "id": str(uuid.uuid4())}), encode_cursor({"d": "2027-01-01"})):
        r = await client.get(f"/api/v1/dispatches?cursor={cursor}", headers=ln)
        assert (r.status_code, r.json()["code"]) == (400, "INVALID_CURSOR"), cursor
    assert (await client.get("/api/v1/dispatches?person_id=nope", headers=ln)).status_code in (400, 422)


async def test_dispatch_list_paginates_and_idempotent_create(client, token_for):
    ln = token_for("ln.hr")
    ft = demo_id("sy.inspector.ft")
    ids = []
    for month in range(1, 4):
        payload = body(ft, "210000", start=f"2027-0{month}-01", end=f"2027-0{month}-20", id=str(uuid.uuid4()))
        r = await client.post("/api/v1/dispatches", json=payload, headers=ln)
        assert r.status_code == 201, r.text
        replay = await client.post("/api/v1/dispatches", json=payload, headers=ln)
        assert replay.status_code == 200 and replay.json()["id"] == r.json()["id"]
        ids.append(r.json()["id"])
    page1 = (await client.get(f"/api/v1/dispatches?person_id={ft}&limit=2", headers=ln)).json()
    page2 = (await client.get(f"/api/v1/dispatches?person_id={ft}&limit=2&cursor={page1['next_cursor']}",
                              headers=ln)).json()
    assert [x["id"] for x in page1["items"] + page2["items"]] == ids[::-1]
    assert page2["next_cursor"] is None
    # The inspector sees their own dispatches.
    own = (await client.get("/api/v1/dispatches", headers=token_for("sy.inspector.ft"))).json()
    assert {x["id"] for x in own["items"]} == set(ids)


async def test_the_sql_covering_clause_agrees_with_the_guard(db_url):
    """backend/personnel/dispatch/repository.py::covering_clause is the SQL twin of
    backend/guards/dispatch.py::dispatch_covers: both judge the same dispatch on the same days,
    agencies and inspector statuses, and must agree on every one."""
    pid = demo_id("sy.inspector.ft")
    start, end = date(2026, 3, 1), date(2026, 3, 31)
    days = [date(2026, 2, 28), start, date(2026, 3, 15), end, date(2026, 4, 1)]
    async with db_session(db_url) as s:
        d = Dispatch(id=uuid.uuid4(), person_id=pid, to_agency_code="210000", start_date=start, end_date=end,
                     created_by=demo_id("ln.hr"), created_at=datetime(2026, 2, 1, tzinfo=UTC))
        s.add(d)
        await s.flush()
        person = await s.get(Person, pid)
        assert person is not None
        seen = set()
        for status in ("active", "dismissed"):
            person.status = status
            await s.flush()
            for agency in ("210000", "210100"):
                for day in days:
                    in_sql = (await s.execute(
                        select(Dispatch.id).join(Person, Person.id == Dispatch.person_id)
                        .where(Dispatch.id == d.id, covering_clause(agency, day))
                    )).first() is not None
                    in_guard = dispatch_covers(start_date=start, end_date=end, to_agency_code="210000",
                                               person_status=status, agency_code=agency, day=day)
                    assert in_sql == in_guard, (status, agency, day)
                    seen.add(in_guard)
        assert seen == {True, False}
        await s.rollback()
