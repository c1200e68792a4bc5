"""HTTP endpoints of offline sync."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.sync import dispatch, service
from backend.sync.schemas import SyncOpRead, SyncRequest, SyncResponse, SyncResult


class SyncController(Controller):
    path = "/api/v1/sync"
    tags = ["sync"]

    @post("/", status_code=200, description=(
        "Apply up to 500 queued ops in order, each exactly once (a replayed op_id answers its first "
        "result), each under the same rules as the direct call. One op's refusal does not undo the ops "
        "before it. More than 500 ops: 413 TOO_LARGE (detail.reason = too_many_ops)."))
    async def sync(self, request: Request[Any, Any, Any], data: SyncRequest, session: AsyncSession,
                   principal: Principal, clock: Clock) -> SyncResponse:
        # The principal was loaded in this request's transaction. End it now: each op runs in its own
        # request and transaction, and on SQLite an open transaction here holds the write lock the
        # ops need.
        await session.commit()
        app = request.app
        base_scope = request.scope
        headers = dispatch.forwarded_headers(request.headers)

        async def run(method: str, path: str, body: Any, op_id: uuid.UUID) -> tuple[int, Any]:
            op_headers = [*headers, (b"idempotency-key", service.idempotency_key(op_id).encode()),
                          (b"accept", b"application/json")]
            raw = b""
            if body is not None:
                raw = msgspec.json.encode(body)
                op_headers.append((b"content-type", b"application/json"))
            return await dispatch.call(app, base_scope=base_scope, method=method, path=path, headers=op_headers,
                                       body=raw)

        outcomes = await service.run_batch(app.state.sessionmaker, caller=principal.actor, device_id=data.device_id,
                                           ops=data.ops, dispatch=run, clock=clock)
        return SyncResponse(results=[SyncResult(op_id=o.op_id, status=o.status, body=o.body, replayed=o.replayed)
                                     for o in outcomes])

    @get("/ops/{op_id:uuid}", description="One of the caller's ops (or uploads sent with "
                                          "Idempotency-Key: op:<op_id>): pending or applied, with its result.")
    async def get_op(self, op_id: uuid.UUID, session: AsyncSession, principal: Principal) -> SyncOpRead:
        return await service.get_op(session, principal, op_id)


ROUTES: list[Any] = [SyncController]
