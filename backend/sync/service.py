"""Offline sync: a phone's queued requests (ops) applied in order, each exactly once, each under the
same rules as the direct call.

How an op is applied
- Each op is replayed as an in-process request through the application (backend/sync/dispatch.py)
  with the caller's Authorization header and `Idempotency-Key: op:<op_id>`: every guard, validation
  and jurisdiction rule applies by construction, and the replayed request runs in its own
  transaction through the app's normal session handling. One op's refusal therefore never undoes
  the ops before it; later ops are still tried (each result says what happened to it).
- Exactly once: before running an op we *claim* it by inserting its `sync_ops` row (op_id primary
  key) in a short transaction of its own. Of two concurrent claimers the primary key lets one win;
  the other polls until the winner has stored the result, then answers with it. The first result is
  kept for ever: a replayed op_id gets it back (`replayed: true`); the same op_id with another
  method, path, body or caller gets `409 ID_CONFLICT` for that op only.
- A claim whose holder died (process crash between claiming and storing the result) is taken over
  after STALE_CLAIM_S. Creates cannot run twice even then: the replayed request carried
  `Idempotency-Key: op:<op_id>`, so the app's idempotency record (written in the same transaction as
  the object) holds the first result, and it is used. A non-create op (PUT, action POSTs) that
  committed just before such a crash could be re-run by the taker-over; see the report.
- Transient outcomes (5xx, 429, 401, a dependency not yet there) are answered but not stored, so
  the phone may send the same op again later.
- This module opens its own short transactions (claim, store result) on purpose, unlike other
  services: the ops' own transactions must commit independently of each other and of the batch.

Uploads and references between ops ("metadata and file in either order")
- Multipart uploads (evidence photos) are not JSON and do not travel inside /sync. The phone sends
  them directly with `Idempotency-Key: op:<op_id>`; the upload endpoint calls `record_direct_op()`
  in its own transaction so the upload enters this same ledger under its op_id (a half-sent upload
  never committed, so a retry with the same key simply runs again; a finished one is replayed by
  the endpoint's idempotent create). `GET /api/v1/sync/ops/{op_id}` tells the phone whether an op
  or upload has been applied.
- Any op may name another op's result: the string `$op:<op_id>` in its path or anywhere in its
  body is replaced by the `id` in that op's stored response body. If that op (say the upload) has
  not arrived yet, the referring op is answered `409 OP_DEPENDENCY_PENDING` and not stored: the
  phone sends it again later, in either order. If that op was refused, `424 OP_DEPENDENCY_FAILED`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.clock import Clock, iso_utc
from backend.core.db import transaction
from backend.core.errors import Conflict, DomainError, NotFound, TooLarge, Unprocessable
from backend.core.idempotency import stored_outcome
from backend.sync import repository
from backend.sync.models import SyncOp
from backend.sync.schemas import SyncOpIn, SyncOpRead

log = logging.getLogger("fieldcheck.sync")

MAX_OPS = 500
#: A pending claim older than this is taken to be from a crashed worker and may be taken over.
STALE_CLAIM_S = 120
#: How long an op waits for a concurrent claimer of the same op_id to finish before giving up.
WAIT_S = 30.0
API_PREFIX = "/api/v1/"
#: First path segments an op may not target: sync itself (no recursion) and login.
FORBIDDEN_ROOTS = frozenset({"sync", "auth"})

_REF_RE = re.compile(r"\$op:([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")
_SEGMENT_RE = re.compile(r"[A-Za-z0-9._~:@-]+")

#: (method, path, JSON body or None, op_id) -> (status, JSON response body)
Dispatch = Callable[[str, str, Any, uuid.UUID], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class OpOutcome:
    op_id: uuid.UUID
    status: int
    body: Any
    replayed: bool


class DependencyPending(Conflict):
    """The op names an op that has not been applied yet: answered, not stored, send it again later."""


def error_body(exc: DomainError) -> dict[str, Any]:
    """The API error body (API.md §Conventions), as the direct call would have answered."""
    return {"status": exc.http_status, "code": exc.code, "message": exc.message, "message_zh": exc.message_zh,
            "article": exc.article, "detail": exc.detail}


def idempotency_key(op_id: uuid.UUID) -> str:
    """The Idempotency-Key an op's replayed request (or a direct upload belonging to an op) carries."""
    return f"op:{op_id}"


def op_id_from_idempotency_key(key: str | None) -> uuid.UUID | None:
    """The op_id of an `Idempotency-Key: op:<uuid>` header, else None (for upload endpoints)."""
    if not key or not key.startswith("op:"):
        return None
    try:
        return uuid.UUID(key[3:])
    except ValueError:
        return None


def fingerprint(caller: str, method: str, path: str, body: Any) -> str:
    payload = {"caller": caller, "method": method, "path": path, "body": body}
    return hashlib.sha256(rfc8785.dumps(payload)).hexdigest()


def _op_error(code: str, message: str, message_zh: str, **detail: Any) -> Unprocessable:
    return Unprocessable(message, message_zh, code=code, detail=detail)


def check_path(path: str) -> None:
    """Ops target /api/v1/... only, never /api/v1/sync or auth, with a plain path (no query string,
    percent-escapes, empty or dot segments)."""
    if not path.startswith(API_PREFIX):
        raise _op_error("OP_PATH_NOT_ALLOWED", "An op's path must start with /api/v1/",
                        "离线操作的路径须以 /api/v1/ 开头", path=path)
    segments = path[len(API_PREFIX):].rstrip("/").split("/")
    for segment in segments:
        if not _SEGMENT_RE.fullmatch(segment) or segment in {".", ".."}:
            raise _op_error("OP_PATH_NOT_ALLOWED", "An op's path must be a plain path without query string",
                            "离线操作的路径格式不正确", path=path)
    if segments[0].lower() in FORBIDDEN_ROOTS:
        raise _op_error("OP_PATH_NOT_ALLOWED", f"Ops may not target /api/v1/{segments[0]}",
                        f"离线操作不能调用 /api/v1/{segments[0]}", path=path)


def _references(value: Any, found: set[uuid.UUID]) -> None:
    if isinstance(value, str):
        found.update(uuid.UUID(m) for m in _REF_RE.findall(value))
    elif isinstance(value, dict):
        for item in value.values():
            _references(item, found)
    elif isinstance(value, list):
        for item in value:
            _references(item, found)


def _substitute(value: Any, ids: dict[uuid.UUID, str]) -> Any:
    if isinstance(value, str):
        return _REF_RE.sub(lambda m: ids[uuid.UUID(m.group(1))], value)
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    return value


async def _resolve(maker: async_sessionmaker[AsyncSession], caller: str, path: str,
                   body: Any) -> tuple[str, Any]:
    refs: set[uuid.UUID] = set()
    _references(path, refs)
    _references(body, refs)
    if not refs:
        return path, body
    ids: dict[uuid.UUID, str] = {}
    async with transaction(maker) as session:
        for ref in refs:
            row = await repository.get(session, ref)
            if row is None or row.caller != caller or row.status_code is None:
                raise DependencyPending(
                    "This op names an op that has not been applied yet; send it again later",
                    "该操作引用的操作尚未完成，请稍后重发", code="OP_DEPENDENCY_PENDING", detail={"op_id": str(ref)})
            created = row.response.get("id") if isinstance(row.response, dict) else None
            if not 200 <= row.status_code < 300 or not isinstance(created, str):
                raise DomainError(
                    "This op names an op that was refused", "该操作引用的操作未成功", code="OP_DEPENDENCY_FAILED",
                    status=424, detail={"op_id": str(ref), "status": row.status_code})
            ids[ref] = created
    return _substitute(path, ids), _substitute(body, ids)


def _final(status: int, body: Any) -> bool:
    """Whether a result is the op's answer for ever (else the phone may send the op again)."""
    if status >= 500 or status in (401, 429):
        return False
    return not (isinstance(body, dict) and body.get("code") == "OP_DEPENDENCY_PENDING")


def _validate(ops: Sequence[SyncOpIn]) -> None:
    if len(ops) > MAX_OPS:
        raise TooLarge(f"At most {MAX_OPS} ops per sync call; send the rest in another call",
                       f"每次同步最多 {MAX_OPS} 个操作，其余请分批发送",
                       detail={"reason": "too_many_ops", "max_ops": MAX_OPS, "ops": len(ops)})
    errors = [{"field": f"ops[{i}].recorded_at", "code": "timezone", "message": "needs a UTC offset"}
              for i, op in enumerate(ops) if op.recorded_at.tzinfo is None]
    if errors:
        raise Unprocessable("recorded_at needs a UTC offset", "recorded_at 须带时区偏移", detail={"errors": errors})


class _Batch:
    def __init__(self, maker: async_sessionmaker[AsyncSession], caller: str, device_id: str, dispatch: Dispatch,
                 clock: Clock) -> None:
        self.maker = maker
        self.caller = caller
        self.device_id = device_id
        self.dispatch = dispatch
        self.clock = clock

    async def run(self, op: SyncOpIn) -> OpOutcome:
        try:
            fp = fingerprint(self.caller, op.method, op.path, op.body)
        except ValueError:  # numbers JSON cannot carry exactly (RFC 8785: beyond ±2^53)
            exc = _op_error("VALIDATION_ERROR", "The op's body has numbers outside the JSON safe range",
                            "操作内容中的数字超出范围")
            return OpOutcome(op.op_id, exc.http_status, error_body(exc), False)
        deadline = time.monotonic() + WAIT_S
        delay = 0.01
        while True:
            token = uuid.uuid4().hex
            now = self.clock.now()
            try:
                # No savepoint: the claim is this transaction's only statement, a conflict ends it.
                async with transaction(self.maker) as session:
                    await repository.claim(session, SyncOp(
                        op_id=op.op_id, caller=self.caller, device_id=self.device_id, method=op.method,
                        path=op.path, request_sha256=fp, claim_token=token, claimed_at=now, status_code=None,
                        response=None, recorded_at=op.recorded_at, applied_at=None))
            except IntegrityError:
                pass  # the op_id exists: applied, being applied, or another request's
            else:
                return await self._apply(op, token, recover=False)
            async with transaction(self.maker) as session:
                row = await repository.get(session, op.op_id)
            if row is None:
                continue  # its claimer gave it up (transient failure) just now: claim it ourselves
            if row.request_sha256 != fp:
                return self._conflict(op.op_id)
            if row.status_code is not None:
                return OpOutcome(op.op_id, row.status_code, row.response, True)
            stale_before = now - timedelta(seconds=STALE_CLAIM_S)
            if row.claimed_at < stale_before:
                async with transaction(self.maker) as session:
                    took = await repository.take_over(session, op.op_id, row.claim_token, token, now, stale_before)
                if took:
                    return await self._apply(op, token, recover=True)
                continue
            if time.monotonic() > deadline:
                busy = Conflict("This op is being applied by another request; send it again later",
                                "该操作正在由另一请求执行，请稍后重发", code="OP_IN_PROGRESS",
                                detail={"op_id": str(op.op_id)})
                return OpOutcome(op.op_id, busy.http_status, error_body(busy), False)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _conflict(self, op_id: uuid.UUID) -> OpOutcome:
        exc = Conflict("This op_id was already used for a different request",
                       "该操作编号已用于另一个不同的请求", code="ID_CONFLICT", detail={"op_id": str(op_id)})
        return OpOutcome(op_id, exc.http_status, error_body(exc), False)

    async def _apply(self, op: SyncOpIn, token: str, *, recover: bool) -> OpOutcome:
        status, body = await self._execute(op, recover=recover)
        async with transaction(self.maker) as session:
            if _final(status, body):
                stored = await repository.complete(session, op.op_id, token, status, body, self.clock.now())
                if not stored:
                    log.warning("sync op %s: claim lost before its result was stored", op.op_id)
            else:
                await repository.release(session, op.op_id, token)
        return OpOutcome(op.op_id, status, body, False)

    async def _execute(self, op: SyncOpIn, *, recover: bool) -> tuple[int, Any]:
        if recover:
            # The crashed claimer may have committed the op: a create's first result is in the
            # app's idempotency record under this op's key.
            async with transaction(self.maker) as session:
                found = await stored_outcome(session, f"hdr:{self.caller}:{idempotency_key(op.op_id)}")
            if found is not None and found.status_code:
                return found.status_code, found.response
        try:
            path, body = await _resolve(self.maker, self.caller, op.path, op.body)
            check_path(path)
        except DomainError as exc:
            return exc.http_status, error_body(exc)
        try:
            return await self.dispatch(op.method, path, body, op.op_id)
        except Exception:  # the app maps its own errors; this is the dispatcher failing
            log.exception("sync op %s: dispatch failed", op.op_id)
            return 500, {"status": 500, "code": "INTERNAL_ERROR", "message": "Internal error",
                         "message_zh": "服务器内部错误", "article": None, "detail": {}}


async def run_batch(maker: async_sessionmaker[AsyncSession], *, caller: str, device_id: str,
                    ops: Sequence[SyncOpIn], dispatch: Dispatch, clock: Clock) -> list[OpOutcome]:
    """Apply `ops` in order, each once; one outcome per op, in order."""
    _validate(ops)
    batch = _Batch(maker, caller, device_id, dispatch, clock)
    outcomes: list[OpOutcome] = []
    for op in ops:
        outcomes.append(await batch.run(op))
    applied = [(op, out) for op, out in zip(ops, outcomes, strict=True) if not out.replayed
               and _final(out.status, out.body) and 200 <= out.status < 300]
    if applied:
        # The ops' endpoints audit the acts; this entry adds what only sync knows: the device and
        # when the phone says each act happened, beside the server's time of this entry.
        now = clock.now()
        async with transaction(maker) as session:
            await record(session, actor=caller, action="sync.batch", subject=f"device:{device_id}", at=now, data={
                "device_id": device_id,
                "ops": [{"op_id": str(op.op_id), "method": op.method, "path": op.path, "status": out.status,
                         "recorded_at": iso_utc(op.recorded_at)} for op, out in applied],
            })
    return outcomes


async def record_direct_op(session: AsyncSession, *, op_id: uuid.UUID, caller: str, method: str, path: str,
                           request: Any, status: int, response: Any, device_id: str, recorded_at: datetime,
                           now: datetime) -> None:
    """Enter a directly sent request that belongs to an op (a multipart upload carrying
    `Idempotency-Key: op:<op_id>`) into the op ledger, in the caller's transaction, so that other ops
    can name its result (`$op:<op_id>`) and `GET /api/v1/sync/ops/{op_id}` reports it. `request` is
    whatever identifies the upload's content (e.g. {"sha256": ..., "inspection_id": ...}). Raises
    409 ID_CONFLICT if the op_id already names another request."""
    fp = fingerprint(caller, method, path, request)
    row = SyncOp(op_id=op_id, caller=caller, device_id=device_id, method=method, path=path, request_sha256=fp,
                 claim_token=uuid.uuid4().hex, claimed_at=now, status_code=status, response=response,
                 recorded_at=recorded_at, applied_at=now)
    if await repository.insert(session, row):
        return
    existing = await repository.get(session, op_id)
    if existing is not None and existing.request_sha256 != fp:
        raise Conflict("This op_id was already used for a different request", "该操作编号已用于另一个不同的请求",
                       code="ID_CONFLICT", detail={"op_id": str(op_id)})


async def get_op(session: AsyncSession, principal: Principal, op_id: uuid.UUID) -> SyncOpRead:
    """An op of the caller's (another person's op looks like no op at all)."""
    row = await repository.get(session, op_id)
    if row is None or row.caller != principal.actor:
        raise NotFound("No such op", "未找到该操作")
    return SyncOpRead(op_id=row.op_id, state="pending" if row.status_code is None else "applied",
                      device_id=row.device_id, method=row.method, path=row.path, status=row.status_code,
                      body=row.response, recorded_at=row.recorded_at, applied_at=row.applied_at)
