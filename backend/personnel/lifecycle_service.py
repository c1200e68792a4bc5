"""Use cases of a person's working life before dismissal: qualifications, appointments (eligibility,
Art. 7, 9, 11, 17, 18, 22) and trainings with the yearly training report (Art. 14); also the access
helpers the other personnel lifecycle services share. Recruitment (Art. 6) is in
recruitment_service.py, dispatch (Art. 16) in dispatch_service.py, dismissal, term expiry and
misconduct (Art. 25-27) in dismissal_service.py. The article rules themselves are the pure
functions of backend/guards; these modules gather the facts, call them and store the outcome."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import Conflict, NotFound, Unprocessable, validation_error
from backend.guards.access import require_role, require_visible, require_writable
from backend.guards.eligibility import (
    DEGREE_LEVELS,
    REGISTERED_SAFETY_ENGINEER_LEVELS,
    TITLE_LEVELS,
    VOCATIONAL_LEVELS,
    AppointmentFacts,
    require_eligible,
)
from backend.guards.eligibility import Qualification as QualificationFact
from backend.personnel import lifecycle_repository as repo
from backend.personnel import repository as people_repo
from backend.personnel.lifecycle_schemas import (
    AppointmentCreate,
    AppointmentRead,
    QualificationCreate,
    QualificationRead,
    TrainingCreate,
    TrainingRead,
    TrainingReport,
    TrainingReportRow,
)
from backend.personnel.models import (
    Agency,
    Appointment,
    Person,
    Qualification,
    Training,
)

STAFF = ("hr_admin", "agency_admin")
#: Art. 14: rotation + special training days a year.
REQUIRED_TRAINING_DAYS = 7

LEVELS: dict[str, tuple[str, ...]] = {
    "degree": DEGREE_LEVELS,
    "professional_title": TITLE_LEVELS,
    "vocational_qualification": VOCATIONAL_LEVELS,
    "registered_safety_engineer": REGISTERED_SAFETY_ENGINEER_LEVELS,
}


# ------------------------------------------------------------------------------------------ access


async def person_for_write(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                           *roles: str) -> tuple[Person, Agency]:
    """The person, when the caller has one of `roles` at the person's agency or above (403 else)."""
    require_role(principal, *roles)
    found = await people_repo.person_with_agency(session, person_id)
    if found is None:
        raise NotFound("No such person", "未找到该人员")
    require_writable(principal, found[1].path)
    return found


async def person_for_staff_read(session: AsyncSession, principal: Principal,
                                person_id: uuid.UUID) -> tuple[Person, Agency]:
    """The person's file: the person themself, or agency staff of the person's agency or above.
    Someone outside the jurisdiction gets 404, a colleague without a staff role 403."""
    found = await people_repo.person_with_agency(session, person_id)
    if found is None:
        raise NotFound("No such person", "未找到该人员")
    if principal.person_id == person_id:
        return found
    require_visible(principal, found[1].path, "person")
    require_role(principal, *STAFF)
    return found


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
    await repo.add(session, q)
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
    await repo.lock(session, person)
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
    await repo.add(session, appointment)
    if person.employment is None and employment is not None:
        # Registered without it (API.md: the appointment carries it): the appointment says it.
        person.employment = employment
        person.updated_at = now
        await repo.flush(session)
    reactivated = person.status != "active"
    if reactivated:
        # A new appointment after a dismissal (e.g. a lapsed term not renewed in time) brings the
        # person back; eligibility has just been checked afresh.
        person.status = "active"
        person.updated_at = now
        await repo.flush(session)
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


# --------------------------------------------------------------------------------------- trainings


def training_read(t: Training) -> TrainingRead:
    return TrainingRead(id=t.id, person_id=t.person_id, kind=t.kind, start_date=t.start_date, days=t.days,
                        assessment_passed=t.assessment_passed, created_at=t.created_at)


async def add_training(session: AsyncSession, principal: Principal, person_id: uuid.UUID, data: TrainingCreate,
                       now: datetime) -> TrainingRead:
    # Art. 15: the personnel office runs pre-job and rotation training, the person's department
    # special training; both are agency staff.
    person, _ = await person_for_write(session, principal, person_id, *STAFF)
    training = Training(id=data.id or uuid.uuid4(), person_id=person.id, kind=data.kind,
                        start_date=data.start_date, days=data.days, assessment_passed=data.assessment_passed,
                        created_at=now)
    await repo.add(session, training)
    await record(session, actor=principal.actor, action="training.recorded", subject=f"person:{person.id}",
                 data={"training_id": str(training.id), "kind": training.kind,
                       "start_date": training.start_date.isoformat(), "days": training.days,
                       "assessment_passed": training.assessment_passed}, at=now)
    return training_read(training)


async def list_trainings(session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> list[TrainingRead]:
    person, _ = await person_for_staff_read(session, principal, person_id)
    return [training_read(t) for t in await repo.trainings_of(session, person.id)]


async def training_report(session: AsyncSession, principal: Principal, year: int,
                          agency_code: str | None) -> TrainingReport:
    """Art. 14: every technical inspector who served in `year` in the subtree of `agency_code`
    (default: the caller's agency), with rotation + special days started that year."""
    require_role(principal, *STAFF)
    if agency_code:
        agency = await people_repo.get_agency(session, agency_code)
        if agency is None:
            raise NotFound("No such agency", "未找到该机关")
        require_visible(principal, agency.path, "agency")
        path, code = agency.path, agency.code
    else:
        path, code = principal.agency_path, principal.agency_code
    first, last = date(year, 1, 1), date(year, 12, 31)
    people = await repo.inspectors_serving(session, path, first, last)
    ids = [p.id for p, _ in people]
    days = await repo.training_days(session, ids, first, last)
    passed = await repo.pre_job_passed(session, ids)
    items = []
    for person, agency in people:
        rotation = days.get(person.id, {}).get("rotation", 0)
        special = days.get(person.id, {}).get("special", 0)
        total = rotation + special
        items.append(TrainingReportRow(
            person_id=person.id, name=person.name, agency_code=agency.code, agency_name=agency.name,
            employment=person.employment, status=person.status, pre_job_passed=person.id in passed,
            rotation_days=rotation, special_days=special, days=total,
            shortfall_days=max(REQUIRED_TRAINING_DAYS - total, 0), compliant=total >= REQUIRED_TRAINING_DAYS,
        ))
    compliant = sum(1 for i in items if i.compliant)
    return TrainingReport(year=year, agency_code=code, required_days=REQUIRED_TRAINING_DAYS,
                          compliant_count=compliant, non_compliant_count=len(items) - compliant, items=items)


_CSV_COLUMNS = ("person_id", "name", "agency_code", "agency_name", "employment", "status", "pre_job_passed",
                "rotation_days", "special_days", "days", "shortfall_days", "compliant")


def _csv_cell(value: object) -> str:
    text = "" if value is None else ("true" if value is True else "false" if value is False else str(value))
    # A cell starting with a formula character would run as a formula in Excel (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def training_report_csv(report: TrainingReport) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Chinese names correctly; CRLF rows (RFC 4180)."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for row in report.items:
        writer.writerow([_csv_cell(getattr(row, c)) for c in _CSV_COLUMNS])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")
