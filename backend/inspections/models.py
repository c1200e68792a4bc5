"""ORM models of inspections: the inspection and its team, presence (check-ins), credential
displays, findings, documents and their sealed signatures.

Positions are stored twice on purpose: a WGS84 geometry (distances are computed by the spatial
database) and plain lon/lat floats (what responses show, without a round trip through WKB)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class Inspection(Base):
    __tablename__ = "inspections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    enterprise_name: Mapped[str] = mapped_column(String(200), nullable=False)
    enterprise_credit_code: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    site: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    site_lon: Mapped[float] = mapped_column(Float, nullable=False)
    site_lat: Mapped[float] = mapped_column(Float, nullable=False)
    site_radius_m: Mapped[float] = mapped_column(Float, nullable=False)
    site_address: Mapped[str] = mapped_column(String(500), nullable=False)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: normal | secret
    classification: Mapped[str] = mapped_column(String(16), nullable=False)
    #: planned | in_progress | finished
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    #: The creating officer's agency: jurisdiction over the inspection follows it.
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), nullable=False, index=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class TeamMember(Base):
    __tablename__ = "inspection_team_members"

    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)
    #: The member's role when the team was formed (officer | technical_inspector).
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Set when the member is on the team through an Art. 16 dispatch.
    dispatch_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("dispatches.id"))


class CheckIn(Base):
    """One stay on site: checked in, and (once) checked out. A member is present while a row of
    theirs has no check-out."""

    __tablename__ = "inspection_check_ins"
    __table_args__ = (Index("ix_inspection_check_ins_inspection_person", "inspection_id", "person_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"), nullable=False)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    position: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    #: The CRS the phone reported in (the stored position is WGS84 either way).
    reported_crs: Mapped[str] = mapped_column(String(8), nullable=False)
    distance_m: Mapped[float] = mapped_column(Float, nullable=False)
    out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    out_lon: Mapped[float | None] = mapped_column(Float)
    out_lat: Mapped[float | None] = mapped_column(Float)
    out_accuracy_m: Mapped[float | None] = mapped_column(Float)
    out_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CredentialDisplay(Base):
    """Art. 12: a holder showed a work credential (scanned) or an enforcement certificate on site."""

    __tablename__ = "inspection_credential_displays"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"), nullable=False, index=True)
    #: The holder.
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    #: work_credential | enforcement_certificate
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    #: The work credential's id (credentials are another domain's table: no foreign key here).
    credential_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    shown_to_name: Mapped[str] = mapped_column(String(100), nullable=False)
    shown_to_role: Mapped[str] = mapped_column(String(100), nullable=False)
    position: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=False)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Finding(Base):
    __tablename__ = "inspection_findings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"), nullable=False, index=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    #: general | major
    hazard_level: Mapped[str] = mapped_column(String(16), nullable=False)
    position: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Document(Base):
    __tablename__ = "inspection_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspections.id"), nullable=False, index=True)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The locked document this one corrects.
    supersedes: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspection_documents.id"), unique=True)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Signature(Base):
    """A signature on one version of a document, sealed by the server. Editing the document makes a
    new version; signatures of older versions stay here (the record of what happened) but no
    longer count."""

    __tablename__ = "inspection_document_signatures"
    __table_args__ = (Index("ix_inspection_document_signatures_document_version", "document_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_documents.id"), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: officer | technical_inspector | enterprise_representative | witness
    signer_role: Mapped[str] = mapped_column(String(32), nullable=False)
    #: The signer's account (officers, inspectors); None for people without one.
    signer_person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("people.id"))
    signer_name: Mapped[str] = mapped_column(String(100), nullable=False)
    refused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    refusal_note: Mapped[str | None] = mapped_column(Text)
    witness_name: Mapped[str | None] = mapped_column(String(100))
    image_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    image_width: Mapped[int | None] = mapped_column(Integer)
    image_height: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Who entered it (the signer, or the officer whose device the enterprise signed on).
    entered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    seal_kid: Mapped[str] = mapped_column(String(64), nullable=False)
    #: base64url Ed25519 signature over the canonical seal payload (see documents.seal_payload).
    seal: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
