"""Role matrix: every inspection and document endpoint × officer (sy.officer1, on the team),
sy.inspector.ft, sy.inspector.pt (both on the team), sy.supervisor, sy.hr, sy.admin and dl.officer1
(another city) → the expected status (and code, where the refusal has one).

State before each row (fresh database per row): an inspection of sy.officer1's agency, team
sy.officer1, sy.officer2, sy.inspector.ft, sy.inspector.pt, in progress with officers 1 and 2
checked in and their certificates shown, sy.inspector.ft checked in with the work credential shown,
sy.inspector.pt neither; one on-site inspection record drafted by sy.officer1. Users run in the
order listed, so a state-changing success comes last where it would change what the others see."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import demo_id
from tests.inspections.helpers import CERTS, Flow, at, inspection_body, position, signature_png

pytestmark = pytest.mark.db

USERS = ("sy.officer1", "sy.inspector.ft", "sy.inspector.pt", "sy.supervisor", "sy.hr", "sy.admin", "dl.officer1")
F = (403, "FORBIDDEN")
NF = (404, "NOT_FOUND")


async def _state(flow: Flow) -> dict[str, Any]:
    ins = await flow.started()
    doc = await flow.document(ins["id"])
    assert doc.status_code == 201, doc.text
    return {"iid": ins["id"], "doc": doc.json()}


def _display_body(flow: Flow, who: str, qr: str | None) -> dict[str, Any]:
    base = {"shown_to": {"name": "李厂长", "role": "企业负责人"}, "position": position(), "at": at(flow.clock)}
    if who in CERTS:
        return base | {"enforcement_certificate_number": CERTS[who]}
    if qr:
        return base | {"qr_text": qr}
    return base | {"enforcement_certificate_number": CERTS["sy.officer1"]}


# endpoint name → {user: expected (status, code | None)}; users in the order they are tried.
MATRIX: dict[str, dict[str, tuple[int, str | None]]] = {
    "create": {"sy.inspector.ft": F, "sy.inspector.pt": F, "sy.supervisor": F, "sy.hr": F, "sy.admin": F,
               "dl.officer1": (422, "TEAM_MEMBER_NOT_ELIGIBLE"), "sy.officer1": (201, None)},
    "list": dict.fromkeys(USERS, (200, None)),
    "read": {"sy.officer1": (200, None), "sy.inspector.ft": (200, None), "sy.inspector.pt": (200, None),
             "sy.supervisor": NF, "sy.hr": (200, None), "sy.admin": (200, None), "dl.officer1": NF},
    "check_in": {"sy.officer1": (409, "ALREADY_CHECKED_IN"), "sy.inspector.ft": (409, "ALREADY_CHECKED_IN"),
                 "sy.supervisor": F, "sy.hr": F, "sy.admin": F, "dl.officer1": F, "sy.inspector.pt": (201, None)},
    "check_out": {"sy.inspector.pt": (409, "NOT_CHECKED_IN"), "sy.supervisor": F, "sy.hr": F, "sy.admin": F,
                  "dl.officer1": F, "sy.inspector.ft": (201, None), "sy.officer1": (201, None)},
    "display": {"sy.supervisor": F, "sy.hr": F, "sy.admin": F, "dl.officer1": F, "sy.officer1": (201, None),
                "sy.inspector.ft": (201, None), "sy.inspector.pt": (201, None)},
    "start": {"sy.inspector.ft": F, "sy.inspector.pt": F, "sy.supervisor": F, "sy.hr": F, "sy.admin": F,
              "dl.officer1": F, "sy.officer1": (200, None)},
    "finish": {"sy.inspector.ft": F, "sy.inspector.pt": F, "sy.supervisor": F, "sy.hr": F, "sy.admin": F,
               "dl.officer1": F, "sy.officer1": (200, None)},
    "finding": {"sy.officer1": (201, None), "sy.inspector.ft": (201, None),
                "sy.inspector.pt": (409, "ART12_CREDENTIAL_NOT_SHOWN"), "sy.supervisor": F, "sy.hr": F,
                "sy.admin": F, "dl.officer1": F},
    "record": {"sy.officer1": (201, None), "sy.inspector.ft": (201, None),
               "sy.inspector.pt": (409, "ART12_CREDENTIAL_NOT_SHOWN"), "sy.supervisor": F, "sy.hr": F,
               "sy.admin": F, "dl.officer1": F},
    "decision": {"sy.officer1": (201, None), "sy.inspector.ft": (403, "ART13_DECISION_FORBIDDEN"),
                 "sy.inspector.pt": (403, "ART13_DECISION_FORBIDDEN"), "sy.supervisor": F, "sy.hr": F,
                 "sy.admin": F, "dl.officer1": F},
    "coercive": {"sy.officer1": (201, None), "sy.inspector.ft": (403, "ART13_COERCIVE_FORBIDDEN"),
                 "sy.inspector.pt": (403, "ART13_COERCIVE_FORBIDDEN"), "sy.supervisor": F, "sy.hr": F,
                 "sy.admin": F, "dl.officer1": F},
    "doc_read": {"sy.officer1": (200, None), "sy.inspector.ft": (200, None), "sy.inspector.pt": (200, None),
                 "sy.supervisor": NF, "sy.hr": (200, None), "sy.admin": (200, None), "dl.officer1": NF},
    "doc_update": {"sy.inspector.pt": (409, "ART12_CREDENTIAL_NOT_SHOWN"), "sy.supervisor": F, "sy.hr": F,
                   "sy.admin": F, "dl.officer1": F, "sy.officer1": (200, None), "sy.inspector.ft": (200, None)},
    "correction": {"sy.officer1": (409, "DOCUMENT_NOT_LOCKED"), "sy.inspector.ft": (409, "DOCUMENT_NOT_LOCKED"),
                   "sy.inspector.pt": (409, "ART12_CREDENTIAL_NOT_SHOWN"), "sy.supervisor": F, "sy.hr": F,
                   "sy.admin": F, "dl.officer1": F},
    "sign": {"sy.inspector.pt": (403, "ART12_NOT_AUTHORISED_TO_SIGN"), "sy.supervisor": F, "sy.hr": F,
             "sy.admin": F, "dl.officer1": F, "sy.officer1": (201, None), "sy.inspector.ft": (201, None)},
    "verify": {"sy.officer1": (200, None), "sy.inspector.ft": (200, None), "sy.inspector.pt": (200, None),
               "sy.supervisor": NF, "sy.hr": (200, None), "sy.admin": (200, None), "dl.officer1": NF},
    "authorise": {"sy.officer1": F, "sy.inspector.ft": F, "sy.inspector.pt": F, "sy.supervisor": F, "sy.hr": F,
                  "dl.officer1": F, "sy.admin": (201, None)},
}


async def _call(flow: Flow, name: str, who: str, st: dict[str, Any]) -> Any:
    c, h, iid, doc = flow.client, flow.token_for(who), st["iid"], st["doc"]
    if name == "create":
        return await c.post("/api/v1/inspections", json=inspection_body(flow.clock), headers=h)
    if name == "list":
        return await c.get("/api/v1/inspections", headers=h)
    if name == "read":
        return await c.get(f"/api/v1/inspections/{iid}", headers=h)
    if name == "check_in":
        return await c.post(f"/api/v1/inspections/{iid}/check-ins",
                            json={"position": position(), "at": at(flow.clock)}, headers=h)
    if name == "check_out":
        return await c.post(f"/api/v1/inspections/{iid}/check-outs", json={"at": at(flow.clock)}, headers=h)
    if name == "display":
        qr = await flow.qr_text_of(who) if who.startswith(("sy.inspector", "sy.supervisor")) else None
        return await c.post(f"/api/v1/inspections/{iid}/credential-displays", json=_display_body(flow, who, qr),
                            headers=h)
    if name in ("start", "finish"):
        return await c.post(f"/api/v1/inspections/{iid}/{name}", headers=h)
    if name == "finding":
        return await c.post(f"/api/v1/inspections/{iid}/findings",
                            json={"description": "隐患", "hazard_level": "general"}, headers=h)
    if name in ("record", "decision", "coercive"):
        doc_type = {"record": "recheck_opinion", "decision": "rectification_order",
                    "coercive": "seizure_decision"}[name]
        return await c.post(f"/api/v1/inspections/{iid}/documents", json={"type": doc_type, "content": {"a": 1}},
                            headers=h)
    if name == "doc_read":
        return await c.get(f"/api/v1/documents/{doc['id']}", headers=h)
    if name == "doc_update":
        return await c.put(f"/api/v1/documents/{doc['id']}", json={"content": {"who": who}}, headers=h)
    if name == "correction":
        return await c.post(f"/api/v1/documents/{doc['id']}/corrections", json={"content": {"b": 2}}, headers=h)
    if name == "sign":
        role = {"sy.officer1": "officer", "dl.officer1": "officer", "sy.admin": "officer",
                "sy.hr": "officer"}.get(who, "technical_inspector")
        return await c.post(f"/api/v1/documents/{doc['id']}/signatures", headers=h,
                            json={"signer_role": role, "image_png": signature_png(),
                                  "content_sha256": doc["content_sha256"], "at": at(flow.clock)})
    if name == "verify":
        return await c.get(f"/api/v1/documents/{doc['id']}/verify", headers=h)
    if name == "authorise":
        return await c.post(f"/api/v1/people/{demo_id('sy.inspector.pt')}/signing-authorisations", headers=h,
                            json={"document_types": ["on_site_inspection_record"], "valid_until": "2028-12-31"})
    raise AssertionError(name)


@pytest.mark.parametrize("name", list(MATRIX))
async def test_role_matrix(client, token_for, clock, name):
    flow = Flow(client, token_for, clock)
    st = await _state(flow)
    if name == "start":
        # A planned inspection with two ready officers, so only the role decides.
        planned = await flow.create()
        await flow.ready_officers(planned["id"])
        st = {**st, "iid": planned["id"]}
    expected = MATRIX[name]
    assert set(expected) == set(USERS)
    got = {}
    for who in expected:
        r = await _call(flow, name, who, st)
        got[who] = (r.status_code, r.json().get("code") if r.status_code >= 400 else None)
    assert got == expected


async def test_list_is_jurisdiction_and_team_filtered(client, token_for, clock):
    flow = Flow(client, token_for, clock)
    st = await _state(flow)
    secret = await flow.create(team=("sy.officer1", "sy.officer2"), classification="secret")
    seen = {}
    for who in USERS:
        r = await client.get("/api/v1/inspections?limit=500", headers=token_for(who))
        assert r.status_code == 200
        seen[who] = {i["id"] for i in r.json()["items"]}
    for who in ("sy.officer1", "sy.hr", "sy.admin"):
        assert {st["iid"], secret["id"]} <= seen[who], who
    for who in ("sy.inspector.ft", "sy.inspector.pt"):
        assert st["iid"] in seen[who] and secret["id"] not in seen[who], who
    for who in ("sy.supervisor", "dl.officer1"):
        assert not {st["iid"], secret["id"]} & seen[who], who


async def test_unauthenticated_is_401_everywhere(client, clock):
    iid = doc = "00000000-0000-4000-8000-000000000000"
    calls = [
        ("POST", "/api/v1/inspections"), ("GET", "/api/v1/inspections"), ("GET", f"/api/v1/inspections/{iid}"),
        ("POST", f"/api/v1/inspections/{iid}/check-ins"), ("POST", f"/api/v1/inspections/{iid}/check-outs"),
        ("POST", f"/api/v1/inspections/{iid}/credential-displays"), ("POST", f"/api/v1/inspections/{iid}/start"),
        ("POST", f"/api/v1/inspections/{iid}/finish"), ("POST", f"/api/v1/inspections/{iid}/findings"),
        ("POST", f"/api/v1/inspections/{iid}/documents"), ("GET", f"/api/v1/documents/{doc}"),
        ("PUT", f"/api/v1/documents/{doc}"), ("POST", f"/api/v1/documents/{doc}/corrections"),
        ("POST", f"/api/v1/documents/{doc}/signatures"), ("GET", f"/api/v1/documents/{doc}/verify"),
        ("POST", f"/api/v1/people/{iid}/signing-authorisations"),
    ]
    for method, path in calls:
        r = await client.request(method, path, json={} if method != "GET" else None)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["code"] == "UNAUTHENTICATED"
