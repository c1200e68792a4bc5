"""Tables that let several server processes (workers, machines) on one database behave as one:
change counters that tell a process its in-memory copies are stale, signing keys every node shares,
and chunked blobs (photos) every node can serve."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime


class ChangeVersion(Base):
    """One counter per topic (`credentials`, `signing_keys`), bumped by database triggers on every
    change of the topic's tables, whoever makes it (any node, the CLI, a console). A process
    compares the counter with the one its in-memory copy was built at; on PostgreSQL the same
    triggers also NOTIFY, so the check is only the fallback there."""

    __tablename__ = "change_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class SigningKeyRow(Base):
    """A signing key shared by every node. The private key is AES-GCM encrypted under a key derived
    from FIELDCHECK_SECRET_KEY (the kid is the associated data, so a row cannot be swapped)."""

    __tablename__ = "signing_keys"

    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class BlobChunk(Base):
    """A piece of an uploaded blob, written while the upload streams in. Chunks of an upload that
    never got a `blobs` row (a crash mid-upload) are swept after a while."""

    __tablename__ = "blob_chunks"

    upload_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Blob(Base):
    """A complete blob by name (an original's sha256, or `<sha256>.thumb`), pointing at its chunks."""

    __tablename__ = "blobs"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    upload_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
