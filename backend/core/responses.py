"""Turning service results into responses the same way everywhere: idempotent creates answer 201
the first time and 200 on a replay, with the stored body."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.errors import Conflict
from backend.core.idempotency import keys_for, request_fingerprint, run_idempotent


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def idempotent_create(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    principal: Principal | None,
    clock: Clock,
    *,
    entity: str,
    data: Any,
    create: Any,
    actor: str | None = None,
) -> Response[Any]:
    """Run `create()` (an async callable returning a Struct) once per client id / Idempotency-Key."""
    body = to_builtins(data)
    client_id = body.get("id") if isinstance(body, dict) else None
    who = actor or (principal.actor if principal else "anonymous")
    keys = keys_for(entity=entity, client_id=client_id, header_key=request.headers.get("idempotency-key"),
                    actor=who)

    async def run() -> tuple[int, Any]:
        if client_id is None:
            return 201, to_builtins(await create())
        try:
            # A savepoint: a client id that names an object created without it (or as another kind
            # of object) collides on the primary key. That is the client's conflict, not a 500.
            async with session.begin_nested():
                result = to_builtins(await create())
        except IntegrityError as exc:
            text = str(exc.orig)
            # The primary key: SQLite names "<table>.id", PostgreSQL the constraint "pk_<table>".
            if not re.search(r'\.id\b|"pk_|_pkey"', text):
                raise
            raise Conflict(
                "This id is already used by another object", "该 ID 已被另一个对象使用", code="ID_CONFLICT",
                detail={"key": f"id:{client_id}"},
            ) from exc
        return 201, result

    outcome = await run_idempotent(
        session, keys=keys, fingerprint=request_fingerprint(request.method, request.url.path, body),
        actor=who, now=clock.now(), create=run,
    )
    return Response(content=outcome.body, status_code=outcome.status_code,
                    headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)
