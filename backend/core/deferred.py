"""Rows that a transaction running many commands inserts at its end, a few statements for all of
them, instead of one INSERT each (offline sync: a chunk of ops writes an audit entry, an
idempotency record and a ledger row per op). Only for rows nothing reads back inside the same
transaction except through `pending()`.

A savepoint rolled back drops the rows deferred inside it, exactly as it would have removed them
had they been inserted at once: a refused op leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "fieldcheck.deferred_inserts"


class _Deferred:
    __slots__ = ("marks", "rows")

    def __init__(self) -> None:
        self.rows: list[Any] = []
        #: Savepoints opened while deferring, with how many rows were deferred before them.
        self.marks: dict[SessionTransaction, int] = {}


def defer_inserts(session: AsyncSession) -> None:
    """From now on `add()` on this session defers its rows until `flush_deferred()`."""
    session.info[_KEY] = _Deferred()


def deferring(session: AsyncSession) -> bool:
    return _KEY in session.info


def add(session: AsyncSession, obj: Any) -> None:
    """Insert `obj` with the transaction: deferred when the session defers, else added now (and
    flushed with the session's next flush)."""
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is None:
        session.add(obj)
    else:
        deferred.rows.append(obj)


def pending(session: AsyncSession, cls: type[Any]) -> Iterator[Any]:
    """The rows of `cls` deferred and not yet inserted (for lookups inside the transaction)."""
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is not None:
        yield from (row for row in deferred.rows if isinstance(row, cls))


async def flush_deferred(session: AsyncSession) -> None:
    """Insert every deferred row: one executemany INSERT per table, in the order deferred."""
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is None or not deferred.rows:
        return
    await session.flush()  # anything the deferred rows may refer to
    rows, deferred.rows = deferred.rows, []
    deferred.marks.clear()
    by_class: dict[type[Any], list[Any]] = {}
    for row in rows:
        by_class.setdefault(type(row), []).append(row)
    for cls, objs in by_class.items():
        # Attributes never set in any row (a database-generated key) are left to the database.
        keys = [attr.key for attr in inspect(cls).column_attrs
                if any(getattr(obj, attr.key) is not None for obj in objs)]
        await session.execute(insert(cls), [{k: getattr(obj, k) for k in keys} for obj in objs])


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is not None and transaction.nested:
        deferred.marks[transaction] = len(deferred.rows)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is None:
        return
    # A flush that fails rolls back its subtransaction, and with it the nearest savepoint (or the
    # whole transaction) around it, for which no event of its own may follow: drop what was
    # deferred since that one began, no more.
    boundary = previous_transaction
    while boundary.parent is not None and not boundary.nested:
        boundary = boundary.parent
    mark = deferred.marks.pop(boundary, None)
    if mark is None and boundary.parent is None:
        mark = 0  # the whole transaction
    if mark is not None:
        del deferred.rows[mark:]
