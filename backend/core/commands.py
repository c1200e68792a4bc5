"""What a command (a use case that changes state) is handed, whoever calls it: the HTTP controller
of its endpoint, or the sync registry replaying an offline op. Both build one `Ctx` and call the
same command function, so validation, guards, jurisdiction and idempotency are the same code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.signing import Keys
from backend.settings import Settings


@dataclass(frozen=True, slots=True)
class Ctx:
    session: AsyncSession
    principal: Principal
    clock: Clock
    keys: Keys
    settings: Settings
    #: The `Idempotency-Key` header of a direct call; None for offline ops (their ledger row is
    #: their once-only record, written in the same transaction as the effect).
    idempotency_key: str | None = None


async def provide_ctx(request: Request[Any, Any, Any], session: AsyncSession, principal: Principal, clock: Clock,
                      signing_keys: Keys, settings: Settings) -> Ctx:
    """Litestar dependency `ctx` for the controllers of commands."""
    return Ctx(session=session, principal=principal, clock=clock, keys=signing_keys, settings=settings,
               idempotency_key=request.headers.get("idempotency-key"))


#: Controllers of commands declare `dependencies = COMMAND_DEPENDENCIES` and take `ctx: Ctx`.
COMMAND_DEPENDENCIES = {"ctx": Provide(provide_ctx)}
