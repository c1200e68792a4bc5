"""The overdue filter of the incidents repository is the SQL twin of the guard's
`incident_overdue`: one incident row, put through every case, judged by both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.guards.protection import incident_overdue
from backend.incidents.models import Incident
from backend.incidents.repository import overdue_clause
from tests.conftest import demo_id
from tests.personnel.helpers import db_session

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=24)


def cases() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for now in (DUE - timedelta(seconds=1), DUE, DUE + timedelta(seconds=1)):
        for notified in (None, T0 + timedelta(hours=1)):
            out.append({"article": "28", "now": now, "police_notify_due_at": DUE, "police_notified_at": notified,
                        "liable": None, "clarification_due_at": None, "clarified_at": None})
        for liable in (None, True, False):
            for clarified in (None, T0 + timedelta(hours=2)):
                out.append({"article": "29", "now": now, "police_notify_due_at": None, "police_notified_at": None,
                            "liable": liable, "clarification_due_at": DUE if liable is False else None,
                            "clarified_at": clarified})
    return out


async def test_overdue_clause_agrees_with_incident_overdue(db_url):
    async with db_session(db_url) as s:
        row = Incident(id=uuid.uuid4(), kind="threat", article="28", status="reported", victim="self",
                       occurred_at=T0, description="twin check", reporter_id=demo_id("sy.inspector.ft"),
                       agency_code="210100", reported_at=T0, updated_at=T0)
        s.add(row)
        await s.flush()
        verdicts = set()
        for case in cases():
            now = case.pop("now")
            for name, value in case.items():
                setattr(row, name, value)
            await s.flush()
            in_sql = bool((await s.execute(select(overdue_clause(now)).where(Incident.id == row.id))).scalar_one())
            in_guard = incident_overdue(now=now, **case)  # type: ignore[arg-type]
            assert in_sql == in_guard, (now, case)
            verdicts.add(in_guard)
        assert verdicts == {True, False}
        await s.rollback()
