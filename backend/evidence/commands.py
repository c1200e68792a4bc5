"""A photo taken offline, as a command of the sync registry: its metadata op (the SHA-256, when
it was taken) is judged when the op is applied — the inspection's Art. 12/13 gate, as for an
upload — and answered 202 with the evidence id to be; the file, uploaded later with
`Idempotency-Key: op:<op_id>`, completes it (service.intake_photo). No Litestar here."""

from __future__ import annotations

import uuid

import msgspec

from backend.audit.service import record
from backend.core.commands import Ctx
from backend.core.errors import Conflict
from backend.core.idempotency import Outcome
from backend.evidence import repository, service
from backend.evidence.schemas import EvidenceDeclare, EvidenceDeclared
from backend.sync.ledger import photo_fingerprint


def declare_fingerprint(caller: str, params: tuple[uuid.UUID, ...], body: object) -> str:
    """The ledger fingerprint of the metadata op: the same as the upload's (see sync/ledger.py)."""
    sha = body.get("sha256") if isinstance(body, dict) else None
    return photo_fingerprint(caller, "inspection", params[0], str(sha or ""))


async def declare_photo(ctx: Ctx, inspection_id: uuid.UUID, data: EvidenceDeclare) -> Outcome:
    now = ctx.clock.now()
    owner = await service.inspection_owner(ctx.session, ctx.principal, inspection_id, now)
    sha = data.sha256.lower()
    existing = await repository.by_owner_sha(ctx.session, owner.kind, owner.id, sha)
    if existing is not None:  # the same photo was uploaded already (without this op's key)
        return Outcome(200, msgspec.to_builtins(service.evidence_read(existing)), True)
    if data.id is not None and await repository.get(ctx.session, data.id) is not None:
        raise Conflict("This id is already used by another photo", "该 ID 已用于另一张照片", code="ID_CONFLICT",
                       detail={"id": str(data.id)})
    declared = EvidenceDeclared(id=data.id or uuid.uuid4(), state="awaiting_upload", sha256=sha, owner_kind=owner.kind,
                                owner_id=owner.id, inspection_id=owner.inspection_id, captured_at=data.captured_at)
    await record(ctx.session, actor=ctx.principal.actor, action="evidence.declared",
                 subject=f"inspection:{inspection_id}",
                 data={"evidence_id": str(declared.id), "sha256": sha, "captured_at": data.captured_at}, at=now)
    return Outcome(202, msgspec.to_builtins(declared), False)
