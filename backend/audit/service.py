"""Appending to and verifying the audit chain. Every domain records its state changes through
`record()`, inside the transaction that makes the change, so an entry exists exactly when the change
does."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import repository
from backend.audit.models import AuditEntry
from backend.core.clock import iso_utc

GENESIS = "0" * 64


def canonical(data: Any) -> bytes:
    """RFC 8785 bytes of JSON-able data (UUIDs, dates and datetimes as strings)."""
    return rfc8785.dumps(_jsonable(data))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso_utc(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    return str(value)


def entry_leaf(seq: int, at: datetime, actor: str, action: str, subject: str, data_sha256: str) -> bytes:
    return canonical(
        {"seq": seq, "at": iso_utc(at), "actor": actor, "action": action, "subject": subject,
         "data_sha256": data_sha256}
    )


def leaf_hash(leaf: bytes) -> str:
    return hashlib.sha256(b"\x00" + leaf).hexdigest()


def chain_hash(prev_hash: str, leaf_hash_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + bytes.fromhex(leaf_hash_hex)).hexdigest()


async def record(session: AsyncSession, *, actor: str, action: str, subject: str, data: dict[str, Any],
                 at: datetime) -> AuditEntry:
    """Append one entry. Serialised per database (advisory lock on PostgreSQL, BEGIN IMMEDIATE on
    SQLite) so concurrent writers cannot fork the chain; the unique prev_hash is the backstop."""
    await repository.lock_chain(session)
    head = await repository.head(session)
    seq = 1 if head is None else head.seq + 1
    prev = GENESIS if head is None else head.hash
    plain = _jsonable(data)
    data_sha = hashlib.sha256(canonical(plain)).hexdigest()
    leaf = leaf_hash(entry_leaf(seq, at, actor, action, subject, data_sha))
    entry = AuditEntry(seq=seq, at=at, actor=actor, action=action, subject=subject, data=plain,
                       data_sha256=data_sha, leaf_hash=leaf, prev_hash=prev, hash=chain_hash(prev, leaf))
    await repository.add(session, entry)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    length: int
    head: str | None
    problems: list[dict[str, Any]]


async def verify_chain(session: AsyncSession) -> VerifyResult:
    """Recompute every entry's data hash, leaf hash and link from the stored fields."""
    problems: list[dict[str, Any]] = []
    prev = GENESIS
    expected_seq = 1
    length = 0
    head: str | None = None
    async for entry in repository.iterate(session):
        length += 1
        if entry.seq != expected_seq:
            problems.append({"seq": entry.seq, "problem": "gap", "expected": expected_seq})
        expected_seq = entry.seq + 1
        if hashlib.sha256(canonical(entry.data)).hexdigest() != entry.data_sha256:
            problems.append({"seq": entry.seq, "problem": "data_sha256"})
        leaf = leaf_hash(entry_leaf(entry.seq, entry.at, entry.actor, entry.action, entry.subject,
                                    entry.data_sha256))
        if leaf != entry.leaf_hash:
            problems.append({"seq": entry.seq, "problem": "leaf_hash"})
        if entry.prev_hash != prev:
            problems.append({"seq": entry.seq, "problem": "prev_hash"})
        if chain_hash(entry.prev_hash, entry.leaf_hash) != entry.hash:
            problems.append({"seq": entry.seq, "problem": "hash"})
        prev = entry.hash
        head = entry.hash
    return VerifyResult(ok=not problems, length=length, head=head, problems=problems[:100])
