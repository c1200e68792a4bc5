"""POST /api/v1/sync: ops applied in order, each exactly once, each under the direct call's rules."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.core.checksums import make_credit_code, make_id_number
from backend.core.db import make_engine, make_sessionmaker
from backend.personnel.models import Person
from backend.sync import service as sync_service
from backend.sync.models import SyncOp

pytestmark = pytest.mark.db


@pytest.fixture
async def maker(db_url):
    """Our own engine on the test database: the app's pool lives on the test client's event loop."""
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()

SYNC = "/api/v1/sync"


def person_body(**over):
    body = {
        "name": "王五",
        "id_number": make_id_number("21010219900101" + f"{uuid.uuid4().int % 1000:03d}"),
        "phone": "13912345678",
        "agency_code": "210102",
        "role": "social_supervisor",
    }
    body.update(over)
    return body


def op(path="/api/v1/people", body=None, method="POST", op_id=None, recorded_at=None):
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "method": method,
        "path": path,
        "body": person_body() if body is None and path == "/api/v1/people" else body,
        "recorded_at": recorded_at or "2026-11-20T09:30:00+08:00",
    }


def unique_people(n):
    """n person bodies with distinct ID numbers."""
    seen, bodies = set(), []
    while len(bodies) < n:
        b = person_body()
        if b["id_number"] not in seen:
            seen.add(b["id_number"])
            bodies.append(b)
    return bodies


async def count(maker, model, *where):
    async with maker() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_batch_applies_in_order_and_replays_whole(client, token_for, app, maker, integrate):
    hr = token_for("sy.hr")
    ops = [op(body=b) for b in unique_people(3)]
    r = await client.post(SYNC, json={"device_id": "phone-1", "ops": ops}, headers=hr)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["op_id"] for x in results] == [o["op_id"] for o in ops]
    assert [x["status"] for x in results] == [201, 201, 201]
    assert all(x["replayed"] is False for x in results)
    assert [x["body"]["id_number"] for x in results] == [o["body"]["id_number"] for o in ops]
    people = await count(maker, Person)
    await integrate()
    audits = await count(maker, AuditEntry)
    op_rows = await count(maker, SyncOp)
    assert op_rows == 3

    # The created people are real: readable directly.
    got = await client.get(f"/api/v1/people/{results[0]['body']['id']}", headers=hr)
    assert got.status_code == 200

    again = await client.post(SYNC, json={"device_id": "phone-1", "ops": ops}, headers=hr)
    assert again.status_code == 200
    replay = again.json()["results"]
    assert [(x["op_id"], x["status"], x["body"]) for x in replay] == [
        (x["op_id"], x["status"], x["body"]) for x in results]
    assert all(x["replayed"] is True for x in replay)
    assert await count(maker, Person) == people
    assert await integrate() == 0  # the replay recorded nothing new
    assert await count(maker, AuditEntry) == audits
    assert await count(maker, SyncOp) == op_rows

    # recorded_at is kept beside the server time.
    async with maker() as s:
        row = (await s.execute(select(SyncOp).where(SyncOp.op_id == uuid.UUID(ops[0]["op_id"])))).scalar_one()
    assert row.recorded_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert row.applied_at is not None and row.device_id == "phone-1" and row.status_code == 201


async def test_concurrent_overlapping_batches_apply_each_op_once(client, token_for, app, maker, integrate):
    hr = token_for("sy.hr")
    ops = [op(body=b) for b in unique_people(12)]
    people = await count(maker, Person)
    created = await count(maker, AuditEntry, AuditEntry.action == "person.created")
    first = {"device_id": "phone-a", "ops": ops[:8]}
    second = {"device_id": "phone-b", "ops": ops[4:]}
    third = {"device_id": "phone-c", "ops": list(reversed(ops))}
    r1, r2, r3 = await asyncio.gather(*(client.post(SYNC, json=b, headers=hr) for b in (first, second, third)))
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 200)
    by_op: dict[str, set] = {}
    for resp in (r1, r2, r3):
        for x in resp.json()["results"]:
            assert x["status"] == 201, x
            by_op.setdefault(x["op_id"], set()).add(x["body"]["id"])
    # Every op has exactly one result, whoever applied it.
    assert all(len(ids) == 1 for ids in by_op.values())
    assert len(by_op) == 12
    assert await count(maker, Person) == people + 12
    await integrate()
    assert await count(maker, AuditEntry, AuditEntry.action == "person.created") == created + 12
    assert await count(maker, SyncOp) == 12
    # Exactly one of the three calls applied each op; the others answered with its stored result.
    fresh = [x for resp in (r1, r2, r3) for x in resp.json()["results"] if not x["replayed"]]
    assert sorted(x["op_id"] for x in fresh) == sorted(by_op)


async def test_same_op_id_with_other_body_is_409_for_that_op_only(client, token_for, app):
    hr = token_for("sy.hr")
    a, b, c = unique_people(3)
    first = op(body=a)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [first]}, headers=hr)
    assert r.json()["results"][0]["status"] == 201
    changed = {**first, "body": {**a, "name": "赵六"}}
    other_path = {**first, "path": "/api/v1/people/"}
    fine = op(body=b)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [changed, fine, other_path]}, headers=hr)
    assert r.status_code == 200
    res = r.json()["results"]
    assert res[0]["status"] == 409 and res[0]["body"]["code"] == "ID_CONFLICT"
    assert res[1]["status"] == 201
    assert res[2]["status"] == 409 and res[2]["body"]["code"] == "ID_CONFLICT"
    # The same op_id from another caller is a conflict too, and does not leak the first result.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [first]}, headers=token_for("ln.hr"))
    res = r.json()["results"][0]
    assert res["status"] == 409 and res["body"]["code"] == "ID_CONFLICT" and "id" not in res["body"]
    # The first result is unchanged.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [first]}, headers=hr)
    assert r.json()["results"][0]["status"] == 201 and r.json()["results"][0]["replayed"] is True
    assert r.json()["results"][0]["body"]["name"] == a["name"]
    # Duplicates inside one batch: the second is a replay of the first.
    dup = op(body=c)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [dup, dup]}, headers=hr)
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 201] and [x["replayed"] for x in res] == [False, True]
    assert res[0]["body"] == res[1]["body"]


async def test_refused_op_does_not_undo_earlier_ops(client, token_for, app, maker):
    hr = token_for("sy.hr")
    a, b = unique_people(2)
    people = await count(maker, Person)
    ops = [
        op(body=a),
        op(body={**b, "agency_code": "210200"}),  # Dalian: outside Shenyang's jurisdiction → 403
        op(body={**b, "id_number": "210102199001011230"}),  # wrong check character → 422
        op(body={**b, "unexpected": 1}),  # unknown field → 422 like the direct call
        op(body=b),
    ]
    r = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=hr)
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 403, 422, 422, 201]
    assert res[1]["body"]["code"] == "FORBIDDEN"
    assert res[2]["body"]["code"] == "ID_NUMBER_INVALID"
    assert res[3]["body"]["code"] == "VALIDATION_ERROR"
    assert set(res[1]["body"]) == {"status", "code", "message", "message_zh", "article", "detail"}
    assert await count(maker, Person) == people + 2
    # Refusals are first results too: replaying them answers the same.
    again = await client.post(SYNC, json={"device_id": "p", "ops": ops[1:3]}, headers=hr)
    assert [(x["status"], x["replayed"]) for x in again.json()["results"]] == [(403, True), (422, True)]


async def test_roles_and_jurisdiction_apply_inside_a_batch(client, token_for, app, maker):
    """The caller's identity is what the op runs with: a technical inspector, an officer, a
    supervisor and another city's officer cannot create people through /sync either."""
    people = await count(maker, Person)
    for who in ("sy.inspector.ft", "sy.officer1", "sy.supervisor", "sy.admin", "dl.officer1"):
        r = await client.post(SYNC, json={"device_id": who, "ops": [op()]}, headers=token_for(who))
        assert r.status_code == 200, who
        x = r.json()["results"][0]
        assert x["status"] == 403 and x["body"]["code"] == "FORBIDDEN", (who, x)
    # Dalian's personnel office cannot reach Shenyang either; Shenyang's can.
    mixed = [op(), op(body=person_body(agency_code="210200"))]
    r = await client.post(SYNC, json={"device_id": "hr", "ops": mixed}, headers=token_for("sy.hr"))
    assert [x["status"] for x in r.json()["results"]] == [201, 403]
    assert await count(maker, Person) == people + 1


async def test_inspector_cannot_create_inspection_in_a_batch(client, token_for, app):
    """Art. 13(5): creating an inspection is reserved to officers, through /sync as directly."""
    body = {
        "kind": "on_site_inspection",
        "enterprise": {"name": "沈阳某化工有限公司", "credit_code": make_credit_code("91210100MA0QC0K1H")},
        "site": {"lon": 123.43, "lat": 41.80, "radius_m": 200, "address": "沈阳市"},
        "team": [str(uuid.uuid5(uuid.NAMESPACE_URL, "fieldcheck-demo:sy.officer1"))],
        "planned_at": "2026-11-27T09:00:00+08:00",
        "classification": "normal",
    }
    direct = await client.post("/api/v1/inspections", json=body, headers=token_for("sy.inspector.ft"))
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op("/api/v1/inspections", body)]},
                          headers=token_for("sy.inspector.ft"))
    x = r.json()["results"][0]
    assert x["status"] == direct.status_code == 403
    assert x["body"]["code"] == direct.json()["code"]


async def test_paths_that_ops_may_not_target(client, token_for, app):
    hr = token_for("sy.hr")
    bad = [
        "/api/v1/sync", "/api/v1/sync/", "/api/v1/auth/token", "/healthz", "/api/v2/people",
        "/api/v1/people?role=officer", "/api/v1/../v1/people", "/api/v1/people/%2e%2e", "/api/v1//people",
    ]
    ops = [op(p, body={"device_id": "x", "ops": []} if "sync" in p else {}) for p in bad]
    r = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=hr)
    assert r.status_code == 200
    for path, x in zip(bad, r.json()["results"], strict=True):
        assert x["status"] == 422 and x["body"]["code"] == "OP_PATH_NOT_ALLOWED", (path, x)
    # GET is not an op.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op(method="GET")]}, headers=hr)
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"
    # A path the app does not have answers as the direct call would.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op("/api/v1/nothing-here", {})]}, headers=hr)
    assert r.json()["results"][0]["status"] == 404


async def test_bad_batches_are_4xx(client, token_for):
    hr = token_for("sy.hr")
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op()]})
    assert r.status_code == 401
    r = await client.post(SYNC, content=b"{not json", headers={**hr, "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "MALFORMED_JSON"
    for body in (
        {"ops": []},
        {"device_id": "p", "ops": [{**op(), "op_id": "not-a-uuid"}]},
        {"device_id": "p", "ops": [{**op(), "extra": True}]},
        {"device_id": "p", "ops": [{**op(), "body": [1, 2]}]},
        {"device_id": "p", "ops": [{k: v for k, v in op().items() if k != "recorded_at"}]},
        {"device_id": "p", "ops": [op(recorded_at="2026-11-20T09:30:00")]},  # no offset
        {"device_id": "", "ops": []},
        {"device_id": "p", "ops": "x"},
    ):
        r = await client.post(SYNC, json=body, headers=hr)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR"
    too_many = {"device_id": "p", "ops": [op("/api/v1/x", {}) for _ in range(501)]}
    r = await client.post(SYNC, json=too_many, headers=hr)
    assert r.status_code == 413 and r.json()["code"] == "TOO_LARGE"
    assert r.json()["detail"] == {"reason": "too_many_ops", "max_ops": 500, "ops": 501}
    r = await client.post(SYNC, json={"device_id": "p", "ops": []}, headers=hr)
    assert r.status_code == 200 and r.json() == {"results": []}
    # A number JSON cannot carry exactly: that op is refused, the batch goes on.
    huge = op(body={**person_body(), "phone": 2**60})
    r = await client.post(SYNC, json={"device_id": "p", "ops": [huge, op()]}, headers=hr)
    assert [x["status"] for x in r.json()["results"]] == [422, 201]
    assert r.json()["results"][0]["body"]["code"] == "VALIDATION_ERROR"


async def test_op_references_and_op_status(client, token_for, app):
    """An op may name an earlier op's result by `$op:<op_id>` (e.g. an upload sent on its own);
    until that op is applied, the referring op is answered 409 OP_DEPENDENCY_PENDING, not stored."""
    hr = token_for("sy.hr")
    creator = op()
    # A PUT/POST on the person made by `creator`, sent before it: the dependency is pending.
    follow = op(f"/api/v1/people/$op:{creator['op_id']}/trainings",
                {"kind": "special", "start_date": "2026-11-01", "days": 2})
    r = await client.post(SYNC, json={"device_id": "p", "ops": [follow]}, headers=hr)
    x = r.json()["results"][0]
    assert x["status"] == 409 and x["body"]["code"] == "OP_DEPENDENCY_PENDING" and x["replayed"] is False
    assert (await client.get(f"{SYNC}/ops/{follow['op_id']}", headers=hr)).status_code == 404
    r = await client.post(SYNC, json={"device_id": "p", "ops": [creator, follow]}, headers=hr)
    res = r.json()["results"]
    assert res[0]["status"] == 201
    # Resolved to the created person's id: the op reached /people/<id>/trainings (whatever that
    # endpoint answers while personnel builds it, it is not a dependency error any more).
    assert res[1]["body"] is None or res[1]["body"].get("code") not in ("OP_DEPENDENCY_PENDING", "OP_PATH_NOT_ALLOWED")
    st = await client.get(f"{SYNC}/ops/{creator['op_id']}", headers=hr)
    assert st.status_code == 200
    assert st.json()["state"] == "applied" and st.json()["status"] == 201
    assert st.json()["body"]["id"] == res[0]["body"]["id"]
    # Nobody else sees it.
    assert (await client.get(f"{SYNC}/ops/{creator['op_id']}", headers=token_for("ln.hr"))).status_code == 404
    # Naming a refused op: 424.
    refused = op(body=person_body(agency_code="210200"))
    named = op(f"/api/v1/people/$op:{refused['op_id']}/trainings", {"kind": "special"})
    r = await client.post(SYNC, json={"device_id": "p", "ops": [refused, named]}, headers=hr)
    assert [x["status"] for x in r.json()["results"]] == [403, 424]
    assert r.json()["results"][1]["body"]["code"] == "OP_DEPENDENCY_FAILED"


async def test_record_direct_op_for_uploads(client, token_for, app, clock, maker):
    """What the evidence upload endpoint does with `Idempotency-Key: op:<op_id>`."""
    hr = token_for("sy.hr")
    await client.get("/healthz")
    upload_op = uuid.uuid4()
    assert sync_service.op_id_from_idempotency_key(f"op:{upload_op}") == upload_op
    assert sync_service.op_id_from_idempotency_key("op:nope") is None
    assert sync_service.op_id_from_idempotency_key("other") is None
    person = (await client.post("/api/v1/people", json=person_body(), headers=hr)).json()
    caller = str(uuid.uuid5(uuid.NAMESPACE_URL, "fieldcheck-demo:sy.hr"))
    async with maker() as s:
        await sync_service.record_direct_op(
            s, op_id=upload_op, caller=caller, method="POST", path="/api/v1/inspections/x/evidence",
            request={"sha256": "ab" * 32}, status=201, response={"id": person["id"]}, device_id="p",
            recorded_at=clock.now(), now=clock.now())
        # The same upload again is fine; another one under the same op_id is not.
        await sync_service.record_direct_op(
            s, op_id=upload_op, caller=caller, method="POST", path="/api/v1/inspections/x/evidence",
            request={"sha256": "ab" * 32}, status=201, response={"id": person["id"]}, device_id="p",
            recorded_at=clock.now(), now=clock.now())
        with pytest.raises(Exception) as err:
            await sync_service.record_direct_op(
                s, op_id=upload_op, caller=caller, method="POST", path="/api/v1/inspections/x/evidence",
                request={"sha256": "cd" * 32}, status=201, response={"id": person["id"]}, device_id="p",
                recorded_at=clock.now(), now=clock.now())
        assert getattr(err.value, "code", None) == "ID_CONFLICT"
        await s.commit()
    st = await client.get(f"{SYNC}/ops/{upload_op}", headers=hr)
    assert st.status_code == 200 and st.json()["body"] == {"id": person["id"]}


async def test_crashed_claim_is_taken_over_without_applying_twice(client, token_for, app, clock, maker):
    """A worker that claimed an op, applied it (the create committed with its idempotency record)
    and died before storing the result: after STALE_CLAIM_S another sync takes over and answers the
    first result from the idempotency record, without creating the person again."""
    hr = token_for("sy.hr")
    o = op()
    people = await count(maker, Person)
    # Apply the op the way the dead worker did: the same request with its op key.
    direct = await client.post("/api/v1/people", json=o["body"], headers={**hr, "Idempotency-Key": f"op:{o['op_id']}"})
    assert direct.status_code == 201
    caller = str(uuid.uuid5(uuid.NAMESPACE_URL, "fieldcheck-demo:sy.hr"))
    fp = sync_service.fingerprint(caller, "POST", o["path"], o["body"])
    async with maker() as s:
        s.add(SyncOp(op_id=uuid.UUID(o["op_id"]), caller=caller, device_id="dead", method="POST", path=o["path"],
                     request_sha256=fp, claim_token="dead", claimed_at=clock.now(), status_code=None, response=None,
                     recorded_at=clock.now(), applied_at=None))
        await s.commit()
    # While the claim is fresh, a second claimer waits and then gives up without applying.
    old_wait = sync_service.WAIT_S
    sync_service.WAIT_S = 0.2
    try:
        r = await client.post(SYNC, json={"device_id": "p", "ops": [o]}, headers=hr)
    finally:
        sync_service.WAIT_S = old_wait
    x = r.json()["results"][0]
    assert x["status"] == 409 and x["body"]["code"] == "OP_IN_PROGRESS"
    clock.advance(seconds=sync_service.STALE_CLAIM_S + 1)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [o]}, headers=hr)
    x = r.json()["results"][0]
    assert x["status"] == 201 and x["body"] == direct.json()
    assert await count(maker, Person) == people + 1


async def test_transient_results_are_not_stored(client, token_for, app, settings, maker):
    """401 (e.g. an expired token) is answered but not kept: the phone sends the op again later."""
    o = op()
    hr = token_for("sy.hr")

    async def fake_dispatch(method, path, body, op_id):
        return 503, {"status": 503, "code": "UNAVAILABLE"}

    await client.get("/healthz")
    outcomes = await sync_service.run_batch(maker, caller="someone", device_id="p",
                                            ops=[sync_service.SyncOpIn(op_id=uuid.UUID(o["op_id"]), method="POST",
                                                                       path=o["path"], body=o["body"],
                                                                       recorded_at=datetime.now(UTC))],
                                            dispatch=fake_dispatch, clock=app.state["clock"])
    assert outcomes[0].status == 503
    assert await count(maker, SyncOp) == 0
    r = await client.post(SYNC, json={"device_id": "p", "ops": [o]}, headers=hr)
    assert r.json()["results"][0]["status"] == 201


async def test_sync_batch_is_audited_with_recorded_at(client, token_for, app, maker, integrate):
    hr = token_for("sy.hr")
    o = op(recorded_at="2026-11-20T09:30:00+08:00")
    await client.post(SYNC, json={"device_id": "phone-9", "ops": [o]}, headers=hr)
    await integrate()
    async with maker() as s:
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "sync.batch")
                                 .order_by(AuditEntry.seq.desc()))).scalars().first()
    assert entry is not None and entry.subject == "device:phone-9"
    assert entry.data["ops"] == [{"op_id": o["op_id"], "method": "POST", "path": "/api/v1/people", "status": 201,
                                  "recorded_at": "2026-11-20T01:30:00Z"}]
    # The person.created entry precedes it and is the op's own audit.
    async with maker() as s:
        prev = await s.get(AuditEntry, entry.seq - 1)
    assert prev.action == "person.created"


async def test_helpers_are_pure():
    assert sync_service.idempotency_key(uuid.UUID(int=1)) == "op:00000000-0000-0000-0000-000000000001"
    with pytest.raises(Exception):
        sync_service.check_path("/api/v1/Sync")
    sync_service.check_path("/api/v1/inspections/0b7f/check-ins")
    assert timedelta(seconds=sync_service.STALE_CLAIM_S) > timedelta(seconds=30)
