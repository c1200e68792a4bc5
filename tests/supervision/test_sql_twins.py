"""The overdue filter of the supervision repository is the SQL twin of the guard's
`submission_overdue`: one submission row, put through every case, judged by both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.guards.protection import submission_overdue
from backend.supervision.models import Submission
from backend.supervision.repository import overdue_clause
from tests.conftest import demo_id
from tests.personnel.helpers import db_session

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DUE = T0 + timedelta(days=15)


async def test_overdue_clause_agrees_with_submission_overdue(db_url):
    async with db_session(db_url) as s:
        row = Submission(id=uuid.uuid4(), kind="opinion", agency_code="210100", subject="twin check", body="-",
                         supervisor_id=demo_id("sy.supervisor"), status="received", received_at=T0, due_at=DUE)
        s.add(row)
        await s.flush()
        verdicts = set()
        for status in ("received", "answered"):
            for now in (DUE - timedelta(seconds=1), DUE, DUE + timedelta(seconds=1), DUE + timedelta(days=30)):
                row.status = status
                await s.flush()
                in_sql = bool((await s.execute(
                    select(overdue_clause(now)).where(Submission.id == row.id))).scalar_one())
                in_guard = submission_overdue(status=status, due_at=DUE, now=now)
                assert in_sql == in_guard, (status, now)
                verdicts.add(in_guard)
        assert verdicts == {True, False}
        await s.rollback()
