"""HTTP endpoints of dismissals (Art. 25), their public notices and misconduct records (Art. 26)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.pagination import clamp_limit, parse_time_cursor
from backend.core.responses import idempotent_create
from backend.personnel.dismissal import service
from backend.personnel.dismissal.schemas import (
    ChecklistUpdate,
    DismissalCreate,
    DismissalRead,
    MisconductCreate,
    MisconductList,
    PublicDismissalPage,
)


class DismissalController(Controller):
    path = "/api/v1"
    tags = ["dismissals"]

    @post("/people/{person_id:uuid}/dismissal",
          summary="Dismiss (hr_admin, Art. 25): credentials revoked, notice published, checklist opened")
    async def dismiss(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: DismissalCreate,
                      session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="dismissal", data=data,
            create=lambda: service.create_dismissal(session, principal, person_id, data, clock.now()),
        )

    @get("/dismissals/{dismissal_id:uuid}")
    async def get_(self, dismissal_id: uuid.UUID, session: AsyncSession, principal: Principal) -> DismissalRead:
        return await service.get_dismissal(session, principal, dismissal_id)

    @post("/dismissals/{dismissal_id:uuid}/checklist/{item:str}", status_code=200,
          summary="Tick off a returned item: credential_card, protective_equipment, technical_equipment")
    async def tick(self, dismissal_id: uuid.UUID, item: str, data: ChecklistUpdate, session: AsyncSession,
                   principal: Principal, clock: Clock) -> DismissalRead:
        return await service.tick_checklist(session, principal, dismissal_id, item, data, clock.now())


class PublicDismissalController(Controller):
    path = "/api/v1/public/dismissals"
    tags = ["public"]

    @get("/", summary="Public notices of dismissals (no auth, rate-limited)")
    async def list_(self, request: Request[Any, Any, Any], session: AsyncSession, limit: int | None = None,
                    cursor: str | None = None) -> PublicDismissalPage:
        await request.app.state["public_limiter"].hit(client_address(request))
        size = clamp_limit(limit)
        return await service.public_dismissals(session, after=parse_time_cursor(cursor), limit=size)


class MisconductController(Controller):
    path = "/api/v1/people/{person_id:uuid}/misconduct"
    tags = ["people"]

    @post("/", summary="Record Art. 26 misconduct and its sanction; optionally dismiss (Art. 25)")
    async def create(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: MisconductCreate,
                     session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="misconduct", data=data,
            create=lambda: service.record_misconduct(session, principal, person_id, data, clock.today(),
                                                               clock.now()),
        )

    @get("/")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> MisconductList:
        return MisconductList(items=await service.list_misconduct(session, principal, person_id))


ROUTES: list[Any] = [DismissalController, PublicDismissalController, MisconductController]
