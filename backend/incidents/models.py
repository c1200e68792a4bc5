"""ORM models of incidents (Art. 28, 29): the case, and the records of what the agency did about it
(police notifications, assistance actions, clarifications). Each state a case enters has its own
timestamp column, set when the server recorded the step."""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Float, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_agency_reported", "agency_code", "reported_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    #: "28" (police notified, assistance) or "29" (investigation, clarification)
    article: Mapped[str] = mapped_column(String(4), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, index=True)
    #: self | relative
    victim: Mapped[str] = mapped_column(String(16), nullable=False)
    relative_relation: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    position = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    position_accuracy_m: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    #: The inspection during which it happened, if any (no foreign key: inspections are another
    #: domain's table and a report must not fail because an offline phone knows an id first).
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    reporter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    #: The reporter's agency when reported: visibility and notifications follow it.
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    police_notify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    police_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assisting_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    investigating_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    investigation_note: Mapped[str | None] = mapped_column(Text)
    #: When the finding (liable or not) was recorded; `liable` says which.
    found_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    liable: Mapped[bool | None] = mapped_column(Boolean)
    finding_note: Mapped[str | None] = mapped_column(Text)
    clarification_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clarified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)
    #: Set once by the overdue sweep, so "became overdue" is announced and audited once.
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class PoliceNotification(Base):
    __tablename__ = "incident_police_notifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), nullable=False, index=True)
    police_unit: Mapped[str] = mapped_column(String(200), nullable=False)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    case_number: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class IncidentAction(Base):
    """Assistance the agency gave (Art. 28 "协助依法处置")."""

    __tablename__ = "incident_actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), nullable=False, index=True)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Clarification(Base):
    """Art. 29 "以适当形式及时澄清事实"."""

    __tablename__ = "incident_clarifications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id"), nullable=False, index=True)
    #: public_notice | meeting | letter | other
    form: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
