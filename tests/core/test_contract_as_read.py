"""The contract as a client reads it (API.md): each case where the server disagreed with it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.conftest import demo_id
from tests.evidence.test_evidence_api import Uploader, photo
from tests.incidents.helpers import iso, report
from tests.inspections.helpers import Flow
from tests.personnel.helpers import full_time_appointment, make_person, qualify

pytestmark = pytest.mark.db
ASCII_WORD = re.compile(r"[a-z]+_[a-z_]+|\b(?:reported|investigating|clarified|closed|hr_admin|agency_admin)\b")


async def test_art29_finding_on_a_new_case_needs_no_investigation_step(client: Any, token_for: Any,
                                                                       clock: Any) -> None:
    case = await report(client, token_for, clock, who="sy.supervisor", kind="false_accusation")
    r = await client.post(f"/api/v1/incidents/{case['id']}/findings", json={"liable": False, "note": "举报不实"},
                          headers=token_for("sy.admin"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "found_not_liable"
    assert r.json()["investigating_at"] is not None and r.json()["clarification_due_at"] is not None


async def test_inspector_registered_without_employment_gets_it_from_the_appointment(client: Any,
                                                                                   token_for: Any) -> None:
    hr = token_for("sy.hr")
    person = await make_person(client, hr, employment=None)
    assert person["employment"] is None and person["role"] == "technical_inspector"
    await qualify(client, hr, person["id"])
    r = await client.post(f"/api/v1/people/{person['id']}/appointments", json=full_time_appointment(), headers=hr)
    assert r.status_code == 201, r.text
    assert r.json()["employment"] == "full_time", r.text
    r = await client.get(f"/api/v1/people/{person['id']}", headers=hr)
    assert r.json()["employment"] == "full_time", r.text


async def test_withdrawal_takes_a_free_text_reason(client: Any, token_for: Any) -> None:
    hr = token_for("sy.hr")
    rec = (await client.post("/api/v1/recruitments", json={"agency_code": "210100", "posts": 1,
                                                            "written_weight": 0.6}, headers=hr)).json()
    url = f"/api/v1/recruitments/{rec['id']}/candidates"
    ids = []
    for name, score in (("甲", 90), ("乙", 80)):
        r = await client.post(url, json={"name": name, "written": score, "interview": score}, headers=hr)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = await client.post(f"{url}/{ids[0]}/withdraw", json={"reason": "考生本人书面放弃录用"}, headers=hr)
    assert r.status_code == 200, r.text
    rows = {c["name"]: c for c in r.json()["items"]}
    assert rows["甲"]["withdrawn"] and rows["甲"]["withdrawal_reason"] == "withdrawal"
    assert rows["乙"]["offered"]


async def test_wrong_check_character_says_the_right_number(client: Any) -> None:
    r = await client.get("/api/v1/verify", params={"number": "LNJ-2026-000017-0"})
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert detail["reason"] == "check_character"
    right = detail["expected"]
    assert right.startswith("LNJ-2026-000017-") and right != "LNJ-2026-000017-0"
    r = await client.get("/api/v1/verify", params={"number": right})
    assert r.status_code == 200 and r.json()["result"] == "unknown"  # well-formed, no such credential


async def test_missing_verify_number_is_named(client: Any) -> None:
    r = await client.get("/api/v1/verify")
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["errors"] == [{"field": "number", "code": "required",
                                             "message": "required query parameter"}]


@pytest.mark.parametrize("ctype", ["text/plain", "application/xml", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x"])
async def test_non_json_body_is_415(client: Any, token_for: Any, ctype: str) -> None:
    r = await client.post("/api/v1/incidents", content=b'{"kind": "threat"}', headers={
        **token_for("sy.inspector.ft"), "Content-Type": ctype})
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    # JSON under its own names still goes through to validation.
    for ok in ("application/json", "application/json; charset=utf-8", "application/merge-patch+json"):
        r = await client.post("/api/v1/incidents", content=b'{"kind": "threat"}', headers={
            **token_for("sy.inspector.ft"), "Content-Type": ok})
        assert r.status_code == 422, (ok, r.text)


async def test_chinese_messages_name_no_english_enums(client: Any, token_for: Any, clock: Any) -> None:
    r = await client.get("/api/v1/audit", headers=token_for("sy.officer1"))
    bodies = [r.json()]
    r = await client.post("/api/v1/recruitments", json={"agency_code": "210100", "posts": 1, "written_weight": 0.6},
                          headers=token_for("sy.officer1"))
    bodies.append(r.json())
    case = await report(client, token_for, clock)
    r = await client.post(f"/api/v1/incidents/{case['id']}/close", json={"outcome": "x"},
                          headers=token_for("sy.admin"))
    bodies.append(r.json())
    r = await client.get("/api/v1/notifications", headers=token_for("sy.admin"))
    titles = [n["title_zh"] for n in r.json()["items"] if "title_zh" in n]
    assert [b["code"] for b in bodies] == ["FORBIDDEN", "FORBIDDEN", "INVALID_TRANSITION"]
    assert titles, "the agency was told about the report"
    for text in [b["message_zh"] for b in bodies] + titles:
        assert not ASCII_WORD.search(text), text


async def test_evidence_404_names_the_photo(client: Any, token_for: Any, clock: Any) -> None:
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    r = await Uploader(client, token_for, clock).upload(ins["id"], photo())
    assert r.status_code == 201, r.text
    r = await client.get(f"/api/v1/evidence/{r.json()['id']}", headers=token_for("dl.officer1"))
    assert r.status_code == 404
    assert r.json()["message_zh"] == "未找到该证据" and "evidence" in r.json()["message"]


async def test_refused_enterprise_signature_has_no_invented_name(client: Any, token_for: Any, clock: Any) -> None:
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    doc = (await flow.document(ins["id"])).json()
    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures", headers=token_for("sy.officer1"), json={
        "signer_role": "enterprise_representative", "refused": True, "refusal_note": "企业负责人拒绝签字",
        "witness_name": "王五", "content_sha256": doc["content_sha256"], "at": iso(clock.now())})
    assert r.status_code == 201, r.text
    doc = (await client.get(f"/api/v1/documents/{doc['id']}", headers=token_for("sy.officer1"))).json()
    refusal = next(s for s in doc["signatures"] if s["refused"])
    assert refusal["signer_name"] is None and refusal["witness_name"] == "王五"


async def test_text_responses_carry_one_charset(client: Any, token_for: Any) -> None:
    r = await client.get("/api/v1/audit/checkpoint")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    r = await client.get("/api/v1/reports/training.csv", headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"


async def test_notification_times_are_utc_z(client: Any, token_for: Any) -> None:
    r = await client.post("/api/v1/supervision/submissions", headers=token_for("sy.supervisor"), json={
        "kind": "hazard_clue", "agency_code": "210102", "subject": "隐患线索", "body": "某企业储罐区无人值守"})
    assert r.status_code == 201, r.text
    assert r.json()["due_at"].endswith("Z")
    r = await client.get("/api/v1/notifications", headers=token_for("sy.admin"))
    items = r.json()["items"]
    assert items, "the agency is told about the submission"
    for n in items:
        for key, value in (n.get("data") or {}).items():
            if key.endswith("_at") and isinstance(value, str):
                assert value.endswith("Z"), (key, value)
        assert n["created_at"].endswith("Z")


async def test_people_read_ids_are_uuids(client: Any, token_for: Any) -> None:
    r = await client.get(f"/api/v1/people/{demo_id('sy.officer1')}", headers=token_for("sy.hr"))
    assert uuid.UUID(r.json()["id"]) == demo_id("sy.officer1")
