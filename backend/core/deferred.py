"""Rows that a transaction running many commands inserts at its end, a few statements for all of
them, instead of one INSERT each (offline sync: a chunk of ops writes an audit entry, an
idempotency record and a ledger row per op). Only for rows nothing reads back inside the same
transaction except through `pending()`.

Rows are kept as plain column values (`add_row`), not ORM objects: building an instrumented object
and reading it back at the end cost more than the rest of a row's way (three rows an op). They are
inserted with a Core executemany INSERT on the table; outside a deferring transaction `add_row`
adds an ORM object as before.

A savepoint rolled back drops the rows deferred inside it, exactly as it would have removed them
had they been inserted at once: a refused op leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

_KEY = "fieldcheck.deferred_inserts"


class _Deferred:
    __slots__ = ("marks", "rows")

    def __init__(self) -> None:
        #: (mapped class, {attribute: value}) in the order deferred.
        self.rows: list[tuple[type[Any], dict[str, Any]]] = []
        #: Savepoints opened while deferring, with how many rows were deferred before them.
        self.marks: dict[SessionTransaction, int] = {}


def defer_inserts(session: AsyncSession) -> None:
    """From now on `add()` on this session defers its rows until `flush_deferred()`."""
    session.info[_KEY] = _Deferred()


def deferring(session: AsyncSession) -> bool:
    return _KEY in session.info


def add_row(session: AsyncSession, cls: type[Any], **values: Any) -> None:
    """Insert a row of mapped class `cls` (`values` by attribute name) with the transaction:
    deferred when the session defers, else added now as an ORM object (flushed with the session's
    next flush). Deferred, a column that no row of `cls` gives is left to the database (its
    default, a generated key); one that some rows give and others leave out is NULL in those."""
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is None:
        session.add(cls(**values))
    else:
        deferred.rows.append((cls, values))


def pending(session: AsyncSession, cls: type[Any]) -> Iterator[dict[str, Any]]:
    """The values of the rows of `cls` deferred and not yet inserted (for lookups inside the
    transaction)."""
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is not None:
        yield from (values for kind, values in deferred.rows if kind is cls)


_COLUMNS: dict[type[Any], dict[str, str]] = {}


def _columns(cls: type[Any]) -> dict[str, str]:
    """Attribute name -> column key of a mapped class."""
    found = _COLUMNS.get(cls)
    if found is None:
        found = _COLUMNS[cls] = {attr.key: attr.columns[0].key for attr in inspect(cls).column_attrs}
    return found


async def flush_deferred(session: AsyncSession) -> None:
    """Insert every deferred row: one executemany INSERT per table, in the order deferred."""
    deferred: _Deferred | None = session.info.get(_KEY)
    if deferred is None or not deferred.rows:
        return
    await session.flush()  # anything the deferred rows may refer to
    rows, deferred.rows = deferred.rows, []
    deferred.marks.clear()
    by_class: dict[type[Any], list[dict[str, Any]]] = {}
    for cls, values in rows:
        by_class.setdefault(cls, []).append(values)
    for cls, all_values in by_class.items():
        table: Table = cls.__table__
        columns = _columns(cls)
        # One shape for the executemany: a key some rows give and others not is NULL in those.
        # A column no row gives (a database-generated key) is left to the database.
        keys = {k for values in all_values for k in values}
        params = [{columns[k]: values.get(k) for k in keys} for values in all_values]
        await session.execute(insert(table), params)


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
