"""Idempotent creates: one mechanism for every POST, used by the services (so the HTTP endpoint
and an offline op replayed by /sync run the same code).

A create is keyed by the client-generated `id` in its body (offline-created objects) and/or by the
`Idempotency-Key` header. The first request stores its response under each key in the same
transaction as the object; a later request with the same key and the same body gets that response
back with 200, with a different body a 409 ID_CONFLICT. Concurrent duplicates are serialised by the
key's primary-key index: the second insert waits for the first transaction and then fails, and the
second request answers from the stored response."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
import rfc8785
from sqlalchemy import JSON, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.core import deferred
from backend.core.canonical import jcs
from backend.core.db import Base, UTCDateTime
from backend.core.errors import Conflict, DomainError


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


#: What a lookup reads of a stored record (key first).
_STORED = (IdempotencyRecord.key, IdempotencyRecord.request_sha256, IdempotencyRecord.actor,
           IdempotencyRecord.status_code, IdempotencyRecord.response)


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes; for what RFC 8785 cannot represent (integers beyond 2^53, non-finite
    floats) a sorted-key JSON encoding, which is just as deterministic for hashing."""
    try:
        return jcs(value)
    except (rfc8785.CanonicalizationError, ValueError, TypeError, OverflowError):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def request_fingerprint(method: str, scope: str, body: Any) -> str:
    """SHA-256 of the canonical request. `scope` is the route (path with its parameters filled)."""
    payload = {"method": method, "scope": scope, "body": body}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def keys_for(*, entity: str, client_id: Any | None, header_key: str | None, actor: str) -> list[str]:
    keys = []
    if client_id is not None:
        keys.append(f"id:{entity}:{client_id}")
    if header_key:
        keys.append(f"hdr:{actor}:{header_key[:200]}")
    return keys


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: Any
    replayed: bool


def _conflict(key: str) -> Conflict:
    return Conflict(
        "This id (or Idempotency-Key) was already used for a different request",
        "该 ID（或幂等键）已用于另一个不同的请求",
        code="ID_CONFLICT",
        detail={"key": key.split(":", 2)[0] + ":" + key.rsplit(":", 1)[-1]},
    )


async def _lookup(session: AsyncSession, keys: list[str], fingerprint: str, actor: str) -> Outcome | None:
    result = await session.execute(select(*_STORED).where(IdempotencyRecord.key.in_(keys)))
    rows: dict[str, tuple[str, str, int, Any]] = {key: (sha, who, status, body)
                                                  for key, sha, who, status, body in result}
    # Records this transaction wrote but has not inserted yet (core/deferred.py).
    rows.update((r["key"], (r["request_sha256"], r["actor"], r["status_code"], r["response"]))
                for r in deferred.pending(session, IdempotencyRecord) if r["key"] in keys)
    for key in keys:
        row = rows.get(key)
        if row is None:
            continue
        sha, who, status, body = row
        # Another caller replaying someone's id gets a conflict, never the first caller's response.
        if sha != fingerprint or who != actor:
            raise _conflict(key)
        return Outcome(200 if status == 201 else status, body, True)
    return None


#: `session.info` key under which a caller that runs each command in a savepoint of its own (offline
#: sync: one savepoint per op, its ledger row written in it) puts an `OpScope`; or in its
#: transaction alone (sync's first run of a chunk), rolling the whole transaction back when one fails.
OP_SCOPE = "fieldcheck.op_scope"


class OpScope:
    """One command run inside the caller's savepoint. `run_idempotent` then opens no savepoint of
    its own (the op's is the idempotency savepoint too) and leaves its records to be flushed with
    the caller's ledger row. After a failure the caller rolls its savepoint back and awaits
    `recover(exc)`, which answers the stored outcome of a duplicate, or raises."""

    __slots__ = ("recover",)

    def __init__(self) -> None:
        self.recover: Callable[[BaseException], Awaitable[Outcome]] | None = None


async def _after_failure(session: AsyncSession, exc: BaseException, keys: list[str], fingerprint: str, actor: str,
                         client_id: Any | None) -> Outcome:
    """Once the failed attempt is rolled back: the stored outcome if the keys were used first (a
    duplicate, perhaps concurrent), otherwise the failure itself."""
    found = await _lookup(session, keys, fingerprint, actor)
    if found is not None:
        return found
    if isinstance(exc, IntegrityError) and client_id is not None and _is_primary_key_collision(exc):
        # A client id that names an object created without it (or as another kind of object):
        # the client's conflict, not a 500.
        raise Conflict("This id is already used by another object", "该 ID 已被另一个对象使用",
                       code="ID_CONFLICT", detail={"key": f"id:{client_id}"}) from exc
    raise exc


async def run_idempotent(
    session: AsyncSession,
    *,
    keys: list[str],
    fingerprint: str,
    actor: str,
    now: datetime,
    create: Callable[[], Awaitable[tuple[int, Any]]],
    client_id: Any | None = None,
    lookup_first: bool = True,
) -> Outcome:
    """Run `create` at most once per key. `create` returns (status, JSON-able body).

    The effect and its records are written in one savepoint, records last, with their final
    answer (one INSERT, no placeholder to update). A concurrent duplicate on PostgreSQL blocks on
    the first one's rows (the records' primary key, the client id's, or a row lock its effect
    takes), then fails or is refused; either way the first one's committed record is then there
    and is answered.

    `lookup_first=False` skips reading the records before the attempt: a duplicate then runs
    `create` and is rolled back when its record collides with the stored one (or its object with
    the existing one), and the stored outcome is answered. For commands whose effects are all in
    this transaction; it saves a read on every first attempt and costs a rolled-back attempt on a
    duplicate."""
    if not keys:
        status, body = await create()
        return Outcome(status, body, False)
    if lookup_first:
        found = await _lookup(session, keys, fingerprint, actor)
        if found is not None:
            return found
    scope: OpScope | None = session.info.get(OP_SCOPE)
    if scope is not None:
        async def recover(exc: BaseException) -> Outcome:
            return await _after_failure(session, exc, keys, fingerprint, actor, client_id)

        scope.recover = recover
        status, body = await create()
        # Inserted with the op's ledger row (at the end of the caller's transaction when it defers
        # inserts); gone with the op's savepoint if that is rolled back.
        for k in keys:
            deferred.add_row(session, IdempotencyRecord, key=k, actor=actor, request_sha256=fingerprint,
                             status_code=status, response=body, created_at=now)
        return Outcome(status, body, False)
    try:
        async with session.begin_nested():
            status, body = await create()
            records = [IdempotencyRecord(key=k, actor=actor, request_sha256=fingerprint, status_code=status,
                                         response=body, created_at=now) for k in keys]
            session.add_all(records)
            await session.flush()
    except (IntegrityError, DomainError) as exc:
        return await _after_failure(session, exc, keys, fingerprint, actor, client_id)
    for rec in records:
        session.expunge(rec)
    return Outcome(status, body, False)


async def stored_outcome(session: AsyncSession, key: str) -> IdempotencyRecord | None:
    return (await session.execute(select(IdempotencyRecord).where(IdempotencyRecord.key == key))).scalar_one_or_none()


def _is_primary_key_collision(exc: IntegrityError) -> bool:
    # SQLite names "<table>.id", PostgreSQL the constraint "pk_<table>" (or "<table>_pkey").
    return bool(re.search(r'\.id\b|"pk_|_pkey"', str(exc.orig)))


async def once(
    session: AsyncSession,
    *,
    actor: str,
    entity: str,
    scope: str,
    data: Any,
    header_key: str | None,
    now: datetime,
    create: Callable[[], Awaitable[Any]],
    status: int = 201,
    lookup_first: bool = True,
) -> Outcome:
    """Run a use case at most once per client `id` (in `data`) and per `Idempotency-Key`
    (`header_key`), the way every service's command does it.

    `create()` returns a Struct; the outcome carries it as JSON-able builtins with `status`
    (201 for creates, 200 for state changes) the first time, 200 and the stored body on a replay.
    `scope` names the target (e.g. "inspection:<id>/check-ins"): the same id sent to another
    target is a different request. Offline ops pass no header key: the sync ledger row, written
    in the same transaction, is their once-only record. `lookup_first=False`: see run_idempotent."""
    body = msgspec.to_builtins(data) if data is not None else None
    client_id = body.get("id") if isinstance(body, dict) else None
    keys = keys_for(entity=entity, client_id=client_id, header_key=header_key, actor=actor)

    async def run() -> tuple[int, Any]:
        return status, msgspec.to_builtins(await create())

    return await run_idempotent(session, keys=keys, fingerprint=request_fingerprint("POST", scope, body),
                                actor=actor, now=now, create=run, client_id=client_id,
                                lookup_first=lookup_first)
