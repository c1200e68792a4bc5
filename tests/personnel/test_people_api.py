"""Agencies, people and auth through the HTTP API."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend.core.checksums import make_id_number
from backend.core.pagination import encode_cursor
from backend.seed import load_fixture

pytestmark = pytest.mark.db


def new_person(**over):
    body = {
        "name": "李四",
        "id_number": make_id_number("21010219900101" + f"{uuid.uuid4().int % 1000:03d}"),
        "phone": "13912345678",
        "agency_code": "210102",
        "role": "technical_inspector",
        "employment": "full_time",
    }
    body.update(over)
    return body


async def test_login_and_me(client):
    r = await client.post("/api/v1/auth/token", json={"username": "sy.officer1", "password": "fieldcheck-demo"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "officer" and body["expires_in"] > 0
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "sy.officer1"
    # The person sees their own ID number in full.
    assert me.json()["id_number_masked"] is False


async def test_wrong_password_is_401(client):
    r = await client.post("/api/v1/auth/token", json={"username": "sy.officer1", "password": "nope-nope-nope"})
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHENTICATED"
    r = await client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401


async def test_create_person_masks_for_others(client, token_for):
    r = await client.post("/api/v1/people", json=new_person(), headers=token_for("sy.hr"))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["id_number_masked"] is False
    pid = created["id"]
    # The provincial personnel office (above) sees it in full.
    full = await client.get(f"/api/v1/people/{pid}", headers=token_for("ln.hr"))
    assert full.json()["id_number"] == created["id_number"]
    # An officer of the same city sees it masked.
    masked = await client.get(f"/api/v1/people/{pid}", headers=token_for("sy.officer1"))
    assert masked.status_code == 200
    assert masked.json()["id_number"] == created["id_number"][:4] + "*" * 10 + created["id_number"][-4:]
    assert "*" in masked.json()["phone"]


async def test_other_city_sees_nothing(client, token_for):
    r = await client.post("/api/v1/people", json=new_person(), headers=token_for("sy.hr"))
    pid = r.json()["id"]
    other = await client.get(f"/api/v1/people/{pid}", headers=token_for("dl.officer1"))
    assert other.status_code == 404
    listing = await client.get("/api/v1/people?limit=500", headers=token_for("dl.officer1"))
    assert listing.status_code == 200
    assert all(p["agency_code"].startswith("2102") for p in listing.json()["items"])
    assert pid not in {p["id"] for p in listing.json()["items"]}


async def test_only_hr_creates_people_and_only_below(client, token_for):
    for who in ("sy.officer1", "sy.admin", "sy.inspector.ft", "sy.supervisor"):
        r = await client.post("/api/v1/people", json=new_person(), headers=token_for(who))
        assert r.status_code == 403, who
        assert r.json()["code"] == "FORBIDDEN"
    r = await client.post("/api/v1/people", json=new_person(agency_code="210200"), headers=token_for("sy.hr"))
    assert r.status_code == 403


async def test_id_number_check_character(client, token_for):
    good = make_id_number("21010219900101123")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = await client.post("/api/v1/people", json=new_person(id_number=bad), headers=token_for("sy.hr"))
    assert r.status_code == 422
    assert r.json()["code"] == "ID_NUMBER_INVALID"
    assert r.json()["detail"]["errors"][0]["field"] == "id_number"


async def test_officer_needs_certificate(client, token_for):
    r = await client.post("/api/v1/people", json=new_person(role="officer", employment=None),
                          headers=token_for("sy.hr"))
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["field"] == "enforcement_certificate"


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "MALFORMED_JSON"),
        (b'{"name": 5}', 422, "VALIDATION_ERROR"),
        (b'[]', 422, "VALIDATION_ERROR"),
    ],
)
async def test_bad_bodies(client, token_for, content, status, code):
    r = await client.post("/api/v1/people", content=content,
                          headers={**token_for("sy.hr"), "Content-Type": "application/json"})
    assert r.status_code == status
    body = r.json()
    assert body["code"] == code and body["status"] == status
    assert set(body) == {"status", "code", "message", "message_zh", "article", "detail"}


async def test_unknown_field_and_wrong_type_name_the_field(client, token_for):
    r = await client.post("/api/v1/people", json={**new_person(), "salary": 1}, headers=token_for("sy.hr"))
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0] == {
        "field": "salary", "code": "unknown_field", "message": "Object contains unknown field `salary`"}
    r = await client.post("/api/v1/people", json={**new_person(), "phone": 13912345678}, headers=token_for("sy.hr"))
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["field"] == "phone"


async def test_huge_body_is_413(client, token_for):
    r = await client.post("/api/v1/people", content=b'{"name":"' + b"x" * 2_000_000 + b'"}',
                          headers={**token_for("sy.hr"), "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "TOO_LARGE"


async def test_idempotent_by_client_id(client, token_for):
    body = new_person(id=str(uuid.uuid4()))
    first = await client.post("/api/v1/people", json=body, headers=token_for("sy.hr"))
    again = await client.post("/api/v1/people", json=body, headers=token_for("sy.hr"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    changed = await client.post("/api/v1/people", json={**body, "name": "王五"}, headers=token_for("sy.hr"))
    assert changed.status_code == 409
    assert changed.json()["code"] == "ID_CONFLICT"


async def test_idempotency_key_header(client, token_for):
    headers = {**token_for("sy.hr"), "Idempotency-Key": "phone-42-op-7"}
    body = new_person()
    first = await client.post("/api/v1/people", json=body, headers=headers)
    again = await client.post("/api/v1/people", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = await client.post("/api/v1/people", json=new_person(), headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "ID_CONFLICT"


async def test_concurrent_identical_creates_make_one_row(client, token_for):
    body = new_person(id=str(uuid.uuid4()))
    results = await asyncio.gather(*[
        client.post("/api/v1/people", json=body, headers=token_for("sy.hr")) for _ in range(4)
    ])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 200, 201], [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    listing = await client.get("/api/v1/people?limit=500&agency_code=210102", headers=token_for("sy.hr"))
    assert sum(p["id"] == body["id"] for p in listing.json()["items"]) == 1


async def test_people_list_filters_and_paginates(client, token_for):
    first = await client.get("/api/v1/people?limit=3", headers=token_for("ln.hr"))
    assert first.status_code == 200
    page = first.json()
    assert len(page["items"]) == 3 and page["next_cursor"]
    seen = {p["id"] for p in page["items"]}
    cursor = page["next_cursor"]
    while cursor:
        nxt = (await client.get(f"/api/v1/people?limit=3&cursor={cursor}", headers=token_for("ln.hr"))).json()
        ids = {p["id"] for p in nxt["items"]}
        assert not ids & seen
        seen |= ids
        cursor = nxt["next_cursor"]
    assert len(seen) == len(load_fixture("demo_accounts.json")["accounts"])  # every demo account, once
    officers = (await client.get("/api/v1/people?role=officer", headers=token_for("ln.hr"))).json()["items"]
    assert {p["username"] for p in officers} == {"sy.officer1", "sy.officer2", "sy.officer3", "dl.officer1"}
    bad = await client.get("/api/v1/people?limit=9999", headers=token_for("ln.hr"))
    assert bad.status_code == 422
    bad = await client.get("/api/v1/people?cursor=@@@", headers=token_for("ln.hr"))
    assert bad.status_code == 400


async def test_agencies(client, token_for):
    r = await client.get("/api/v1/agencies?limit=500", headers=token_for("ln.hr"))
    codes = {a["code"] for a in r.json()["items"]}
    assert {"210000", "210100", "210200", "21SF00", "211400"} <= codes
    r = await client.get("/api/v1/agencies?limit=500", headers=token_for("sy.officer1"))
    codes = {a["code"] for a in r.json()["items"]}
    assert "210100" in codes and "210102" in codes and "210200" not in codes and "210000" not in codes
    one = await client.get("/api/v1/agencies/21SF00", headers=token_for("sy.officer1"))
    assert one.status_code == 200 and one.json()["parent_code"] == "210000"
    missing = await client.get("/api/v1/agencies/999999", headers=token_for("sy.officer1"))
    assert missing.status_code == 404


async def test_agencies_paginate_by_code(client, token_for):
    ln = token_for("ln.hr")
    every = [a["code"] for a in (await client.get("/api/v1/agencies?limit=500", headers=ln)).json()["items"]]
    seen: list[str] = []
    cursor = ""
    while True:
        page = (await client.get(f"/api/v1/agencies?limit=2&cursor={cursor}", headers=ln)).json()
        seen += [a["code"] for a in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == every == sorted(every)
    for bad in ("@@@", encode_cursor({"code": 210100}), encode_cursor({"at": "x"})):
        r = await client.get(f"/api/v1/agencies?cursor={bad}", headers=ln)
        assert (r.status_code, r.json()["code"]) == (400, "INVALID_CURSOR"), bad


async def test_demo_accounts_need_demo_mode(db_url, keys_dir, clock):
    from litestar.testing import AsyncTestClient

    from backend.app import create_app
    from backend.settings import Settings

    app = create_app(Settings(database_url=db_url, data_dir=str(keys_dir), demo=False), clock=clock)
    async with AsyncTestClient(app=app) as c:
        r = await c.post("/api/v1/auth/token", json={"username": "sy.hr", "password": "fieldcheck-demo"})
        assert r.status_code == 401


async def test_healthz_and_schema(client, backend_name):
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["database"] == backend_name and r.json()["status"] == "ok"
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/api/v1/people" in schema.json()["paths"]
    docs = await client.get("/schema")
    assert docs.status_code == 200 and "html" in docs.headers["content-type"]


async def test_unknown_route_and_method(client):
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND"
    r = await client.delete("/healthz")
    assert r.status_code == 405 and r.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_numbers_beyond_json_precision_are_not_a_500(client, token_for):
    # RFC 8785 cannot represent integers past 2^53: the idempotency fingerprint must not crash on them.
    from backend.core.idempotency import request_fingerprint

    big = request_fingerprint("POST", "/api/v1/x", {"n": 2**60, "f": float("inf")})
    assert big == request_fingerprint("POST", "/api/v1/x", {"f": float("inf"), "n": 2**60})
    assert big != request_fingerprint("POST", "/api/v1/x", {"n": 2**60 + 1, "f": float("inf")})
    r = await client.post("/api/v1/people", json=new_person(id=str(uuid.uuid4()), name="x" * 5),
                          headers={**token_for("sy.hr"), "Idempotency-Key": "k" * 10_000})
    assert r.status_code == 201


async def test_another_caller_replaying_an_id_gets_a_conflict_not_the_response(client, token_for):
    body = new_person(id=str(uuid.uuid4()))
    first = await client.post("/api/v1/people", json=body, headers=token_for("sy.hr"))
    assert first.status_code == 201
    other = await client.post("/api/v1/people", json=body, headers=token_for("ln.hr"))
    assert other.status_code == 409
    assert other.json()["code"] == "ID_CONFLICT"
    assert body["id_number"] not in other.text



@pytest.mark.postgresql_only  # SQLite serialises writers from BEGIN IMMEDIATE: the race cannot happen
async def test_a_person_inserted_by_a_concurrent_request_is_409_not_500(settings, backend_name):
    """The uniqueness checks read before the insert. A concurrent request that inserts the same
    ID number after our check must still give 409 PERSON_EXISTS (from the unique constraint), not a
    500. Made deterministic: the other request's row is committed between our check and our insert."""
    from datetime import UTC, datetime

    import msgspec

    from backend.core.auth import Principal
    from backend.core.db import make_engine, make_sessionmaker
    from backend.core.errors import Conflict
    from backend.personnel.people import repository, service
    from backend.personnel.people.schemas import PersonCreate

    hr = Principal(person_id=uuid.uuid4(), role="hr_admin", agency_code="210100", agency_path="210000/210100/",
                   name="hr")
    body = new_person()
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    real_lookup = repository.person_by_id_number

    async def lookup_then_other_commits(session, number):
        found = await real_lookup(session, number)  # nothing yet: our check passes
        repository.person_by_id_number = real_lookup  # only our request is interleaved
        async with maker() as other:  # the concurrent request commits the same person now
            await service.create_person(other, hr, msgspec.convert(new_person(id_number=body["id_number"]),
                                                                   PersonCreate), datetime.now(UTC))
            await other.commit()
        return found

    try:
        repository.person_by_id_number = lookup_then_other_commits
        async with maker() as ours:
            with pytest.raises(Conflict) as refused:
                await service.create_person(ours, hr, msgspec.convert(body, PersonCreate), datetime.now(UTC))
            await ours.rollback()
    finally:
        repository.person_by_id_number = real_lookup
        await engine.dispose()
    assert refused.value.code == "PERSON_EXISTS"
