"""Bad input is a 4xx with the API.md error body, never a 500; client ids and Idempotency-Keys
replay; lists paginate."""

from __future__ import annotations

import uuid

import pytest

from tests.inspections.helpers import Flow, at, inspection_body, position

pytestmark = pytest.mark.db

ERROR_KEYS = {"status", "code", "message", "message_zh", "article", "detail"}


@pytest.mark.parametrize(("path", "content", "status", "code"), [
    ("/api/v1/inspections", b"{not json", 400, "MALFORMED_JSON"),
    ("/api/v1/inspections", b"[]", 422, "VALIDATION_ERROR"),
    ("/api/v1/inspections", b'{"kind": 5}', 422, "VALIDATION_ERROR"),
    ("/api/v1/inspections/{iid}/check-ins", b"{not json", 400, "MALFORMED_JSON"),
    ("/api/v1/inspections/{iid}/check-ins", b'{"position": "here", "at": "now"}', 422, "VALIDATION_ERROR"),
    ("/api/v1/inspections/{iid}/findings", b'{"description": "", "hazard_level": "general"}', 422,
     "VALIDATION_ERROR"),
    ("/api/v1/inspections/{iid}/findings", b'{"description": "x", "hazard_level": "minor"}', 422,
     "VALIDATION_ERROR"),
    ("/api/v1/inspections/{iid}/documents", b'{"type": "memo", "content": {}}', 422, "VALIDATION_ERROR"),
    ("/api/v1/inspections/{iid}/documents", b'{"type": "recheck_opinion", "content": []}', 422,
     "VALIDATION_ERROR"),
])
async def test_bad_bodies(client, token_for, clock, path, content, status, code):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    r = await client.post(path.format(iid=ins["id"]), content=content,
                          headers={**token_for("sy.officer1"), "Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and set(r.json()) == ERROR_KEYS


async def test_field_errors_name_the_field(client, token_for, clock):
    h = token_for("sy.officer1")
    r = await client.post("/api/v1/inspections", headers=h, json={**inspection_body(clock), "budget": 1})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["code"] == "unknown_field"
    assert r.json()["detail"]["errors"][0]["field"] == "budget"
    body = inspection_body(clock)
    body["site"] = {**body["site"], "lon": 200}
    r = await client.post("/api/v1/inspections", headers=h, json=body)
    assert r.status_code == 422 and "site" in r.json()["detail"]["errors"][0]["field"]
    body = inspection_body(clock)
    body["site"] = {**body["site"], "crs": "bd09"}
    assert (await client.post("/api/v1/inspections", headers=h, json=body)).status_code == 422
    body = inspection_body(clock)
    body["site"] = {**body["site"], "radius_m": 0}
    assert (await client.post("/api/v1/inspections", headers=h, json=body)).status_code == 422
    r = await client.post("/api/v1/inspections", headers=h, json=inspection_body(clock, team=()))
    assert r.status_code == 422
    r = await client.post("/api/v1/inspections", headers=h, json=inspection_body(clock) | {"team": ["not-a-uuid"]})
    assert r.status_code == 422
    # A time without an offset is ambiguous: refused.
    r = await client.post("/api/v1/inspections", headers=h,
                          json=inspection_body(clock, planned_at="2026-11-26T10:00:00"))
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "planned_at"


async def test_nested_position_and_content_errors(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    h = token_for("sy.officer1")
    r = await client.post(f"/api/v1/inspections/{ins['id']}/findings", headers=h,
                          json={"description": "x", "hazard_level": "general",
                                "position": {"lon": 123.4, "lat": 95, "crs": "wgs84"}})
    assert r.status_code == 422
    r = await client.post(f"/api/v1/inspections/{ins['id']}/findings", headers=h,
                          json={"description": "x", "hazard_level": "general",
                                "position": {**position(), "altitude": 3}})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["code"] == "unknown_field"
    # Content that RFC 8785 cannot canonicalise (an integer beyond 2^53) is a 422, not a 500.
    r = await client.post(f"/api/v1/inspections/{ins['id']}/documents", headers=h,
                          json={"type": "on_site_inspection_record", "content": {"n": 2**60}})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "content"
    r = await client.post(f"/api/v1/inspections/{ins['id']}/check-ins", headers=token_for("sy.inspector.pt"),
                          json={"position": position(), "at": "2026-11-26T10:00:00"})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "at"
    r = await client.post(f"/api/v1/inspections/{ins['id']}/credential-displays", headers=h,
                          json={"enforcement_certificate_number": "x", "shown_to": {"name": "", "role": "r"},
                                "position": position(), "at": at(clock)})
    assert r.status_code == 422


async def test_client_id_and_idempotency_key_replay(client, token_for, clock):
    h = token_for("sy.officer1")
    cid = str(uuid.uuid4())
    body = inspection_body(clock) | {"id": cid}
    first = await client.post("/api/v1/inspections", headers=h, json=body)
    assert first.status_code == 201 and first.json()["id"] == cid
    again = await client.post("/api/v1/inspections", headers=h, json=body)
    assert again.status_code == 200 and again.json() == first.json()
    other = await client.post("/api/v1/inspections", headers=h, json=body | {"kind": "investigation"})
    assert other.status_code == 409 and other.json()["code"] == "ID_CONFLICT"

    flow = Flow(client, token_for, clock)
    await flow.ready_officers(cid)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    r1 = await client.post(f"/api/v1/inspections/{cid}/start", headers={**h, **key})
    assert r1.status_code == 200 and r1.json()["status"] == "in_progress"
    r2 = await client.post(f"/api/v1/inspections/{cid}/start", headers={**h, **key})
    assert r2.status_code == 200 and r2.headers.get("idempotent-replayed") == "true"
    r3 = await client.post(f"/api/v1/inspections/{cid}/start", headers=h)
    assert r3.status_code == 409 and r3.json()["code"] == "INSPECTION_NOT_PLANNED"

    # A finding created offline and replayed.
    fid = str(uuid.uuid4())
    finding = {"id": fid, "description": "隐患", "hazard_level": "general"}
    r = await client.post(f"/api/v1/inspections/{cid}/findings", headers=h, json=finding)
    assert r.status_code == 201 and r.json()["id"] == fid
    r = await client.post(f"/api/v1/inspections/{cid}/findings", headers=h, json=finding)
    assert r.status_code == 200
    view = (await client.get(f"/api/v1/inspections/{cid}", headers=h)).json()
    assert [f["id"] for f in view["findings"]] == [fid]


async def test_list_pagination_and_filters(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    made = [(await flow.create())["id"] for _ in range(3)]
    h = token_for("sy.officer2")
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/inspections?limit=2" + (f"&cursor={cursor}" if cursor else "")
        r = await client.get(url, headers=h)
        assert r.status_code == 200
        seen += [i["id"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    r = await client.get("/api/v1/inspections?status=in_progress", headers=h)
    assert r.status_code == 200 and not set(made) & {i["id"] for i in r.json()["items"]}
    for bad in ("limit=0", "limit=501", "cursor=!!!", "status=done", "limit=x"):
        r = await client.get(f"/api/v1/inspections?{bad}", headers=h)
        assert 400 <= r.status_code < 500, bad
        assert set(r.json()) == ERROR_KEYS
