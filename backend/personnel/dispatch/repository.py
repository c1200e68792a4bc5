"""All SQL of Art. 16 dispatches. Visibility is a path-prefix row filter on the agency, as everywhere."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.pagination import keyset_after
from backend.personnel.models import Agency, Dispatch, Person


async def dispatches_visible(session: AsyncSession, path_prefix: str, viewer_id: uuid.UUID, *,
                             person_id: uuid.UUID | None, after: tuple[date, uuid.UUID] | None,
                             limit: int) -> Sequence[tuple[Dispatch, Person]]:
    """Dispatches of people in the subtree, or to an agency in it, or of the viewer themself."""
    to_agency = select(Agency.code).where(Agency.path.startswith(path_prefix, autoescape=True))
    home = Agency.path.startswith(path_prefix, autoescape=True)
    query = (
        select(Dispatch, Person)
        .join(Person, Person.id == Dispatch.person_id)
        .join(Agency, Agency.code == Person.agency_code)
        .where(or_(home, Dispatch.to_agency_code.in_(to_agency), Dispatch.person_id == viewer_id))
    )
    if person_id is not None:
        query = query.where(Dispatch.person_id == person_id)
    if after is not None:
        query = query.where(keyset_after(Dispatch.start_date, Dispatch.id, after))
    query = query.order_by(Dispatch.start_date.desc(), Dispatch.id.desc()).limit(limit)
    return [(r[0], r[1]) for r in (await session.execute(query)).all()]


async def overlapping_dispatch(session: AsyncSession, person_id: uuid.UUID, to_agency_code: str, start: date,
                               end: date) -> Dispatch | None:
    return (await session.execute(
        select(Dispatch).where(Dispatch.person_id == person_id, Dispatch.to_agency_code == to_agency_code,
                               Dispatch.start_date <= end, Dispatch.end_date >= start)
    )).scalars().first()


def covering_clause(agency_code: str, day: date) -> ColumnElement[bool]:
    """SQL twin of backend.guards.dispatch.dispatch_covers (the query must join Person on the
    dispatch's person): to exactly `agency_code`, `day` within start and end inclusive, inspector
    active. tests/personnel/test_dispatch.py runs both on the same cases."""
    return and_(Dispatch.to_agency_code == agency_code, Dispatch.start_date <= day, Dispatch.end_date >= day,
                Person.status == "active")


async def dispatch_covering(session: AsyncSession, person_id: uuid.UUID, agency_code: str, on: date) -> bool:
    found = (await session.execute(
        select(Dispatch.id).join(Person, Person.id == Dispatch.person_id)
        .where(Dispatch.person_id == person_id, covering_clause(agency_code, on)).limit(1)
    )).first()
    return found is not None
