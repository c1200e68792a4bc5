"""Agencies, people and what the rules attach to a person: qualifications, appointments, trainings,
signing authorisations, dispatches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_en: Mapped[str | None] = mapped_column(String(200))
    #: province | city | county | township (townships include parks, ports, zones, scenic areas)
    level: Mapped[str] = mapped_column(String(20), nullable=False)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), index=True)
    #: Materialised path "210000/210100/210102/": the subtree of an agency is a prefix match.
    path: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)


class Person(Base):
    __tablename__ = "people"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    phone: Mapped[str] = mapped_column(String(32), nullable=False)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    employment: Mapped[str | None] = mapped_column(String(16))
    #: active | dismissed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: Demo accounts log in only when FIELDCHECK_DEMO=1.
    is_demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    enforcement_certificate_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    enforcement_certificate_valid_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Qualification(Base):
    __tablename__ = "qualifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    level: Mapped[str] = mapped_column(String(40), nullable=False)
    field: Mapped[str | None] = mapped_column(String(200))
    safety_related: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_person_status", "person_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    employment: Mapped[str | None] = mapped_column(String(16))
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date)
    contract_type: Mapped[str] = mapped_column(String(16), nullable=False)
    route: Mapped[str] = mapped_column(String(20), nullable=False)
    experience_years: Mapped[float | None] = mapped_column(Float)
    declarations: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    consents: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    exception_reason: Mapped[str | None] = mapped_column(Text)
    recommended_by: Mapped[str | None] = mapped_column(String(200))
    invitee_category: Mapped[str | None] = mapped_column(String(40))
    consulted: Mapped[str | None] = mapped_column(Text)
    #: active | ended | dismissed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The day the appointment stopped (dismissal effective date, or a renewal taking over); the
    #: planned `end_date` stays as agreed.
    ended_on: Mapped[date | None] = mapped_column(Date)


class Training(Base):
    __tablename__ = "trainings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    assessment_passed: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SigningAuthorisation(Base):
    """Art. 12: an agency's authorisation for an inspector to sign given record types."""

    __tablename__ = "signing_authorisations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    document_types: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)
    granted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Dispatch(Base):
    """Art. 16: an upper-level agency borrows a lower-level agency's inspector for a period."""

    __tablename__ = "dispatches"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    to_agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False, index=True)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Recruitment(Base):
    """Art. 6: an exam recruitment of full-time inspectors for `posts` posts."""

    __tablename__ = "recruitments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False, index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    posts: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The written exam's share of the total (0.6 ≤ w ≤ 1), as the exact decimal text given.
    written_weight: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class RecruitmentCandidate(Base):
    __tablename__ = "recruitment_candidates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    recruitment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("recruitments.id"), nullable=False,
                                                      index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    #: Scores as exact decimal text ("85.5"): the ranking is recomputed from them.
    written: Mapped[str] = mapped_column(String(16), nullable=False)
    interview: Mapped[str] = mapped_column(String(16), nullable=False)
    #: withdrawal | failed_medical | failed_background (NULL while in the running)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(32))
    withdrawal_note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Dismissal(Base):
    """Art. 25: a dismissal, which is also the public notice (部门公示) and the head of the
    equipment-return checklist."""

    __tablename__ = "dismissals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    #: The person's agency at the time (people may move; the notice names the dismissing agency).
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False, index=True)
    #: health | non_performance | discipline | criminal | term_expired | other
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    effective_date: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    #: The Art. 26 misconduct record that led to it, if any.
    misconduct_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    revoked_credential_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    ended_appointment_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class EquipmentReturnItem(Base):
    """Art. 25, last paragraph: what a dismissed person hands back."""

    __tablename__ = "equipment_return_items"
    __table_args__ = (UniqueConstraint("dismissal_id", "item"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    dismissal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dismissals.id"), nullable=False, index=True)
    #: credential_card | protective_equipment | technical_equipment
    item: Mapped[str] = mapped_column(String(32), nullable=False)
    returned: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Misconduct(Base):
    """Art. 26, 27: a finding of misconduct and the sanction taken."""

    __tablename__ = "misconduct_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    #: Art. 26 item, by its English name (see dismissal/schemas.py MISCONDUCT_ITEMS)
    item: Mapped[str] = mapped_column(String(40), nullable=False)
    sanction: Mapped[str] = mapped_column(String(40), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    dismissal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dismissals.id"))
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
