"""HTTP endpoints of notifications: the caller's list (newest first) and marking one read."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.pagination import clamp_limit, parse_time_cursor
from backend.notifications import overdue, service
from backend.notifications.schemas import NotificationPage, NotificationRead


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/", summary="The caller's notifications, newest first")
    async def list_notifications(
        self, session: AsyncSession, principal: Principal, clock: Clock,
        unread: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> NotificationPage:
        return await overdue.list_notifications(session, principal, unread=unread, before=parse_time_cursor(cursor),
                                                limit=clamp_limit(limit), now=clock.now())

    @post("/{notification_id:uuid}/read", status_code=200, summary="Mark one of the caller's notifications read")
    async def mark_read(self, notification_id: uuid.UUID, session: AsyncSession, principal: Principal,
                        clock: Clock) -> NotificationRead:
        return await service.mark_read(session, principal, notification_id, clock.now())


ROUTES: list[Any] = [NotificationController]
