"""Tables that let several server processes (workers, machines) on one database behave as one:
change counters that tell a process its in-memory copies are stale, and signing keys every node
shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, LargeBinary, String
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
