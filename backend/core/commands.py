"""What a command (a use case that changes state) is handed, whoever calls it: the HTTP controller
of its endpoint, or the sync registry replaying an offline op. Both build one `Ctx` and call the
same command function, so validation, guards, jurisdiction and idempotency are the same code.
No Litestar here: the controllers' provider of `ctx` is core/deps.py::COMMAND_DEPENDENCIES."""

from __future__ import annotations

from dataclasses import dataclass

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

