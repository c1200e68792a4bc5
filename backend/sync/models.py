"""ORM models of offline sync (the op ledger) and of the audit log's issued checkpoints.

`AuditCheckpoint` belongs to the audit domain; it is declared here only because this change could
not touch backend/audit/models.py. Moving it there changes no table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime


class SyncOp(Base):
    """One offline op, keyed by the phone's `op_id`, with its first result for ever. The row is
    inserted in the same transaction as the op's effect: both commit or neither does, so an op is
    applied once by construction (the primary key also stops a concurrent duplicate)."""

    __tablename__ = "sync_ops"

    op_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Person id of the caller that first sent the op; nobody else can replay or read it.
    caller: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    device_id: Mapped[str] = mapped_column(String(128), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False)
    #: SHA-256 of the canonical {caller, method, path, body}: same op_id + other request → 409.
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The answer (status and body, the API error body for a refusal).
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: When the phone says the act happened (offline), beside when the server applied it.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AuditCheckpoint(Base):
    """A signed tree head the server has handed out. Kept so that any later tree can be proven an
    append-only extension of it, and so `audit verify` can recheck the log against what was published."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: Hex of the RFC 6962 root over the first `tree_size` leaf hashes.
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The CompactRange frontier at `tree_size` (hex, largest subtree first): the next checkpoint
    #: only hashes the entries added since.
    frontier: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: The C2SP signed note exactly as served.
    note: Mapped[str] = mapped_column(Text, nullable=False)
    #: kid (seal ring) of the key that signed the note.
    key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
