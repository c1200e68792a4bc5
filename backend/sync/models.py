"""ORM models of offline sync (the op ledger)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Uuid
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

