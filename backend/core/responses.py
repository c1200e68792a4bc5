"""Turning service results into responses the same way everywhere: idempotent creates answer 201
the first time and 200 on a replay, with the stored body."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.idempotency import Outcome, once


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
    """Run `create()` (an async callable returning a Struct) once per client id / Idempotency-Key,
    for endpoints whose service has no command of its own yet (see core/idempotency.once)."""
    outcome = await once(
        session, actor=actor or (principal.actor if principal else "anonymous"), entity=entity,
        scope=request.url.path, data=data, header_key=request.headers.get("idempotency-key"), now=clock.now(),
        create=create,
    )
    return outcome_response(outcome)


def outcome_response(outcome: Outcome) -> Response[Any]:
    """A command's outcome as the HTTP answer (201 first / 200 on a replay, with the stored body)."""
    return Response(content=outcome.body, status_code=outcome.status_code,
                    headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)
