"""Response bodies of notifications."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from backend.core.pagination import Page
from backend.core.times import ApiStruct


class NotificationRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    #: incident_reported | incident_overdue | supervision_received | supervision_overdue | supervision_answered
    kind: str
    #: "incident:<id>" or "supervision_submission:<id>" — what to open.
    subject: str
    title: str
    title_zh: str
    data: dict[str, Any]
    created_at: datetime
    read: bool
    read_at: datetime | None


class NotificationPage(Page[NotificationRead], kw_only=True, forbid_unknown_fields=True):
    items: list[NotificationRead]
