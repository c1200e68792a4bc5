"""Request and response bodies of incidents (Art. 28, 29), and the position body shared with
supervision submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct

IncidentKind = Literal[
    "intimidation", "threat", "provocation", "harassment", "attack", "insult", "personal_harm", "property_harm",
    "false_complaint", "false_accusation", "defamation",
]
IncidentStatus = Literal[
    "reported", "police_notified", "assisting", "investigating", "found_not_liable", "found_liable", "clarified",
    "closed",
]
ClarificationForm = Literal["public_notice", "meeting", "letter", "other"]

#: RFC 3339 with an offset: a time without one is ambiguous and refused (422).
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class PositionIn(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    lon: float
    lat: float
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    accuracy_m: Annotated[float, msgspec.Meta(ge=0, le=100_000)] | None = None


class PositionOut(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    lon: float
    lat: float
    crs: str = "wgs84"
    accuracy_m: float | None = None


class PersonRef(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    name: str


class IncidentCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: IncidentKind
    victim: Literal["self", "relative"]
    relative_relation: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    occurred_at: AwareDatetime
    position: PositionIn | None = None
    description: LongText
    inspection_id: uuid.UUID | None = None


class PoliceNotificationCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    police_unit: ShortText
    notified_at: AwareDatetime
    case_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    contact: ShortText | None = None


class ActionCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    note: LongText
    at: AwareDatetime


class InvestigationStart(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    note: LongText | None = None


class FindingCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    liable: bool
    note: LongText


class ClarificationCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    form: ClarificationForm
    text: LongText
    published_at: AwareDatetime


class CloseRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    outcome: LongText


class PoliceNotificationRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    police_unit: str
    notified_at: datetime
    case_number: str | None
    contact: str | None
    recorded_by: uuid.UUID
    created_at: datetime
    #: Told after `police_notify_due_at` ("promptly" missed, though done).
    late: bool


class ActionRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    note: str
    at: datetime
    recorded_by: uuid.UUID
    created_at: datetime


class ClarificationRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    form: str
    text: str
    published_at: datetime
    recorded_by: uuid.UUID
    created_at: datetime


class IncidentRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    kind: str
    article: str
    status: str
    victim: str
    relative_relation: str | None
    occurred_at: datetime
    position: PositionOut | None
    description: str
    inspection_id: uuid.UUID | None
    reporter: PersonRef
    agency_code: str
    #: Each state's own timestamp (server time the step was recorded); null until entered.
    reported_at: datetime
    police_notified_at: datetime | None
    assisting_at: datetime | None
    investigating_at: datetime | None
    found_at: datetime | None
    clarified_at: datetime | None
    closed_at: datetime | None
    #: Art. 28 only.
    police_notify_due_at: datetime | None
    #: Art. 29, after a not-liable finding.
    clarification_due_at: datetime | None
    investigation_note: str | None
    liable: bool | None
    finding_note: str | None
    outcome: str | None
    #: Past its deadline without the required step (see GET /incidents?overdue=true).
    overdue: bool
    police_notifications: list[PoliceNotificationRead]
    actions: list[ActionRead]
    clarifications: list[ClarificationRead]
    updated_at: datetime


class IncidentPage(Page[IncidentRead], kw_only=True, forbid_unknown_fields=True):
    items: list[IncidentRead]
