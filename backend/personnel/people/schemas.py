"""Request and response bodies of agencies, people and auth."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct

Role = Literal["officer", "technical_inspector", "social_supervisor", "hr_admin", "agency_admin"]
Employment = Literal["full_time", "part_time"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class TokenRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class TokenResponse(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    access_token: str
    token_type: str
    expires_in: int
    person_id: uuid.UUID
    role: str


class AgencyRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    code: str
    name: str
    name_en: str | None
    level: str
    parent_code: str | None


class EnforcementCertificate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    number: Annotated[str, msgspec.Meta(min_length=4, max_length=64)]
    valid_until: date


class PersonCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    name: Name
    id_number: Annotated[str, msgspec.Meta(max_length=32)]
    phone: Annotated[str, msgspec.Meta(min_length=5, max_length=32)]
    agency_code: Annotated[str, msgspec.Meta(max_length=16)]
    role: Role
    employment: Employment | None = None
    username: Annotated[str, msgspec.Meta(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    password: Annotated[str, msgspec.Meta(min_length=10, max_length=256)] | None = None
    enforcement_certificate: EnforcementCertificate | None = None


class PersonRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    name: str
    id_number: str
    id_number_masked: bool
    phone: str
    agency_code: str
    role: str
    employment: str | None
    status: str
    username: str | None
    enforcement_certificate: EnforcementCertificate | None
    created_at: datetime


class PersonPage(Page[PersonRead], kw_only=True, forbid_unknown_fields=True):
    items: list[PersonRead]


class AgencyPage(Page[AgencyRead], kw_only=True, forbid_unknown_fields=True):
    items: list[AgencyRead]
