"""Recording into the audit log, and the tamper-evident record built on it (signed checkpoints,
inclusion and consistency proofs, promises for entries not integrated yet). Every domain records its
state changes through `record()`, inside the transaction that makes the change, so an entry exists
exactly when the change does. Sequencing is backend.audit.sequencer; rechecking, backend.audit.verify."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

import jwt
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import merkle, repository, tiles
from backend.audit.checkpoint import sign_checkpoint, vkey
from backend.audit.models import AuditCheckpoint, AuditPending
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

GENESIS = "0" * 64


def canonical(data: Any) -> bytes:
    """RFC 8785 bytes of JSON-able data (UUIDs, dates and datetimes as strings); integers beyond
    ±2^53 in a sorted-key encoding (core/idempotency.canonical_json)."""
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


def content_sha256(at: datetime, actor: str, action: str, subject: str, data_sha256: str) -> str:
    """Hash of an entry's content before it has a seq: what a receipt's promise commits to. The
    integrated entry's leaf is the same fields plus the seq, so anyone can match the two."""
    return hashlib.sha256(canonical(
        {"at": iso_utc(at), "actor": actor, "action": action, "subject": subject, "data_sha256": data_sha256}
    )).hexdigest()


async def record(session: AsyncSession, *, actor: str, action: str, subject: str, data: dict[str, Any],
                 at: datetime) -> None:
    """Record one entry in the caller's transaction: it exists exactly when the change does.

    Only a pending row is written (content and data hash, a database-generated id), so nothing
    province-wide is locked on the request path; the sequencer gives it its seq, leaf hash and link
    within the maximum merge delay once the transaction commits."""
    plain = _jsonable(data)
    data_sha = hashlib.sha256(canonical(plain)).hexdigest()
    repository.add_pending(session, at=at, actor=actor, action=action, subject=subject, data=plain,
                           data_sha256=data_sha)


# --- The tamper-evident record: signed checkpoints, proofs, receipts. ---
#
# The Merkle tree (RFC 6962) is over the entries' stored `leaf_hash`es in seq order, stored as tiles
# (backend.audit.tiles). The sequencer signs a checkpoint (C2SP signed note, seal ring's current key,
# key name `settings.origin`) for every batch it integrates, in the batch's transaction; every one is
# kept, so later trees can be proven append-only extensions of it (consistency proofs) and `verify`
# can recheck the whole log against what was published. Proofs read O(log n) stored hashes.


def checkpoint_origin(key_name: str) -> str:
    """The origin line of this log's checkpoints (C2SP tlog-checkpoint: a schema-less URL)."""
    return f"{key_name}/audit"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def inconsistent(message: str, detail: dict[str, Any]) -> Conflict:
    return Conflict(message, "审计日志与已签发的检查点不一致", code="AUDIT_LOG_INCONSISTENT", detail=detail)


def restore(checkpoint: AuditCheckpoint | None) -> merkle.CompactRange:
    """The tree frontier a checkpoint stored, or an empty one if it does not reproduce its own root
    (the caller then rebuilds from the leaves)."""
    if checkpoint is None:
        return merkle.CompactRange()
    try:
        cr = merkle.CompactRange(checkpoint.tree_size, [bytes.fromhex(h) for h in checkpoint.frontier])
    except (ValueError, TypeError):
        return merkle.CompactRange()
    return cr if cr.root().hex() == checkpoint.root_hash else merkle.CompactRange()


def make_checkpoint(cr: merkle.CompactRange, *, seal: KeyRing, key_name: str, now: datetime) -> AuditCheckpoint:
    root = cr.root()
    key = seal.current
    note = sign_checkpoint(checkpoint_origin(key_name), cr.size, root, key.private, key_name)
    return AuditCheckpoint(tree_size=cr.size, root_hash=root.hex(), frontier=[h.hex() for h in cr.nodes],
                           note=note, key_id=key.kid, issued_at=now)


async def current_checkpoint(session: AsyncSession) -> AuditCheckpoint:
    """The latest signed tree head (the sequencer signs one per batch)."""
    latest = await repository.latest_checkpoint(session)
    if latest is None:
        raise NotFound("No checkpoint has been signed yet", "尚未签发检查点")
    # One index lookup: a signed tree head the log no longer reaches is never served as current.
    size = await repository.size(session)
    if size < latest.tree_size:
        raise inconsistent("The audit log is shorter than a checkpoint already signed",
                           {"tree_size": size, "checkpoint_tree_size": latest.tree_size})
    return latest


def checkpoint_read(checkpoint: AuditCheckpoint, key_name: str) -> CheckpointRead:
    return CheckpointRead(origin=checkpoint_origin(key_name), tree_size=checkpoint.tree_size,
                          root_hash=b64(bytes.fromhex(checkpoint.root_hash)), key_name=key_name,
                          key_id=checkpoint.key_id, issued_at=checkpoint.issued_at, note=checkpoint.note)


def audit_keys(seal: KeyRing, key_name: str) -> AuditKeys:
    keys = [{**k.jwk(), "vkey": vkey(key_name, k.public)} for k in seal.all()]
    return AuditKeys(origin=checkpoint_origin(key_name), key_name=key_name, keys=keys)


async def _integrated_size(session: AsyncSession) -> tuple[int, AuditCheckpoint | None]:
    latest = await repository.latest_checkpoint(session)
    return (0 if latest is None else latest.tree_size), latest


def _frontier(checkpoint: AuditCheckpoint | None) -> merkle.CompactRange | None:
    """The checkpoint's frontier when it reproduces the checkpoint's root (else the proof reads tiles
    only, and a mismatch between the two shows up as a proof that does not verify)."""
    cr = restore(checkpoint)
    return cr if cr.size else None


async def inclusion(session: AsyncSession, seq: int, tree_size: int | None = None) -> InclusionProofRead:
    """Proof that entry `seq` is leaf seq-1 of the tree of `tree_size` entries (default: the latest
    signed checkpoint). Reads O(log n) stored hashes."""
    size, latest = await _integrated_size(session)
    stored = size
    note = latest.note if latest is not None else None
    if tree_size is not None:
        if tree_size > size:
            raise validation_error("tree_size", "range", f"the log has {size} integrated entries",
                                   f"日志共有 {size} 条已整合记录")
        at_size = await repository.checkpoint_at(session, tree_size)
        size, note = tree_size, at_size.note if at_size is not None else None
    if not 1 <= seq <= size:
        if tree_size is not None:
            raise validation_error("seq", "range", f"seq must be within the tree of size {size}",
                                   f"seq 须在规模为 {size} 的树内")
        raise NotFound("No such audit entry (or not integrated yet)", "未找到该审计记录（或尚未整合）")
    try:
        path, leaf, root = await tiles.inclusion_path(session, seq - 1, size, stored, _frontier(latest))
    except LookupError as exc:
        raise inconsistent("The audit log's stored tree is shorter than its checkpoint",
                           {"tree_size": size}) from exc
    return InclusionProofRead(seq=seq, leaf_index=seq - 1, tree_size=size, leaf_hash=b64(leaf),
                              audit_path=[b64(h) for h in path], root_hash=b64(root), checkpoint=note)


async def consistency(session: AsyncSession, old_size: int, new_size: int | None = None) -> ConsistencyProofRead:
    """Proof that the tree of `new_size` entries (default: the latest signed checkpoint) extends the
    tree of `old_size` entries, RFC 6962 §2.1.2. Reads O(log n) stored hashes."""
    size, latest = await _integrated_size(session)
    stored = size
    to_note = latest.note if latest is not None else None
    if new_size is not None:
        if new_size > size:
            raise validation_error("to", "range", f"the log has {size} integrated entries",
                                   f"日志共有 {size} 条已整合记录")
        at_size = await repository.checkpoint_at(session, new_size)
        size, to_note = new_size, at_size.note if at_size is not None else None
    if old_size > size:
        raise validation_error("from", "range", "from must not exceed to", "from 不得大于 to")
    try:
        proof, old_root, new_root = await tiles.consistency_path(session, old_size, size, stored, _frontier(latest))
    except LookupError as exc:
        raise inconsistent("The audit log's stored tree is shorter than its checkpoint",
                           {"tree_size": size}) from exc
    old = await repository.checkpoint_at(session, old_size)
    return ConsistencyProofRead(
        from_size=old_size, to_size=size, from_root=b64(old_root), to_root=b64(new_root),
        proof=[b64(h) for h in proof], from_checkpoint=old.note if old is not None else None,
        to_checkpoint=to_note,
    )


def promise(pending: AuditPending, *, seal: KeyRing, key_name: str, now: datetime,
            merge_delay_s: float) -> dict[str, Any]:
    """A signed promise to integrate a pending entry (the idea of CT's SCT and Rekor's SET): the
    entry's content hash and the time by which it will carry a seq and an inclusion proof, signed
    with the seal key as an EdDSA JWT."""
    entry_sha = content_sha256(pending.at, pending.actor, pending.action, pending.subject, pending.data_sha256)
    integrate_by = iso_utc(now + timedelta(seconds=merge_delay_s))
    key = seal.current
    claims = {"iss": checkpoint_origin(key_name), "sub": pending.subject, "entry_sha256": entry_sha,
              "integrate_by": integrate_by, "iat": int(now.timestamp())}
    token = jwt.encode(claims, key.private, algorithm="EdDSA",
                       headers={"kid": key.kid, "typ": "JWT", "cty": "fieldcheck-audit-promise"})
    return {"entry_sha256": entry_sha, "integrate_by": integrate_by, "key_id": key.kid, "token": token}


async def inclusion_for_subject(
    session: AsyncSession, subject: str, *, seal: KeyRing | None = None, key_name: str | None = None,
    now: datetime | None = None, merge_delay_s: float = 1.0,
) -> dict[str, Any] | None:
    """The latest audit entry about `subject` ("document:<id>", "evidence:<id>", ...) as JSON-able
    data; None when nothing was recorded about it.

    Integrated: {"entry", "proof", "checkpoint", "integrated": true} — the inclusion proof against
    the latest signed checkpoint. Still pending (recorded less than the merge delay ago): at once
    {"entry", "proof": null, "checkpoint": null, "integrated": false, "promise"}, the promise signed
    when `seal`, `key_name` and `now` are given; ask again (or GET /api/v1/audit/proof) after
    `promise.integrate_by` for the proof.
    """
    pending = await repository.latest_pending_for_subject(session, subject)
    if pending is not None:
        if pending.id is None:
            await session.flush()  # recorded in this very transaction: give it its id
        entry_sha = content_sha256(pending.at, pending.actor, pending.action, pending.subject, pending.data_sha256)
        signed = (promise(pending, seal=seal, key_name=key_name, now=now, merge_delay_s=merge_delay_s)
                  if seal is not None and key_name is not None and now is not None else None)
        return {
            "entry": {"pending_id": pending.id, "at": iso_utc(pending.at), "actor": pending.actor,
                      "action": pending.action, "subject": pending.subject, "data_sha256": pending.data_sha256,
                      "entry_sha256": entry_sha},
            "proof": None, "checkpoint": None, "integrated": False, "promise": signed,
        }
    entry = await repository.latest_for_subject(session, subject)
    if entry is None:
        return None
    proof = await inclusion(session, entry.seq)
    return {
        "entry": msgspec.to_builtins(AuditEntryRead(
            seq=entry.seq, at=entry.at, actor=entry.actor, action=entry.action, subject=entry.subject,
            data_sha256=entry.data_sha256, leaf_hash=entry.leaf_hash, prev_hash=entry.prev_hash,
            hash=entry.hash)),
        "proof": msgspec.to_builtins(proof),
        "checkpoint": proof.checkpoint,
        "integrated": True,
    }
