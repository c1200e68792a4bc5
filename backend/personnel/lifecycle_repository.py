"""All SQL of a person's working life: qualifications, appointments, trainings, recruitments,
dismissals and their checklists, misconduct records and dispatches. Jurisdiction is a path-prefix
row filter on the agency, as everywhere."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.personnel.models import (
    Agency,
    Appointment,
    Dismissal,
    Dispatch,
    EquipmentReturnItem,
    Misconduct,
    Person,
    Qualification,
    Recruitment,
    RecruitmentCandidate,
    Training,
)


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


# ---------------------------------------------------------------------------------- qualifications


async def qualifications_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Qualification]:
    return (await session.execute(
        select(Qualification).where(Qualification.person_id == person_id)
        .order_by(Qualification.created_at, Qualification.id)
    )).scalars().all()


# ------------------------------------------------------------------------------------ appointments


async def appointments_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Appointment]:
    return (await session.execute(
        select(Appointment).where(Appointment.person_id == person_id)
        .order_by(Appointment.start_date, Appointment.created_at, Appointment.id)
    )).scalars().all()


async def active_appointments(session: AsyncSession, person_id: uuid.UUID,
                              role: str | None = None) -> Sequence[Appointment]:
    query = select(Appointment).where(Appointment.person_id == person_id, Appointment.status == "active")
    if role is not None:
        query = query.where(Appointment.role == role)
    return (await session.execute(query.order_by(Appointment.start_date, Appointment.id))).scalars().all()


async def lapsed_appointments(session: AsyncSession, today: date) -> Sequence[Appointment]:
    """Active appointments whose term ended before `today`, oldest end first."""
    return (await session.execute(
        select(Appointment)
        .where(Appointment.status == "active", Appointment.end_date.is_not(None), Appointment.end_date < today)
        .order_by(Appointment.end_date, Appointment.id)
    )).scalars().all()


# --------------------------------------------------------------------------------------- trainings


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


# ------------------------------------------------------------------------------------ recruitments


async def recruitment_with_agency(session: AsyncSession,
                                  recruitment_id: uuid.UUID) -> tuple[Recruitment, Agency] | None:
    row = (await session.execute(
        select(Recruitment, Agency).join(Agency, Agency.code == Recruitment.agency_code)
        .where(Recruitment.id == recruitment_id)
    )).first()
    return None if row is None else (row[0], row[1])


async def candidates_of(session: AsyncSession, recruitment_id: uuid.UUID) -> Sequence[RecruitmentCandidate]:
    return (await session.execute(
        select(RecruitmentCandidate).where(RecruitmentCandidate.recruitment_id == recruitment_id)
        .order_by(RecruitmentCandidate.created_at, RecruitmentCandidate.id)
    )).scalars().all()


async def candidate(session: AsyncSession, recruitment_id: uuid.UUID,
                    candidate_id: uuid.UUID) -> RecruitmentCandidate | None:
    return (await session.execute(
        select(RecruitmentCandidate).where(RecruitmentCandidate.id == candidate_id,
                                           RecruitmentCandidate.recruitment_id == recruitment_id)
    )).scalar_one_or_none()


async def count_candidates(session: AsyncSession, recruitment_id: uuid.UUID) -> int:
    return int((await session.execute(
        select(func.count()).select_from(RecruitmentCandidate)
        .where(RecruitmentCandidate.recruitment_id == recruitment_id)
    )).scalar_one())


async def candidate_for_person(session: AsyncSession, recruitment_id: uuid.UUID,
                               person_id: uuid.UUID) -> RecruitmentCandidate | None:
    return (await session.execute(
        select(RecruitmentCandidate).where(RecruitmentCandidate.recruitment_id == recruitment_id,
                                           RecruitmentCandidate.person_id == person_id)
    )).scalars().first()


# -------------------------------------------------------------------------------------- dismissals


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


async def public_dismissals(session: AsyncSession, *, after: tuple[datetime, uuid.UUID] | None,
                            limit: int) -> Sequence[tuple[Dismissal, Person, Agency]]:
    """Newest notice first."""
    query = (
        select(Dismissal, Person, Agency)
        .join(Person, Person.id == Dismissal.person_id)
        .join(Agency, Agency.code == Dismissal.agency_code)
    )
    if after is not None:
        query = query.where(or_(Dismissal.published_at < after[0],
                                and_(Dismissal.published_at == after[0], Dismissal.id < after[1])))
    query = query.order_by(Dismissal.published_at.desc(), Dismissal.id.desc()).limit(limit)
    return [(r[0], r[1], r[2]) for r in (await session.execute(query)).all()]


async def credential_numbers(session: AsyncSession, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The credential numbers each person holds or held (any status), for public notices."""
    # Imported here: the credentials domain depends on personnel, not the other way round.
    from backend.credentials.models import Credential

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


# -------------------------------------------------------------------------------------- misconduct


async def misconduct_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Misconduct]:
    return (await session.execute(
        select(Misconduct).where(Misconduct.person_id == person_id).order_by(Misconduct.created_at, Misconduct.id)
    )).scalars().all()


# -------------------------------------------------------------------------------------- dispatches


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
        query = query.where(or_(Dispatch.start_date < after[0],
                                and_(Dispatch.start_date == after[0], Dispatch.id < after[1])))
    query = query.order_by(Dispatch.start_date.desc(), Dispatch.id.desc()).limit(limit)
    return [(r[0], r[1]) for r in (await session.execute(query)).all()]


async def overlapping_dispatch(session: AsyncSession, person_id: uuid.UUID, to_agency_code: str, start: date,
                               end: date) -> Dispatch | None:
    return (await session.execute(
        select(Dispatch).where(Dispatch.person_id == person_id, Dispatch.to_agency_code == to_agency_code,
                               Dispatch.start_date <= end, Dispatch.end_date >= start)
    )).scalars().first()


async def dispatch_covering(session: AsyncSession, person_id: uuid.UUID, agency_code: str, on: date) -> bool:
    # A dismissed inspector is no longer anyone's to borrow, whatever the dispatch said.
    found = (await session.execute(
        select(Dispatch.id).join(Person, Person.id == Dispatch.person_id)
        .where(Dispatch.person_id == person_id, Dispatch.to_agency_code == agency_code,
               Dispatch.start_date <= on, Dispatch.end_date >= on, Person.status == "active").limit(1)
    )).first()
    return found is not None
