"""Request and response bodies of social supervision (Art. 19, 20)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct
from backend.incidents.schemas import PersonRef, PositionIn, PositionOut

SubmissionKind = Literal["criticism", "opinion", "suggestion", "violation_clue", "hazard_clue"]
SubmissionStatus = Literal["received", "answered"]


class SubmissionCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: SubmissionKind
    agency_code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    position: PositionIn | None = None


class FeedbackCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    #: Free text, short: e.g. "adopted", "verified_and_rectified", "not_substantiated".
    outcome: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class FeedbackRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    text: str
    outcome: str
    answered_at: datetime
    answered_by: uuid.UUID


class SubmissionRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    kind: str
    agency_code: str
    subject: str
    body: str
    position: PositionOut | None
    #: Who wrote it: shown to agency staff of the target agency or above and to the supervisor
    #: themself; null (and `supervisor_masked`) for everyone else who may read the submission.
    supervisor: PersonRef | None
    supervisor_masked: bool
    status: str
    received_at: datetime
    due_at: datetime
    overdue: bool
    feedback: FeedbackRead | None


class SubmissionPage(Page[SubmissionRead], kw_only=True, forbid_unknown_fields=True):
    items: list[SubmissionRead]
