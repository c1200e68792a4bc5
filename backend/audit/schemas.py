"""Audit responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class AuditEntryRead(msgspec.Struct, kw_only=True):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data_sha256: str
    leaf_hash: str
    prev_hash: str
    hash: str


class AuditPage(msgspec.Struct, kw_only=True):
    items: list[AuditEntryRead]
    next_cursor: str | None


class AuditVerify(msgspec.Struct, kw_only=True):
    ok: bool
    length: int
    head: str | None
    problems: list[dict[str, Any]]
