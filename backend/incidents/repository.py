"""All SQL of incidents. Visibility is a row filter here too: the reporter's own cases, plus (for
staff) every case whose reporter's agency lies in the caller's subtree. The overdue predicate is
the SQL twin of backend.guards.protection.incident_overdue; keep the two in step. The reads shared
with supervision submissions are core/filings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.filings import Filings
from backend.incidents.models import Clarification, Incident, IncidentAction, PoliceNotification
from backend.personnel.models import Agency, Person


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    agency_path: str
    reporter_name: str
    lon: float | None
    lat: float | None


@dataclass(frozen=True)
class Children:
    police_notifications: list[PoliceNotification]
    actions: list[IncidentAction]
    clarifications: list[Clarification]


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Incident.article == "28", Incident.police_notified_at.is_(None), Incident.police_notify_due_at < now),
        and_(Incident.article == "29", Incident.liable == false(), Incident.clarified_at.is_(None),
             Incident.clarification_due_at < now),
    )


async def add(session: AsyncSession, obj: object) -> None:
    session.add(obj)
    await session.flush()


_filings: Filings[Incident, IncidentRow] = Filings(
    model=Incident, filer=Incident.reporter_id, at=Incident.reported_at, agency=Agency, person=Person,
    overdue=overdue_clause, row=IncidentRow,
)
get = _filings.get
overdue_in = _filings.overdue_in
claim_overdue_notice = _filings.claim_overdue_notice
#: Newest first; `subtree_prefix` is None for non-staff callers (they see their own only).
visible = _filings.visible


async def children(session: AsyncSession, incident_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Children]:
    """Police notifications, actions and clarifications of several cases, three queries in all."""
    out = {i: Children([], [], []) for i in incident_ids}
    if not incident_ids:
        return out
    ids = list(incident_ids)
    for police in (await session.execute(
        select(PoliceNotification).where(PoliceNotification.incident_id.in_(ids))
        .order_by(PoliceNotification.created_at, PoliceNotification.id)
    )).scalars():
        out[police.incident_id].police_notifications.append(police)
    for action in (await session.execute(
        select(IncidentAction).where(IncidentAction.incident_id.in_(ids)).order_by(IncidentAction.at, IncidentAction.id)
    )).scalars():
        out[action.incident_id].actions.append(action)
    for clar in (await session.execute(
        select(Clarification).where(Clarification.incident_id.in_(ids))
        .order_by(Clarification.created_at, Clarification.id)
    )).scalars():
        out[clar.incident_id].clarifications.append(clar)
    return out
