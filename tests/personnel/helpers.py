"""Shared helpers of the personnel tests (appointments, trainings, recruitment,
dismissal, dispatch): making people through the API and valid request bodies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.checksums import make_id_number
from backend.core.db import make_engine, make_sessionmaker


def id_number(birth: str | None = None, region: str = "210102") -> str:
    """A valid, random ID number. The birth date is random too unless given: 1000 sequence numbers
    alone made two people of one test collide now and then (409 PERSON_EXISTS)."""
    if birth is None:
        day = date(1975, 1, 1) + timedelta(days=uuid.uuid4().int % 7300)
        birth = day.strftime("%Y%m%d")
    return make_id_number(region + birth + f"{uuid.uuid4().int % 1000:03d}")


def person_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "王五",
        "id_number": id_number(),
        "phone": "13912345678",
        "agency_code": "210100",
        "role": "technical_inspector",
        "employment": "full_time",
    }
    body.update(over)
    return body


async def make_person(client: Any, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/people", json=person_body(**over), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def make_hr(client: Any, token_for: Any, agency_code: str) -> dict[str, str]:
    """An hr_admin of another agency (made by the provincial office) and their bearer headers."""
    person = await make_person(client, token_for("ln.hr"), name="赵六", agency_code=agency_code, role="hr_admin",
                               employment=None)
    return token_for(uuid.UUID(person["id"]))


def full_time_appointment(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": "technical_inspector",
        "employment": "full_time",
        "start_date": "2026-01-01",
        "contract_type": "labor",
        "route": "exam",
        "declarations": {"full_civil_capacity": True, "criminal_record": False},
        "consents": {"self": True, "employer": True},
    }
    body.update(over)
    return body


def part_time_appointment(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": "technical_inspector",
        "employment": "part_time",
        "start_date": "2026-01-01",
        "end_date": "2028-12-31",
        "contract_type": "service",
        "route": "expert_pool",
        "declarations": {"full_civil_capacity": True},
        "consents": {"self": True, "employer": True},
    }
    body.update(over)
    return body


def supervisor_appointment(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": "social_supervisor",
        "start_date": "2026-01-01",
        "end_date": "2028-12-31",
        "contract_type": "other",
        "route": "recommendation",
        "recommended_by": "辽宁省安全生产协会",
        "consents": {"self": True, "employer": True},
    }
    body.update(over)
    return body


async def qualify(client: Any, headers: dict[str, str], person_id: str, **over: Any) -> dict[str, Any]:
    body = {"kind": "registered_safety_engineer", "level": "intermediate", "field": "化工安全",
            "safety_related": True}
    body.update(over)
    r = await client.post(f"/api/v1/people/{person_id}/qualifications", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def appointed_inspector(client: Any, token_for: Any, *, agency_code: str = "210100",
                              creator: str = "sy.hr", **appointment: Any) -> dict[str, Any]:
    """A qualified full-time inspector with an active appointment."""
    hr = token_for(creator)
    person = await make_person(client, hr, agency_code=agency_code)
    await qualify(client, hr, person["id"])
    r = await client.post(f"/api/v1/people/{person['id']}/appointments", json=full_time_appointment(**appointment),
                          headers=hr)
    assert r.status_code == 201, r.text
    return person


@asynccontextmanager
async def db_session(db_url: str) -> AsyncIterator[AsyncSession]:
    """A session on the test's own event loop. (The app's sessionmaker lives on the test client's
    portal loop; asyncpg connections must not cross loops.)"""
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()
