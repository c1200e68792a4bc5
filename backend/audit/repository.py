"""All SQL of the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import String, cast, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEntry
from backend.personnel.models import Agency, Person
from backend.sync.models import AuditCheckpoint

# Any constant works; it only has to be the same for every writer of this database.
_AUDIT_LOCK_KEY = 0x46434B41554454  # "FCKAUDT"


async def lock_chain(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
    # SQLite: the transaction began IMMEDIATE and already holds the database's write lock.


async def head(session: AsyncSession) -> AuditEntry | None:
    result = await session.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    return result.scalar_one_or_none()


async def add(session: AsyncSession, entry: AuditEntry) -> None:
    session.add(entry)
    await session.flush()


async def iterate(session: AsyncSession, batch: int = 2000) -> AsyncIterator[AuditEntry]:
    last = 0
    while True:
        rows = (await session.execute(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        )).scalars().all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1].seq


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


async def leaf_hashes(session: AsyncSession, upto: int | None = None) -> list[bytes]:
    query = select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)
    if upto is not None:
        query = query.where(AuditEntry.seq <= upto)
    return [bytes.fromhex(h) for h in (await session.execute(query)).scalars()]


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


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    query = select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    result = await session.execute(query)
    return result.scalar_one_or_none()


async def checkpoint_at(session: AsyncSession, tree_size: int) -> AuditCheckpoint | None:
    return await session.get(AuditCheckpoint, tree_size)


async def checkpoints(session: AsyncSession) -> Sequence[AuditCheckpoint]:
    result = await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size))
    return result.scalars().all()


async def insert_checkpoint(session: AsyncSession, checkpoint: AuditCheckpoint) -> bool:
    """Store an issued checkpoint; False when another request stored one of that size first."""
    try:
        async with session.begin_nested():
            session.add(checkpoint)
            await session.flush()
    except IntegrityError:
        return False
    return True
