"""HTTP endpoints of offline sync."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.signing import Keys
from backend.settings import Settings
from backend.sync import service
from backend.sync.schemas import SyncOpRead, SyncRequest, SyncResponse, SyncResult


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post("/", status_code=200, description=(
        "Apply up to 500 queued ops in order, each exactly once (a replayed op_id answers its first "
        "result), each by the same command as the direct call. Only field acts may be synced: check-ins, "
        "check-outs, credential displays, start, finish, findings, documents (create, PUT, corrections), "
        "signatures, incident reports and actions, supervision submissions, trainings; any other request "
        "answers 403 OP_NOT_ALLOWED_OFFLINE for that op. One op's refusal does not undo the ops before it. "
        "More than 500 ops: 413 TOO_LARGE (detail.reason = too_many_ops)."))
    async def sync(self, request: Request[Any, Any, Any], data: SyncRequest, session: AsyncSession,
                   principal: Principal, clock: Clock, signing_keys: Keys, settings: Settings) -> SyncResponse:
        # The principal was loaded once, in this request's transaction. End it: the ops run in
        # transactions of their own, and on SQLite an open one here would hold the write lock.
        await session.commit()
        state = request.app.state
        outcomes = await service.run_batch(state.sessionmaker, state.read_sessionmaker, principal=principal,
                                           device_id=data.device_id, ops=data.ops, clock=clock, keys=signing_keys,
                                           settings=settings)
        return SyncResponse(results=[SyncResult(op_id=o.op_id, status=o.status, body=o.body, replayed=o.replayed)
                                     for o in outcomes])

    @get("/ops/{op_id:uuid}", description="One of the caller's ops (or uploads sent with "
                                          "Idempotency-Key: op:<op_id>), with its result.")
    async def get_op(self, op_id: uuid.UUID, session: AsyncSession, principal: Principal) -> SyncOpRead:
        return await service.get_op(session, principal, op_id)


ROUTES: list[Any] = [SyncController]
