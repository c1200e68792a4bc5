"""SQLite statements run in the event loop's own thread: an aiosqlite-shaped driver for SQLAlchemy's
`sqlite+aiosqlite` dialect whose coroutines finish without ever suspending.

aiosqlite runs every statement in a thread of its own and wakes the event loop when it is done: a
hop there and back per statement (≈ 0.1 ms idle, far more under load), and, between the two, the
loop runs whatever else is ready. A write transaction holds SQLite's one write lock across all its
statements, so on a busy worker each of its hops also waited for other requests' work, and the lock
was held 10 ms for 2 ms of work (the soak: the lock busy 77 % of the time, events p95 1.3 s). Run
where the loop is, a statement costs what SQLite takes (tens of microseconds for this schema) and a
transaction runs from BEGIN to COMMIT without giving the loop away, unless it awaits something else.

The price is that a statement blocks the loop while it runs, so nothing may wait inside SQLite:

- readers never wait in WAL mode (each statement or read transaction sees its snapshot);
- writers take the write gate (core/writegate) before `BEGIN IMMEDIATE`, so the lock is free when
  they ask for it, except when a process outside Fieldcheck holds it (a backup, a manual `sqlite3`
  session). `BEGIN IMMEDIATE` is therefore tried without waiting, and only if the lock is taken is
  it sent to a thread to wait there (busy timeout as configured), as aiosqlite would have;
- `COMMIT` in WAL mode never waits for other connections.

Statements whose cost grows with the data (an audit verify, a large export) block the loop for their
duration: keep such work off request paths or in pages, as it already is.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

__version__ = "1"
paramstyle = "qmark"
DatabaseError = sqlite3.DatabaseError
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError
Warning = sqlite3.Warning
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info

_BEGIN_WRITE = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


class Cursor:
    __slots__ = ("_connection", "_cursor")

    def __init__(self, connection: Connection, cursor: sqlite3.Cursor) -> None:
        self._connection, self._cursor = connection, cursor

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        if sql.lstrip()[:15].upper() in _BEGIN_WRITE:
            await self._connection.begin_write(self._cursor, sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Any]) -> Cursor:
        self._cursor.executemany(sql, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    def __aiter__(self) -> Cursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _Inline:
    """What SQLAlchemy's adapter puts on aiosqlite's queue (to set the isolation level) runs now."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # noqa: BLE001 — handed to the awaiting caller, as aiosqlite does
            future.set_exception(exc)


class _NoThread:
    daemon = True


class Connection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._tx = _Inline()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self, self._live().cursor())

    async def begin_write(self, cursor: sqlite3.Cursor, sql: str) -> None:
        """Take the write lock without waiting if it is free; else wait for it in a thread, with the
        connection's busy timeout, so the loop goes on meanwhile."""
        busy_ms = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        waiting = asyncio.ensure_future(asyncio.to_thread(cursor.execute, sql))
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread still uses the connection: let it finish (bounded by the busy timeout),
            # then give back a lock that came for a request that is gone.
            while not waiting.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([waiting])
            if waiting.exception() is None:
                self._live().rollback()
            raise

    async def commit(self) -> None:
        self._live().commit()

    async def rollback(self) -> None:
        self._live().rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live().create_function(*args, **kwargs)

    async def enable_load_extension(self, value: bool) -> None:
        self._live().enable_load_extension(value)

    async def load_extension(self, path: str) -> None:
        self._live().load_extension(path)


class _Opening:
    """What `connect` returns: awaited, the connection (as aiosqlite's, whose thread the adapter
    marks a daemon: there is none here)."""

    _thread = _NoThread()

    def __init__(self, database: str, kwargs: dict[str, Any]) -> None:
        self._database, self._kwargs = database, kwargs

    def __await__(self) -> Generator[Any, None, Connection]:
        if False:  # a generator that never suspends
            yield
        return Connection(sqlite3.connect(self._database, **self._kwargs))


def connect(database: str, **kwargs: Any) -> _Opening:
    kwargs.pop("iter_chunk_size", None)
    kwargs.pop("loop", None)
    # Opened in the loop's thread; the pool may close it from another (garbage collection).
    kwargs["check_same_thread"] = False
    return _Opening(database, kwargs)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DB-API module to pass to `create_async_engine(module=...)` for a `sqlite+aiosqlite` URL."""
    return AsyncAdapt_aiosqlite_dbapi(sys.modules[__name__], sqlite3)
