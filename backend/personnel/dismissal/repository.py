"""All SQL of dismissals, their equipment checklists and public notices, and misconduct records."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import TimeKey, keyset_after
from backend.credentials.models import Credential
from backend.personnel.models import Agency, Dismissal, EquipmentReturnItem, Misconduct, Person


async def dismissal_with_agency(session: AsyncSession,
                                dismissal_id: uuid.UUID) -> tuple[Dismissal, Person, Agency] | None:
    row = (await session.execute(
        select(Dismissal, Person, Agency)
        .join(Person, Person.id == Dismissal.person_id)
        .join(Agency, Agency.code == Dismissal.agency_code)
        .where(Dismissal.id == dismissal_id)
    )).first()
    return None if row is None else (row[0], row[1], row[2])


async def checklist_of(session: AsyncSession, dismissal_id: uuid.UUID) -> Sequence[EquipmentReturnItem]:
    return (await session.execute(
        select(EquipmentReturnItem).where(EquipmentReturnItem.dismissal_id == dismissal_id)
        .order_by(EquipmentReturnItem.item)
    )).scalars().all()


async def checklist_item(session: AsyncSession, dismissal_id: uuid.UUID, item: str) -> EquipmentReturnItem | None:
    return (await session.execute(
        select(EquipmentReturnItem).where(EquipmentReturnItem.dismissal_id == dismissal_id,
                                          EquipmentReturnItem.item == item)
    )).scalar_one_or_none()


async def public_dismissals(session: AsyncSession, *, after: TimeKey | None,
                            limit: int) -> Sequence[tuple[Dismissal, Person, Agency]]:
    """Newest notice first."""
    query = (
        select(Dismissal, Person, Agency)
        .join(Person, Person.id == Dismissal.person_id)
        .join(Agency, Agency.code == Dismissal.agency_code)
    )
    if after is not None:
        query = query.where(keyset_after(Dismissal.published_at, Dismissal.id, after))
    query = query.order_by(Dismissal.published_at.desc(), Dismissal.id.desc()).limit(limit)
    return [(r[0], r[1], r[2]) for r in (await session.execute(query)).all()]


async def credential_numbers(session: AsyncSession, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The credential numbers each person holds or held (any status), for public notices."""
    ids = list(person_ids)
    out: dict[uuid.UUID, list[str]] = defaultdict(list)
    if not ids:
        return out
    rows = (await session.execute(
        select(Credential.person_id, Credential.number).where(Credential.person_id.in_(ids))
        .order_by(Credential.number)
    )).all()
    for person_id, number in rows:
        out[person_id].append(number)
    return out


async def misconduct_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Misconduct]:
    return (await session.execute(
        select(Misconduct).where(Misconduct.person_id == person_id).order_by(Misconduct.created_at, Misconduct.id)
    )).scalars().all()
