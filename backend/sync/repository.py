"""All SQL of offline sync: the op ledger (read a chunk's rows at once, insert an op's row with its
result, read one back)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.sync.models import SyncOp


async def get(session: AsyncSession, op_id: uuid.UUID) -> SyncOp | None:
    result = await session.execute(select(SyncOp).where(SyncOp.op_id == op_id).execution_options(
        populate_existing=True))
    return result.scalar_one_or_none()


async def get_many(session: AsyncSession, op_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, SyncOp]:
    """The ledger rows of these op_ids that exist (one statement for a whole chunk)."""
    ids = list(op_ids)
    if not ids:
        return {}
    result = await session.execute(select(SyncOp).where(SyncOp.op_id.in_(ids)).execution_options(
        populate_existing=True))
    return {row.op_id: row for row in result.scalars()}


async def insert(session: AsyncSession, row: SyncOp) -> None:
    """Insert an op's row; IntegrityError (at flush) when the op_id exists. On PostgreSQL a
    concurrent transaction holding the same op_id makes this wait for it, then fail."""
    session.add(row)
    await session.flush()
    # The row is written for good with this transaction; the session need not track it further.
    session.expunge(row)
