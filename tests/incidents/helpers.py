"""Shared helpers of the incident, supervision and notification API tests."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.audit.models import AuditEntry, AuditPending
from backend.core.checksums import make_id_number
from backend.core.db import make_engine


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def incident_body(clock: Any, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "threat",
        "victim": "self",
        "occurred_at": iso(clock.now() - timedelta(hours=1)),
        "description": "企业负责人在检查现场威胁检查员",
    }
    body.update(over)
    return body


async def report(client: Any, token_for: Any, clock: Any, who: str = "sy.inspector.ft", **over: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/incidents", json=incident_body(clock, **over), headers=token_for(who))
    assert r.status_code == 201, r.text
    return r.json()


async def make_person(client: Any, token_for: Any, agency_code: str, role: str) -> uuid.UUID:
    """A new staff member (or officer) of any agency, created by the provincial personnel office."""
    prefix = agency_code[:6] if agency_code[:6].isdigit() else "210100"
    body: dict[str, Any] = {
        "name": "测试人员",
        "id_number": make_id_number(prefix + "19800101" + f"{uuid.uuid4().int % 1000:03d}"),
        "phone": "13800000000",
        "agency_code": agency_code,
        "role": role,
    }
    if role == "officer":
        body["enforcement_certificate"] = {"number": f"TEST-{uuid.uuid4().hex[:10]}", "valid_until": "2035-01-01"}
    if role == "technical_inspector":
        body["employment"] = "full_time"
    r = await client.post("/api/v1/people", json=body, headers=token_for("ln.hr"))
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


async def audit_actions(db_url: str, subject: str) -> list[str]:
    """Actions recorded for `subject`, oldest first: those the sequencer integrated (in seq order),
    then those still pending (in the id order it will integrate them; the test app runs no
    sequencer). Its own engine: the app's runs on another loop."""
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(AuditEntry.action).where(AuditEntry.subject == subject).order_by(AuditEntry.seq)
            )).scalars().all()
            pending = (await conn.execute(
                select(AuditPending.action).where(AuditPending.subject == subject).order_by(AuditPending.id)
            )).scalars().all()
    finally:
        await engine.dispose()
    return [*rows, *pending]


async def notifications_of(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", params={"limit": 500, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]
