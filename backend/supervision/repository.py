"""All SQL of social supervision. Row filter: the supervisor's own submissions, plus (for staff and
officers) every submission to an agency in the caller's subtree."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.personnel.models import Agency, Person
from backend.supervision.models import Submission


@dataclass(frozen=True)
class SubmissionRow:
    submission: Submission
    agency_path: str
    supervisor_name: str
    lon: float | None
    lat: float | None


def _base() -> Any:
    return (
        select(Submission, Agency.path, Person.name, func.ST_X(Submission.position), func.ST_Y(Submission.position))
        .join(Agency, Agency.code == Submission.agency_code)
        .join(Person, Person.id == Submission.supervisor_id)
    )


def _row(raw: Any) -> SubmissionRow:
    return SubmissionRow(submission=raw[0], agency_path=raw[1], supervisor_name=raw[2], lon=raw[3], lat=raw[4])


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL twin of backend.guards.protection.submission_overdue."""
    return and_(Submission.status == "received", Submission.due_at < now)


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def add(session: AsyncSession, obj: object) -> None:
    session.add(obj)
    await session.flush()


async def get(session: AsyncSession, submission_id: uuid.UUID, *, for_update: bool = False) -> SubmissionRow | None:
    query = _base().where(Submission.id == submission_id)
    if for_update:
        query = query.with_for_update(of=Submission)
    raw = (await session.execute(query)).first()
    return None if raw is None else _row(raw)


async def visible(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID,
    subtree_prefix: str | None,
    mine: bool,
    status: str | None,
    overdue_at: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[SubmissionRow]:
    """Newest first. `subtree_prefix` is None for callers who see only their own."""
    who: ColumnElement[bool] = Submission.supervisor_id == viewer_id
    if subtree_prefix is not None and not mine:
        who = or_(who, Agency.path.startswith(subtree_prefix, autoescape=True))
    query = _base().where(who)
    if status:
        query = query.where(Submission.status == status)
    if overdue_at is not None:
        query = query.where(overdue_clause(overdue_at))
    if before is not None:
        query = query.where(or_(Submission.received_at < before[0],
                                and_(Submission.received_at == before[0], Submission.id < before[1])))
    query = query.order_by(Submission.received_at.desc(), Submission.id.desc()).limit(limit)
    return [_row(r) for r in (await session.execute(query)).all()]


async def overdue_in(session: AsyncSession, path_prefix: str, now: datetime) -> list[SubmissionRow]:
    query = (_base().where(Agency.path.startswith(path_prefix, autoescape=True), overdue_clause(now))
             .order_by(Submission.received_at, Submission.id))
    return [_row(r) for r in (await session.execute(query)).all()]


async def claim_overdue_notice(session: AsyncSession, submission_id: uuid.UUID, now: datetime) -> bool:
    result = await session.execute(
        update(Submission)
        .where(Submission.id == submission_id, Submission.overdue_notified_at.is_(None))
        .values(overdue_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
