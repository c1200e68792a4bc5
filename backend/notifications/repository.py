"""All SQL of notifications: recipients (staff of an agency and the agencies above it), idempotent
inserts keyed by (recipient, subject, kind), the caller's list and marking read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import STAFF_ROLES
from backend.core.pagination import TimeKey, keyset_after
from backend.notifications.models import Notification
from backend.personnel.models import Agency, Person


async def active_staff_at(session: AsyncSession, agency_paths: Sequence[str]) -> list[uuid.UUID]:
    """Active agency_admin / hr_admin people of the agencies with these paths."""
    if not agency_paths:
        return []
    query = (
        select(Person.id)
        .join(Agency, Agency.code == Person.agency_code)
        .where(Agency.path.in_(list(agency_paths)), Person.role.in_(STAFF_ROLES), Person.status == "active")
        .order_by(Person.id)
    )
    return list((await session.execute(query)).scalars())


async def insert_ignoring_duplicates(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on the (recipient, subject, kind) key: concurrent sweeps
    (cron and a lazy one in a request) never fail and never duplicate. Returns rows inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Notification).values(rows).on_conflict_do_nothing(
        index_elements=["recipient_id", "subject", "kind"])
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def for_recipient(
    session: AsyncSession,
    recipient_id: uuid.UUID,
    *,
    unread: bool | None,
    before: TimeKey | None,
    limit: int,
) -> Sequence[Notification]:
    query = select(Notification).where(Notification.recipient_id == recipient_id)
    if unread is True:
        query = query.where(Notification.read_at.is_(None))
    elif unread is False:
        query = query.where(Notification.read_at.is_not(None))
    if before is not None:
        query = query.where(keyset_after(Notification.created_at, Notification.id, before))
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()


async def get(session: AsyncSession, notification_id: uuid.UUID) -> Notification | None:
    return await session.get(Notification, notification_id)


async def mark_read(session: AsyncSession, notification_id: uuid.UUID, at: datetime) -> bool:
    """Set read_at once; False when it was already read (a concurrent or repeated read)."""
    result = await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.read_at.is_(None))
        .values(read_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
