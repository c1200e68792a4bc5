"""All SQL of incidents. Visibility is a row filter here too: the reporter's own cases, plus (for
staff) every case whose reporter's agency lies in the caller's subtree. The overdue predicate is
the SQL twin of backend.guards.protection.incident_overdue; keep the two in step."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

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


def point(lon: float, lat: float) -> WKTElement:
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)


def _base() -> Any:
    return (
        select(Incident, Agency.path, Person.name, func.ST_X(Incident.position), func.ST_Y(Incident.position))
        .join(Agency, Agency.code == Incident.agency_code)
        .join(Person, Person.id == Incident.reporter_id)
    )


def _row(raw: Any) -> IncidentRow:
    return IncidentRow(incident=raw[0], agency_path=raw[1], reporter_name=raw[2], lon=raw[3], lat=raw[4])


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Incident.article == "28", Incident.police_notified_at.is_(None), Incident.police_notify_due_at < now),
        and_(Incident.article == "29", Incident.liable == false(), Incident.clarified_at.is_(None),
             Incident.clarification_due_at < now),
    )


async def add(session: AsyncSession, obj: object) -> None:
    session.add(obj)
    await session.flush()


async def get(session: AsyncSession, incident_id: uuid.UUID, *, for_update: bool = False) -> IncidentRow | None:
    query = _base().where(Incident.id == incident_id)
    if for_update:
        # Two staff acting on one case at once: the second waits and then sees the new state.
        query = query.with_for_update(of=Incident)
    raw = (await session.execute(query)).first()
    return None if raw is None else _row(raw)


async def visible(
    session: AsyncSession,
    *,
    viewer_id: uuid.UUID,
    staff_path_prefix: str | None,
    status: str | None,
    overdue_at: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[IncidentRow]:
    """Newest first. `staff_path_prefix` is None for non-staff callers (they see their own only)."""
    who: ColumnElement[bool] = Incident.reporter_id == viewer_id
    if staff_path_prefix is not None:
        who = or_(who, Agency.path.startswith(staff_path_prefix, autoescape=True))
    query = _base().where(who)
    if status:
        query = query.where(Incident.status == status)
    if overdue_at is not None:
        query = query.where(overdue_clause(overdue_at))
    if before is not None:
        query = query.where(or_(Incident.reported_at < before[0],
                                and_(Incident.reported_at == before[0], Incident.id < before[1])))
    query = query.order_by(Incident.reported_at.desc(), Incident.id.desc()).limit(limit)
    return [_row(r) for r in (await session.execute(query)).all()]


async def overdue_in(session: AsyncSession, path_prefix: str, now: datetime) -> list[IncidentRow]:
    """Every overdue case under `path_prefix`, oldest report first (a stable order, so concurrent
    sweeps lock rows in the same order)."""
    query = (_base().where(Agency.path.startswith(path_prefix, autoescape=True), overdue_clause(now))
             .order_by(Incident.reported_at, Incident.id))
    return [_row(r) for r in (await session.execute(query)).all()]


async def claim_overdue_notice(session: AsyncSession, incident_id: uuid.UUID, now: datetime) -> bool:
    """Mark the case as announced overdue; True for the one transaction that did it."""
    result = await session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.overdue_notified_at.is_(None))
        .values(overdue_notified_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


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
