"""All SQL of social supervision. Row filter: the supervisor's own submissions, plus (for staff and
officers) every submission to an agency in the caller's subtree. The reads shared with incident
reports are core/filings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.filings import Filings
from backend.personnel.models import Agency, Person
from backend.supervision.models import Submission


@dataclass(frozen=True)
class SubmissionRow:
    submission: Submission
    agency_path: str
    supervisor_name: str
    lon: float | None
    lat: float | None


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL twin of backend.guards.protection.submission_overdue."""
    return and_(Submission.status == "received", Submission.due_at < now)


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def add(session: AsyncSession, obj: object) -> None:
    session.add(obj)
    await session.flush()


_filings: Filings[Submission, SubmissionRow] = Filings(
    model=Submission, filer=Submission.supervisor_id, at=Submission.received_at, agency=Agency, person=Person,
    overdue=overdue_clause, row=SubmissionRow,
)
get = _filings.get
#: Newest first; `subtree_prefix` is None for callers who see only their own.
visible = _filings.visible
overdue_in = _filings.overdue_in
claim_overdue_notice = _filings.claim_overdue_notice
