"""Use cases of notifications: telling the staff of an agency and the agencies above it about an
event (called by incidents and supervision inside their own transaction), the caller's list, and
marking one read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.guards.protection import ancestor_paths
from backend.notifications import repository
from backend.notifications.models import Notification
from backend.notifications.schemas import NotificationPage, NotificationRead


async def staff_above(session: AsyncSession, agency_path: str) -> list[uuid.UUID]:
    """Active staff (agency_admin, hr_admin) of the agency with this path and of every agency above."""
    return await repository.active_staff_at(session, ancestor_paths(agency_path))


async def notify(
    session: AsyncSession,
    *,
    recipients: list[uuid.UUID],
    kind: str,
    subject: str,
    title: str,
    title_zh: str,
    data: dict[str, Any],
    now: datetime,
) -> int:
    """One notification per recipient, at most once per (recipient, subject, kind); returns how
    many were new. Runs in the caller's transaction."""
    rows = [
        {"id": uuid.uuid4(), "recipient_id": r, "kind": kind, "subject": subject, "title": title,
         "title_zh": title_zh, "data": data, "created_at": now, "read_at": None}
        for r in dict.fromkeys(recipients)
    ]
    return await repository.insert_ignoring_duplicates(session, rows)


async def notify_staff_above(session: AsyncSession, *, agency_path: str, kind: str, subject: str, title: str,
                             title_zh: str, data: dict[str, Any], now: datetime) -> int:
    recipients = await staff_above(session, agency_path)
    return await notify(session, recipients=recipients, kind=kind, subject=subject, title=title,
                        title_zh=title_zh, data=data, now=now)


def notification_read(n: Notification) -> NotificationRead:
    return NotificationRead(id=n.id, kind=n.kind, subject=n.subject, title=n.title, title_zh=n.title_zh,
                            data=dict(n.data), created_at=n.created_at, read=n.read_at is not None,
                            read_at=n.read_at)


async def list_notifications(session: AsyncSession, principal: Principal, *, unread: bool | None,
                             before: TimeKey | None, limit: int) -> NotificationPage:
    rows = await repository.for_recipient(session, principal.person_id, unread=unread, before=before, limit=limit + 1)
    return NotificationPage.of(rows, limit, item=notification_read,
                               key=lambda n: encode_time_cursor(n.created_at, n.id))


async def mark_read(session: AsyncSession, principal: Principal, notification_id: uuid.UUID,
                    now: datetime) -> NotificationRead:
    """Idempotent: reading twice keeps the first read_at. Someone else's notification is 404."""
    found = await repository.get(session, notification_id)
    if found is None or found.recipient_id != principal.person_id:
        raise NotFound("No such notification", "未找到该通知")
    if await repository.mark_read(session, notification_id, now):
        await record(session, actor=principal.actor, action="notification.read",
                     subject=f"notification:{notification_id}", data={"kind": found.kind, "subject": found.subject},
                     at=now)
        await session.refresh(found)
    return notification_read(found)
