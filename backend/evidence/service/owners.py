"""Owners of evidence: what a photo is evidence for (an `Owner`), who may add photos to an
inspection, and who may see an owner's photos.

Each kind of owner brings its own visibility check; `create_app` registers them
(`register_owner_kind`), so this package never reaches into the owners' domains at import time
to find out who they are."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import LOCAL_TZ
from backend.core.errors import NotFound
from backend.evidence import repository
from backend.evidence.models import Evidence
from backend.inspections import service as inspections
from backend.sync import ledger

#: API.md: captured_at and the EXIF time may differ by this much; an inspection's window is
#: widened by it on both sides.
TIME_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class Owner:
    """What intake needs to know about the thing a photo is evidence for, once the owner's own
    rules have let the caller add evidence to it."""

    kind: str
    id: uuid.UUID
    inspection_id: uuid.UUID | None = None
    #: (lon, lat) WGS84 of the site, and its radius: OUTSIDE_SITE is judged against them.
    site: tuple[float, float] | None = None
    radius_m: float | None = None
    #: captured_at outside this interval is TIME_MISMATCH.
    window: tuple[datetime, datetime] | None = None
    #: Whether the upload must carry the device position (lon, lat).
    require_position: bool = True


Authorize = Callable[[AsyncSession], Awaitable[Owner]]
#: async (session, principal, owner_id) -> None; raises NotFound (or a guard error) when the
#: principal may not see that owner's evidence.
VisibilityCheck = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[None]]

_VISIBILITY: dict[str, VisibilityCheck] = {}


def register_owner_kind(kind: str, check: VisibilityCheck) -> None:
    """Let evidence of `kind` be read (GET /api/v1/evidence/{id}, ...) by whoever `check` admits.
    `create_app` registers every kind; a kind nobody registered is 404 for everyone."""
    _VISIBILITY[kind] = check


async def require_owner_visible(session: AsyncSession, principal: Principal, kind: str,
                                owner_id: uuid.UUID) -> None:
    check = _VISIBILITY.get(kind)
    if check is None:
        raise NotFound("No such evidence", "未找到该证据")
    await check(session, principal, owner_id)


async def load_visible(session: AsyncSession, principal: Principal, evidence_id: uuid.UUID) -> Evidence:
    """The photo, if its owner is visible to `principal`; else 404 naming the photo."""
    evidence = await repository.get(session, evidence_id)
    if evidence is None:
        raise NotFound("No such evidence", "未找到该证据")
    try:
        await require_owner_visible(session, principal, evidence.owner_kind, evidence.owner_id)
    except NotFound:
        # The photo is what was asked for: its 404 names the photo, not the inspection or case.
        raise NotFound("No such evidence", "未找到该证据") from None
    return evidence


async def inspection_visible(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID) -> None:
    """Evidence of an inspection is seen by whoever may see the inspection."""
    await inspections.load_inspection(session, principal, inspection_id, write=False)


async def inspection_owner(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                           now: datetime, *, declared_op: uuid.UUID | None = None) -> Owner:
    """Adding a photo to an inspection is an enforcement act: the inspections domain's Art. 12/13
    gate decides (403 visibility, 409 ART13_ACTING_ALONE, ART12_CREDENTIAL_NOT_SHOWN, ...).
    The file of a photo declared by an offline op (`declared_op`, from `Idempotency-Key: op:<id>`)
    was judged when its op was applied; only visibility is checked again."""
    ctx = await inspections.load_act_context(session, principal, inspection_id, now)
    declared = declared_op is not None and await ledger.awaiting_upload_for(session, declared_op, principal.actor,
                                                                             inspection_id)
    # A phone that was offline on site uploads its photos later: officers may still add evidence
    # to a finished inspection (the guard's paperwork allowance); its capture time is then checked
    # against the inspection's start..finish (TIME_MISMATCH). Inspectors stay under Art. 13(2).
    if not declared:
        inspections.require_may_act(ctx, principal, after_finish_ok=True)
    insp = ctx.inspection
    if insp.started_at is not None:
        start = insp.started_at - TIME_TOLERANCE
        end = (insp.finished_at or now) + TIME_TOLERANCE
    else:
        day = insp.planned_at.astimezone(LOCAL_TZ).date()
        start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)
        end = start + timedelta(days=1)
    return Owner(kind="inspection", id=insp.id, inspection_id=insp.id, site=(insp.site_lon, insp.site_lat),
                 radius_m=insp.site_radius_m, window=(start, end), require_position=True)


async def count_for_inspection(session: AsyncSession, inspection_id: uuid.UUID) -> int:
    """Evidence photos of an inspection (the inspection's own read counts them in its repository,
    backend/inspections/repository.py, without depending on this package)."""
    return await repository.count_for_owner(session, "inspection", inspection_id)
