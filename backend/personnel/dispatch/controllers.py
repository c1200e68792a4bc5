"""HTTP endpoints of Art. 16 dispatches."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.pagination import clamp_limit, parse_cursor
from backend.core.responses import idempotent_create
from backend.personnel.dispatch import service
from backend.personnel.dispatch.schemas import DispatchCreate, DispatchPage


class DispatchController(Controller):
    path = "/api/v1/dispatches"
    tags = ["dispatches"]

    @post("/", summary="Dispatch an inspector to an upper-level agency (Art. 16)")
    async def create(self, request: Request[Any, Any, Any], data: DispatchCreate, session: AsyncSession,
                     principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="dispatch", data=data,
            create=lambda: service.create_dispatch(session, principal, data, clock.now()),
        )

    @get("/")
    async def list_(self, session: AsyncSession, principal: Principal, person_id: uuid.UUID | None = None,
                    limit: int | None = None, cursor: str | None = None) -> DispatchPage:
        size = clamp_limit(limit)
        after = parse_cursor(cursor, service.dispatch_cursor)
        return await service.list_dispatches(session, principal, person_id, after, size)


ROUTES: list[Any] = [DispatchController]
