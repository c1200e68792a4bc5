"""Use cases of Art. 16 dispatch: an upper-level agency borrows a lower-level agency's technical
inspector for a period. `dispatched_to` is what the inspections domain asks when it builds a team."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import Conflict, validation_error
from backend.core.pagination import encode_cursor
from backend.guards.access import require_role, require_writable
from backend.guards.dispatch import require_dispatchable, require_upper_level
from backend.personnel.dispatch import repository as repo
from backend.personnel.dispatch.schemas import DispatchCreate, DispatchPage, DispatchRead
from backend.personnel.models import Dispatch
from backend.personnel.people import repository as people_repo
from backend.personnel.people.service import STAFF


def dispatch_read(d: Dispatch, from_agency_code: str) -> DispatchRead:
    return DispatchRead(id=d.id, person_id=d.person_id, from_agency_code=from_agency_code,
                        to_agency_code=d.to_agency_code, start_date=d.start_date, end_date=d.end_date,
                        created_by=d.created_by, created_at=d.created_at)


async def create_dispatch(session: AsyncSession, principal: Principal, data: DispatchCreate,
                          now: datetime) -> DispatchRead:
    require_role(principal, *STAFF)
    found = await people_repo.person_with_agency(session, data.person_id)
    if found is None:
        raise validation_error("person_id", "unknown", "no such person", "人员不存在")
    person, home = found
    require_dispatchable(person.role)
    to_agency = await people_repo.get_agency(session, data.to_agency_code)
    if to_agency is None:
        raise validation_error("to_agency_code", "unknown", "no such agency", "机关代码不存在")
    if data.end_date < data.start_date:
        raise validation_error("end_date", "before_start", "must not be before start_date", "结束日期早于开始日期")
    require_upper_level(home, to_agency)
    # The caller must speak for the receiving agency (and so, being above it, for the inspector's).
    require_writable(principal, to_agency.path)
    if person.status != "active":
        raise Conflict("The person is not active (dismissed)", "该人员已被解聘", code="PERSON_NOT_ACTIVE")
    if await repo.overlapping_dispatch(session, person.id, to_agency.code, data.start_date, data.end_date):
        raise Conflict("A dispatch to this agency already covers part of that period",
                       "该期间已有调用至该机关的记录", code="DISPATCH_EXISTS")
    d = Dispatch(id=data.id or uuid.uuid4(), person_id=person.id, to_agency_code=to_agency.code,
                 start_date=data.start_date, end_date=data.end_date, created_by=principal.person_id, created_at=now)
    await people_repo.add(session, d)
    await record(session, actor=principal.actor, action="dispatch.created", subject=f"person:{person.id}",
                 data={"dispatch_id": str(d.id), "from_agency_code": home.code, "to_agency_code": to_agency.code,
                       "start_date": d.start_date.isoformat(), "end_date": d.end_date.isoformat()}, at=now)
    return dispatch_read(d, home.code)


async def dispatched_to(session: AsyncSession, person_id: uuid.UUID, agency_code: str, on: date) -> bool:
    """True when `person_id` is dispatched (Art. 16) to exactly `agency_code` on the date `on`
    (start and end dates inclusive) and is not dismissed. For the inspections domain: a team member
    must be of the officer's agency or dispatched to it."""
    return await repo.dispatch_covering(session, person_id, agency_code, on)


#: A dispatch's place in the list: its start date and id (the cursor `{"d", "id"}`).
DispatchKey = tuple[date, uuid.UUID]


def dispatch_cursor(value: dict[str, Any]) -> DispatchKey:
    """The position inside a decoded `{"d", "id"}` cursor (for core/pagination.parse_cursor)."""
    return date.fromisoformat(str(value["d"])), uuid.UUID(str(value["id"]))


async def list_dispatches(session: AsyncSession, principal: Principal, person_id: uuid.UUID | None,
                          after: DispatchKey | None, limit: int) -> DispatchPage:
    """Dispatches the caller may see (their subtree's people, or to an agency of their subtree, or
    their own), newest start first."""
    rows = await repo.dispatches_visible(session, principal.agency_path, principal.person_id,
                                         person_id=person_id, after=after, limit=limit + 1)
    return DispatchPage.of(rows, limit, item=lambda r: dispatch_read(r[0], r[1].agency_code),
                           key=lambda r: encode_cursor({"d": r[0].start_date.isoformat(), "id": str(r[0].id)}))
