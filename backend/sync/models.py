"""ORM models of offline sync (the op ledger)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime


class SyncOp(Base):
    """One offline op, keyed by the phone's `op_id`: its claim while it runs, then its first result
    for ever. The primary key is what makes an op apply once: two concurrent claimers of the same
    op_id cannot both insert the row."""

    __tablename__ = "sync_ops"

    op_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    #: Person id of the caller that first sent the op; nobody else can replay or read it.
    caller: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    device_id: Mapped[str] = mapped_column(String(128), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False)
    #: SHA-256 of the canonical {caller, method, path, body}: same op_id + other request → 409.
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Random token of the current claim; only its holder may write the result.
    claim_token: Mapped[str] = mapped_column(String(32), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: NULL while the op is being applied (a pending claim).
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    #: When the phone says the act happened (offline), beside when the server applied it.
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
