"""Photos taken offline: the metadata op (with the photo's SHA-256) goes through /sync, the file is
uploaded directly with `Idempotency-Key: op:<op_id>`, in either order; `$op:` references to the
photo resolve either way, and each part applies once."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.evidence.test_evidence_api import Uploader, good_photo
from tests.inspections.helpers import Flow, at, position

pytestmark = pytest.mark.db

SYNC = "/api/v1/sync"


def photo_op(iid: str, data: bytes, clock, **over) -> dict:
    body = {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": at(clock), "lon": position()["lon"],
            "lat": position()["lat"], "accuracy_m": 8.0, **over}
    return {"op_id": str(uuid.uuid4()), "method": "POST", "path": f"/api/v1/inspections/{iid}/evidence",
            "body": body, "recorded_at": at(clock)}


def finding_naming(iid: str, photo: dict, clock) -> dict:
    return {"op_id": str(uuid.uuid4()), "method": "POST", "path": f"/api/v1/inspections/{iid}/findings",
            "body": {"description": f"见照片 $op:{photo['op_id']}", "hazard_level": "general"},
            "recorded_at": at(clock)}


async def test_metadata_op_first_then_the_file(client, token_for, clock):
    flow, up = Flow(client, token_for, clock), Uploader(client, token_for, clock)
    ins = await flow.started(team=("sy.officer1", "sy.officer2"))
    officer = token_for("sy.officer1")
    data = good_photo(clock)
    pop = photo_op(ins["id"], data, clock)
    named = finding_naming(ins["id"], pop, clock)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [pop, named]}, headers=officer)
    declared, finding = r.json()["results"]
    assert declared["status"] == 202 and declared["body"]["state"] == "awaiting_upload", declared
    evidence_id = declared["body"]["id"]
    assert finding["status"] == 201 and finding["body"]["description"] == f"见照片 {evidence_id}"
    st = (await client.get(f"{SYNC}/ops/{pop['op_id']}", headers=officer)).json()
    assert st["state"] == "awaiting_upload"

    # Another photo under the same op_id is refused; the declared one completes the op.
    other = good_photo(clock, dx_m=30)
    r = await up.upload(ins["id"], other, headers={"Idempotency-Key": f"op:{pop['op_id']}"})
    assert r.status_code == 409 and r.json()["code"] == "ID_CONFLICT"
    r = await up.upload(ins["id"], data, headers={"Idempotency-Key": f"op:{pop['op_id']}"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == evidence_id and r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    st = (await client.get(f"{SYNC}/ops/{pop['op_id']}", headers=officer)).json()
    assert st["state"] == "applied" and st["status"] == 201 and st["body"]["id"] == evidence_id
    # Sent again: the upload and the op answer the same photo, nothing new.
    r = await up.upload(ins["id"], data, headers={"Idempotency-Key": f"op:{pop['op_id']}"})
    assert r.status_code == 200 and r.json()["id"] == evidence_id
    r = await client.post(SYNC, json={"device_id": "p", "ops": [pop]}, headers=officer)
    assert r.json()["results"][0]["replayed"] is True and r.json()["results"][0]["body"]["id"] == evidence_id
    assert (await client.get(f"/api/v1/inspections/{ins['id']}", headers=officer)).json()["evidence_count"] == 1


async def test_file_first_then_the_metadata_op(client, token_for, clock):
    flow, up = Flow(client, token_for, clock), Uploader(client, token_for, clock)
    ins = await flow.started(team=("sy.officer1", "sy.officer2"))
    officer = token_for("sy.officer1")
    data = good_photo(clock)
    pop = photo_op(ins["id"], data, clock)
    named = finding_naming(ins["id"], pop, clock)
    # The finding naming the photo arrives before either part: not applied, not stored.
    r = await client.post(SYNC, json={"device_id": "p", "ops": [named]}, headers=officer)
    assert r.json()["results"][0]["body"]["code"] == "OP_DEPENDENCY_PENDING"
    r = await up.upload(ins["id"], data, headers={"Idempotency-Key": f"op:{pop['op_id']}"})
    assert r.status_code == 201, r.text
    evidence_id = r.json()["id"]
    again = await up.upload(ins["id"], data, headers={"Idempotency-Key": f"op:{pop['op_id']}"})
    assert again.status_code == 200 and again.json()["id"] == evidence_id
    r = await client.post(SYNC, json={"device_id": "p", "ops": [pop, named]}, headers=officer)
    photo_result, finding = r.json()["results"]
    # The metadata op is the same op as the upload: its answer is the uploaded photo.
    assert photo_result["status"] == 201 and photo_result["replayed"] is True
    assert photo_result["body"]["id"] == evidence_id
    assert finding["status"] == 201 and finding["body"]["description"] == f"见照片 {evidence_id}"
    # The same op_id with another photo's hash is another request.
    changed = {**pop, "body": {**pop["body"], "sha256": "0" * 64}}
    r = await client.post(SYNC, json={"device_id": "p", "ops": [changed]}, headers=officer)
    assert r.json()["results"][0]["body"]["code"] == "ID_CONFLICT"
    assert (await client.get(f"/api/v1/inspections/{ins['id']}", headers=officer)).json()["evidence_count"] == 1


async def test_photo_op_is_judged_by_article_13_when_applied(client, token_for, clock):
    """An inspector's photo op before two officers are present is refused like the upload would be;
    a photo declared while allowed may have its file sent later, when the act gate would refuse."""
    flow, up = Flow(client, token_for, clock), Uploader(client, token_for, clock)
    ins = await flow.started()
    ft = token_for("sy.inspector.ft")
    data = good_photo(clock)
    pop = photo_op(ins["id"], data, clock)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [pop]}, headers=ft)
    assert r.json()["results"][0]["status"] == 202
    # Both officers check out: the inspector may no longer act, but the file of the photo taken
    # while they were there still completes its op.
    for who in ("sy.officer1", "sy.officer2"):
        r = await client.post(f"/api/v1/inspections/{ins['id']}/check-outs", json={"at": at(clock)},
                              headers=token_for(who))
        assert r.status_code == 201, r.text
    r = await up.upload(ins["id"], data, who="sy.inspector.ft", headers={"Idempotency-Key": f"op:{pop['op_id']}"})
    assert r.status_code == 201, r.text
    late = photo_op(ins["id"], good_photo(clock, dx_m=40), clock)
    r = await client.post(SYNC, json={"device_id": "p", "ops": [late]}, headers=ft)
    assert r.json()["results"][0]["status"] == 409
    assert r.json()["results"][0]["body"]["code"] == "ART13_ACTING_ALONE"
