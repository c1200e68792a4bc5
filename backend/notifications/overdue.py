"""The overdue sweep over incidents (Art. 28 police notification, Art. 29 clarification) and
supervision submissions (Art. 20 answer): run by `fieldcheck overdue` from cron, and lazily before
staff read their notifications, so that nobody depends on cron to be told. Idempotent: each case is
announced once (a claim column on the case, and the unique (recipient, subject, kind) key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.pagination import TimeKey
from backend.incidents import service as incidents
from backend.notifications import service
from backend.notifications.schemas import NotificationPage
from backend.supervision import service as supervision


@dataclass(frozen=True)
class OverdueReport:
    incidents: list[incidents.OverdueIncident]
    submissions: list[supervision.OverdueSubmission]

    @property
    def newly(self) -> int:
        return sum(i.newly for i in self.incidents) + sum(s.newly for s in self.submissions)


async def sweep(session: AsyncSession, now: datetime, path_prefix: str = "") -> OverdueReport:
    """Everything overdue under `path_prefix` ("" = the whole province), announcing what is new."""
    return OverdueReport(
        incidents=await incidents.sweep_overdue(session, now, path_prefix),
        submissions=await supervision.sweep_overdue(session, now, path_prefix),
    )


async def list_notifications(session: AsyncSession, principal: Principal, *, unread: bool | None,
                             before: TimeKey | None, limit: int, now: datetime) -> NotificationPage:
    """The caller's notifications, newest first, after a sweep of the caller's subtree (staff)."""
    if principal.is_staff:
        await sweep(session, now, principal.agency_path)
    return await service.list_notifications(session, principal, unread=unread, before=before, limit=limit)

