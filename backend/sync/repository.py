"""All SQL of offline sync: claiming an op, storing its first result, reading it back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.sync.models import SyncOp


async def get(session: AsyncSession, op_id: uuid.UUID) -> SyncOp | None:
    result = await session.execute(select(SyncOp).where(SyncOp.op_id == op_id).execution_options(
        populate_existing=True))
    return result.scalar_one_or_none()


async def claim(session: AsyncSession, row: SyncOp) -> None:
    """Insert a claim; raises IntegrityError (at flush) when the op_id exists. Of two concurrent
    claimers the primary key lets one win: on PostgreSQL the second insert waits for the first
    transaction, then fails; on SQLite writers are serialised by BEGIN IMMEDIATE."""
    session.add(row)
    await session.flush()


async def insert(session: AsyncSession, row: SyncOp) -> bool:
    """Insert the op's row; False when the op_id exists (the primary key decides between racers:
    on PostgreSQL the second insert waits for the first transaction, then fails)."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def complete(session: AsyncSession, op_id: uuid.UUID, token: str, status: int, response: Any,
                   applied_at: datetime) -> bool:
    """Store the first result, if we still hold the claim."""
    result = await session.execute(
        update(SyncOp)
        .where(SyncOp.op_id == op_id, SyncOp.claim_token == token, SyncOp.status_code.is_(None))
        .values(status_code=status, response=response, applied_at=applied_at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def release(session: AsyncSession, op_id: uuid.UUID, token: str) -> None:
    """Give a claim up without a result (a transient failure): the op may be sent again."""
    await session.execute(
        delete(SyncOp).where(SyncOp.op_id == op_id, SyncOp.claim_token == token, SyncOp.status_code.is_(None))
    )


async def take_over(session: AsyncSession, op_id: uuid.UUID, old_token: str, new_token: str, now: datetime,
                    stale_before: datetime) -> bool:
    """Take over a pending claim whose holder has been silent since before `stale_before` (it crashed)."""
    result = await session.execute(
        update(SyncOp)
        .where(SyncOp.op_id == op_id, SyncOp.claim_token == old_token, SyncOp.status_code.is_(None),
               SyncOp.claimed_at < stale_before)
        .values(claim_token=new_token, claimed_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
