"""Appending to and verifying the audit chain, and the tamper-evident record built on it (signed
checkpoints, inclusion and consistency proofs). Every domain records its state changes through
`record()`, inside the transaction that makes the change, so an entry exists exactly when the change
does."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import merkle, repository
from backend.audit.checkpoint import parse_and_verify_checkpoint, sign_checkpoint, vkey
from backend.audit.models import AuditEntry
from backend.audit.schemas import (
    AuditEntryRead,
    AuditKeys,
    CheckpointRead,
    ConsistencyProofRead,
    InclusionProofRead,
)
from backend.core.clock import iso_utc
from backend.core.errors import Conflict, NotFound, validation_error
from backend.core.idempotency import canonical_json
from backend.core.signing import KeyRing
from backend.sync.models import AuditCheckpoint

GENESIS = "0" * 64


def canonical(data: Any) -> bytes:
    """RFC 8785 bytes of JSON-able data (UUIDs, dates and datetimes as strings)."""
    return canonical_json(_jsonable(data))


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


# --- The tamper-evident record: Merkle tree heads, signed checkpoints, proofs, verification. ---
#
# The Merkle tree (RFC 6962) is over the entries' stored `leaf_hash`es in seq order. A checkpoint
# (C2SP signed note, signed with the seal ring's current key under the key name `settings.origin`)
# commits the server to (tree size, root); every one handed out is stored, so later trees can be
# proven append-only extensions of it (consistency proofs) and `verify` can recheck the whole log
# against what was published. The hash chain alone cannot show that nobody rewrote the tail (or the
# whole chain) consistently; a checkpoint held by someone outside the agency can.


def checkpoint_origin(key_name: str) -> str:
    """The origin line of this log's checkpoints (C2SP tlog-checkpoint: a schema-less URL)."""
    return f"{key_name}/audit"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _inconsistent(message: str, detail: dict[str, Any]) -> Conflict:
    return Conflict(message, "审计日志与已签发的检查点不一致", code="AUDIT_LOG_INCONSISTENT", detail=detail)


def _restore(checkpoint: AuditCheckpoint | None) -> merkle.CompactRange:
    if checkpoint is None:
        return merkle.CompactRange()
    try:
        cr = merkle.CompactRange(checkpoint.tree_size, [bytes.fromhex(h) for h in checkpoint.frontier])
    except (ValueError, TypeError):
        return merkle.CompactRange()
    # A frontier that does not reproduce its own root is not trusted: rebuild from the leaves.
    return cr if cr.root().hex() == checkpoint.root_hash else merkle.CompactRange()


async def issue_checkpoint(session: AsyncSession, *, seal: KeyRing, key_name: str,
                           now: datetime) -> AuditCheckpoint:
    """The signed checkpoint of the log as it is now: the stored one if the log has not grown since,
    else a new one (hashing only the entries added since the last checkpoint)."""
    # The latest checkpoint first, then the size: a checkpoint committed in between can then only be
    # of a size we also see, and a checkpoint larger than the log means entries were removed.
    latest = await repository.latest_checkpoint(session)
    size = await repository.size(session)
    if latest is not None and latest.tree_size == size:
        return latest
    if latest is not None and latest.tree_size > size:
        raise _inconsistent("The audit log is shorter than a checkpoint already issued",
                            {"tree_size": size, "checkpoint_tree_size": latest.tree_size})
    cr = _restore(latest)
    cr.extend(await repository.leaf_hashes_between(session, cr.size, size))
    if cr.size != size:
        raise _inconsistent("The audit log has a gap in its sequence numbers",
                            {"tree_size": size, "leaves": cr.size})
    root = cr.root()
    key = seal.current
    note = sign_checkpoint(checkpoint_origin(key_name), size, root, key.private, key_name)
    checkpoint = AuditCheckpoint(tree_size=size, root_hash=root.hex(), frontier=[h.hex() for h in cr.nodes],
                                 note=note, key_id=key.kid, issued_at=now)
    if await repository.insert_checkpoint(session, checkpoint):
        return checkpoint
    # A concurrent request issued the checkpoint of this size first; serve that one.
    stored = await repository.checkpoint_at(session, size)
    if stored is None or stored.root_hash != checkpoint.root_hash:
        raise _inconsistent("A concurrent checkpoint of this size has another root", {"tree_size": size})
    return stored


def checkpoint_read(checkpoint: AuditCheckpoint, key_name: str) -> CheckpointRead:
    return CheckpointRead(origin=checkpoint_origin(key_name), tree_size=checkpoint.tree_size,
                          root_hash=b64(bytes.fromhex(checkpoint.root_hash)), key_name=key_name,
                          key_id=checkpoint.key_id, issued_at=checkpoint.issued_at, note=checkpoint.note)


def audit_keys(seal: KeyRing, key_name: str) -> AuditKeys:
    keys = [{**k.jwk(), "vkey": vkey(key_name, k.public)} for k in seal.all()]
    return AuditKeys(origin=checkpoint_origin(key_name), key_name=key_name, keys=keys)


async def _tree_head(session: AsyncSession, tree_size: int | None, *, seal: KeyRing | None,
                     key_name: str | None, now: datetime | None, field: str) -> tuple[int, str | None]:
    """(tree size, its signed note or None). No size given: the current log under a fresh checkpoint
    when we can sign, else the latest stored checkpoint."""
    if tree_size is None:
        if seal is not None and key_name is not None and now is not None:
            checkpoint = await issue_checkpoint(session, seal=seal, key_name=key_name, now=now)
            return checkpoint.tree_size, checkpoint.note
        latest = await repository.latest_checkpoint(session)
        if latest is not None:
            return latest.tree_size, latest.note
        return await repository.size(session), None
    size = await repository.size(session)
    if tree_size > size:
        raise validation_error(field, "range", f"the log has {size} entries", f"日志共有 {size} 条")
    stored = await repository.checkpoint_at(session, tree_size)
    return tree_size, stored.note if stored is not None else None


async def inclusion(session: AsyncSession, seq: int, tree_size: int | None = None, *,
                    seal: KeyRing | None = None, key_name: str | None = None,
                    now: datetime | None = None) -> InclusionProofRead:
    """Proof that entry `seq` is leaf seq-1 of the tree of `tree_size` entries (default: the tree of
    a checkpoint covering it: a fresh one when `seal` is given)."""
    size, note = await _tree_head(session, tree_size, seal=seal, key_name=key_name, now=now,
                                  field="tree_size")
    if seq > size and tree_size is None and seal is None:
        # Nothing signed covers it yet (e.g. recorded in this very transaction): prove against the log.
        size, note = await repository.size(session), None
    if not 1 <= seq <= size:
        if tree_size is not None:
            raise validation_error("seq", "range", f"seq must be within the tree of size {size}",
                                   f"seq 须在规模为 {size} 的树内")
        raise NotFound("No such audit entry", "未找到该审计记录")
    leaves = await repository.leaf_hashes(session, upto=size)
    if len(leaves) != size:
        raise _inconsistent("The audit log has a gap in its sequence numbers", {"tree_size": size})
    return InclusionProofRead(
        seq=seq, leaf_index=seq - 1, tree_size=size, leaf_hash=b64(leaves[seq - 1]),
        audit_path=[b64(h) for h in merkle.inclusion_proof(leaves, seq - 1)],
        root_hash=b64(merkle.root(leaves)), checkpoint=note,
    )


async def consistency(session: AsyncSession, old_size: int, new_size: int | None = None, *,
                      seal: KeyRing | None = None, key_name: str | None = None,
                      now: datetime | None = None) -> ConsistencyProofRead:
    """Proof that the tree of `new_size` entries (default: a fresh checkpoint) extends the tree of
    `old_size` entries, RFC 6962 §2.1.2."""
    size, to_note = await _tree_head(session, new_size, seal=seal, key_name=key_name, now=now, field="to")
    if old_size > size:
        raise validation_error("from", "range", "from must not exceed to", "from 不得大于 to")
    leaves = await repository.leaf_hashes(session, upto=size)
    if len(leaves) != size:
        raise _inconsistent("The audit log has a gap in its sequence numbers", {"tree_size": size})
    old = await repository.checkpoint_at(session, old_size)
    return ConsistencyProofRead(
        from_size=old_size, to_size=size, from_root=b64(merkle.root(leaves[:old_size])),
        to_root=b64(merkle.root(leaves)),
        proof=[b64(h) for h in merkle.consistency_proof(leaves, old_size, size)],
        from_checkpoint=old.note if old is not None else None, to_checkpoint=to_note,
    )


async def inclusion_for_subject(
    session: AsyncSession, subject: str, *, seal: KeyRing | None = None, key_name: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The latest audit entry about `subject` ("document:<id>", "evidence:<id>", ...) with its
    inclusion proof and the signed checkpoint the proof is against, as JSON-able data; None when
    nothing was recorded about it.

    Pass `seal=signing_keys.seal, key_name=settings.origin, now=clock.now()` to get a fresh checkpoint
    that covers the entry (it is stored in the caller's transaction). Without them the proof is
    against the latest stored checkpoint if it covers the entry, else against the current log with
    `checkpoint: None` (fetch `GET /api/v1/audit/checkpoint` later and ask for a consistency proof).
    """
    entry = await repository.latest_for_subject(session, subject)
    if entry is None:
        return None
    proof = await inclusion(session, entry.seq, None, seal=seal, key_name=key_name, now=now)
    return {
        "entry": msgspec.to_builtins(AuditEntryRead(
            seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject,
            data_sha256=entry.data_sha256, leaf_hash=entry.leaf_hash, prev_hash=entry.prev_hash,
            hash=entry.hash)),
        "proof": msgspec.to_builtins(proof),
        "checkpoint": proof.checkpoint,
    }


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    length: int
    head: str | None
    problems: list[dict[str, Any]]
    tree_size: int = 0
    #: base64 RFC 6962 root over the leaf hashes recomputed from every entry's fields.
    root_hash: str | None = None
    checkpoints_checked: int = 0
    latest_checkpoint: int | None = None


def _check_note(checkpoint: AuditCheckpoint, seal: KeyRing | None, key_name: str | None) -> str | None:
    """Problem name if the stored note is not a valid signature over this row's tree head."""
    if seal is None or key_name is None:
        return None
    key = seal.get(checkpoint.key_id)
    if key is None:
        return "checkpoint_key_unknown"
    try:
        parsed = parse_and_verify_checkpoint(checkpoint.note, key.public, key_name)
    except ValueError:
        return "checkpoint_signature"
    if (parsed.origin != checkpoint_origin(key_name) or parsed.tree_size != checkpoint.tree_size
            or parsed.root.hex() != checkpoint.root_hash):
        return "checkpoint_note_mismatch"
    return None


async def verify_chain(session: AsyncSession, *, seal: KeyRing | None = None,
                       key_name: str | None = None) -> VerifyResult:
    """Recompute every entry's data hash, leaf hash and link from the stored fields, the Merkle root
    over the recomputed leaves, and every issued checkpoint against it (and, given the seal ring and
    key name, each checkpoint's signature). One pass over the log, O(log n) memory for the tree."""
    problems: list[dict[str, Any]] = []
    issued = list(await repository.checkpoints(session))
    pending = iter(issued)
    next_cp = next(pending, None)
    tree = merkle.CompactRange()
    checked = 0

    def check_checkpoint(cp: AuditCheckpoint) -> None:
        if tree.root().hex() != cp.root_hash:
            problems.append({"seq": None, "tree_size": cp.tree_size, "problem": "checkpoint_root"})
        note_problem = _check_note(cp, seal, key_name)
        if note_problem:
            problems.append({"seq": None, "tree_size": cp.tree_size, "problem": note_problem})

    while next_cp is not None and next_cp.tree_size == 0:
        check_checkpoint(next_cp)
        checked += 1
        next_cp = next(pending, None)
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
        tree.append(bytes.fromhex(leaf))
        while next_cp is not None and next_cp.tree_size == tree.size:
            check_checkpoint(next_cp)
            checked += 1
            next_cp = next(pending, None)
    while next_cp is not None:
        # Published tree heads the log no longer reaches: entries were removed from its end.
        problems.append({"seq": None, "tree_size": next_cp.tree_size, "problem": "checkpoint_beyond_log"})
        checked += 1
        next_cp = next(pending, None)
    return VerifyResult(ok=not problems, length=length, head=head, problems=problems[:100],
                        tree_size=tree.size, root_hash=b64(tree.root()), checkpoints_checked=checked,
                        latest_checkpoint=issued[-1].tree_size if issued else None)
