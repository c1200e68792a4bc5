"""SQLite's write lock queued in this process (core/writegate.py): writers are served in the order
they asked, the gate is given back however a transaction ends, and the wait is bounded by the
database timeout in all. SQLite only: PostgreSQL has row locks and no such gate."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, select, table, text, update
from sqlalchemy.exc import OperationalError

from backend.core.availability import is_database_unavailable
from backend.core.db import make_engine, make_sessionmaker
from backend.core.writegate import is_write


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Any:
    path = tmp_path / "gate.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}", timeout_s=2.0)
    async with engine.connect() as conn:
        await conn.execute(text("CREATE TABLE t (who TEXT)"))
        await conn.commit()
    yield engine, path
    await engine.dispose()


async def test_writers_get_the_lock_in_the_order_they_asked(sqlite_db: Any) -> None:
    engine, _ = sqlite_db
    maker = make_sessionmaker(engine)
    order: list[int] = []
    holder = maker()
    await holder.execute(text("INSERT INTO t VALUES ('holder')"))  # holds the write lock

    async def writer(i: int) -> None:
        async with maker() as session:
            await session.execute(text("INSERT INTO t VALUES (:w)"), {"w": str(i)})
            order.append(i)
            await asyncio.sleep(0.001)  # a writer that yields while it holds the lock
            await session.commit()

    tasks = []
    for i in range(12):
        tasks.append(asyncio.create_task(writer(i)))
        await asyncio.sleep(0.01)  # each has queued before the next starts
    await asyncio.sleep(0.2)
    assert order == []  # all wait behind the holder
    await holder.commit()
    await holder.close()
    await asyncio.gather(*tasks)
    assert order == list(range(12))
    async with maker() as session:
        assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 13


async def test_the_gate_is_given_back_after_rollback_error_and_invalidation(sqlite_db: Any) -> None:
    engine, _ = sqlite_db
    maker = make_sessionmaker(engine)
    async with maker() as session:  # an exception inside: rolled back
        await session.execute(text("INSERT INTO t VALUES ('a')"))
        with pytest.raises(OperationalError):
            await session.execute(text("INSERT INTO missing VALUES (1)"))
        await session.rollback()
    async with maker() as session:  # closed without commit or rollback
        await session.execute(text("INSERT INTO t VALUES ('b')"))
    session = maker()
    await session.execute(text("INSERT INTO t VALUES ('c')"))
    conn = await session.connection()
    await conn.invalidate()  # the connection is thrown away mid-transaction
    await session.close()
    async with asyncio.timeout(1.0), maker() as session:  # none of the above kept the gate
        await session.execute(text("INSERT INTO t VALUES ('d')"))
        await session.commit()
    async with maker() as session:
        assert (await session.execute(text("SELECT who FROM t"))).scalars().all() == ["d"]


async def test_a_queued_writer_waits_no_longer_than_the_timeout_in_all(sqlite_db: Any) -> None:
    """The file is held by another process (here: another connection outside the engine). The first
    writer waits in SQLite's busy handler, the second in the gate; both fail at about the timeout
    (2 s), the second not after twice that, and both as "unavailable" (503)."""
    engine, path = sqlite_db
    maker = make_sessionmaker(engine)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async def writer() -> float:
            started = time.monotonic()
            async with maker() as session:
                with pytest.raises(OperationalError) as caught:
                    await session.execute(text("INSERT INTO t VALUES ('x')"))
                assert is_database_unavailable(caught.value)
            return time.monotonic() - started

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        first = asyncio.create_task(writer())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(writer())
        waited = await asyncio.gather(first, second)
        ticking.cancel()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert 1.8 < waited[0] < 3.0
    assert 1.8 < waited[1] < 3.0  # without the shortened busy timeout: ≈ 4 s
    # The busy wait ran in a thread (core/sqlite_inline): the loop went on meanwhile (≈ 200 ticks).
    assert ticks > 50
    async with maker() as session:  # and the database is usable again at once
        await session.execute(text("INSERT INTO t VALUES ('y')"))
        await session.commit()


async def test_read_only_sessions_do_not_queue_behind_writers(sqlite_db: Any) -> None:
    engine, _ = sqlite_db
    maker, reader = make_sessionmaker(engine), make_sessionmaker(engine, read_only=True)
    async with maker() as holder:
        await holder.execute(text("INSERT INTO t VALUES ('w')"))
        async with asyncio.timeout(0.5), reader() as session:
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
        await holder.commit()


async def test_a_request_session_reads_without_the_lock_and_takes_it_at_its_first_write(sqlite_db: Any) -> None:
    engine, _ = sqlite_db
    maker, request = make_sessionmaker(engine), make_sessionmaker(engine, lock_on_write=True)
    holder = maker()
    await holder.execute(text("INSERT INTO t VALUES ('holder')"))
    try:
        async with request() as session:
            async with asyncio.timeout(0.5):  # reads go past a writer holding the lock
                assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
            write = asyncio.create_task(session.execute(text("INSERT INTO t VALUES ('request')")))
            await asyncio.sleep(0.2)
            assert not write.done()  # the first write waits for the lock
            await holder.commit()
            await write
            # From its first write on, the session reads inside its transaction.
            assert (await session.execute(text("SELECT count(*) FROM t"))).scalar_one() == 2
            await session.commit()
    finally:
        await holder.close()


@pytest.mark.parametrize("statement", ["select_for_update", "savepoint", "orm_update"])
async def test_locking_reads_and_savepoints_take_the_lock_like_writes(sqlite_db: Any, statement: str) -> None:
    """Where PostgreSQL locks rows it reads (FOR UPDATE), SQLite's request session must hold the
    write lock from that read on; a SAVEPOINT outside a transaction would open a deferred one."""
    engine, _ = sqlite_db
    t = table("t", column("who"))
    request = make_sessionmaker(engine, lock_on_write=True)
    other = make_sessionmaker(engine)
    async with request() as session:
        if statement == "select_for_update":
            await session.execute(select(t.c.who).with_for_update())
        elif statement == "savepoint":
            await session.begin_nested()
            await session.execute(text("SELECT 1"))  # SQLAlchemy emits SAVEPOINT just before it
        else:
            await session.execute(update(t).values(who="x"))
        blocked = asyncio.create_task(_write_once(other))
        await asyncio.sleep(0.2)
        assert not blocked.done()  # the lock is held from that statement on
        await session.commit()
        await blocked


async def _write_once(maker: Any) -> None:
    async with maker() as session:
        await session.execute(text("INSERT INTO t VALUES ('other')"))
        await session.commit()


def test_what_counts_as_a_write() -> None:
    for sql in ("INSERT INTO t VALUES (1)", "update t set a=1", " DELETE FROM t", "CREATE TABLE x (a)",
                "SAVEPOINT sa_1", "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", "REPLACE INTO t VALUES (1)"):
        assert is_write(sql, None), sql
    for sql in ("SELECT 1", "  select * from t", "PRAGMA busy_timeout", "EXPLAIN QUERY PLAN SELECT 1", "VALUES (1)"):
        assert not is_write(sql, None), sql
