"""Offline sync: a phone's queued ops applied in order, each exactly once, each by the same command
function as its HTTP endpoint (backend/sync/commands.py, an allowlist).

How a batch is applied
- The caller's principal is loaded once, by the /sync request itself, and the ledger rows of all
  the batch's ops are read once. Ops then run in short transactions of a few ops each ("chunks"):
  a chunk commits once it has held the database for CHUNK_BUDGET_S, so on SQLite other requests
  get the write lock between chunks. The batch's own audit entry (device, recorded_at of each
  applied op) is written at the end; each command audits its act with its effect.
- A chunk first runs its ops without a savepoint each (two statements an op saved): nearly every
  op applies. When an op's command fails, the chunk is rolled back whole and run again with each
  op in one savepoint, which is also its command's idempotency savepoint
  (core/idempotency.OpScope), and which a refusal rolls back alone. Ledger rows (`sync_ops`, keyed
  by op_id), idempotency records and audit entries are written in the chunk's transaction:
  deferred while the chunk runs and inserted at its end in one statement per table
  (core/deferred.py); a savepoint rolled back drops what its op deferred. The effect and "applied"
  commit together or not at all. A crash (even kill -9) leaves each op either applied with its row
  or not applied without one; a replay skips the former and applies the latter. Nothing is
  claimed, taken over or waited for.
- Within a chunk an inspection is read once and reused by the following ops; each of its parts
  that an op writes (check-ins, displays, the inspection, its team) is dropped and read again, and
  a rollback drops it all: every op is judged on the state the ops before it produced
  (inspections.service.context.keep_loaded_inspections).
- A concurrent batch with the same op (the phone retrying on a second connection): its chunk's
  ledger insert meets the row the first committed (on PostgreSQL it waits for the first
  transaction, then fails). The chunk is rolled back whole and run again with each op's rows
  inserted in its own savepoint, so those ops answer the stored result and the others apply.
- A refusal (any domain error: Article 13, jurisdiction, validation) rolls the op's savepoint back
  (in the chunk's second run) and is stored as the op's result, with the error body the endpoint
  answers; later ops still run. A replayed op_id answers its stored result (`replayed: true`); the
  same op_id with another method, path, body or caller answers 409 ID_CONFLICT for that op only.
- Not stored (the phone may send the op again): an op naming an op that has not arrived yet
  (409 OP_DEPENDENCY_PENDING) and an unexpected server error (500).

References between ops and uploads ("metadata and file in either order")
- `$op:<op_id>` in a path or anywhere in a body is replaced by the `id` in that op's stored
  response. Photos are uploaded directly to the evidence endpoint with `Idempotency-Key:
  op:<op_id>`; the upload enters this ledger under that op_id (`record_direct_op`), so ops that
  name it resolve whichever arrives first.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.audit.service import record
from backend.core import deferred
from backend.core.auth import Principal
from backend.core.clock import Clock, iso_utc
from backend.core.commands import Ctx
from backend.core.db import transaction
from backend.core.errors import Conflict, DomainError, NotFound, Unprocessable
from backend.core.idempotency import OP_SCOPE, OpScope
from backend.core.signing import Keys
from backend.inspections.service.context import keep_loaded_inspections
from backend.settings import Settings
from backend.sync import commands, repository
from backend.sync.ledger import AWAITING_UPLOAD, fingerprint, op_id_from_idempotency_key, record_direct_op
from backend.sync.models import SyncOp
from backend.sync.ops import (
    INTERNAL_BODY,
    MAX_OPS,
    DependencyPending,
    OpOutcome,
    Stored,
    conflict_body,
    decode,
    error_body,
    idempotency_key,
    not_allowed,
    references,
    substitute,
    validate,
)
from backend.sync.schemas import SyncOpIn, SyncOpRead

log = logging.getLogger("fieldcheck.sync")

#: A chunk's transaction commits once it has run this long: the SQLite write lock is never held
#: much longer at a time (one op more at most), and a crash loses at most one chunk of work.
CHUNK_BUDGET_S = 0.04
#: PostgreSQL deadlock / serialization failure: the chunk is rolled back whole and run again.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})
_CHUNK_RETRIES = 3


class _AppliedMeanwhile(Exception):
    """A chunk's deferred inserts met rows another transaction committed first (PostgreSQL: a
    concurrent batch with the same ops; SQLite: one that committed before this chunk began)."""


class _Refused(Exception):
    """An op's command failed while its chunk ran without a savepoint per op."""


class _Batch:
    def __init__(self, maker: async_sessionmaker[AsyncSession], read_maker: async_sessionmaker[AsyncSession],
                 principal: Principal, device_id: str, clock: Clock, keys: Keys, settings: Settings) -> None:
        self.maker = maker
        self.read_maker = read_maker
        self.principal = principal
        self.caller = principal.actor
        self.device_id = device_id
        self.clock = clock
        self.keys = keys
        self.settings = settings
        #: Results stored by this batch's committed chunks (for replays and `$op:` inside the batch).
        self.stored: dict[uuid.UUID, Stored] = {}

    async def run(self, ops: Sequence[SyncOpIn]) -> list[OpOutcome]:
        # The ledger rows of every op of the batch, read once without the write lock: most ops of a
        # retried batch are replays. An op another connection applies after this read is caught by
        # the primary key when its row is inserted.
        async with self.read_maker() as session:
            known = await repository.get_many(session, {op.op_id for op in ops})
        outcomes: list[OpOutcome] = []
        applied: list[tuple[SyncOpIn, OpOutcome]] = []
        while len(outcomes) < len(ops):
            outcomes.extend(await self._chunk_with_retry(ops, len(outcomes), known, applied))
        if applied:
            # The commands audit the acts; this entry adds what only sync knows: the device and
            # when the phone says each act happened.
            async with transaction(self.maker) as session:
                await record(session, actor=self.caller, action="sync.batch", subject=f"device:{self.device_id}",
                             at=self.clock.now(), data={
                                 "device_id": self.device_id,
                                 "ops": [{"op_id": str(op.op_id), "method": op.method, "path": op.path,
                                          "status": out.status, "recorded_at": iso_utc(op.recorded_at)}
                                         for op, out in applied]})
        return outcomes

    async def _chunk_with_retry(self, ops: Sequence[SyncOpIn], start: int, known: dict[uuid.UUID, SyncOp],
                                applied: list[tuple[SyncOpIn, OpOutcome]]) -> list[OpOutcome]:
        defer = True
        # First without a savepoint per op: nearly every op applies. When one fails, the chunk is
        # rolled back whole and run again with one (not counted as a retry: it happens once).
        shared = True
        attempt = 0
        while True:
            try:
                return await self._chunk(ops, start, known, applied, defer=defer, shared=shared)
            except _Refused:
                shared = False
                continue
            except _AppliedMeanwhile:
                # Another connection committed one of these ops (or a command key) first; the chunk
                # was rolled back whole. Run it again, inserting each op's rows in its savepoint, so
                # that the one met is answered from what the other stored.
                if attempt == _CHUNK_RETRIES:
                    raise
                defer = shared = False
                async with self.read_maker() as session:
                    known.update(await repository.get_many(session, {op.op_id for op in ops[start:]}))
                log.info("sync chunk at op %d met ops applied meanwhile; running it again", start)
            except DBAPIError as exc:
                state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
                if state not in _RETRY_SQLSTATES or attempt == _CHUNK_RETRIES:
                    raise
                log.info("sync chunk at op %d rolled back (%s); running it again", start, state)
            attempt += 1

    async def _chunk(self, ops: Sequence[SyncOpIn], start: int, known: dict[uuid.UUID, SyncOp],
                     applied: list[tuple[SyncOpIn, OpOutcome]], *, defer: bool, shared: bool) -> list[OpOutcome]:
        """Ops from `start` in one transaction, until the chunk budget is spent. `shared`: the ops
        run without a savepoint each, and the first command that fails raises _Refused."""
        staged: dict[uuid.UUID, Stored] = {}
        done: list[tuple[SyncOpIn, OpOutcome]] = []
        outcomes: list[OpOutcome] = []
        async with transaction(self.maker) as session:
            began = time.monotonic()
            # Consecutive ops mostly act on the same inspection: read it once per chunk. The ops'
            # ledger rows, idempotency records and audit entries are inserted at the chunk's end.
            keep_loaded_inspections(session)
            if defer:
                deferred.defer_inserts(session)
            ctx = Ctx(session=session, principal=self.principal, clock=self.clock, keys=self.keys,
                      settings=self.settings)
            for op in ops[start:]:
                outcome = await self._one(ctx, op, known, staged, shared=shared)
                outcomes.append(outcome)
                if not outcome.replayed and 200 <= outcome.status < 300 and op.op_id in staged:
                    done.append((op, outcome))
                if time.monotonic() - began > CHUNK_BUDGET_S:
                    break
            if shared:
                # The ops' own rows not flushed yet (findings go in with the next flush): one that
                # fails is an op's refusal, found by running the chunk again with savepoints.
                try:
                    await session.flush()
                except IntegrityError as exc:
                    raise _Refused from exc
            try:
                await deferred.flush_deferred(session)
            except IntegrityError as exc:
                raise _AppliedMeanwhile from exc
        self.stored.update(staged)
        applied.extend(done)
        return outcomes

    def _earlier(self, op_id: uuid.UUID, known: dict[uuid.UUID, SyncOp],
                 staged: dict[uuid.UUID, Stored]) -> Stored | None:
        found = staged.get(op_id) or self.stored.get(op_id)
        if found is not None:
            return found
        row = known.get(op_id)
        if row is None:
            return None
        return Stored.of(row)

    def _answer_stored(self, op_id: uuid.UUID, fp: str, stored: Stored) -> OpOutcome:
        if stored.fingerprint != fp or stored.caller != self.caller:
            return OpOutcome(op_id, 409, conflict_body(op_id), False)
        return OpOutcome(op_id, stored.status, stored.body, True)

    async def _one(self, ctx: Ctx, op: SyncOpIn, known: dict[uuid.UUID, SyncOp],
                   staged: dict[uuid.UUID, Stored], *, shared: bool = False) -> OpOutcome:
        try:
            fp, named = self._fingerprint(op)
        except ValueError:  # numbers JSON cannot carry exactly (RFC 8785: beyond ±2^53)
            bad = Unprocessable("The op's body has numbers outside the JSON safe range", "操作内容中的数字超出范围")
            return OpOutcome(op.op_id, bad.http_status, error_body(bad), False)
        earlier = self._earlier(op.op_id, known, staged)
        if earlier is not None:
            return self._answer_stored(op.op_id, fp, earlier)
        try:
            path, body = await self._resolve(ctx.session, op, staged)
        except DependencyPending as pending:
            wait = Conflict("This op names an op that has not been applied yet; send it again later",
                            "该操作引用的操作尚未完成，请稍后重发", code="OP_DEPENDENCY_PENDING",
                            detail={"op_id": str(pending.ref)})
            return OpOutcome(op.op_id, wait.http_status, error_body(wait), False)
        except DomainError as exc:
            return await self._store(ctx.session, op, fp, exc.http_status, error_body(exc), staged)
        try:
            # The command the fingerprint found, unless `$op:` references changed the path.
            found = named if named is not None and path == op.path else commands.match(op.method, path)
            data = decode(found.command, body)
        except commands.NotAllowed:
            refused = not_allowed(op.method, op.path)
            return await self._store(ctx.session, op, fp, refused.http_status, error_body(refused), staged)
        except DomainError as exc:
            return await self._store(ctx.session, op, fp, exc.http_status, error_body(exc), staged)
        args = (*found.params, data) if found.command.body is not None else found.params
        now = self.clock.now()
        # The op's savepoint is also the idempotency savepoint of the command (core/idempotency.OpScope).
        # Without one (`shared`), a failure rolls the whole chunk back, which then runs with them.
        scope = OpScope()
        ctx.session.info[OP_SCOPE] = scope
        try:
            try:
                if shared:
                    result = await found.command.run(ctx, *args)
                    deferred.add_row(ctx.session, SyncOp, **self._row(op, fp, result.status_code, result.body, now))
                else:
                    async with ctx.session.begin_nested():
                        result = await found.command.run(ctx, *args)
                        # Inserted with the chunk (deferred); gone with this savepoint if it rolls back.
                        deferred.add_row(ctx.session, SyncOp,
                                         **self._row(op, fp, result.status_code, result.body, now))
            finally:
                del ctx.session.info[OP_SCOPE]
        except (DomainError, IntegrityError) as exc:
            if shared:
                raise _Refused from exc
            return await self._after_failure(ctx.session, op, fp, exc, scope, staged)
        staged[op.op_id] = Stored(self.caller, fp, result.status_code, result.body)
        return OpOutcome(op.op_id, result.status_code, result.body, False)

    async def _after_failure(self, session: AsyncSession, op: SyncOpIn, fp: str, exc: DomainError | IntegrityError,
                             scope: OpScope, staged: dict[uuid.UUID, Stored]) -> OpOutcome:
        """The op's savepoint was rolled back: store its refusal, or answer what was stored first."""
        if isinstance(exc, IntegrityError):
            # PostgreSQL: a concurrent batch applied this op first (our insert waited for it).
            row = await repository.get(session, op.op_id)
            if row is not None:
                return self._answer_stored(op.op_id, fp, Stored.of(row))
        try:
            if scope.recover is None:
                raise exc
            # The command's client id / key was used before: its stored outcome is this op's result.
            result = await scope.recover(exc)
        except DomainError as refused:
            return await self._store(session, op, fp, refused.http_status, error_body(refused), staged)
        except IntegrityError:  # the effect itself broke a constraint: a bug, as it would be on HTTP
            log.exception("sync op %s: integrity error", op.op_id)
            return OpOutcome(op.op_id, 500, INTERNAL_BODY, False)
        return await self._store(session, op, fp, result.status_code, result.body, staged)

    def _fingerprint(self, op: SyncOpIn) -> tuple[str, commands.Match | None]:
        """The op's ledger fingerprint, and the command its path names (None: not a command, or a
        path with `$op:` in it)."""
        try:
            named = commands.match(op.method, op.path)
        except commands.NotAllowed:
            named = None  # the fingerprint is then the request as sent
        if named is not None and named.command.fingerprint is not None:
            return named.command.fingerprint(self.caller, named.params, op.body), named
        return fingerprint(self.caller, op.method, op.path, op.body), named

    def _row(self, op: SyncOpIn, fp: str, status: int, body: Any, now: datetime) -> dict[str, Any]:
        """The op's ledger row (`sync_ops`), as column values."""
        return {"op_id": op.op_id, "caller": self.caller, "device_id": self.device_id, "method": op.method,
                "path": op.path, "request_sha256": fp, "status_code": status, "response": body,
                "recorded_at": op.recorded_at, "applied_at": now}

    async def _store(self, session: AsyncSession, op: SyncOpIn, fp: str, status: int, body: Any,
                     staged: dict[uuid.UUID, Stored]) -> OpOutcome:
        """Store a result without an effect of this op (a refusal, or the outcome stored for the
        command's key by an earlier request) as the op's result."""
        row = self._row(op, fp, status, body, self.clock.now())
        if deferred.deferring(session):
            deferred.add_row(session, SyncOp, **row)
        else:
            try:
                async with session.begin_nested():
                    await repository.insert(session, SyncOp(**row))
            except IntegrityError:
                stored = await repository.get(session, op.op_id)
                if stored is None:
                    raise
                return self._answer_stored(op.op_id, fp, Stored.of(stored))
        staged[op.op_id] = Stored(self.caller, fp, status, body)
        return OpOutcome(op.op_id, status, body, False)

    async def _resolve(self, session: AsyncSession, op: SyncOpIn,
                       staged: dict[uuid.UUID, Stored]) -> tuple[str, Any]:
        refs: set[uuid.UUID] = set()
        references(op.path, refs)
        references(op.body, refs)
        if not refs:
            return op.path, op.body
        ids: dict[uuid.UUID, str] = {}
        for ref in refs:
            stored = staged.get(ref) or self.stored.get(ref)
            if stored is None:
                row = await repository.get(session, ref)
                if row is not None:
                    stored = Stored.of(row)
            if stored is None or stored.caller != self.caller:
                raise DependencyPending(ref)
            created = stored.body.get("id") if isinstance(stored.body, dict) else None
            if not 200 <= stored.status < 300 or not isinstance(created, str):
                raise DomainError("This op names an op that was refused", "该操作引用的操作未成功",
                                  code="OP_DEPENDENCY_FAILED", status=424,
                                  detail={"op_id": str(ref), "status": stored.status})
            ids[ref] = created
        return substitute(op.path, ids), substitute(op.body, ids)


async def run_batch(maker: async_sessionmaker[AsyncSession], read_maker: async_sessionmaker[AsyncSession], *,
                    principal: Principal, device_id: str, ops: Sequence[SyncOpIn], clock: Clock, keys: Keys,
                    settings: Settings) -> list[OpOutcome]:
    """Apply `ops` in order, each once; one outcome per op, in order. `read_maker` makes sessions
    that read without taking SQLite's write lock."""
    validate(ops)
    return await _Batch(maker, read_maker, principal, device_id, clock, keys, settings).run(ops)


async def get_op(session: AsyncSession, principal: Principal, op_id: uuid.UUID) -> SyncOpRead:
    """An op of the caller's (another person's op looks like no op at all)."""
    row = await repository.get(session, op_id)
    if row is None or row.caller != principal.actor:
        raise NotFound("No such op", "未找到该操作")
    awaiting = isinstance(row.response, dict) and row.response.get("state") == AWAITING_UPLOAD
    return SyncOpRead(op_id=row.op_id, state="awaiting_upload" if awaiting else "applied",
                      device_id=row.device_id, method=row.method, path=row.path, status=row.status_code,
                      body=row.response, recorded_at=row.recorded_at, applied_at=row.applied_at)


__all__ = ["MAX_OPS", "OpOutcome", "error_body", "fingerprint", "get_op", "idempotency_key",
           "op_id_from_idempotency_key", "record_direct_op", "run_batch"]
