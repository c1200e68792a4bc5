"""Use cases of social supervision (Art. 19, 20): a supervisor's submission to an agency in their
jurisdiction, the agency's one answer, reading with the supervisor's identity shown only to agency
staff, lists, and the overdue sweep. Rules live in backend.guards.protection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import STAFF_ROLES, Principal
from backend.core.clock import iso_utc
from backend.core.db import point
from backend.core.errors import NotFound, validation_error
from backend.core.geo import to_wgs84
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.guards import protection
from backend.incidents.schemas import PersonRef, PositionOut
from backend.notifications import service as notifications
from backend.settings import Settings
from backend.supervision import repository
from backend.supervision.models import Submission
from backend.supervision.repository import SubmissionRow
from backend.supervision.schemas import (
    FeedbackCreate,
    FeedbackRead,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
)

SYSTEM = "system"


def subject_of(submission_id: uuid.UUID) -> str:
    return f"supervision_submission:{submission_id}"


def submission_read(row: SubmissionRow, viewer: Principal, now: datetime) -> SubmissionRead:
    sub = row.submission
    shown = protection.may_see_supervisor_identity(viewer, supervisor_id=sub.supervisor_id,
                                                   target_agency_path=row.agency_path)
    position = None
    if row.lon is not None and row.lat is not None:
        position = PositionOut(lon=row.lon, lat=row.lat, accuracy_m=sub.position_accuracy_m)
    feedback = None
    if sub.answered_at is not None and sub.answered_by is not None:
        feedback = FeedbackRead(text=sub.feedback_text or "", outcome=sub.feedback_outcome or "",
                                answered_at=sub.answered_at, answered_by=sub.answered_by)
    return SubmissionRead(
        id=sub.id, kind=sub.kind, agency_code=sub.agency_code, subject=sub.subject, body=sub.body,
        position=position,
        supervisor=PersonRef(id=sub.supervisor_id, name=row.supervisor_name) if shown else None,
        supervisor_masked=not shown, status=sub.status, received_at=sub.received_at, due_at=sub.due_at,
        overdue=protection.submission_overdue(status=sub.status, due_at=sub.due_at, now=now), feedback=feedback,
    )


async def _row(session: AsyncSession, submission_id: uuid.UUID, *, for_update: bool = False) -> SubmissionRow:
    row = await repository.get(session, submission_id, for_update=for_update)
    if row is None:
        raise NotFound("No such submission", "未找到该监督意见")
    return row


async def submit(session: AsyncSession, principal: Principal, data: SubmissionCreate, settings: Settings,
                 now: datetime) -> SubmissionRead:
    protection.require_supervisor(principal)
    agency = await repository.get_agency(session, data.agency_code)
    if agency is None:
        raise validation_error("agency_code", "unknown", "no such agency", "机关代码不存在")
    protection.require_submission_target(principal, agency.path)
    position = None
    if data.position is not None:
        lon, lat = to_wgs84(data.position.lon, data.position.lat, data.position.crs)
        position = point(lon, lat)
    sub = Submission(
        id=data.id or uuid.uuid4(), kind=data.kind, agency_code=agency.code, subject=data.subject, body=data.body,
        position=position, position_accuracy_m=data.position.accuracy_m if data.position else None,
        supervisor_id=principal.person_id, status="received", received_at=now,
        due_at=protection.submission_due_at(now, settings.supervision_answer_days),
    )
    await repository.add(session, sub)
    subject = subject_of(sub.id)
    # The audit entry names the supervisor as actor (the log is for auditors), not in notifications.
    await record(session, actor=principal.actor, action="supervision.submitted", subject=subject,
                 data={"kind": sub.kind, "agency_code": sub.agency_code, "due_at": sub.due_at}, at=now)
    await notifications.notify_staff_above(
        session, agency_path=agency.path, kind="supervision_received", subject=subject,
        title=f"New supervisor {sub.kind.replace('_', ' ')}: answer by {sub.due_at.date().isoformat()}",
        title_zh=f"收到社会监督员反映，请于{sub.due_at.date().isoformat()}前反馈",
        data={"submission_id": str(sub.id), "kind": sub.kind, "agency_code": sub.agency_code,
              "due_at": iso_utc(sub.due_at)},
        now=now,
    )
    return submission_read(await _row(session, sub.id), principal, now)


async def get_submission(session: AsyncSession, principal: Principal, submission_id: uuid.UUID,
                         now: datetime) -> SubmissionRead:
    row = await _row(session, submission_id)
    protection.require_submission_visible(principal, supervisor_id=row.submission.supervisor_id,
                                          target_agency_path=row.agency_path)
    return submission_read(row, principal, now)


async def answer(session: AsyncSession, principal: Principal, submission_id: uuid.UUID, data: FeedbackCreate,
                 now: datetime) -> SubmissionRead:
    row = await _row(session, submission_id, for_update=True)
    sub = row.submission
    protection.require_submission_visible(principal, supervisor_id=sub.supervisor_id,
                                          target_agency_path=row.agency_path)
    protection.require_may_answer(principal, target_agency_path=row.agency_path, status=sub.status)
    late = protection.submission_overdue(status=sub.status, due_at=sub.due_at, now=now)
    sub.status, sub.answered_at, sub.answered_by = "answered", now, principal.person_id
    sub.feedback_text, sub.feedback_outcome = data.text, data.outcome
    await session.flush()
    subject = subject_of(sub.id)
    await record(session, actor=principal.actor, action="supervision.answered", subject=subject,
                 data={"from": "received", "to": "answered", "outcome": data.outcome, "late": late}, at=now)
    await notifications.notify(
        session, recipients=[sub.supervisor_id], kind="supervision_answered", subject=subject,
        title="Your submission has been answered", title_zh="您反映的意见已有反馈",
        data={"submission_id": str(sub.id), "outcome": data.outcome}, now=now,
    )
    return submission_read(row, principal, now)


async def list_submissions(session: AsyncSession, principal: Principal, *, mine: bool, overdue: bool,
                           status: str | None, before: TimeKey | None, limit: int,
                           now: datetime) -> SubmissionPage:
    reads_subtree = principal.role in (*STAFF_ROLES, "officer") and not mine
    if principal.is_staff:
        await sweep_overdue(session, now, principal.agency_path)
    rows = await repository.visible(
        session, viewer_id=principal.person_id, subtree_prefix=principal.agency_path if reads_subtree else None,
        status=status, overdue_at=now if overdue else None, before=before, limit=limit + 1,
    )
    return SubmissionPage.of(rows, limit, item=lambda r: submission_read(r, principal, now),
                             key=lambda r: encode_time_cursor(r.submission.received_at, r.submission.id))


@dataclass(frozen=True)
class OverdueSubmission:
    id: uuid.UUID
    kind: str
    agency_code: str
    due_at: datetime
    newly: bool


async def sweep_overdue(session: AsyncSession, now: datetime, path_prefix: str = "") -> list[OverdueSubmission]:
    """Every unanswered submission past `due_at` under `path_prefix`; the newly overdue ones are
    marked, audited and notified to the target agency's staff and above, once."""
    out: list[OverdueSubmission] = []
    for row in await repository.overdue_in(session, path_prefix, now):
        sub = row.submission
        newly = sub.overdue_notified_at is None and await repository.claim_overdue_notice(session, sub.id, now)
        if newly:
            subject = subject_of(sub.id)
            await record(session, actor=SYSTEM, action="supervision.became_overdue", subject=subject,
                         data={"due_at": sub.due_at, "agency_code": sub.agency_code}, at=now)
            await notifications.notify_staff_above(
                session, agency_path=row.agency_path, kind="supervision_overdue", subject=subject,
                title="Supervisor's submission not answered by the deadline", title_zh="社会监督员反映事项逾期未反馈",
                data={"submission_id": str(sub.id), "kind": sub.kind, "agency_code": sub.agency_code,
                      "due_at": iso_utc(sub.due_at)},
                now=now,
            )
        out.append(OverdueSubmission(id=sub.id, kind=sub.kind, agency_code=sub.agency_code, due_at=sub.due_at,
                                     newly=newly))
    return out
