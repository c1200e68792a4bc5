"""Use cases of qualifications and appointments: a qualification is recorded against its ladder, an
appointment after the eligibility rules (Art. 7, 9, 11, 17, 18, 22: backend/guards/eligibility)
have all been checked at once. The rules are the pure functions of backend/guards; this module
gathers the facts, calls them and stores the outcome."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import Conflict, Unprocessable, validation_error
from backend.guards.eligibility import (
    DEGREE_LEVELS,
    REGISTERED_SAFETY_ENGINEER_LEVELS,
    TITLE_LEVELS,
    VOCATIONAL_LEVELS,
    AppointmentFacts,
    require_eligible,
)
from backend.guards.eligibility import Qualification as QualificationFact
from backend.personnel.appointments import repository as repo
from backend.personnel.appointments.schemas import (
    AppointmentCreate,
    AppointmentRead,
    QualificationCreate,
    QualificationRead,
)
from backend.personnel.models import Appointment, Qualification
from backend.personnel.people import repository as people_repo
from backend.personnel.people.service import person_for_staff_read, person_for_write

LEVELS: dict[str, tuple[str, ...]] = {
    "degree": DEGREE_LEVELS,
    "professional_title": TITLE_LEVELS,
    "vocational_qualification": VOCATIONAL_LEVELS,
    "registered_safety_engineer": REGISTERED_SAFETY_ENGINEER_LEVELS,
}


# ---------------------------------------------------------------------------------- qualifications


def qualification_read(q: Qualification) -> QualificationRead:
    return QualificationRead(id=q.id, person_id=q.person_id, kind=q.kind, level=q.level, field=q.field,
                             safety_related=q.safety_related, created_at=q.created_at)


async def add_qualification(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                            data: QualificationCreate, now: datetime) -> QualificationRead:
    person, _agency = await person_for_write(session, principal, person_id, "hr_admin")
    ladder = LEVELS[data.kind]
    if data.level not in ladder:
        raise validation_error("level", "invalid", f"a {data.kind} level is one of: {', '.join(ladder)}",
                               f"等级应为：{'、'.join(ladder)}")
    q = Qualification(id=data.id or uuid.uuid4(), person_id=person.id, kind=data.kind, level=data.level,
                      field=data.field, safety_related=data.safety_related, created_at=now)
    await people_repo.add(session, q)
    await record(session, actor=principal.actor, action="qualification.added", subject=f"person:{person.id}",
                 data={"qualification_id": str(q.id), "kind": q.kind, "level": q.level,
                       "safety_related": q.safety_related}, at=now)
    return qualification_read(q)


async def list_qualifications(session: AsyncSession, principal: Principal,
                              person_id: uuid.UUID) -> list[QualificationRead]:
    person, _ = await person_for_staff_read(session, principal, person_id)
    return [qualification_read(q) for q in await repo.qualifications_of(session, person.id)]


# ------------------------------------------------------------------------------------ appointments


def appointment_read(a: Appointment) -> AppointmentRead:
    return AppointmentRead(
        id=a.id, person_id=a.person_id, agency_code=a.agency_code, role=a.role, employment=a.employment,
        start_date=a.start_date, end_date=a.end_date, contract_type=a.contract_type, route=a.route,
        experience_years=a.experience_years, declarations=dict(a.declarations or {}),
        consents=dict(a.consents or {}), exception_reason=a.exception_reason, recommended_by=a.recommended_by,
        invitee_category=a.invitee_category, consulted=a.consulted, status=a.status, ended_on=a.ended_on,
        created_at=a.created_at,
    )


def _overlaps(a: Appointment, start: date, end: date | None) -> bool:
    a_end = a.end_date
    return (a_end is None or a_end >= start) and (end is None or end >= a.start_date)


async def create_appointment(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                             data: AppointmentCreate, now: datetime) -> AppointmentRead:
    person, agency = await person_for_write(session, principal, person_id, "hr_admin")
    if data.role != person.role:
        raise Unprocessable(
            f"The person is registered as {person.role}, not {data.role}", "聘用角色与人员登记的角色不一致",
            code="ROLE_MISMATCH",
            detail={"errors": [{"field": "role", "code": "ROLE_MISMATCH",
                                "message": f"the person is a {person.role}"}]},
        )
    employment: str | None = None
    if data.role == "technical_inspector":
        employment = data.employment or person.employment
        if person.employment and employment != person.employment:
            raise validation_error("employment", "mismatch", f"the person is registered as {person.employment}",
                                   "与人员登记的专兼职类别不一致")
    elif data.employment is not None:
        raise validation_error("employment", "not_applicable", "only technical inspectors have an employment",
                               "仅技术检查员区分专职兼职")
    declarations = {k: v for k, v in _struct_items(data.declarations) if v is not None}
    consents: dict[str, bool] = {str(k): v for k, v in data.consents.items()}
    consulted = data.consulted
    consulted_text = "; ".join(c for c in consulted if c.strip()) if isinstance(consulted, list) else consulted
    quals = await repo.qualifications_of(session, person.id)
    facts = AppointmentFacts(
        role=data.role, employment=employment, birth_date=person.birth_date, start_date=data.start_date,
        end_date=data.end_date, route=data.route, experience_years=data.experience_years,
        declarations=declarations, consents=consents,
        qualifications=[QualificationFact(q.kind, q.level, q.field or "", q.safety_related) for q in quals],
        exception_reason=data.exception_reason, recommended_by=data.recommended_by,
        invitee_category=data.invitee_category, consulted=consulted,
    )
    # Every violation at once (422 NOT_ELIGIBLE, detail.violations).
    require_eligible(facts)
    await people_repo.lock(session, person)
    for current in await repo.active_appointments(session, person.id, data.role):
        if _overlaps(current, data.start_date, data.end_date):
            raise Conflict(
                "The person already has an active appointment in this role for that period; a renewal "
                "starts after the current term ends", "该人员在此期间已有有效聘用，续聘应在本届期满后开始",
                code="APPOINTMENT_EXISTS", detail={"appointment_id": str(current.id)},
            )
    appointment = Appointment(
        id=data.id or uuid.uuid4(), person_id=person.id, agency_code=agency.code, role=data.role,
        employment=employment, start_date=data.start_date, end_date=data.end_date,
        contract_type=data.contract_type, route=data.route, experience_years=data.experience_years,
        declarations=declarations, consents=consents, exception_reason=data.exception_reason,
        recommended_by=data.recommended_by, invitee_category=data.invitee_category, consulted=consulted_text,
        status="active", created_at=now,
    )
    await people_repo.add(session, appointment)
    if person.employment is None and employment is not None:
        # Registered without it (API.md: the appointment carries it): the appointment says it.
        person.employment = employment
        person.updated_at = now
        await people_repo.flush(session)
    reactivated = person.status != "active"
    if reactivated:
        # A new appointment after a dismissal (e.g. a lapsed term not renewed in time) brings the
        # person back; eligibility has just been checked afresh.
        person.status = "active"
        person.updated_at = now
        await people_repo.flush(session)
    await record(session, actor=principal.actor, action="appointment.created", subject=f"person:{person.id}",
                 data={"appointment_id": str(appointment.id), "role": appointment.role,
                       "employment": employment, "start_date": appointment.start_date.isoformat(),
                       "end_date": appointment.end_date.isoformat() if appointment.end_date else None,
                       "route": appointment.route, "reactivated": reactivated}, at=now)
    return appointment_read(appointment)


def _struct_items(struct: object) -> list[tuple[str, object]]:
    return [(name, getattr(struct, name)) for name in struct.__struct_fields__]  # type: ignore[attr-defined]


async def list_appointments(session: AsyncSession, principal: Principal,
                            person_id: uuid.UUID) -> list[AppointmentRead]:
    person, _ = await person_for_staff_read(session, principal, person_id)
    return [appointment_read(a) for a in await repo.appointments_of(session, person.id)]
