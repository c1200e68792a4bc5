"""Loading an inspection as the caller may see it, and the Art. 12/13 gate every enforcement act
passes through (`load_act_context` + `require_may_act`); small helpers shared by the use cases.

A caller that runs many acts in one transaction (offline sync: a chunk of ops) may let the session
keep what it loaded (`keep_loaded_inspections`): an inspection with its agency, its team, its
check-ins and its credential displays are then read once and reused by the next acts on it.
Whatever could make one of these parts stale drops that part, for every kept inspection, and the
next act reads it again: a flush that writes an inspection or agency (the row and its agency), a
team member (the teams), a check-in (the check-ins), a display (the displays) or a person (the
teams and displays, which name people); so an act sees the state the acts before it produced. Any
rollback, savepoints included, drops everything. Who may see and act is judged again on every
load, from the kept rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from backend.core.auth import Principal
from backend.core.clock import LOCAL_TZ
from backend.core.errors import (
    Forbidden,
    NotFound,
    validation_error,
)
from backend.core.geo import to_wgs84
from backend.guards import article13
from backend.guards.access import in_jurisdiction
from backend.guards.article13 import InspectionSnapshot
from backend.guards.inspection_status import OPEN_STATUSES, require_open
from backend.inspections import repository
from backend.inspections.models import CheckIn, CredentialDisplay, Inspection, TeamMember
from backend.inspections.schemas import (
    Position,
    PositionRead,
)
from backend.personnel.models import Agency, Person

#: Phones' clocks drift; a time this far ahead of the server is a client error, not drift.
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: Accuracy counted towards the check-in radius is capped: a 2 km "accuracy" proves nothing.
MAX_ACCURACY_ALLOWANCE_M = 100.0
ACTIVE_STATUSES = OPEN_STATUSES


# ------------------------------------------------------------------------------------------------
# Loading an inspection as the caller may see it
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActContext:
    """An inspection loaded for a caller: the row, its agency, its team, the rule snapshot, and the
    open check-ins (by time) and credential displays (with their holders; by time) the snapshot
    was taken from, which the use cases reuse instead of reading them again."""

    inspection: Inspection
    agency: Agency
    team: tuple[tuple[TeamMember, Person], ...]
    snapshot: InspectionSnapshot
    check_ins: tuple[CheckIn, ...]
    displays: tuple[tuple[CredentialDisplay, Person], ...]

    @property
    def inspection_id(self) -> uuid.UUID:
        return self.inspection.id

    def member(self, person_id: uuid.UUID) -> tuple[TeamMember, Person] | None:
        for tm, person in self.team:
            if tm.person_id == person_id:
                return tm, person
        return None

    def open_check_in(self, person_id: uuid.UUID) -> CheckIn | None:
        """The person's open check-in (the latest, should there be several)."""
        found = None
        for c in self.check_ins:  # by time
            if c.person_id == person_id and c.out_at is None:
                found = c
        return found


def _snapshot(inspection: Inspection, team: tuple[tuple[TeamMember, Person], ...], check_ins: tuple[CheckIn, ...],
              displays: tuple[tuple[CredentialDisplay, Person], ...]) -> InspectionSnapshot:
    return InspectionSnapshot(
        inspection_id=inspection.id,
        status=inspection.status,
        classification=inspection.classification,
        team=frozenset((tm.person_id, tm.role) for tm, _ in team),
        present=frozenset(c.person_id for c in check_ins if c.out_at is None),
        displayed=frozenset(d.person_id for d, _ in displays),
    )


#: `session.info` key of the inspections kept for the session's transaction (keep_loaded_inspections).
_KEPT = "fieldcheck.loaded_inspections"


class _Kept:
    """The parts of the kept inspections, by inspection id; each dropped on its own."""

    __slots__ = ("check_ins", "contexts", "displays", "rows", "teams")

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, tuple[Inspection, Agency]] = {}
        self.teams: dict[uuid.UUID, tuple[tuple[TeamMember, Person], ...]] = {}
        self.check_ins: dict[uuid.UUID, tuple[CheckIn, ...]] = {}
        self.displays: dict[uuid.UUID, tuple[tuple[CredentialDisplay, Person], ...]] = {}
        #: Contexts assembled from the parts above (dropped with any of them).
        self.contexts: dict[uuid.UUID, ActContext] = {}

    def drop(self, written: set[type]) -> None:
        """Drop the parts a flush writing rows of these classes may have changed."""
        parts = [part for part, classes in ((self.rows, (Inspection, Agency)), (self.teams, (TeamMember, Person)),
                                            (self.check_ins, (CheckIn,)), (self.displays, (CredentialDisplay, Person)))
                 if any(issubclass(cls, classes) for cls in written)]
        for part in parts:
            part.clear()
        if parts:
            self.contexts.clear()

    def clear(self) -> None:
        for part in (self.rows, self.teams, self.check_ins, self.displays, self.contexts):
            part.clear()


#: `session.info` key of other rows a keeping session holds on to (`hold`).
_HELD = "fieldcheck.held_rows"


def keep_loaded_inspections(session: AsyncSession) -> None:
    """Keep loaded inspections for the rest of this session's transaction (see the module doc).
    Only for a session whose transaction is short: rows other transactions commit meanwhile are
    not seen until something drops the kept ones."""
    session.info[_KEPT] = _Kept()
    session.info[_HELD] = []


def hold(session: AsyncSession, row: object) -> None:
    """In a session that keeps loaded inspections, keep `row` referenced until the session ends:
    the identity map holds rows weakly, so a row nothing references would be read again by the
    next act's `session.get` (a document its next op edits or signs). A savepoint rolled back
    still expires what it changed. Elsewhere, nothing."""
    held: list[object] | None = session.info.get(_HELD)
    if held is not None:
        held.append(row)


@event.listens_for(Session, "after_flush")
def _drop_kept_on_write(session: Session, flush_context: UOWTransaction) -> None:
    kept: _Kept | None = session.info.get(_KEPT)
    if kept is not None:
        kept.drop({type(obj) for objs in (session.new, session.dirty, session.deleted) for obj in objs})


@event.listens_for(Session, "after_soft_rollback")
def _drop_kept_on_rollback(session: Session, previous_transaction: object) -> None:
    kept: _Kept | None = session.info.get(_KEPT)
    if kept is not None:
        kept.clear()


async def _load(session: AsyncSession, inspection_id: uuid.UUID) -> ActContext | None:
    kept: _Kept = session.info.get(_KEPT) or _Kept()  # a session that keeps nothing: read it all
    loaded = kept.contexts.get(inspection_id)
    if loaded is not None:
        return loaded
    found = kept.rows.get(inspection_id) or await repository.inspection_with_agency(session, inspection_id)
    if found is None:
        return None
    inspection, agency = kept.rows[inspection_id] = found
    team = kept.teams.get(inspection_id)
    if team is None:
        team = kept.teams[inspection_id] = tuple(await repository.team(session, inspection_id))
    check_ins = kept.check_ins.get(inspection_id)
    if check_ins is None:
        check_ins = kept.check_ins[inspection_id] = tuple(await repository.open_check_ins(session, inspection_id))
    displays = kept.displays.get(inspection_id)
    if displays is None:
        displays = kept.displays[inspection_id] = tuple(await repository.displays(session, inspection_id))
    loaded = kept.contexts[inspection_id] = ActContext(
        inspection, agency, team, _snapshot(inspection, team, check_ins, displays), check_ins, displays)
    return loaded


async def load_inspection(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID, *,
                          write: bool) -> ActContext:
    """The inspection if the caller may see it (reads: 404 otherwise; writes: 403), with Art. 13(1):
    a technical inspector is told a secret inspection is off limits (403 ART13_STATE_SECRET)."""
    loaded = await _load(session, inspection_id)
    if loaded is None:
        raise NotFound("No such inspection", "未找到该检查")
    on_team = loaded.member(principal.person_id) is not None
    in_jur = in_jurisdiction(principal, loaded.agency.path)
    if on_team or in_jur:
        article13.require_may_see(principal, loaded.inspection.classification)
    visible = on_team or (in_jur and principal.role in repository.AGENCY_WIDE_ROLES)
    if not visible:
        if write:
            raise Forbidden("You may not act on this inspection", "无权操作该检查",
                            detail={"reason": "not_team_member" if in_jur else "jurisdiction"})
        raise NotFound("No such inspection", "未找到该检查")
    return loaded


async def load_act_context(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                           now: datetime) -> ActContext:
    """Load an inspection for an enforcement act (finding, document, signature, evidence, sync op).
    `now` is accepted for callers' symmetry and future time-based rules; the snapshot is current."""
    del now
    return await load_inspection(session, principal, inspection_id, write=True)


def require_may_act(ctx: ActContext, principal: Principal, *, after_finish_ok: bool = False) -> None:
    """Art. 12 and 13 for an enforcement act by `principal` on `ctx`'s inspection (see
    backend.guards.article13.require_may_act)."""
    article13.require_may_act(ctx.snapshot, principal, after_finish_ok=after_finish_ok)


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------

def require_aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise validation_error(field, "timezone_required", "must be RFC 3339 with an offset",
                               "须为带时区偏移的 RFC 3339 时间")
    return value.astimezone(UTC)


def require_not_future(value: datetime, now: datetime, field: str) -> datetime:
    value = require_aware(value, field)
    if value > now + MAX_CLOCK_SKEW:
        raise validation_error(field, "in_future", "is in the future", "时间晚于当前时间")
    return value


def local_day(value: datetime) -> date:
    return value.astimezone(LOCAL_TZ).date()


def wgs84(position: Position) -> tuple[float, float]:
    return to_wgs84(position.lon, position.lat, position.crs)


def position_read(lon: float | None, lat: float | None, accuracy: float | None) -> PositionRead | None:
    if lon is None or lat is None:
        return None
    return PositionRead(lon=lon, lat=lat, crs="wgs84", accuracy_m=accuracy)


def require_member(ctx: ActContext, principal: Principal) -> tuple[TeamMember, Person]:
    found = ctx.member(principal.person_id)
    if found is None:
        raise Forbidden("Only members of the inspection team may do this", "仅检查组成员可执行此操作",
                        detail={"reason": "not_team_member"})
    return found


def require_active(ctx: ActContext) -> None:
    require_open(ctx.inspection.status)


