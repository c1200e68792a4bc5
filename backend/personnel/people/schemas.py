"""Request and response bodies of agencies, people and auth."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.core.times import ApiStruct

Role = Literal["officer", "technical_inspector", "social_supervisor", "hr_admin", "agency_admin"]
Employment = Literal["full_time", "part_time"]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Struct(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    pass


class TokenRequest(Struct, kw_only=True):
    username: Annotated[str, msgspec.Meta(max_length=64)]
    password: Annotated[str, msgspec.Meta(max_length=256)]


class TokenResponse(Struct, kw_only=True):
    access_token: str
    token_type: str
    expires_in: int
    person_id: uuid.UUID
    role: str


class AgencyRead(Struct, kw_only=True):
    code: str
    name: str
    name_en: str | None
    level: str
    parent_code: str | None


class EnforcementCertificate(Struct, kw_only=True):
    number: Annotated[str, msgspec.Meta(min_length=4, max_length=64)]
    valid_until: date


class PersonCreate(Struct, kw_only=True):
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


class PersonRead(Struct, kw_only=True):
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


class PersonPage(Struct, kw_only=True):
    items: list[PersonRead]
    next_cursor: str | None


class AgencyPage(Struct, kw_only=True):
    items: list[AgencyRead]
    next_cursor: str | None
