"""All SQL of the audit log: pending entries, the sequenced log, tiles and checkpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Row,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditCheckpoint, AuditEntry, AuditPending, AuditTile
from backend.core import deferred
from backend.personnel.models import Agency, Person

# Any constants work; they only have to be the same for every process on this database.
#: Held (transaction-level) by every sequencer round, so rounds never overlap, whoever runs them.
ROUND_LOCK_KEY = 0x46434B524E44  # "FCKRND"
#: Held (session-level, on a dedicated connection) by the one process that runs the sequencer loop.
LEADER_LOCK_KEY = 0x46434B4C4452  # "FCKLDR"

_DELETE_CHUNK = 500


# --- Pending entries (the request path) ---

def add_pending(session: AsyncSession, **values: Any) -> None:
    # With the transaction; at its end when the caller defers inserts (core/deferred.py).
    deferred.add_row(session, AuditPending, **values)


# The sequencer's statements are Core, on the tables: a round moves hundreds of rows, and loading
# them as ORM objects and flushing new ones cost more than the SQL (the round's per-entry cost
# halved). `data` never passes through Python: a leaf hashes `data_sha256`, and the database copies
# the JSON from the pending row to the entry (it may be large: a sync batch's entry lists its ops).
_PENDING: Table = AuditPending.__table__  # type: ignore[assignment]  # declarative: always a Table
_ENTRIES: Table = AuditEntry.__table__  # type: ignore[assignment]
_PENDING_BATCH = (select(_PENDING.c.id, _PENDING.c.at, _PENDING.c.actor, _PENDING.c.action, _PENDING.c.subject,
                         _PENDING.c.data_sha256)
                  .order_by(_PENDING.c.id).limit(bindparam("limit")))
_MOVE = insert(_ENTRIES).from_select(
    ["seq", "at", "actor", "action", "subject", "data", "data_sha256", "leaf_hash", "prev_hash", "hash"],
    select(bindparam("seq", type_=BigInteger), _PENDING.c.at, _PENDING.c.actor, _PENDING.c.action,
           _PENDING.c.subject, _PENDING.c.data, _PENDING.c.data_sha256, bindparam("leaf_hash", type_=String),
           bindparam("prev_hash", type_=String), bindparam("hash", type_=String))
    .where(_PENDING.c.id == bindparam("pending_id")))
_HEAD = select(_ENTRIES.c.seq, _ENTRIES.c.hash).order_by(_ENTRIES.c.seq.desc()).limit(1)


async def pending_batch(session: AsyncSession, limit: int) -> Sequence[Row[int, datetime, str, str, str, str]]:
    """The oldest pending entries (id, at, actor, action, subject, data_sha256), in id order."""
    return (await session.execute(_PENDING_BATCH, {"limit": limit})).all()


async def move_pending(session: AsyncSession, moves: Sequence[dict[str, Any]]) -> None:
    """Insert each pending entry as a sequenced one: `moves` are {pending_id, seq, leaf_hash,
    prev_hash, hash}, seqs consecutive; the entry's content and data come from its pending row.

    An INSERT ... SELECT whose pending row is gone inserts nothing and fails nowhere, which would
    leave a gap under a signed checkpoint. Nothing but a round deletes pending rows and rounds
    never overlap (the round lock), so that cannot happen; the count below makes sure of it: a
    short count raises, and the round rolls back whole."""
    if not moves:
        return
    await session.execute(_MOVE, list(moves))
    first, last = moves[0]["seq"], moves[-1]["seq"]
    moved = (await session.execute(select(func.count()).select_from(_ENTRIES)
                                   .where(_ENTRIES.c.seq.between(first, last)))).scalar_one()
    if moved != len(moves) or last - first + 1 != len(moves):
        raise RuntimeError(f"audit round moved {moved} of {len(moves)} pending entries (seq {first}..{last})")


async def delete_pending(session: AsyncSession, ids: Sequence[int]) -> None:
    # By exact id, never by range: a row with a lower id may commit after this batch was read.
    for start in range(0, len(ids), _DELETE_CHUNK):
        await session.execute(delete(_PENDING).where(_PENDING.c.id.in_(ids[start:start + _DELETE_CHUNK])))


async def any_pending(session: AsyncSession) -> bool:
    return (await session.execute(select(AuditPending.id).limit(1))).first() is not None


async def latest_pending_for_subject(session: AsyncSession, subject: str) -> AuditPending | None:
    result = await session.execute(
        select(AuditPending).where(AuditPending.subject == subject).order_by(AuditPending.id.desc()).limit(1)
    )
    return result.scalar_one_or_none()


# --- The sequencer's locks ---

async def lock_round(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ROUND_LOCK_KEY})
    # SQLite: the transaction began IMMEDIATE and already holds the database's write lock.


# --- The sequenced log ---

async def head(session: AsyncSession) -> Row[int, str] | None:
    """The last sequenced entry's (seq, hash), or None for an empty log."""
    return (await session.execute(_HEAD)).first()


async def iterate(session: AsyncSession, after: int = 0, batch: int = 2000) -> AsyncIterator[AuditEntry]:
    """Entries with seq > after, in seq order, a page at a time (constant memory)."""
    last = after
    while True:
        rows = (await session.execute(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        )).scalars().all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq
        # Pages are read and dropped: the identity map must not keep every entry alive.
        session.expunge_all()


async def page(session: AsyncSession, after: int, limit: int,
               actors_under: str | None = None) -> Sequence[AuditEntry]:
    """Entries after `after`. With `actors_under` (an agency path), only those whose actor is a
    person of that agency or one below it: the jurisdiction of a reader below the province."""
    query = select(AuditEntry).where(AuditEntry.seq > after)
    if actors_under is not None:
        people = select(Person.id).join(Agency, Agency.code == Person.agency_code).where(
            Agency.path.startswith(actors_under, autoescape=True))
        if session.get_bind().dialect.name == "postgresql":
            query = query.where(AuditEntry.actor.in_(select(cast(people.subquery().c.id, String))))
        else:
            # SQLite keeps UUIDs as 32 hex digits; actors are written with dashes.
            query = query.where(func.replace(AuditEntry.actor, "-", "").in_(people))
    result = await session.execute(query.order_by(AuditEntry.seq).limit(limit))
    return result.scalars().all()


async def size(session: AsyncSession) -> int:
    """Number of entries (seqs are 1..n without gaps; `verify` checks that)."""
    value = (await session.execute(select(func.max(AuditEntry.seq)))).scalar_one_or_none()
    return int(value or 0)


async def leaf_hashes_between(session: AsyncSession, after: int, upto: int) -> list[bytes]:
    """Leaf hashes of seqs after < seq <= upto, in order."""
    query = (select(AuditEntry.leaf_hash).where(AuditEntry.seq > after, AuditEntry.seq <= upto)
             .order_by(AuditEntry.seq))
    return [bytes.fromhex(h) for h in (await session.execute(query)).scalars()]


async def entry(session: AsyncSession, seq: int) -> AuditEntry | None:
    return await session.get(AuditEntry, seq)


async def latest_for_subject(session: AsyncSession, subject: str) -> AuditEntry | None:
    result = await session.execute(
        select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.seq.desc()).limit(1)
    )
    return result.scalar_one_or_none()


# --- Tiles ---

async def full_tile_count(session: AsyncSession, level: int) -> int:
    value = (await session.execute(select(func.max(AuditTile.idx)).where(AuditTile.level == level))).scalar()
    return 0 if value is None else int(value) + 1


async def tile_roots(session: AsyncSession, level: int, first: int, last: int) -> list[bytes]:
    """Roots of the full tiles of `level` with first <= idx <= last, in order."""
    query = (select(AuditTile.root).where(AuditTile.level == level, AuditTile.idx >= first,
                                          AuditTile.idx <= last).order_by(AuditTile.idx))
    return [bytes(r) for r in (await session.execute(query)).scalars()]


async def add_tiles(session: AsyncSession, tiles: Sequence[AuditTile]) -> None:
    session.add_all(tiles)
    await session.flush()


async def full_tiles(session: AsyncSession, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    wanted = list(keys)
    if not wanted:
        return {}
    query = select(AuditTile.level, AuditTile.idx, AuditTile.hashes).where(
        or_(*(and_(AuditTile.level == level, AuditTile.idx == idx) for level, idx in wanted)))
    return {(int(level), int(idx)): bytes(hashes) for level, idx, hashes in (await session.execute(query)).all()}


async def tile_rows(session: AsyncSession, full: Iterable[tuple[int, int]],
                    roots_of: Iterable[tuple[int, int, int]]) -> tuple[dict[tuple[int, int], bytes],
                                                                       dict[tuple[int, int], bytes]]:
    """In one query: the hashes of the tiles `full` ((level, idx)), and the roots of the tiles of
    `roots_of` ((level, first idx, last idx)). Returns ({(level, idx): hashes}, {(level, idx): root});
    a tile's 8 KiB of hashes is only read where asked for."""
    full_conds = [and_(AuditTile.level == level, AuditTile.idx == idx) for level, idx in full]
    root_conds = [and_(AuditTile.level == level, AuditTile.idx >= first, AuditTile.idx <= last)
                  for level, first, last in roots_of]
    if not full_conds and not root_conds:
        return {}, {}
    wanted_hashes = case((or_(*full_conds), AuditTile.hashes), else_=None) if full_conds else null()
    query = select(AuditTile.level, AuditTile.idx, AuditTile.root, wanted_hashes).where(or_(*full_conds, *root_conds))
    blobs: dict[tuple[int, int], bytes] = {}
    roots: dict[tuple[int, int], bytes] = {}
    for level, idx, root, hashes in (await session.execute(query)).all():
        roots[(int(level), int(idx))] = bytes(root)
        if hashes is not None:
            blobs[(int(level), int(idx))] = bytes(hashes)
    return blobs, roots


async def tiles_of_level(session: AsyncSession, level: int, first: int, limit: int) -> Sequence[AuditTile]:
    query = (select(AuditTile).where(AuditTile.level == level, AuditTile.idx >= first)
             .order_by(AuditTile.idx).limit(limit))
    return (await session.execute(query)).scalars().all()


async def tile_levels(session: AsyncSession) -> dict[int, int]:
    """{level: number of stored tiles} (each level's idx must run 0..count-1)."""
    query = select(AuditTile.level, func.count(), func.max(AuditTile.idx)).group_by(AuditTile.level)
    return {int(level): max(int(count), int(top) + 1) for level, count, top in (await session.execute(query)).all()}


# --- Checkpoints ---

async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def checkpoint_at(session: AsyncSession, tree_size: int) -> AuditCheckpoint | None:
    return await session.get(AuditCheckpoint, tree_size)


async def checkpoints_after(session: AsyncSession, after: int, limit: int) -> Sequence[AuditCheckpoint]:
    query = (select(AuditCheckpoint).where(AuditCheckpoint.tree_size > after)
             .order_by(AuditCheckpoint.tree_size).limit(limit))
    return (await session.execute(query)).scalars().all()


async def add_checkpoint(session: AsyncSession, checkpoint: AuditCheckpoint) -> None:
    session.add(checkpoint)
    await session.flush()
