"""Request and response bodies of Art. 16 dispatches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct

AgencyCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class DispatchCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    person_id: uuid.UUID
    to_agency_code: AgencyCode
    start_date: date
    end_date: date


class DispatchRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    from_agency_code: str
    to_agency_code: str
    start_date: date
    end_date: date
    created_by: uuid.UUID
    created_at: datetime


class DispatchPage(Page[DispatchRead], kw_only=True, forbid_unknown_fields=True):
    items: list[DispatchRead]
