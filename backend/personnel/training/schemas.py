"""Request and response bodies of trainings and the yearly training report (Art. 14)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.core.times import ApiStruct

TrainingKind = Literal["pre_job", "rotation", "special"]


class TrainingCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: TrainingKind
    start_date: date
    days: Annotated[int, msgspec.Meta(ge=1, le=365)]
    assessment_passed: bool | None = None


class TrainingRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    start_date: date
    days: int
    assessment_passed: bool | None
    created_at: datetime


class TrainingList(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    items: list[TrainingRead]
    next_cursor: str | None = None


class TrainingReportRow(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    person_id: uuid.UUID
    name: str
    agency_code: str
    agency_name: str
    employment: str | None
    status: str
    pre_job_passed: bool
    rotation_days: int
    special_days: int
    #: rotation + special in the year (Art. 14: at least 7)
    days: int
    shortfall_days: int
    compliant: bool


class TrainingReport(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    year: int
    agency_code: str
    required_days: int
    compliant_count: int
    non_compliant_count: int
    items: list[TrainingReportRow]
    next_cursor: str | None = None
