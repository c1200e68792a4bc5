"""All SQL of trainings and the Art. 14 training report. Jurisdiction is a path-prefix row filter on
the agency, as everywhere."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.personnel.models import Agency, Appointment, Person, Training


async def trainings_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Training]:
    return (await session.execute(
        select(Training).where(Training.person_id == person_id).order_by(Training.start_date, Training.id)
    )).scalars().all()


async def inspectors_serving(session: AsyncSession, path_prefix: str, first: date,
                             last: date) -> Sequence[tuple[Person, Agency]]:
    """Technical inspectors of the subtree with an appointment (as inspector) covering any day of
    [first, last]. An appointment that stopped early counts up to the day it stopped."""
    stopped = func.coalesce(Appointment.ended_on, Appointment.end_date)
    serving = (
        select(Appointment.person_id)
        .where(Appointment.role == "technical_inspector", Appointment.start_date <= last,
               or_(stopped.is_(None), stopped >= first))
    )
    rows = (await session.execute(
        select(Person, Agency)
        .join(Agency, Agency.code == Person.agency_code)
        .where(Agency.path.startswith(path_prefix, autoescape=True), Person.role == "technical_inspector",
               Person.id.in_(serving))
        .order_by(Agency.code, Person.name, Person.id)
    )).all()
    return [(row[0], row[1]) for row in rows]


async def training_days(session: AsyncSession, person_ids: Iterable[uuid.UUID], first: date,
                        last: date) -> dict[uuid.UUID, dict[str, int]]:
    """Days of training per person and kind, for trainings starting within [first, last]."""
    ids = list(person_ids)
    out: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    if not ids:
        return out
    rows = (await session.execute(
        select(Training.person_id, Training.kind, func.sum(Training.days))
        .where(Training.person_id.in_(ids), Training.start_date >= first, Training.start_date <= last)
        .group_by(Training.person_id, Training.kind)
    )).all()
    for person_id, kind, days in rows:
        out[person_id][kind] = int(days or 0)
    return out


async def pre_job_passed(session: AsyncSession, person_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    ids = list(person_ids)
    if not ids:
        return set()
    return set((await session.execute(
        select(Training.person_id).where(Training.person_id.in_(ids), Training.kind == "pre_job",
                                         Training.assessment_passed.is_(True))
    )).scalars())
