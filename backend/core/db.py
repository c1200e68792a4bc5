"""Database plumbing shared by every domain: the declarative Base with its naming convention, column
types that behave the same on SQLite + SpatiaLite and PostgreSQL + PostGIS, engine creation (with
SpatiaLite loaded on every SQLite connection) and the per-request session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from backend.core import sqlite_inline
from backend.core.writegate import WriteGate, is_write
from backend.core.writegate import release as release_gate

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both engines. SQLite has no time zones: values are stored
    as UTC and handed back aware, so comparisons never mix naive and aware datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def point(lon: float, lat: float) -> WKTElement:
    """A WGS84 point for a `Geometry("POINT", srid=4326)` column. `repr` keeps every digit of the
    float, so the stored value is exactly the one that was checked."""
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=4326)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def _load_spatialite(dbapi_connection: Any, _record: Any, *, busy_ms: int = 30000) -> None:
    # The aiosqlite adapter hides enable_load_extension; run it on the underlying aiosqlite
    # connection through the adapter's run_async (see CONVENTIONS.md).
    dbapi_connection.run_async(lambda conn: conn.enable_load_extension(True))
    try:
        dbapi_connection.run_async(lambda conn: conn.load_extension("mod_spatialite"))
    finally:
        dbapi_connection.run_async(lambda conn: conn.enable_load_extension(False))
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.close()
    # SQLAlchemy must not issue its own BEGIN: we send BEGIN IMMEDIATE ourselves (below).
    dbapi_connection.isolation_level = None


_OPEN = "fieldcheck_open_transaction"
_PENDING = "fieldcheck_lock_on_write_pending"


def _begin_immediate(conn: Any, *, gate: WriteGate) -> None:
    # A deferred SQLite transaction that reads and then writes can fail with SQLITE_BUSY without
    # waiting, when another connection wrote in between. Taking the write lock at BEGIN makes
    # writers queue instead (in this process's gate first, core/writegate), and keeps the audit
    # chain strictly serial.
    # Read-only sessions (public verification, health) open no transaction at all: each of their
    # statements reads a consistent snapshot on its own and never queues behind writers.
    # Request sessions (LOCK_ON_WRITE_OPTION) take the lock at their first write (_lock_on_write).
    info = conn.connection.info
    options = conn.get_execution_options()
    if options.get(READ_ONLY_OPTION):
        info[_OPEN] = False
    elif options.get(LOCK_ON_WRITE_OPTION):
        info[_OPEN] = False
        info[_PENDING] = True
    else:
        # Open from here on: whatever happens inside (a cancelled wait, an error after BEGIN), the
        # connection is rolled back before it is used again (a rollback of nothing is free).
        info[_OPEN] = True
        gate.begin(info, conn.exec_driver_sql)


def _lock_on_write(conn: Any, cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool, *,
                   gate: WriteGate) -> None:
    """A request session's reads before its first write run on their own (autocommit snapshots, as
    every statement does under PostgreSQL's READ COMMITTED); the write lock is taken just before
    the first statement that writes (or reads FOR UPDATE), and held to COMMIT. The lock is then
    held for the writes, not for the authentication, the rule checks and the reads before them."""
    info = conn.connection.info
    if info.get(_PENDING) and is_write(statement, context):
        del info[_PENDING]
        info[_OPEN] = True
        gate.begin(info, cursor.execute)


def _release_record(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
    if record is not None:
        _ended(record.info)


def _ended(info: dict[Any, Any]) -> None:
    """The connection's transaction is over (or never began): nothing open, no write pending, its
    place in the write gate given back."""
    info[_OPEN] = False
    info.pop(_PENDING, None)
    release_gate(info)


def _skip_idle_rollbacks(engine: AsyncEngine) -> None:
    """A read-only session never opened a transaction, a request session that never wrote did not
    either, and a committed one has none left when the pool resets the connection on return: only
    roll back (or commit) when a transaction we began is open, and give the write gate back either
    way. A connection we know nothing about (no flag) is rolled back, to be safe."""
    dialect = engine.sync_engine.dialect

    def info_of(dbapi_connection: Any) -> dict[Any, Any]:
        try:
            return dbapi_connection.info  # type: ignore[no-any-return]
        except (AttributeError, NotImplementedError):  # an ad-hoc connection (dialect start-up)
            return {}

    def only_if_open(end: Any) -> Any:
        def do_end(dbapi_connection: Any) -> None:
            info = info_of(dbapi_connection)
            try:
                if info.get(_OPEN, True):
                    end(dbapi_connection)
            finally:
                _ended(info)
        return do_end

    dialect.do_rollback = only_if_open(dialect.do_rollback)  # type: ignore[method-assign]
    dialect.do_commit = only_if_open(dialect.do_commit)  # type: ignore[method-assign]


def make_engine(url: str, *, echo: bool = False, timeout_s: float = 30.0) -> AsyncEngine:
    """`timeout_s` bounds how long a request waits for the database: SQLite's lock (busy timeout),
    PostgreSQL's pool and connection set-up. Past it the request fails, and core/http answers
    503 SERVICE_UNAVAILABLE (core/availability) instead of hanging."""
    if url.startswith("sqlite"):
        # Statements run in the loop's thread (core/sqlite_inline), not in one aiosqlite thread each.
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": timeout_s}, module=sqlite_inline.dbapi())
        event.listen(engine.sync_engine, "connect", partial(_load_spatialite, busy_ms=int(timeout_s * 1000)))
        gate = WriteGate(timeout_s, engine.url.database)
        event.listen(engine.sync_engine, "begin", partial(_begin_immediate, gate=gate))
        event.listen(engine.sync_engine, "before_cursor_execute", partial(_lock_on_write, gate=gate))
        _skip_idle_rollbacks(engine)
        # A connection that ends without COMMIT or ROLLBACK (invalidated after an error, closed,
        # garbage-collected) ends its transaction too: its place in the gate goes with it.
        for name in ("invalidate", "soft_invalidate", "close", "checkin"):
            event.listen(engine.sync_engine.pool, name, _release_record)
        return engine
    # No pre-ping: it costs a round trip on every checkout. A connection that died while idle in
    # the pool (a database restart) fails that request's first statement instead, which core/http
    # answers 503 + Retry-After; SQLAlchemy invalidates it on the disconnect error, so the next
    # checkout gets a fresh one and the service recovers alone. `pool_recycle` retires connections
    # before typical server/firewall idle limits.
    # A connection opened under load is expensive twice: its set-up (TLS, authentication) and its
    # empty prepared-statement cache, which makes every statement a Parse round trip again. The
    # pool therefore keeps what a busy worker needs (20) and overflows little; the statement cache
    # (asyncpg's LRU, 100 by default) holds every distinct statement the app issues.
    return create_async_engine(url, echo=echo, pool_size=20, max_overflow=10, pool_recycle=1800,
                               pool_timeout=timeout_s,
                               connect_args={"timeout": min(timeout_s, 5.0), "prepared_statement_cache_size": 1000})


READ_ONLY_OPTION = "fieldcheck_read_only"
LOCK_ON_WRITE_OPTION = "fieldcheck_lock_on_write"


def make_sessionmaker(engine: AsyncEngine, *, read_only: bool = False,
                      lock_on_write: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions for a unit of work. `read_only` ones are for handlers that run single-statement
    reads: on SQLite they run in autocommit mode without the write lock; on PostgreSQL in
    AUTOCOMMIT, so a read costs its statements and no BEGIN/ROLLBACK round trips.
    `lock_on_write` (request sessions; SQLite): the write lock is taken at the first write, not at
    the first statement (_lock_on_write); other sessions (the CLI, migrations, the sequencer) hold
    it from their first statement, so everything they read stays true until they commit."""
    bind = engine
    if read_only:
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        bind = engine.execution_options(**options)
    elif lock_on_write and engine.dialect.name == "sqlite":
        bind = engine.execution_options(**{LOCK_ON_WRITE_OPTION: True})
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any exception."""
    async with maker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
