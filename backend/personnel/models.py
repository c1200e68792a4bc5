"""Agencies, people and what the rules attach to a person: qualifications, appointments, trainings,
signing authorisations, dispatches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, Uuid
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
