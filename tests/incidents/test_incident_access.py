"""Who may report, see and act on incidents; lists, filters, overdue deadlines; bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.incidents.helpers import incident_body, iso, make_person, report

pytestmark = pytest.mark.db


@pytest.mark.parametrize("who", ["sy.officer1", "sy.admin", "sy.hr", "ln.hr", "dl.officer1"])
async def test_only_inspectors_and_supervisors_report(client, token_for, clock, who):
    r = await client.post("/api/v1/incidents", json=incident_body(clock), headers=token_for(who))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    assert r.json()["article"] == "28"


@pytest.mark.parametrize("who", ["sy.inspector.ft", "sy.inspector.pt", "sy.supervisor"])
async def test_reporters(client, token_for, clock, who):
    case = await report(client, token_for, clock, who=who)
    assert case["reporter"]["id"]


async def test_relative_needs_relation(client, token_for, clock):
    for relation in (None, ""):
        body = incident_body(clock, victim="relative")
        if relation is not None:
            body["relative_relation"] = relation
        r = await client.post("/api/v1/incidents", json=body, headers=token_for("sy.inspector.ft"))
        assert r.status_code == 422
        assert r.json()["detail"]["errors"][0]["field"] == "relative_relation"
    r = await client.post("/api/v1/incidents", json=incident_body(clock, relative_relation="子女"),
                          headers=token_for("sy.inspector.ft"))
    assert r.status_code == 422
    case = await report(client, token_for, clock, victim="relative", relative_relation="子女")
    assert case["victim"] == "relative" and case["relative_relation"] == "子女"


async def test_visibility(client, token_for, clock):
    dl_hr = await make_person(client, token_for, "210200", "hr_admin")
    district_admin = await make_person(client, token_for, "210102", "agency_admin")
    cid = (await report(client, token_for, clock))["id"]
    for who in ("sy.inspector.ft", "sy.admin", "sy.hr", "ln.hr"):
        r = await client.get(f"/api/v1/incidents/{cid}", headers=token_for(who))
        assert r.status_code == 200, who
        listed = (await client.get("/api/v1/incidents", headers=token_for(who))).json()["items"]
        assert cid in {i["id"] for i in listed}, who
    for who in ("sy.inspector.pt", "sy.supervisor", "sy.officer1", "dl.officer1", dl_hr, district_admin):
        r = await client.get(f"/api/v1/incidents/{cid}", headers=token_for(who))
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", who
        listed = await client.get("/api/v1/incidents", headers=token_for(who))
        assert listed.status_code == 200 and listed.json()["items"] == [], who
    r = await client.get("/api/v1/incidents/00000000-0000-4000-8000-000000000000", headers=token_for("ln.hr"))
    assert r.status_code == 404


async def test_who_may_act(client, token_for, clock):
    dl_hr = await make_person(client, token_for, "210200", "hr_admin")
    cid = (await report(client, token_for, clock))["id"]
    police = {"police_unit": "派出所", "notified_at": iso(clock.now())}
    path = f"/api/v1/incidents/{cid}/police-notifications"
    # Cannot see it: 404, as for reads.
    for who in ("sy.officer1", "sy.inspector.pt", "dl.officer1", dl_hr):
        r = await client.post(path, json=police, headers=token_for(who))
        assert r.status_code == 404, who
    # The reporter sees it but is not the agency.
    r = await client.post(path, json=police, headers=token_for("sy.inspector.ft"))
    assert r.status_code == 403 and r.json()["code"] == "FORBIDDEN"
    r = await client.post(f"/api/v1/incidents/{cid}/close", json={"outcome": "x"},
                          headers=token_for("sy.inspector.ft"))
    assert r.status_code == 403
    # Provincial staff may act on a city's case.
    r = await client.post(path, json=police, headers=token_for("ln.hr"))
    assert r.status_code == 201 and r.json()["status"] == "police_notified"


async def test_status_filter_and_pagination(client, token_for, clock):
    ids = []
    for _ in range(3):
        ids.append((await report(client, token_for, clock))["id"])
        clock.advance(minutes=1)
    await client.post(f"/api/v1/incidents/{ids[0]}/police-notifications",
                      json={"police_unit": "派出所", "notified_at": iso(clock.now())}, headers=token_for("sy.hr"))
    headers = token_for("sy.hr")
    page = (await client.get("/api/v1/incidents?limit=2", headers=headers)).json()
    assert [i["id"] for i in page["items"]] == [ids[2], ids[1]] and page["next_cursor"]
    rest = (await client.get(f"/api/v1/incidents?limit=2&cursor={page['next_cursor']}", headers=headers)).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    notified = (await client.get("/api/v1/incidents?status=police_notified", headers=headers)).json()["items"]
    assert [i["id"] for i in notified] == [ids[0]]
    reported = (await client.get("/api/v1/incidents?status=reported", headers=headers)).json()["items"]
    assert {i["id"] for i in reported} == {ids[1], ids[2]}


async def test_overdue_listing(client, token_for, clock):
    headers = token_for("sy.admin")
    late28 = (await report(client, token_for, clock))["id"]
    done28 = (await report(client, token_for, clock, kind="harassment"))["id"]
    late29 = (await report(client, token_for, clock, kind="false_complaint"))["id"]
    done29 = (await report(client, token_for, clock, kind="defamation"))["id"]
    liable29 = (await report(client, token_for, clock, kind="false_accusation"))["id"]
    for cid in (late29, done29, liable29):
        await client.post(f"/api/v1/incidents/{cid}/investigation", json={}, headers=headers)
    for cid, liable in ((late29, False), (done29, False), (liable29, True)):
        r = await client.post(f"/api/v1/incidents/{cid}/findings", json={"liable": liable, "note": "x"},
                              headers=headers)
        assert r.status_code == 201
    await client.post(f"/api/v1/incidents/{done28}/police-notifications",
                      json={"police_unit": "派出所", "notified_at": iso(clock.now())}, headers=headers)

    assert (await client.get("/api/v1/incidents?overdue=true", headers=headers)).json()["items"] == []
    clock.advance(hours=24)  # exactly at the Art. 28 deadline: not yet overdue
    assert (await client.get("/api/v1/incidents?overdue=true", headers=headers)).json()["items"] == []
    clock.advance(hours=1)
    items = (await client.get("/api/v1/incidents?overdue=true", headers=headers)).json()["items"]
    assert [i["id"] for i in items] == [late28] and items[0]["overdue"] is True
    clock.advance(days=10)  # past the Art. 29 deadline: both not-liable findings are unclarified
    items = (await client.get("/api/v1/incidents?overdue=true", headers=headers)).json()["items"]
    assert {i["id"] for i in items} == {late28, late29, done29}
    r = await client.post(f"/api/v1/incidents/{done29}/clarifications",
                          json={"form": "letter", "text": "x", "published_at": iso(clock.now())}, headers=headers)
    assert r.status_code == 201
    items = (await client.get("/api/v1/incidents?overdue=true", headers=headers)).json()["items"]
    assert {i["id"] for i in items} == {late28, late29}
    # The reporter's view is filtered the same way; another city's staff sees none of it.
    mine = (await client.get("/api/v1/incidents?overdue=true", headers=token_for("sy.inspector.ft"))).json()
    assert {i["id"] for i in mine["items"]} == {late28, late29}
    one = (await client.get(f"/api/v1/incidents/{late28}", headers=headers)).json()
    assert one["overdue"] is True
    fine = (await client.get(f"/api/v1/incidents/{liable29}", headers=headers)).json()
    assert fine["overdue"] is False


async def test_configurable_deadlines(db_url, keys_dir, clock, token_for):
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.settings import Settings

    settings = Settings(database_url=db_url, data_dir=str(keys_dir), demo=True, police_notify_hours=2,
                        clarification_days=3)
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as c:
        case = await report(c, token_for, clock)
        assert case["police_notify_due_at"] == iso(clock.now() + timedelta(hours=2))
        cid = (await report(c, token_for, clock, kind="defamation"))["id"]
        await c.post(f"/api/v1/incidents/{cid}/investigation", json={}, headers=token_for("sy.hr"))
        r = await c.post(f"/api/v1/incidents/{cid}/findings", json={"liable": False, "note": "x"},
                         headers=token_for("sy.hr"))
        assert r.json()["clarification_due_at"] == iso(clock.now() + timedelta(days=3))


async def test_gcj02_position_is_stored_as_wgs84(client, token_for, clock):
    case = await report(client, token_for, clock,
                        position={"lon": 123.4380, "lat": 41.8083, "crs": "gcj02", "accuracy_m": 5})
    pos = case["position"]
    assert pos["crs"] == "wgs84" and pos["accuracy_m"] == 5
    assert 0.003 < 123.4380 - pos["lon"] < 0.009 and 0.0005 < 41.8083 - pos["lat"] < 0.004


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "MALFORMED_JSON"),
        (b"[]", 422, "VALIDATION_ERROR"),
        (b'{"kind": 5}', 422, "VALIDATION_ERROR"),
    ],
)
async def test_malformed_bodies(client, token_for, content, status, code):
    r = await client.post("/api/v1/incidents", content=content,
                          headers={**token_for("sy.inspector.ft"), "Content-Type": "application/json"})
    assert r.status_code == status and r.json()["code"] == code


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"kind": "sneezing"}, "kind"),
        ({"victim": "neighbour"}, "victim"),
        ({"occurred_at": "2026-11-01T08:00:00"}, "occurred_at"),  # no offset
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"description": ""}, "description"),
        ({"salary": 1}, "salary"),
        ({"position": {"lon": 200, "lat": 41.8}}, "lon"),
        ({"position": {"lon": 123.4, "lat": 41.8, "crs": "bd09"}}, "position.crs"),
        ({"position": {"lon": 123.4, "lat": 41.8, "extra": 1}}, "position.extra"),
        ({"inspection_id": "not-a-uuid"}, "inspection_id"),
    ],
)
async def test_bad_fields(client, token_for, clock, over, field):
    r = await client.post("/api/v1/incidents", json=incident_body(clock, **over), headers=token_for("sy.inspector.ft"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["errors"][0]["field"] == field


async def test_bad_step_bodies_and_queries(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    headers = token_for("sy.hr")
    r = await client.post(f"/api/v1/incidents/{cid}/police-notifications", json={"police_unit": "x"}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "notified_at"
    r = await client.post(f"/api/v1/incidents/{cid}/findings", json={"liable": "no", "note": "x"}, headers=headers)
    assert r.status_code == 422
    r = await client.post(f"/api/v1/incidents/{cid}/clarifications",
                          json={"form": "billboard", "text": "x", "published_at": iso(clock.now())}, headers=headers)
    assert r.status_code == 422
    r = await client.post(f"/api/v1/incidents/{cid}/investigation", json={"bogus": 1}, headers=headers)
    assert r.status_code == 422
    r = await client.post("/api/v1/incidents/not-a-uuid/close", json={"outcome": "x"}, headers=headers)
    assert r.status_code == 404
    for query in ("status=bogus", "limit=0", "limit=501", "overdue=maybe"):
        r = await client.get(f"/api/v1/incidents?{query}", headers=headers)
        assert 400 <= r.status_code < 500, query
        assert set(r.json()) == {"status", "code", "message", "message_zh", "article", "detail"}
    for cursor in ("@@@", "eyJhIjoxfQ", "eyJhdCI6IjIwMjYtMDEtMDFUMDA6MDA6MDAiLCJpZCI6IjEifQ"):
        r = await client.get(f"/api/v1/incidents?cursor={cursor}", headers=headers)
        assert r.status_code == 400 and r.json()["code"] == "INVALID_CURSOR", cursor
    r = await client.get("/api/v1/incidents")
    assert r.status_code == 401
