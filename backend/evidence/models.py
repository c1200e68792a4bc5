"""ORM models of evidence: the photo record (what was received, where, and what the checks found)
and its custody log (every upload, read and export of it).

The photo's bytes live in a blob store (blobs.py): content-addressed files under
`{data_dir}/evidence/ab/cd/<sha256>` (storage.py, the default), or the `blobs` / `blob_chunks` tables
below (`FIELDCHECK_BLOB_STORE=database`). A row exists only once its bytes are stored.

An evidence photo belongs to an owner: an inspection (`owner_kind="inspection"`, `inspection_id`
set, with a foreign key) or an incident (`owner_kind="incident"`; no foreign key, the incidents
table is another domain's). The same bytes twice for the same owner are one record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("owner_kind", "owner_id", "sha256", name="uq_evidence_owner_sha256"),
        Index("ix_evidence_owner_received", "owner_kind", "owner_id", "received_at", "id"),
        # PostGIS: the radius query filters on `location::geography(Geometry,4326)`; only an index on
        # that very expression serves it (one on the geometry column does not; nor one on the cast
        # without the type modifier). SpatiaLite uses its R*Tree instead.
        Index("idx_evidence_location_geog", text("location::geography(Geometry,4326)"),
              postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: inspection | incident
    owner_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspections.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Pixel grid as encoded, and as shown after the EXIF orientation.
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    oriented_width: Mapped[int] = mapped_column(Integer, nullable=False)
    oriented_height: Mapped[int] = mapped_column(Integer, nullable=False)
    orientation: Mapped[int] = mapped_column(Integer, nullable=False)
    exif_lon: Mapped[float | None] = mapped_column(Float)
    exif_lat: Mapped[float | None] = mapped_column(Float)
    #: EXIF capture time in UTC. A camera time without an offset was taken as Asia/Shanghai time
    #: (`exif_taken_at_has_offset` False); `exif_taken_at_raw` keeps what the camera wrote.
    exif_taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exif_taken_at_has_offset: Mapped[bool | None] = mapped_column(Boolean)
    exif_taken_at_raw: Mapped[str | None] = mapped_column(String(40))
    exif_make: Mapped[str | None] = mapped_column(String(200))
    exif_model: Mapped[str | None] = mapped_column(String(200))
    exif_software: Mapped[str | None] = mapped_column(String(200))
    #: The device's position when the photo was taken, as reported (WGS84 after conversion).
    device_lon: Mapped[float | None] = mapped_column(Float)
    device_lat: Mapped[float | None] = mapped_column(Float)
    device_crs: Mapped[str | None] = mapped_column(String(8))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    #: Where the photo was taken, as far as we can tell: EXIF GPS if present, else the device's.
    location: Mapped[Any | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=True))
    location_lon: Mapped[float | None] = mapped_column(Float)
    location_lat: Mapped[float | None] = mapped_column(Float)
    #: exif | device (None when neither is known)
    location_source: Mapped[str | None] = mapped_column(String(8))
    distance_to_site_m: Mapped[float | None] = mapped_column(Float)
    exif_device_distance_m: Mapped[float | None] = mapped_column(Float)
    flags: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: The numbers behind the flags (tolerance, time offset, the time window), as JSON.
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Compact JWS (EdDSA, seal ring) over what was received; see service/receipts.py.
    receipt: Mapped[str] = mapped_column(Text, nullable=False)
    thumbnail_size: Mapped[int] = mapped_column(Integer, nullable=False)


class CustodyEvent(Base):
    """One link of the chain of custody: who did what with the photo, when, from where.

    Append-only. Ordered by `seq` (an integer key, unlike the UUID keys elsewhere): events of one
    request share a timestamp, and "oldest first" must still be exact."""

    __tablename__ = "evidence_custody"
    __table_args__ = (Index("ix_evidence_custody_evidence_seq", "evidence_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence.id"), nullable=False)
    #: upload | duplicate_upload | read_original | read_thumbnail | export
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor: Mapped[uuid.UUID] = mapped_column(ForeignKey("people.id"), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(32), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class Blob(Base):
    """One stored original or thumbnail (`FIELDCHECK_BLOB_STORE=database`), written once per
    content hash in the transaction that records its first evidence row."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: original | thumbnail
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(String(32), nullable=False)
    chunks: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class BlobChunk(Base):
    """A blob's bytes in pieces of CHUNK_BYTES (the last one shorter), so neither writing nor
    serving ever holds a whole photo in memory."""

    __tablename__ = "blob_chunks"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
