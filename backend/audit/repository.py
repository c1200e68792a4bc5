"""All SQL of the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.models import AuditEntry

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


async def page(session: AsyncSession, after: int, limit: int) -> Sequence[AuditEntry]:
    result = await session.execute(
        select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit)
    )
    return result.scalars().all()


async def leaf_hashes(session: AsyncSession, upto: int | None = None) -> list[bytes]:
    query = select(AuditEntry.leaf_hash).order_by(AuditEntry.seq)
    if upto is not None:
        query = query.where(AuditEntry.seq <= upto)
    return [bytes.fromhex(h) for h in (await session.execute(query)).scalars()]
