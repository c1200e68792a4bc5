"""Request and response bodies of qualifications and appointments (Art. 2, 7, 9, 10, 11, 17, 18, 22)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from backend.core.times import ApiStruct

QualificationKind = Literal["degree", "professional_title", "vocational_qualification", "registered_safety_engineer"]
AppointedRole = Literal["technical_inspector", "social_supervisor"]
#: Art. 2: technical inspectors are full-time or part-time.
Employment = Literal["full_time", "part_time"]
#: Art. 10: a labour contract, a service agreement or another written agreement.
ContractType = Literal["labor", "service", "other"]
Route = Literal["exam", "assessment", "expert_pool", "recommendation", "invitation"]
InviteeCategory = Literal["people_congress_deputy", "cppcc_member", "lawyer", "other"]


class QualificationCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: QualificationKind
    level: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    field: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    safety_related: bool = False


class QualificationRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    kind: str
    level: str
    field: str | None
    safety_related: bool
    created_at: datetime


class QualificationList(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    items: list[QualificationRead]
    next_cursor: str | None = None




class Declarations(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """What the person declares (Art. 11). A missing key is "not declared"."""

    full_civil_capacity: bool | None = None
    criminal_record: bool | None = None
    pending_criminal_case: bool | None = None
    dismissed_from_public_office: bool | None = None
    unresolved_labor_dispute: bool | None = None
    dishonest_list: bool | None = None


class AppointmentCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    role: AppointedRole
    employment: Employment | None = None
    start_date: date
    end_date: date | None = None
    contract_type: ContractType
    route: Route
    experience_years: Annotated[float, msgspec.Meta(ge=0, le=80)] | None = None
    declarations: Declarations = msgspec.field(default_factory=Declarations)
    consents: dict[Literal["self", "employer"], bool] = msgspec.field(default_factory=dict)
    exception_reason: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    recommended_by: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    invitee_category: InviteeCategory | None = None
    consulted: Annotated[str, msgspec.Meta(max_length=2000)] | list[
        Annotated[str, msgspec.Meta(max_length=200)]] | None = None


class AppointmentRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    agency_code: str
    role: str
    employment: str | None
    start_date: date
    end_date: date | None
    contract_type: str
    route: str
    experience_years: float | None
    declarations: dict[str, bool]
    consents: dict[str, bool]
    exception_reason: str | None
    recommended_by: str | None
    invitee_category: str | None
    consulted: str | None
    #: active | ended | dismissed
    status: str
    ended_on: date | None
    created_at: datetime


class AppointmentList(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    items: list[AppointmentRead]
    next_cursor: str | None = None
