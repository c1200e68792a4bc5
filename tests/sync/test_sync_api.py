"""POST /api/v1/sync: ops applied in order, each exactly once, each by the same command as the
direct call; only the allowlisted field acts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from backend.audit.models import AuditEntry
from backend.core.db import make_engine, make_sessionmaker
from backend.supervision.models import Submission
from backend.sync import commands
from backend.sync import service as sync_service
from backend.sync.models import SyncOp
from tests.inspections.helpers import RECORD, Flow

pytestmark = pytest.mark.db

SYNC = "/api/v1/sync"
SUBMISSIONS = "/api/v1/supervision/submissions"


@pytest.fixture
async def maker(db_url):
    """Our own engine on the test database: the app's pool lives on the test client's event loop."""
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def submission(**over):
    body = {"id": str(uuid.uuid4()), "kind": "opinion", "agency_code": "210100", "subject": "夜间施工",
            "body": "园区夜间施工噪声大，建议核查"}
    body.update(over)
    return body


def op(path=SUBMISSIONS, body=None, method="POST", op_id=None, recorded_at=None):
    return {
        "op_id": str(op_id or uuid.uuid4()),
        "method": method,
        "path": path,
        "body": submission() if body is None and path == SUBMISSIONS else body,
        "recorded_at": recorded_at or "2026-11-20T09:30:00+08:00",
    }


async def count(maker, model, *where):
    async with maker() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def test_batch_applies_in_order_and_replays_whole(client, token_for, maker):
    sup = token_for("sy.supervisor")
    ops = [op() for _ in range(3)]
    r = await client.post(SYNC, json={"device_id": "phone-1", "ops": ops}, headers=sup)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["op_id"] for x in results] == [o["op_id"] for o in ops]
    assert [x["status"] for x in results] == [201, 201, 201]
    assert all(x["replayed"] is False for x in results)
    assert [x["body"]["id"] for x in results] == [o["body"]["id"] for o in ops]
    assert await count(maker, Submission) == 3
    assert await count(maker, SyncOp) == 3

    # The created objects are real: readable directly.
    got = await client.get(f"{SUBMISSIONS}/{results[0]['body']['id']}", headers=sup)
    assert got.status_code == 200

    again = await client.post(SYNC, json={"device_id": "phone-1", "ops": ops}, headers=sup)
    assert again.status_code == 200
    replay = again.json()["results"]
    assert [(x["op_id"], x["status"], x["body"]) for x in replay] == [
        (x["op_id"], x["status"], x["body"]) for x in results]
    assert all(x["replayed"] is True for x in replay)
    assert await count(maker, Submission) == 3
    assert await count(maker, SyncOp) == 3

    # recorded_at is kept beside the server time.
    async with maker() as s:
        row = (await s.execute(select(SyncOp).where(SyncOp.op_id == uuid.UUID(ops[0]["op_id"])))).scalar_one()
    assert row.recorded_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert row.applied_at is not None and row.device_id == "phone-1" and row.status_code == 201


async def test_an_object_sent_directly_first_is_not_created_again_by_its_op(client, token_for, maker):
    """One idempotency mechanism for both callers: the client id of an object the phone managed to
    send directly makes its queued op answer 200 with that object."""
    sup = token_for("sy.supervisor")
    body = submission()
    direct = await client.post(SUBMISSIONS, json=body, headers=sup)
    assert direct.status_code == 201
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op(body=body)]}, headers=sup)
    x = r.json()["results"][0]
    assert x["status"] == 200 and x["body"] == direct.json()
    assert await count(maker, Submission) == 1


async def test_concurrent_overlapping_batches_apply_each_op_once(client, token_for, maker, integrate):
    sup = token_for("sy.supervisor")
    ops = [op() for _ in range(12)]
    first = {"device_id": "phone-a", "ops": ops[:8]}
    second = {"device_id": "phone-b", "ops": ops[4:]}
    third = {"device_id": "phone-c", "ops": list(reversed(ops))}
    r1, r2, r3 = await asyncio.gather(*(client.post(SYNC, json=b, headers=sup) for b in (first, second, third)))
    assert (r1.status_code, r2.status_code, r3.status_code) == (200, 200, 200)
    by_op: dict[str, set] = {}
    for resp in (r1, r2, r3):
        for x in resp.json()["results"]:
            assert x["status"] == 201, x
            by_op.setdefault(x["op_id"], set()).add(x["body"]["id"])
    assert all(len(ids) == 1 for ids in by_op.values())
    assert len(by_op) == 12
    assert await count(maker, Submission) == 12
    await integrate()
    assert await count(maker, AuditEntry, AuditEntry.action == "supervision.submitted") == 12
    assert await count(maker, SyncOp) == 12
    # Exactly one of the three calls applied each op; the others answered with its stored result.
    fresh = [x for resp in (r1, r2, r3) for x in resp.json()["results"] if not x["replayed"]]
    assert sorted(x["op_id"] for x in fresh) == sorted(by_op)


async def test_same_op_id_with_other_body_is_409_for_that_op_only(client, token_for):
    sup = token_for("sy.supervisor")
    first = op()
    r = await client.post(SYNC, json={"device_id": "p", "ops": [first]}, headers=sup)
    assert r.json()["results"][0]["status"] == 201
    changed = {**first, "body": {**first["body"], "subject": "另一件事"}}
    other_path = {**first, "path": SUBMISSIONS + "/"}
    fine = op()
    r = await client.post(SYNC, json={"device_id": "p", "ops": [changed, fine, other_path]}, headers=sup)
    res = r.json()["results"]
    assert res[0]["status"] == 409 and res[0]["body"]["code"] == "ID_CONFLICT"
    assert res[1]["status"] == 201
    assert res[2]["status"] == 409 and res[2]["body"]["code"] == "ID_CONFLICT"
    # The same op_id from another caller is a conflict too, and does not leak the first result.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [first]}, headers=token_for("sy.inspector.ft"))
    res = r.json()["results"][0]
    assert res["status"] == 409 and res["body"]["code"] == "ID_CONFLICT" and "subject" not in res["body"]
    r = await client.post(SYNC, json={"device_id": "p", "ops": [first]}, headers=sup)
    assert r.json()["results"][0]["status"] == 201 and r.json()["results"][0]["replayed"] is True
    assert r.json()["results"][0]["body"]["subject"] == first["body"]["subject"]
    # Duplicates inside one batch: the second is a replay of the first.
    dup = op()
    r = await client.post(SYNC, json={"device_id": "p", "ops": [dup, dup]}, headers=sup)
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 201] and [x["replayed"] for x in res] == [False, True]
    assert res[0]["body"] == res[1]["body"]


async def test_refused_op_does_not_undo_earlier_ops(client, token_for, maker):
    sup = token_for("sy.supervisor")
    ops = [
        op(),
        op(body=submission(agency_code="210000")),  # the province: above the supervisor's agency → 403
        op(body=submission(agency_code="999999")),  # no such agency → 422
        op(body={**submission(), "unexpected": 1}),  # unknown field → 422 like the direct call
        op(body=submission(kind="rumour")),  # not a kind → 422
        op(),
    ]
    r = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=sup)
    assert r.status_code == 200
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 403, 422, 422, 422, 201]
    # Each refusal is the body the endpoint itself answers for the same request.
    for o, x in zip(ops[1:5], res[1:5], strict=True):
        direct = await client.post(SUBMISSIONS, json=o["body"], headers=sup)
        assert direct.status_code == x["status"]
        assert direct.json() == x["body"], (direct.json(), x["body"])
    assert await count(maker, Submission) == 2
    # Refusals are first results too: replaying them answers the same.
    again = await client.post(SYNC, json={"device_id": "p", "ops": ops[1:3]}, headers=sup)
    assert [(x["status"], x["replayed"]) for x in again.json()["results"]] == [(403, True), (422, True)]


async def test_roles_apply_inside_a_batch(client, token_for, maker):
    """The caller's identity is what the op runs with: nobody but a supervisor submits."""
    for who in ("sy.inspector.ft", "sy.officer1", "sy.hr", "sy.admin"):
        r = await client.post(SYNC, json={"device_id": who, "ops": [op()]}, headers=token_for(who))
        assert r.status_code == 200, who
        x = r.json()["results"][0]
        direct = await client.post(SUBMISSIONS, json=submission(), headers=token_for(who))
        assert x["status"] == direct.status_code == 403, (who, x)
        assert x["body"]["code"] == direct.json()["code"]
    assert await count(maker, Submission) == 0


async def test_only_allowlisted_field_acts_may_be_synced(client, token_for):
    hr = token_for("sy.hr")
    person = "/api/v1/people"
    bad = [
        "/api/v1/sync", "/api/v1/sync/", "/api/v1/auth/token", "/healthz", "/api/v2/supervision/submissions",
        person, f"{person}/{uuid.uuid4()}/dismissal", "/api/v1/credentials", "/api/v1/inspections",
        f"{SUBMISSIONS}?mine=true", "/api/v1/../v1/supervision/submissions", "/api/v1//supervision/submissions",
        f"/api/v1/inspections/{uuid.uuid4()}/sta", "/api/v1/inspections/not-a-uuid/start",
        f"/api/v1/incidents/{uuid.uuid4()}/close", "/api/v1/nothing-here",
    ]
    ops = [op(p, body={}) for p in bad]
    r = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=hr)
    assert r.status_code == 200
    for o, x in zip(ops, r.json()["results"], strict=True):
        assert x["status"] == 403 and x["body"]["code"] == "OP_NOT_ALLOWED_OFFLINE", (o["path"], x)
        assert x["body"]["detail"] == {"method": "POST", "path": o["path"]}
    # A PUT to a POST-only command is not one either; GET is not an op at all.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op(SUBMISSIONS, submission(), method="PUT")]},
                          headers=hr)
    assert r.json()["results"][0]["body"]["code"] == "OP_NOT_ALLOWED_OFFLINE"
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op(method="GET")]}, headers=hr)
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR"


def test_registry_matches_exactly():
    iid = uuid.uuid4()
    m = commands.match("POST", f"/api/v1/inspections/{iid}/check-ins")
    assert m.params == (iid,) and m.command.pattern == "inspections/{}/check-ins"
    assert commands.match("PUT", f"/api/v1/documents/{iid}").command.method == "PUT"
    assert commands.match("POST", "/api/v1/incidents/").command.pattern == "incidents"
    for method, path in [("POST", f"/api/v1/documents/{iid}"), ("PUT", f"/api/v1/inspections/{iid}/start"),
                         ("POST", "/api/v1/inspections/x/start"), ("POST", "/api/v1/people"),
                         ("POST", f"/api/v1/inspections/{iid}/check-ins/x")]:
        with pytest.raises(commands.NotAllowed):
            commands.match(method, path)
    # Every entry names a command function and, where the endpoint takes one, its body Struct.
    assert len({(c.method, c.pattern) for c in commands.COMMANDS}) == len(commands.COMMANDS)


async def test_bad_batches_are_4xx(client, token_for):
    sup = token_for("sy.supervisor")
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op()]})
    assert r.status_code == 401
    r = await client.post(SYNC, content=b"{not json", headers={**sup, "content-type": "application/json"})
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
        r = await client.post(SYNC, json=body, headers=sup)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR"
    too_many = {"device_id": "p", "ops": [op("/api/v1/x", {}) for _ in range(501)]}
    r = await client.post(SYNC, json=too_many, headers=sup)
    assert r.status_code == 413 and r.json()["code"] == "TOO_LARGE"
    assert r.json()["detail"] == {"reason": "too_many_ops", "max_ops": 500, "ops": 501}
    r = await client.post(SYNC, json={"device_id": "p", "ops": []}, headers=sup)
    assert r.status_code == 200 and r.json() == {"results": []}
    # A number JSON cannot carry exactly: that op is refused, the batch goes on.
    huge = op(body={**submission(), "subject": 2**60})
    r = await client.post(SYNC, json={"device_id": "p", "ops": [huge, op()]}, headers=sup)
    assert [x["status"] for x in r.json()["results"]] == [422, 201]
    assert r.json()["results"][0]["body"]["code"] == "VALIDATION_ERROR"


async def test_op_references_and_op_status(client, token_for, clock):
    """An op may name an earlier op's result by `$op:<op_id>`; until that op is applied, the
    referring op is answered 409 OP_DEPENDENCY_PENDING and not stored."""
    flow = Flow(client, token_for, clock)
    ins = await flow.started(team=("sy.officer1", "sy.officer2"))
    officer = token_for("sy.officer1")
    creator = op(f"/api/v1/inspections/{ins['id']}/documents", {"type": RECORD, "content": {"v": 1}})
    follow = op(f"/api/v1/documents/$op:{creator['op_id']}", {"content": {"v": 2}}, method="PUT")
    r = await client.post(SYNC, json={"device_id": "p", "ops": [follow]}, headers=officer)
    x = r.json()["results"][0]
    assert x["status"] == 409 and x["body"]["code"] == "OP_DEPENDENCY_PENDING" and x["replayed"] is False
    assert (await client.get(f"{SYNC}/ops/{follow['op_id']}", headers=officer)).status_code == 404
    r = await client.post(SYNC, json={"device_id": "p", "ops": [creator, follow]}, headers=officer)
    res = r.json()["results"]
    assert res[0]["status"] == 201 and res[1]["status"] == 200
    assert res[1]["body"]["id"] == res[0]["body"]["id"] and res[1]["body"]["version"] == 2
    st = await client.get(f"{SYNC}/ops/{creator['op_id']}", headers=officer)
    assert st.status_code == 200
    assert st.json()["state"] == "applied" and st.json()["status"] == 201
    assert st.json()["body"]["id"] == res[0]["body"]["id"]
    # Nobody else sees it, nor can name it.
    assert (await client.get(f"{SYNC}/ops/{creator['op_id']}", headers=token_for("sy.officer2"))).status_code == 404
    other = op(f"/api/v1/documents/$op:{creator['op_id']}", {"content": {"v": 3}}, method="PUT")
    r = await client.post(SYNC, json={"device_id": "p", "ops": [other]}, headers=token_for("sy.officer2"))
    assert r.json()["results"][0]["body"]["code"] == "OP_DEPENDENCY_PENDING"
    # Naming a refused op: 424, stored.
    refused = op(f"/api/v1/inspections/{ins['id']}/documents", {"type": "no_such_type", "content": {}})
    named = op(f"/api/v1/documents/$op:{refused['op_id']}", {"content": {"v": 2}}, method="PUT")
    r = await client.post(SYNC, json={"device_id": "p", "ops": [refused, named]}, headers=officer)
    assert [x["status"] for x in r.json()["results"]] == [422, 424]
    assert r.json()["results"][1]["body"]["code"] == "OP_DEPENDENCY_FAILED"


async def test_record_direct_op_for_uploads(client, token_for, clock, maker):
    """What the evidence upload endpoint does with `Idempotency-Key: op:<op_id>`."""
    caller = str(uuid.uuid5(uuid.NAMESPACE_URL, "fieldcheck-demo:sy.officer1"))
    op_id = uuid.uuid4()
    now = clock.now()
    args = {"op_id": op_id, "caller": caller, "method": "POST", "path": "/api/v1/inspections/x/evidence",
            "status": 201, "response": {"id": "e1"}, "device_id": "upload", "recorded_at": now, "now": now}
    async with maker() as s:
        await sync_service.record_direct_op(s, request={"sha256": "a" * 64}, **args)
        await s.commit()
    async with maker() as s:
        # The same upload again is fine; another one under the same op_id is not.
        await sync_service.record_direct_op(s, request={"sha256": "a" * 64}, **args)
        with pytest.raises(Exception) as info:
            await sync_service.record_direct_op(s, request={"sha256": "b" * 64}, **args)
        assert getattr(info.value, "code", None) == "ID_CONFLICT"
    # An op naming the upload resolves to its id (here: a path no command has, so the refusal
    # names the substituted path).
    r = await client.post(SYNC, json={"device_id": "p", "ops": [op(f"/api/v1/documents/$op:{op_id}", {"content": {}},
                                                                    method="PUT")]},
                          headers=token_for("sy.officer1"))
    x = r.json()["results"][0]
    assert x["status"] == 403 and x["body"]["code"] == "OP_NOT_ALLOWED_OFFLINE"


async def test_sync_batch_is_audited_with_recorded_at(client, token_for, maker, integrate):
    sup = token_for("sy.supervisor")
    ops = [op(recorded_at="2026-11-20T09:30:00+08:00"), op(body=submission(agency_code="999999"))]
    r = await client.post(SYNC, json={"device_id": "phone-7", "ops": ops}, headers=sup)
    assert [x["status"] for x in r.json()["results"]] == [201, 422]
    await integrate()
    async with maker() as s:
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.action == "sync.batch"))).scalars().all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.subject == "device:phone-7"
    assert entry.data["ops"] == [{"op_id": ops[0]["op_id"], "method": "POST", "path": SUBMISSIONS, "status": 201,
                                  "recorded_at": "2026-11-20T01:30:00Z"}]
