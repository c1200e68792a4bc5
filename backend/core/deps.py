"""Request-scoped dependencies every domain uses: the database session (one per request, committed
on success and rolled back otherwise), the clock, the settings, the key rings, and the `ctx` of
command handlers (core/commands.py::Ctx)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.commands import Ctx
from backend.core.signing import Keys
from backend.settings import Settings


async def provide_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    async with state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def provide_read_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """A session for handlers that only read (public verification): it never takes SQLite's
    write lock, so a burst of scans does not queue behind the writers."""
    # Closing the session hands the connection back to the pool, which resets it; nothing to commit.
    async with state.read_sessionmaker() as session:
        yield session


def provide_clock(state: State) -> Clock:
    clock: Clock = state["clock"]
    return clock


def provide_settings(state: State) -> Settings:
    settings: Settings = state["settings"]
    return settings


def provide_keys(state: State) -> Keys:
    keys: Keys = state["keys"]
    return keys


async def provide_ctx(request: Request[Any, Any, Any], session: AsyncSession, principal: Principal, clock: Clock,
                      signing_keys: Keys, settings: Settings) -> Ctx:
    """Litestar dependency `ctx` for the controllers of commands."""
    return Ctx(session=session, principal=principal, clock=clock, keys=signing_keys, settings=settings,
               idempotency_key=request.headers.get("idempotency-key"))


#: Controllers of commands declare `dependencies = COMMAND_DEPENDENCIES` and take `ctx: Ctx`.
COMMAND_DEPENDENCIES = {"ctx": Provide(provide_ctx)}


def client_address(request: Request[Any, Any, Any]) -> str:
    client = request.client
    return client.host if client else "unknown"


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
