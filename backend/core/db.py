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

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

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


def _begin_immediate(conn: Any) -> None:
    # A deferred SQLite transaction that reads and then writes can fail with SQLITE_BUSY without
    # waiting, when another connection wrote in between. Taking the write lock at BEGIN makes
    # writers queue on busy_timeout instead, and keeps the audit chain strictly serial.
    # Read-only sessions (public verification, health) open no transaction at all: each of their
    # statements reads a consistent snapshot on its own, never queues behind writers, and saves
    # the BEGIN/ROLLBACK round trips through aiosqlite's thread.
    if not conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False, timeout_s: float = 30.0) -> AsyncEngine:
    """`timeout_s` bounds how long a request waits for the database: SQLite's lock (busy timeout),
    PostgreSQL's pool and connection set-up. Past it the request fails, and core/http answers
    503 SERVICE_UNAVAILABLE (core/availability) instead of hanging."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": timeout_s})
        event.listen(engine.sync_engine, "connect", partial(_load_spatialite, busy_ms=int(timeout_s * 1000)))
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    # pool_pre_ping replaces connections a database restart killed, so the service recovers alone.
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True,
                               pool_timeout=timeout_s, connect_args={"timeout": min(timeout_s, 5.0)})


READ_ONLY_OPTION = "fieldcheck_read_only"


def make_sessionmaker(engine: AsyncEngine, *, read_only: bool = False) -> async_sessionmaker[AsyncSession]:
    """Sessions for a unit of work. `read_only` ones are for handlers that run single-statement
    reads: on SQLite they run in autocommit mode without the write lock."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
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
