"""SQLite's write lock, queued fairly: first inside one process, then between processes.

Every write transaction on SQLite begins with `BEGIN IMMEDIATE` (core/db): it takes the database's
one write lock or waits for it. SQLite's own wait is a busy handler that sleeps 1, 2, 5, 10, … up to
100 ms between tries, in the connection's thread, with no queue: when the holder commits, nobody is
woken, and whichever try comes next wins. A worker whose writers follow each other back to back
keeps the lock while the other worker's writer sleeps, and forty requests waiting that way are
served in no order at all (the soak: events p95 2.5 s with a median of 100 ms).

The gate is two locks taken before `BEGIN IMMEDIATE` and given back when the transaction ends
(commit, rollback, or the connection invalidated or closed):

1. an `asyncio.Lock` of the process (first come, first served): waiters of one worker wait in the
   event loop at no cost, in order, and only one of them goes on to step 2;
2. an exclusive `flock` on a file beside the database (`<database>-writegate`), which the kernel
   hands to a waiting process the moment the holder lets go: the one writer each worker (and the
   audit sequencer) sends forward takes turns with the others instead of polling. A process that
   dies lets go of it with its file descriptors.

So SQLite's busy handler only ever waits for a process outside Fieldcheck (a backup, a manual
`sqlite3` session, an older server). The gate blocks nothing that SQLite would not have blocked: a
second write transaction on the same database waits for the first either way. The whole wait is
bounded by the database timeout like the busy handler's (past it: `sqlite3.OperationalError
("database is locked …")`, which core/availability answers with 503 + Retry-After); time spent in
the gate is taken off the busy timeout of the `BEGIN IMMEDIATE` that follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.sql import CompoundSelect, Select, TextClause
from sqlalchemy.util import await_only

#: conn.info keys: the process lock and the file turn this connection's open transaction holds.
_HELD = "fieldcheck_write_gate"
_TURN = "fieldcheck_write_turn"
#: conn.info key: the busy timeout was shortened for one BEGIN and must be restored.
_SHORTENED = "fieldcheck_busy_shortened"
#: Below this, time spent queued is not worth a PRAGMA to shorten the busy timeout.
_SHORTEN_AFTER_S = 0.5


def _locked(reason: str) -> sqlite3.OperationalError:
    return sqlite3.OperationalError(f"database is locked ({reason})")


class _FileTurn:
    """One attempt at the file lock, on a descriptor of its own: an attempt given up (timeout,
    cancelled request) whose thread gets the lock later closes it at once, and can never release
    the lock of a later holder."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._mutex = threading.Lock()
        self._state = "waiting"  # → "held" (by the request) or "abandoned" (nobody wants it)

    def try_now(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._state = "held"
        return True

    async def wait(self, budget_s: float) -> None:
        """Wait up to `budget_s` in a daemon thread (one that can never hold up the interpreter's
        exit); raise `database is locked` past it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[OSError | None] = loop.create_future()

        def settle(error: OSError | None) -> None:
            if not done.done():
                done.set_result(error)

        def run() -> None:
            error: OSError | None = None
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            except OSError as exc:
                error = exc
            with self._mutex:
                if self._state == "abandoned" or error is not None:
                    os.close(self.fd)
                else:
                    self._state = "held"
            with contextlib.suppress(RuntimeError):  # the loop is gone: so is the request
                loop.call_soon_threadsafe(settle, error)

        threading.Thread(target=run, name="fieldcheck-writegate", daemon=True).start()
        try:
            async with asyncio.timeout(budget_s):
                error = await done
        except BaseException as exc:
            if self.abandon():  # still waiting: its thread closes the descriptor when it gets the lock
                if isinstance(exc, TimeoutError):
                    raise _locked("another worker held the write lock for the whole timeout") from None
                raise
            if not isinstance(exc, TimeoutError):  # got it, but the request was cancelled: the
                raise  # caller's release() lets go of it
            return  # got it just as the time ran out: keep it
        if error is not None:
            raise _locked(f"writer lock file: {error}") from error

    def abandon(self) -> bool:
        """Give up waiting; False when the lock was got meanwhile (it is then ours to close)."""
        with self._mutex:
            if self._state == "held":
                return False
            self._state = "abandoned"
            return True

    def close(self) -> None:
        os.close(self.fd)  # lets go of the lock


class WriteGate:
    """One per SQLite engine: a process lock per event loop (tests and the CLI run several loops)
    and, for a database in a file, the lock file beside it."""

    def __init__(self, timeout_s: float, database: str | None) -> None:
        self.timeout_s = timeout_s
        self.path = f"{database}-writegate" if database and database != ":memory:" else None
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _acquire(self, lock: asyncio.Lock) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await lock.acquire()
        except TimeoutError:
            raise _locked(f"queued {self.timeout_s:g} s behind this process's writers") from None

    def begin(self, info: dict[Any, Any], run: Callable[[str], Any]) -> None:
        """Take the gate, then BEGIN IMMEDIATE. Called inside SQLAlchemy's greenlet (the engine's
        `begin` or `before_cursor_execute` event); `info` is the connection's, `run` executes SQL
        on it."""
        if info.pop(_SHORTENED, False):
            run(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
        lock = self._lock()
        started = time.monotonic()
        await_only(self._acquire(lock))
        info[_HELD] = lock
        try:
            if self.path is not None:
                turn = _FileTurn(self.path)
                info[_TURN] = turn
                if not turn.try_now():
                    await_only(turn.wait(max(0.001, self.timeout_s - (time.monotonic() - started))))
            waited = time.monotonic() - started
            if waited > _SHORTEN_AFTER_S:
                remaining_ms = max(1, int((self.timeout_s - waited) * 1000))
                run(f"PRAGMA busy_timeout={remaining_ms}")
                info[_SHORTENED] = True
            run("BEGIN IMMEDIATE")
        except BaseException:
            release(info)
            raise


_READS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "VALUES"})


def is_write(statement: str, context: Any) -> bool:
    """Whether a statement needs the write lock: anything but a plain read. `SELECT … FOR UPDATE`
    counts as a write: where PostgreSQL locks the rows it reads, SQLite must hold its write lock
    from that read on (SQLite's dialect drops the clause; the statement object still has it).
    Savepoints count too: outside a transaction, SAVEPOINT would open a deferred one."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None:
        stmt = compiled.statement
        if isinstance(stmt, Select | CompoundSelect):
            return getattr(stmt, "_for_update_arg", None) is not None
        if not isinstance(stmt, TextClause):
            return True  # INSERT, UPDATE, DELETE, DDL, SAVEPOINT
    words = statement.lstrip()[:8].split(maxsplit=1)
    return not words or words[0].upper() not in _READS


def release(info: dict[Any, Any]) -> None:
    """Give the gate back if this connection's transaction holds it (idempotent): the file lock
    first, so the next writer of this process queues behind the other processes' again."""
    turn = info.pop(_TURN, None)
    if turn is not None and not turn.abandon():
        turn.close()
    lock = info.pop(_HELD, None)
    if lock is not None and lock.locked():
        with contextlib.suppress(RuntimeError):  # released already (cannot happen; never worth a 500)
            lock.release()
