"""ORM models of social supervision (Art. 19, 20): a supervisor's submission to an agency and the
agency's one answer (feedback), with its deadline."""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import Float, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class Submission(Base):
    __tablename__ = "supervision_submissions"
    __table_args__ = (Index("ix_supervision_submissions_agency_received", "agency_code", "received_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: criticism | opinion | suggestion | violation_clue | hazard_clue
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    #: The agency written to (the supervisor's own or one below it).
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    position = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    position_accuracy_m: Mapped[float | None] = mapped_column(Float)
    supervisor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False, index=True)
    #: received | answered
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    feedback_text: Mapped[str | None] = mapped_column(Text)
    feedback_outcome: Mapped[str | None] = mapped_column(String(200))
    #: Set once by the overdue sweep, so "became overdue" is announced and audited once.
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
