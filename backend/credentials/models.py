"""Work credentials (Art. 14, 24, 25) and the province-wide serial counters that number them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class CredentialSerial(Base):
    """One row per (kind, year): the last serial handed out. Incremented with an atomic
    upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING) in the issuing transaction, so two
    concurrent issues never get the same serial: PostgreSQL makes the second wait on the row lock,
    SQLite's BEGIN IMMEDIATE serialises writers."""

    __tablename__ = "credential_serials"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_serial: Mapped[int] = mapped_column(Integer, nullable=False)


class Credential(Base):
    __tablename__ = "credentials"
    __table_args__ = (
        UniqueConstraint("kind", "year", "serial"),
        Index("ix_credentials_person_kind", "person_id", "kind"),
        Index("ix_credentials_status_expires", "status", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: Canonical form "LNJ-2026-000017-X" (backend.credentials.numbering).
    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    #: technical_inspector | social_supervisor
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    serial: Mapped[int] = mapped_column(Integer, nullable=False)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    appointment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appointments.id"), nullable=False)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False, index=True)
    #: The holder's name as printed on the card and signed into the QR token. A later change of
    #: the person's name does not silently change what a card in someone's pocket says.
    holder_name: Mapped[str] = mapped_column(String(100), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Stored status: valid | suspended | revoked. `expired` is computed from expires_at.
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="valid")
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    issued_by: Mapped[str] = mapped_column(String(64), nullable=False)
