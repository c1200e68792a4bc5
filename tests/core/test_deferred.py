"""Deferred inserts (core/deferred.py): rows a chunk of commands writes are inserted at its end, and
a savepoint rolled back drops the rows deferred inside it, as it would have dropped them inserted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.audit.models import AuditPending
from backend.core import deferred
from backend.core.errors import Conflict
from backend.core.idempotency import OP_SCOPE, IdempotencyRecord, OpScope, run_idempotent

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


def _values(key: str) -> dict[str, Any]:
    return {"key": key, "actor": "a", "request_sha256": "0" * 64, "status_code": 201, "response": {"id": key},
            "created_at": NOW}


def _defer(session: Any, key: str) -> None:
    deferred.add_row(session, IdempotencyRecord, **_values(key))


async def _keys(session: Any) -> set[str]:
    rows = await session.execute(select(IdempotencyRecord.key).where(IdempotencyRecord.key.like("test-deferred:%"))
                                 .execution_options(autoflush=False))
    return set(rows.scalars())


async def _refused_op(session: Any) -> None:
    async with session.begin_nested():
        _defer(session, "test-deferred:2")
        async with session.begin_nested():  # kept, then dropped with its parent
            _defer(session, "test-deferred:3")
        raise Conflict("refused", "拒绝")


async def test_rows_of_a_rolled_back_savepoint_are_dropped_the_others_inserted_at_the_end(
        session_factory: Any) -> None:
    async with session_factory() as session, session.begin():
        deferred.defer_inserts(session)
        _defer(session, "test-deferred:1")
        with pytest.raises(Conflict):
            await _refused_op(session)
        async with session.begin_nested():
            _defer(session, "test-deferred:4")
        assert await _keys(session) == set()  # nothing inserted yet
        assert {r["key"] for r in deferred.pending(session, IdempotencyRecord)} == {"test-deferred:1", "test-deferred:4"}
        await deferred.flush_deferred(session)
        assert await _keys(session) == {"test-deferred:1", "test-deferred:4"}
    async with session_factory() as session:
        assert await _keys(session) == {"test-deferred:1", "test-deferred:4"}
        assert (await session.execute(select(func.count()).select_from(IdempotencyRecord)
                                      .where(IdempotencyRecord.key == "test-deferred:2"))).scalar_one() == 0


async def test_a_duplicate_key_deferred_in_the_same_transaction_is_answered_not_run_again(
        session_factory: Any) -> None:
    runs = []

    async def create() -> tuple[int, Any]:
        runs.append(1)
        return 201, {"id": "x"}

    async with session_factory() as session, session.begin():
        deferred.defer_inserts(session)
        session.info[OP_SCOPE] = OpScope()  # as offline sync runs a command: records deferred
        first = await run_idempotent(session, keys=["test-deferred:dup"], fingerprint="f" * 64, actor="a",
                                     now=NOW, create=create)
        assert not first.replayed
        assert await _keys(session) == set()
        # Not in the table yet, only deferred: the lookup still finds it.
        second = await run_idempotent(session, keys=["test-deferred:dup"], fingerprint="f" * 64, actor="a",
                                      now=NOW, create=create)
        assert second.replayed and second.body == {"id": "x"} and second.status_code == 200
        assert len(runs) == 1


async def _colliding_op(session: Any) -> None:
    async with session.begin_nested():  # an op whose effect collides at flush
        _defer(session, "test-deferred:dropped")
        session.add(IdempotencyRecord(**_values("test-deferred:existing")))
        await session.flush()


async def test_a_flush_failing_inside_a_later_savepoint_drops_only_that_savepoints_rows(session_factory: Any) -> None:
    # The flush that fails runs in a subtransaction of its own; rolling that back must not count
    # as rolling back the whole transaction (the earlier ops' rows, audit entries and ledger rows
    # would be lost while their effects commit).
    async with session_factory() as session, session.begin():
        session.add(IdempotencyRecord(**_values("test-deferred:existing")))
        await session.flush()
        deferred.defer_inserts(session)
        async with session.begin_nested():  # an op that applied
            _defer(session, "test-deferred:applied")
        with pytest.raises(IntegrityError):
            await _colliding_op(session)
        assert [r["key"] for r in deferred.pending(session, IdempotencyRecord)] == ["test-deferred:applied"]
        await deferred.flush_deferred(session)
        assert await _keys(session) == {"test-deferred:existing", "test-deferred:applied"}


async def test_rows_given_as_values_are_inserted_alike(session_factory: Any) -> None:
    """add_row: plain values, one executemany per table at the end; a key one row leaves out is
    NULL in it, a key no row gives (a database-generated id) is the database's; outside a
    deferring transaction the row is an ORM object added to the session."""
    async with session_factory() as session, session.begin():
        deferred.defer_inserts(session)
        deferred.add_row(session, IdempotencyRecord, key="test-deferred:v1", actor="a", request_sha256="1" * 64,
                         status_code=201, response={"id": "v1", "n": 1.5}, created_at=NOW)
        deferred.add_row(session, IdempotencyRecord, key="test-deferred:v2", actor="a", request_sha256="2" * 64,
                         status_code=204, created_at=NOW)
        for i in range(2):
            deferred.add_row(session, AuditPending, at=NOW, actor="t", action="test.deferred",
                             subject="test:deferred-values", data={"i": i}, data_sha256=str(i) * 64)
        assert [r["key"] for r in deferred.pending(session, IdempotencyRecord)] == ["test-deferred:v1",
                                                                                   "test-deferred:v2"]
        await deferred.flush_deferred(session)
    async with session_factory() as session:
        got = {r.key: (r.status_code, r.response) for r in (await session.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.key.like("test-deferred:v%")))).scalars()}
        assert got == {"test-deferred:v1": (201, {"id": "v1", "n": 1.5}), "test-deferred:v2": (204, None)}
        rows = (await session.execute(select(AuditPending).where(AuditPending.subject == "test:deferred-values")
                                      .order_by(AuditPending.id))).scalars().all()
        assert [r.data for r in rows] == [{"i": 0}, {"i": 1}] and rows[0].id < rows[1].id
        assert rows[0].at == NOW
    async with session_factory() as session:
        deferred.add_row(session, IdempotencyRecord, key="test-deferred:v3", actor="a", request_sha256="3" * 64,
                         status_code=201, created_at=NOW)
        assert [type(obj) for obj in session.new] == [IdempotencyRecord]
