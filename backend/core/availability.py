"""When the database cannot be reached: which exceptions mean "unavailable, try again later" (as
opposed to a bug), and the probe behind /healthz and /readyz.

A provincial deployment sees its database restart (upgrades, failover, a full disk on the database
host) and, on SQLite, the file held by another process (a backup, a manual `sqlite3` session). A
request caught in that gets `503 SERVICE_UNAVAILABLE` with `Retry-After` (API.md), never a 500:
the phone keeps the operation queued and retries. Nothing is cached about the outage: the pool
pre-pings (PostgreSQL) or reopens (SQLite) on the next request, so the service recovers by itself.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from collections.abc import Iterator
from typing import Any

import anyio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.errors import DomainError

#: What a client is told to wait before retrying (seconds).
RETRY_AFTER_S = 5

# PostgreSQL SQLSTATE classes that are about the server, not the request: 08 connection exception,
# 53 insufficient resources (too many connections, disk full), 57 operator intervention (admin
# shutdown, crash shutdown, cannot connect now, query cancelled), 58 system error. And the two
# transaction outcomes a retry fixes: serialization failure and deadlock.
_PG_TRANSIENT_CLASSES = ("08", "53", "57", "58")
_PG_TRANSIENT_STATES = frozenset({"40001", "40P01"})
# SQLite has one OperationalError for everything ("no such table" too, which is a bug): only
# these messages mean the file is busy or unreachable.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database",
                     "disk i/o error", "database or disk is full", "attempt to write a readonly database")
_NET_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EHOSTUNREACH,
                         errno.ENETUNREACH, errno.ETIMEDOUT, errno.EPIPE, errno.ENOTCONN})


class ServiceUnavailable(DomainError):
    """503 with Retry-After (the handler turns `detail.retry_after_s` into the header)."""

    status = 503
    default_code = "SERVICE_UNAVAILABLE"


def database_unavailable(reason: str = "database unreachable") -> ServiceUnavailable:
    return ServiceUnavailable(
        "The database is unreachable; retry later", "数据库暂时无法访问，请稍后重试",
        detail={"reason": reason, "retry_after_s": RETRY_AFTER_S},
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            todo.extend(e.exceptions)
        for nxt in (e.__cause__, e.__context__, getattr(e, "orig", None)):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _sqlstate(e: BaseException) -> str | None:
    state: Any = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
    return state if isinstance(state, str) else None


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or anything it was raised from) says the database is down, restarting,
    overloaded or locked, rather than that the request or the code is wrong."""
    for e in _chain(exc):
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, PoolTimeoutError):  # every pooled connection busy for pool_timeout
            return True
        state = _sqlstate(e)
        if state and (state[:2] in _PG_TRANSIENT_CLASSES or state in _PG_TRANSIENT_STATES):
            return True
        if isinstance(e, sqlite3.OperationalError) and str(e).lower().startswith(_SQLITE_TRANSIENT):
            return True
        if type(e).__module__.startswith("asyncpg") and type(e).__name__ in {
                "ConnectionDoesNotExistError", "ConnectionFailureError", "CannotConnectNowError",
                "ClientCannotConnectError", "InternalClientError", "InterfaceError"}:
            return True
        if isinstance(e, ConnectionError | socket.gaierror | TimeoutError):
            return True
        if isinstance(e, OSError) and e.errno in _NET_ERRNOS:
            return True
    return False


async def probe(maker: async_sessionmaker[AsyncSession], *, sqlite: bool, timeout_ms: int = 2000) -> str | None:
    """None when the database answers, else a short reason.

    On SQLite "up" means a request could write: in WAL mode readers are never blocked, so the only
    outage is the write lock held elsewhere (another process, a manual session, a stuck backup).
    The probe takes the lock and gives it back at once, with a short busy timeout so a health
    check never waits the full lock timeout of a request (nor long behind real writers)."""
    try:
        async with maker() as session:
            if sqlite:
                # `maker` is the read-only one: no BEGIN of its own, so ours is the only one.
                conn = await session.connection()
                previous = int((await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one())
                await conn.exec_driver_sql(f"PRAGMA busy_timeout={int(timeout_ms)}")
                try:
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                    await conn.exec_driver_sql("ROLLBACK")
                finally:
                    await conn.exec_driver_sql(f"PRAGMA busy_timeout={previous}")
            else:
                # asyncpg's own connect timeout bounds a dead host; this bounds everything else.
                with anyio.fail_after(timeout_ms / 1000 + 1):
                    await session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 — any failure is "down"; the reason says which
        first = str(exc).splitlines()[0][:200] if str(exc) else ""
        return f"{type(exc).__name__}: {first}".rstrip(": ")
    return None
