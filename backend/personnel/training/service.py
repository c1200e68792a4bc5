"""Use cases of trainings: recording a pre-job, rotation or special training, and the yearly
training report (Art. 14: at least 7 days of rotation and special training)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.guards.access import require_role, require_visible
from backend.personnel.models import Training
from backend.personnel.people import repository as people_repo
from backend.personnel.people.service import STAFF, person_for_staff_read, person_for_write
from backend.personnel.training import repository as repo
from backend.personnel.training.schemas import (
    TrainingCreate,
    TrainingRead,
    TrainingReport,
    TrainingReportRow,
)

#: Art. 14: rotation + special training days a year.
REQUIRED_TRAINING_DAYS = 7


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
    await people_repo.add(session, training)
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
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for row in report.items:
        writer.writerow([_csv_cell(getattr(row, c)) for c in _CSV_COLUMNS])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")
