"""The offline field day end to end through /sync: two officers and a technical inspector, each
phone's queue sent when it comes back online (check-ins → displays → start → findings → a record →
four signatures → locked), every batch sent twice at once and the whole day replayed again: every
effect exactly once. An inspector op that breaks Article 13 is refused inside its batch and the
ops after it still apply."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend.core.db import make_engine, make_sessionmaker
from tests.inspections.helpers import Flow, at, position
from tests.sync.fieldday import FieldDay, effects, op

pytestmark = pytest.mark.db

SYNC = "/api/v1/sync"
EXPECTED = {"check_ins": 3, "displays": 3, "findings": 2, "documents": 1, "signatures": 4}


@pytest.fixture
async def maker(db_url):
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _day(client, token_for, clock) -> FieldDay:
    flow = Flow(client, token_for, clock)
    ins = await flow.create(team=("sy.officer1", "sy.officer2", "sy.inspector.ft"))
    return FieldDay(iid=ins["id"], when=at(clock, -1), ft_qr=await flow.qr_text_of("sy.inspector.ft"))


async def test_offline_field_day_applies_every_act_once(client, token_for, clock, maker):
    day = await _day(client, token_for, clock)
    phones = day.phones()
    first: list[list[dict]] = []
    for who, ops in phones:
        batch = {"device_id": f"phone-{who}", "ops": ops}
        # The phone retries on a second connection before the first has answered.
        r1, r2 = await asyncio.gather(client.post(SYNC, json=batch, headers=token_for(who)),
                                      client.post(SYNC, json=batch, headers=token_for(who)))
        assert r1.status_code == r2.status_code == 200, (r1.text, r2.text)
        a, b = r1.json()["results"], r2.json()["results"]
        # Both answers are the same first results; each op was applied by one of them only.
        assert [(x["op_id"], x["status"], x["body"]) for x in a] == [(x["op_id"], x["status"], x["body"]) for x in b]
        assert all(x["replayed"] != y["replayed"] for x, y in zip(a, b, strict=True))
        first.append(a)

    o2_morning, o1, insp, o2_evening = first
    assert [x["status"] for x in o2_morning] == [201, 201]
    assert [x["status"] for x in o1] == [201, 201, 200, 201, 201, 201, 201], o1
    assert o1[2]["body"]["status"] == "in_progress"
    # The signature named its document by `$op:`: it reached the document the op created.
    assert o1[5]["body"]["document_id"] == day.doc_id
    # The inspector: presence and a finding apply; the decision is refused (Art. 13) with the
    # endpoint's own error body, and the signature after it still applies.
    assert [x["status"] for x in insp] == [201, 201, 201, 403, 201], insp
    refusal = insp[3]["body"]
    assert refusal["code"] == "ART13_DECISION_FORBIDDEN" and refusal["article"] == "13"
    assert set(refusal) == {"status", "code", "message", "message_zh", "article", "detail"}
    assert o2_evening[0]["status"] == 201 and o2_evening[0]["body"]["document_locked"] is True

    doc = (await client.get(f"/api/v1/documents/{day.doc_id}", headers=token_for("sy.officer1"))).json()
    assert doc["locked"] is True and len(doc["signatures"]) == 4
    assert await effects(maker, day.iid) == EXPECTED | {"ops": 15}

    # The whole day replayed: the stored first results, nothing applied again.
    for (who, ops), answered in zip(phones, first, strict=True):
        r = await client.post(SYNC, json={"device_id": "again", "ops": ops}, headers=token_for(who))
        assert r.status_code == 200
        again = r.json()["results"]
        assert all(x["replayed"] for x in again)
        assert [(x["status"], x["body"]) for x in again] == [(x["status"], x["body"]) for x in answered]
    assert await effects(maker, day.iid) == EXPECTED | {"ops": 15}

    # The same day sent directly gives the same refusal: one command, two callers.
    direct = await client.post(f"/api/v1/inspections/{day.iid}/documents", headers=token_for("sy.inspector.ft"),
                               json={"type": "rectification_order", "content": {"order": "限期整改"}})
    assert direct.status_code == 403 and direct.json()["code"] == refusal["code"]
    assert direct.json()["message"] == refusal["message"]


async def test_the_field_day_out_of_order_is_refused_then_applies(client, token_for, clock, maker):
    """Officer 1's phone comes back first: start is refused (TWO_OFFICERS_REQUIRED, stored), and
    the enforcement acts after it are refused too (not in progress) — each with its own error. The
    app then queues new ops; nothing applied twice."""
    day = await _day(client, token_for, clock)
    o1 = day.officer1()
    r = await client.post(SYNC, json={"device_id": "p1", "ops": o1}, headers=token_for("sy.officer1"))
    results = r.json()["results"]
    assert [x["status"] for x in results][:3] == [201, 201, 409]
    assert results[2]["body"]["code"] == "TWO_OFFICERS_REQUIRED"
    assert all(x["status"] >= 400 for x in results[3:])
    # The dependent signature names a refused op: 424, stored like any other result.
    assert results[5]["status"] == 424 and results[5]["body"]["code"] == "OP_DEPENDENCY_FAILED"
    again = await client.post(SYNC, json={"device_id": "p1", "ops": o1}, headers=token_for("sy.officer1"))
    assert [(x["status"], x["replayed"]) for x in again.json()["results"]] == [(x["status"], True) for x in results]
    assert (await effects(maker, day.iid))["check_ins"] == 1


async def _started_with_a_direct_finding(client, token_for, clock) -> tuple[str, str, str]:
    """An inspection in progress with one finding officer 1 sent directly: (id, its path, the
    finding's id)."""
    flow = Flow(client, token_for, clock)
    iid = (await flow.started())["id"]
    base = f"/api/v1/inspections/{iid}"
    taken = str(uuid.uuid4())
    r = await client.post(f"{base}/findings", headers=token_for("sy.officer1"),
                          json={"id": taken, "description": "直接提交的隐患", "hazard_level": "general"})
    assert r.status_code == 201, r.text
    return iid, base, taken


async def test_findings_in_a_batch_are_all_seen_and_a_reused_id_is_refused(client, token_for, clock, maker):
    """Findings are inserted with the next flush, not one by one: every finding before the finish
    appears in its answer, a finding id reused with another body (in the same batch and from a
    direct request before) is refused alone, and the findings after it still apply."""
    iid, base, taken = await _started_with_a_direct_finding(client, token_for, clock)

    def finding(fid: str, text: str) -> dict:
        return op(f"{base}/findings", {"id": fid, "description": text, "hazard_level": "general",
                                       "position": position(5, 5)})

    ids = [str(uuid.uuid4()) for _ in range(4)]
    ops = [finding(ids[0], "隐患一"), finding(ids[1], "隐患二"),
           finding(ids[0], "同一编号、不同内容"),  # reused inside the batch
           finding(taken, "已被直接请求使用"),  # reused from the direct request
           finding(ids[2], "隐患三"), finding(ids[3], "隐患四"),
           op(f"{base}/finish")]
    r = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=token_for("sy.officer1"))
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 201, 409, 409, 201, 201, 200], res
    assert res[2]["body"]["code"] == res[3]["body"]["code"] == "ID_CONFLICT"
    listed = [f["id"] for f in res[6]["body"]["findings"]]
    assert sorted(listed) == sorted([taken, *ids])
    assert {f["id"]: f["description"] for f in res[6]["body"]["findings"]}[ids[0]] == "隐患一"
    assert (await effects(maker, iid))["findings"] == 5
    # Replayed: the same answers, nothing inserted again.
    again = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=token_for("sy.officer1"))
    assert [(x["status"], x["replayed"]) for x in again.json()["results"]] == [(x["status"], True) for x in res]
    assert (await effects(maker, iid))["findings"] == 5


async def test_a_reused_finding_id_as_the_last_op_is_refused_as_an_op(client, token_for, clock, maker, caplog):
    """The last op of a chunk is a finding whose id is taken: its INSERT fails at the chunk's end,
    which is that op's refusal (the chunk runs again with savepoints), not ops applied meanwhile."""
    iid, base, taken = await _started_with_a_direct_finding(client, token_for, clock)
    fresh = str(uuid.uuid4())
    ops = [op(f"{base}/findings", {"id": fresh, "description": "新隐患", "hazard_level": "general"}),
           op(f"{base}/findings", {"id": taken, "description": "另一个内容", "hazard_level": "general"})]
    with caplog.at_level("INFO", logger="fieldcheck.sync"):
        r = await client.post(SYNC, json={"device_id": "p", "ops": ops}, headers=token_for("sy.officer1"))
    res = r.json()["results"]
    assert [x["status"] for x in res] == [201, 409] and res[1]["body"]["code"] == "ID_CONFLICT"
    assert (await effects(maker, iid))["findings"] == 2
    assert not [rec for rec in caplog.records if "applied meanwhile" in rec.getMessage()]
