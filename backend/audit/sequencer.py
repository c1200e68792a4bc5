"""The sequencer: integrates pending audit entries into the log, in batches.

One round, in one short transaction: take the committed pending rows in id order (up to a batch),
give them the next seqs, their leaf hashes and hash-chain links, move them into `audit_entries`,
write the tiles the batch completed, and sign the checkpoint of the new tree. A crash anywhere in the
round rolls the transaction back: nothing is ever half-integrated, and the next round (here or in a
process that took over) starts from the last committed checkpoint.

Rounds never overlap: each takes a transaction-level advisory lock on PostgreSQL (SQLite's write
transaction is already exclusive), so an operator's `fieldcheck audit integrate` and the running
sequencer can coexist. Which process runs the loop is decided separately: on PostgreSQL the holder
of a session-level advisory lock on a dedicated connection (the lock goes with the connection when
its process dies, and another worker, retrying every second, takes over); on SQLite the process
holding an exclusive lock on a file beside the database file.

Commit order is not id order: a pending row with a lower id can commit after a higher one has been
sequenced. It is simply sequenced in a later round; the log's order is the order of integration.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from backend.audit import repository, tiles, witness
from backend.audit.service import (
    GENESIS,
    chain_hash,
    entry_leaf,
    inconsistent,
    leaf_hash,
    make_checkpoint,
    restore,
)
from backend.core.availability import is_database_unavailable
from backend.core.clock import Clock
from backend.core.db import make_sessionmaker
from backend.core.signing import KeyRing
from backend.settings import Settings

log = logging.getLogger("fieldcheck.audit.sequencer")

#: What rounds open sessions with: an async_sessionmaker, or the SQLite polling one below.
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]

#: Entries per round: 10 000 leaves hash in milliseconds; the cap bounds one transaction's size.
BATCH = 10_000


@dataclass(frozen=True)
class RoundResult:
    integrated: int
    tree_size: int
    tiles_written: int
    #: The checkpoint this round signed, if it signed one.
    note: str | None = None


async def integrate_round(session: AsyncSession, *, seal: KeyRing, key_name: str, clock: Clock,
                          batch: int = BATCH) -> RoundResult:
    """One round in the caller's transaction (the caller commits). Signs a checkpoint when entries
    were integrated, or when the log has none for its current size (a fresh or upgraded database)."""
    await repository.lock_round(session)
    latest = await repository.latest_checkpoint(session)
    head = await repository.head(session)
    size = 0 if head is None else head.seq
    if latest is not None and latest.tree_size > size:
        raise inconsistent("The audit log is shorter than a checkpoint already signed",
                           {"tree_size": size, "checkpoint_tree_size": latest.tree_size})
    cr = restore(latest)
    if latest is not None and cr.size != latest.tree_size:
        # The stored frontier does not reproduce its root: rebuild it from the leaves, and refuse to
        # go on from a log that no longer has the root this server signed (that would be a fork).
        cr.extend(await repository.leaf_hashes_between(session, 0, latest.tree_size))
        if cr.root().hex() != latest.root_hash:
            raise inconsistent("The audit log no longer matches its latest signed checkpoint",
                               {"tree_size": latest.tree_size})
    if cr.size < size:
        # Entries sequenced before checkpoints were signed per batch (an upgraded database).
        cr.extend(await repository.leaf_hashes_between(session, cr.size, size))
    if cr.size != size:
        raise inconsistent("The audit log has a gap in its sequence numbers", {"tree_size": size, "leaves": cr.size})
    pending = await repository.pending_batch(session, batch)
    prev = GENESIS if head is None else head.hash
    moves: list[dict[str, object]] = []
    for row in pending:
        seq = cr.size + 1
        leaf = leaf_hash(entry_leaf(seq, row.at, row.actor, row.action, row.subject, row.data_sha256))
        link = chain_hash(prev, leaf)
        moves.append({"pending_id": row.id, "seq": seq, "leaf_hash": leaf, "prev_hash": prev, "hash": link})
        cr.append(bytes.fromhex(leaf))
        prev = link
    if moves:
        await repository.move_pending(session, moves)
        await repository.delete_pending(session, [row.id for row in pending])
    written = await tiles.write_full_tiles(session, cr.size)
    note = None
    if moves or latest is None or latest.tree_size != cr.size:
        checkpoint = make_checkpoint(cr, seal=seal, key_name=key_name, now=clock.now())
        await repository.add_checkpoint(session, checkpoint)
        note = checkpoint.note
    return RoundResult(integrated=len(moves), tree_size=cr.size, tiles_written=written, note=note)


async def integrate_once(maker: SessionFactory, *, seal: KeyRing, settings: Settings,
                         clock: Clock, batch: int = BATCH) -> RoundResult:
    """One committed round, then the witness file updated."""
    async with maker() as session:  # closing it uncommitted (an exception) rolls the round back
        result = await integrate_round(session, seal=seal, key_name=settings.origin, clock=clock, batch=batch)
        await session.commit()
    if result.note is not None:
        witness.publish(settings.witness_path, result.tree_size, result.note)
    elif not settings.witness_path.exists():
        # A node without a witness yet (new data directory): start it from the latest checkpoint.
        async with maker() as session:
            latest = await repository.latest_checkpoint(session)
        if latest is not None:
            witness.publish(settings.witness_path, latest.tree_size, latest.note)
    return result


async def integrate_all(maker: SessionFactory, *, seal: KeyRing, settings: Settings,
                        clock: Clock) -> int:
    """Rounds until nothing committed is pending; returns how many entries were integrated."""
    total = 0
    while True:
        result = await integrate_once(maker, seal=seal, settings=settings, clock=clock)
        total += result.integrated
        if result.integrated < BATCH:
            return total


def round_interval(settings: Settings) -> float:
    """Seconds between rounds: a tenth of the maximum merge delay (100 ms at 1 s), so an entry
    committed just after a round started is integrated well within the delay even when rounds are
    slowed down by a busy machine. An idle round is one indexed query."""
    return max(0.02, settings.audit_max_merge_delay_ms / 10_000)


class Sequencer:
    """The loop `fieldcheck serve` runs in every worker; only the elected one integrates."""

    def __init__(self, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession], *, seal: KeyRing,
                 settings: Settings, clock: Clock) -> None:
        self.engine, self.maker, self.seal, self.settings, self.clock = engine, maker, seal, settings, clock
        self.leading = False

    async def run(self) -> None:
        while True:
            try:
                if self.engine.dialect.name == "postgresql":
                    await self._run_postgresql()
                else:
                    await self._run_sqlite()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_database_unavailable(exc):
                    # An outage, not a bug: one line, no traceback; the loop retries until it is back.
                    log.warning("audit sequencer: database unavailable (%s: %s); retrying in 1 s",
                                type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
                else:
                    log.exception("audit sequencer failed; retrying in 1 s")
            self.leading = False
            await asyncio.sleep(1.0)

    async def _rounds(self, maker: SessionFactory,
                      probe: async_sessionmaker[AsyncSession]) -> None:
        interval = round_interval(self.settings)
        # The first round also signs a checkpoint for a log that has none for its size (a fresh or
        # upgraded database); after that a round runs only when something is pending.
        await integrate_once(maker, seal=self.seal, settings=self.settings, clock=self.clock)
        while True:
            async with probe() as session:
                waiting = await repository.any_pending(session)
            result = None
            if waiting:
                result = await integrate_once(maker, seal=self.seal, settings=self.settings, clock=self.clock)
            if result is None or result.integrated < BATCH:
                await asyncio.sleep(interval)

    async def _run_postgresql(self) -> None:
        async with self.engine.connect() as conn:
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                      {"k": repository.LEADER_LOCK_KEY})).scalar_one()
            await conn.commit()
            if not got:
                return
            self.leading = True
            log.info("audit sequencer: leading (pid %d)", os.getpid())
            # Rounds run on the lock's own connection: if it breaks, the lock is gone and so are we.
            conn_maker = async_sessionmaker(bind=conn, expire_on_commit=False)
            await self._rounds(conn_maker, conn_maker)

    async def _run_sqlite(self) -> None:
        # One sequencer per database file: the lock sits beside it.
        database = self.engine.url.database or str(Path(self.settings.data_dir) / "fieldcheck.db")
        with _file_lock(Path(f"{database}.sequencer.lock")) as held:
            if not held:
                return
            self.leading = True
            log.info("audit sequencer: leading (pid %d)", os.getpid())
            # Rounds queue for the write lock in the worker's write gate like every request
            # (core/writegate: in order within the worker, taking turns with the other workers),
            # not in SQLite's busy handler, which is not fair: under a steady stream of writers a
            # round waited seconds there (merge delays of 2 s were measured at 16 writers).
            await self._rounds(make_sessionmaker(self.engine), make_sessionmaker(self.engine, read_only=True))


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[bytes] = path.open("ab")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        handle.close()  # releases the lock; so does the process dying
