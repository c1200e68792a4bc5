"""HTTP endpoints of Art. 16 dispatches."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.errors import BadRequest
from backend.core.http import clamp_limit, decode_cursor, encode_cursor
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
        raw = decode_cursor(cursor)
        after = None
        if raw is not None:
            try:
                after = (date.fromisoformat(str(raw["d"])), uuid.UUID(str(raw["id"])))
            except (KeyError, ValueError) as exc:
                raise BadRequest("Invalid cursor", "分页游标无效", code="INVALID_CURSOR") from exc
        items, more = await service.list_dispatches(session, principal, person_id, after, size)
        nxt = encode_cursor({"d": items[-1].start_date.isoformat(), "id": str(items[-1].id)}) if more else None
        return DispatchPage(items=items, next_cursor=nxt)


ROUTES: list[Any] = [DispatchController]
