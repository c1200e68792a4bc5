"""Times at the edges of the calendar, naive times and naive cursors are bad input (422 / 400 with
the error body of API.md), never a 500; times in responses are UTC with a `Z`, whatever offset the
client sent."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date, datetime
from typing import Any

import msgspec
import pytest

from backend.core.times import ApiStruct, check_date, lenient_utc, utc_instant
from tests.evidence.test_evidence_api import Uploader, photo
from tests.incidents.helpers import incident_body
from tests.inspections.helpers import Flow, at, inspection_body, position, signature_png

EDGES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z", "2200-01-01T00:00:00Z"]
NAIVE = "2026-11-26T10:00:00"


def assert_field_refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body) == {"status", "code", "message", "message_zh", "article", "detail"}
    fields = [e["field"] for e in body["detail"]["errors"]]
    assert field in fields, fields


# --- the helper and the schema base, without a database ----------------------------------------


def test_utc_instant_refuses_what_cannot_be_converted_or_is_out_of_range() -> None:
    for text in EDGES:
        with pytest.raises(ValueError, match="between 1900-01-01 and 2199-12-31"):
            utc_instant(datetime.fromisoformat(text))
    with pytest.raises(ValueError, match="offset"):
        utc_instant(datetime.fromisoformat(NAIVE))
    assert utc_instant(datetime.fromisoformat("2026-11-26T18:00:00+08:00")).isoformat() == "2026-11-26T10:00:00+00:00"
    assert lenient_utc(datetime(1, 1, 1)) is None  # an EXIF year 1 is no time, not an error
    with pytest.raises(ValueError):
        check_date(date(9999, 12, 31))


class _Probe(ApiStruct, kw_only=True):
    at: datetime
    day: date | None = None


def test_schema_base_normalises_to_utc_and_names_the_field() -> None:
    out = msgspec.json.decode(b'{"at": "2026-11-26T18:00:00+08:00"}', type=_Probe)
    assert msgspec.json.encode(out) == b'{"at":"2026-11-26T10:00:00Z","day":null}'
    with pytest.raises(msgspec.ValidationError, match="`at`"):
        msgspec.json.decode(b'{"at": "9999-12-31T23:59:59-14:00"}', type=_Probe)
    with pytest.raises(msgspec.ValidationError, match="`day`"):
        msgspec.json.decode(b'{"at": "2026-11-26T18:00:00+08:00", "day": "9999-12-31"}', type=_Probe)


# --- every endpoint the edge values reached ----------------------------------------------------



@pytest.mark.db
@pytest.mark.parametrize("value", [*EDGES, NAIVE])
async def test_inspection_times_at_the_calendar_edges_are_422(client: Any, token_for: Any, clock: Any,
                                                              value: str) -> None:
    flow = Flow(client, token_for, clock)
    r = await client.post("/api/v1/inspections", json=inspection_body(clock, planned_at=value),
                          headers=token_for("sy.officer1"))
    assert_field_refused(r, "planned_at")
    ins = await flow.create()
    iid = ins["id"]
    auth = token_for("sy.officer1")
    r = await client.post(f"/api/v1/inspections/{iid}/check-ins", json={"position": position(), "at": value},
                          headers=auth)
    assert_field_refused(r, "at")
    r = await client.post(f"/api/v1/inspections/{iid}/check-outs", json={"at": value}, headers=auth)
    assert_field_refused(r, "at")
    r = await client.post(f"/api/v1/inspections/{iid}/credential-displays",
                          json={"enforcement_certificate_number": "LN-ZF-210100-2024004",
                                "shown_to": {"name": "李厂长", "role": "企业负责人"}, "position": position(),
                                "at": value}, headers=auth)
    assert_field_refused(r, "at")


@pytest.mark.db
@pytest.mark.parametrize("value", EDGES[:2])
async def test_signature_incident_sync_and_evidence_times_at_the_edges_are_refused(
        client: Any, token_for: Any, clock: Any, value: str) -> None:
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    iid = ins["id"]
    r = await flow.document(iid)
    assert r.status_code == 201, r.text
    doc = r.json()
    r = await client.post(f"/api/v1/documents/{doc['id']}/signatures",
                          json={"signer_role": "officer", "image_png": signature_png(),
                                "content_sha256": doc["content_sha256"], "at": value},
                          headers=token_for("sy.officer1"))
    assert_field_refused(r, "at")

    r = await client.post("/api/v1/incidents", json=incident_body(clock, occurred_at=value),
                          headers=token_for("sy.inspector.ft"))
    assert_field_refused(r, "occurred_at")

    r = await client.post("/api/v1/sync", headers=token_for("sy.officer1"), json={
        "device_id": "phone-1",
        "ops": [{"op_id": str(uuid.uuid4()), "method": "POST", "path": f"/api/v1/inspections/{iid}/check-ins",
                 "body": {"position": position(), "at": at(clock)}, "recorded_at": value}]})
    assert_field_refused(r, "ops[0].recorded_at")

    data = photo()
    r = await Uploader(client, token_for, clock).upload(iid, data, captured_at=value)
    assert_field_refused(r, "captured_at")


@pytest.mark.db
async def test_naive_or_out_of_range_cursor_is_invalid_cursor(client: Any, token_for: Any) -> None:
    for at_text in [NAIVE, "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]:
        cursor = base64.urlsafe_b64encode(json.dumps({"at": at_text, "id": str(uuid.uuid4())}).encode()).decode()
        for path in ["/api/v1/inspections", "/api/v1/people", "/api/v1/notifications",
                     "/api/v1/incidents", "/api/v1/supervision/submissions"]:
            r = await client.get(path, params={"cursor": cursor}, headers=token_for("sy.officer1"))
            assert r.status_code == 400, (path, r.text)
            assert r.json()["code"] == "INVALID_CURSOR"


@pytest.mark.db
async def test_times_sent_with_an_offset_come_back_in_utc_with_z(client: Any, token_for: Any, clock: Any) -> None:
    r = await client.post("/api/v1/incidents",
                          json=incident_body(clock, occurred_at="2026-11-26T09:00:00+08:00"),
                          headers=token_for("sy.inspector.ft"))
    assert r.status_code == 201, r.text
    assert r.json()["occurred_at"] == "2026-11-26T01:00:00Z"
    r = await client.post("/api/v1/inspections",
                          json=inspection_body(clock, planned_at="2026-11-26T09:00:00+08:00"),
                          headers=token_for("sy.officer1"))
    assert r.status_code == 201, r.text
    assert r.json()["planned_at"] == "2026-11-26T01:00:00Z"
    assert "+08:00" not in r.text and "+00:00" not in r.text
