"""All SQL of agencies and people, and the writes every personnel sub-package shares (add, flush,
lock). Jurisdiction is applied here as a row filter: an agency's subtree is every agency whose
materialised path starts with its own."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import TimeKey, keyset_after
from backend.personnel.models import Agency, Person


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def agencies_in(session: AsyncSession, path_prefix: str, after: str | None, limit: int) -> Sequence[Agency]:
    query = select(Agency).where(Agency.path.startswith(path_prefix, autoescape=True)).order_by(Agency.code)
    if after:
        query = query.where(Agency.code > after)
    return (await session.execute(query.limit(limit))).scalars().all()


async def person_with_agency(session: AsyncSession, person_id: uuid.UUID) -> tuple[Person, Agency] | None:
    row = (await session.execute(
        select(Person, Agency).join(Agency, Agency.code == Person.agency_code).where(Person.id == person_id)
    )).first()
    return None if row is None else (row[0], row[1])


async def person_by_username(session: AsyncSession, username: str) -> Person | None:
    return (await session.execute(select(Person).where(Person.username == username))).scalar_one_or_none()


async def person_by_id_number(session: AsyncSession, id_number: str) -> Person | None:
    return (await session.execute(select(Person).where(Person.id_number == id_number))).scalar_one_or_none()


async def person_by_certificate(session: AsyncSession, number: str) -> Person | None:
    return (await session.execute(
        select(Person).where(Person.enforcement_certificate_number == number)
    )).scalar_one_or_none()


async def add(session: AsyncSession, *objs: object) -> None:
    session.add_all(list(objs))
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def lock(session: AsyncSession, obj: object) -> None:
    """Reload a row under FOR UPDATE (PostgreSQL), so two concurrent requests that check and then
    change the same person (dismissal, appointment) or candidate take turns. SQLite's BEGIN
    IMMEDIATE already serialises writers."""
    await session.refresh(obj, with_for_update=True)


async def people_in(
    session: AsyncSession,
    path_prefix: str,
    *,
    role: str | None,
    agency_code: str | None,
    status: str | None,
    after: TimeKey | None,
    limit: int,
) -> Sequence[tuple[Person, Agency]]:
    query = (
        select(Person, Agency)
        .join(Agency, Agency.code == Person.agency_code)
        .where(Agency.path.startswith(path_prefix, autoescape=True))
    )
    if role:
        query = query.where(Person.role == role)
    if agency_code:
        query = query.where(Person.agency_code == agency_code)
    if status:
        query = query.where(Person.status == status)
    if after is not None:
        query = query.where(keyset_after(Person.created_at, Person.id, after, descending=False))
    query = query.order_by(Person.created_at, Person.id).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]
