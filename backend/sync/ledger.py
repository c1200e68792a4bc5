"""The op ledger seen from outside the batch runner: fingerprints, and the entries uploads make.

A photo taken offline is one op in two parts: the metadata op in a /sync batch (its SHA-256 and
where and when it was taken; answered 202 with the evidence id it will have, so later ops can
name it by `$op:`), and the file, uploaded directly with `Idempotency-Key: op:<op_id>`. Either
may arrive first. Both fingerprint the same request — caller, the upload path and the sha256 — so
whichever comes second is recognised as the same op; the upload completes a declared op (its
ledger answer becomes the evidence), and an upload with no op yet enters the ledger itself.

No import of the command registry here: the evidence service uses this module."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.canonical import jcs
from backend.core.errors import Conflict
from backend.sync import repository
from backend.sync.models import SyncOp

#: `state` of a declared photo's answer until its file has arrived.
AWAITING_UPLOAD = "awaiting_upload"


def fingerprint(caller: str, method: str, path: str, body: Any) -> str:
    payload = {"caller": caller, "method": method, "path": path, "body": body}
    return hashlib.sha256(jcs(payload)).hexdigest()


def photo_fingerprint(caller: str, owner_kind: str, owner_id: uuid.UUID, sha256: str) -> str:
    """What a photo op is, whichever part arrives: who, to what, which bytes."""
    return fingerprint(caller, "POST", f"{owner_kind}:{owner_id}/evidence", {"sha256": sha256.lower()})


def op_id_from_idempotency_key(key: str | None) -> uuid.UUID | None:
    """The op_id of an `Idempotency-Key: op:<uuid>` header, else None (for upload endpoints)."""
    if not key or not key.startswith("op:"):
        return None
    try:
        return uuid.UUID(key[3:])
    except ValueError:
        return None


def id_conflict(op_id: uuid.UUID) -> Conflict:
    return Conflict("This op_id was already used for a different request", "该操作编号已用于另一个不同的请求",
                    code="ID_CONFLICT", detail={"op_id": str(op_id)})


async def declared_photo(session: AsyncSession, op_id: uuid.UUID, caller: str, owner_kind: str,
                         owner_id: uuid.UUID, sha256: str) -> SyncOp | None:
    """The ledger row of this upload's op: None when the op has not arrived; raises ID_CONFLICT when
    the op_id names another request (another caller, path or photo)."""
    row = await repository.get(session, op_id)
    if row is None:
        return None
    if row.caller != caller or row.request_sha256 != photo_fingerprint(caller, owner_kind, owner_id, sha256):
        raise id_conflict(op_id)
    return row


async def awaiting_upload_for(session: AsyncSession, op_id: uuid.UUID, caller: str,
                              owner_id: uuid.UUID) -> bool:
    """Whether this caller declared a photo of `owner_id` under this op_id that awaits its file
    (checked before the upload's body is read; the photo itself is checked once it has arrived)."""
    row = await repository.get(session, op_id)
    return awaiting_upload(row) and row is not None and row.caller == caller \
        and row.response.get("owner_id") == str(owner_id)


def awaiting_upload(row: SyncOp | None) -> bool:
    return row is not None and isinstance(row.response, dict) and row.response.get("state") == AWAITING_UPLOAD


async def complete_photo(session: AsyncSession, row: SyncOp, status: int, response: Any, now: datetime) -> None:
    """The file of a declared photo arrived: the op's answer becomes the evidence."""
    row.status_code = status
    row.response = response
    row.applied_at = now
    await session.flush()


async def record_direct_op(session: AsyncSession, *, op_id: uuid.UUID, caller: str, method: str, path: str,
                           request: Any, status: int, response: Any, device_id: str, recorded_at: datetime,
                           now: datetime, request_sha256: str | None = None) -> None:
    """Enter a directly sent request that belongs to an op (an upload carrying
    `Idempotency-Key: op:<op_id>`) into the op ledger, in the caller's transaction, so that other
    ops can name its result (`$op:<op_id>`) and `GET /api/v1/sync/ops/{op_id}` reports it.
    `request` identifies the upload's content (or pass its `request_sha256`). Raises 409
    ID_CONFLICT if the op_id already names another request."""
    fp = request_sha256 or fingerprint(caller, method, path, request)
    existing = await repository.get(session, op_id)
    if existing is None:
        await repository.insert(session, SyncOp(
            op_id=op_id, caller=caller, device_id=device_id, method=method, path=path, request_sha256=fp,
            status_code=status, response=response, recorded_at=recorded_at, applied_at=now))
        return
    if existing.request_sha256 != fp or existing.caller != caller:
        raise id_conflict(op_id)
