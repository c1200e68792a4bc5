"""HTTP endpoints of the audit log.

The entries and the full check are for agency leadership. The record's public face — signed
checkpoints, Merkle proofs and the public keys — needs no login, on purpose: a checkpoint discloses
only how many entries the log has and one hash, and its whole value is that people outside the
agency (an inspected enterprise, a court, a social supervisor, the public verification pages) can
hold a copy and later demand a proof that the log they are shown extends it. Behind a login only
the agency could check the agency. These endpoints are rate-limited like the other public ones."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import Parameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import repository, service, witness
from backend.audit.schemas import (
    AuditEntryRead,
    AuditKeys,
    AuditPage,
    AuditVerify,
    ConsistencyProofRead,
    InclusionProofRead,
)
from backend.audit.verify import verify_chain
from backend.core.auth import Principal
from backend.core.deps import client_address
from backend.core.errors import validation_error
from backend.core.pagination import clamp_limit
from backend.core.signing import Keys
from backend.guards.access import require_role
from backend.settings import Settings

_MAX_SIZE = 1 << 62


async def _rate_limit(request: Request[Any, Any, Any]) -> None:
    await request.app.state["public_limiter"].hit(client_address(request))


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/")
    async def list_entries(
        self, session: AsyncSession, principal: Principal,
        after: Annotated[int, Parameter(ge=0, le=_MAX_SIZE)] = 0,
        limit: int | None = None,
    ) -> AuditPage:
        require_role(principal, "agency_admin")
        size = clamp_limit(limit)
        # Below the province an admin reads only what people of its own subtree did: entries about
        # other cities (an incident report names its reporter) are not theirs to see (API.md §Audit).
        under = None if principal.agency_path.count("/") <= 1 else principal.agency_path
        rows = await repository.page(session, after, size + 1, actors_under=under)
        return AuditPage.of(rows, size, item=lambda r: AuditEntryRead(
            seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject, data_sha256=r.data_sha256,
            leaf_hash=r.leaf_hash, prev_hash=r.prev_hash, hash=r.hash), key=lambda r: str(r.seq))

    @get("/verify")
    async def verify(self, read_session: AsyncSession, principal: Principal, signing_keys: Keys,
                     settings: Settings) -> AuditVerify:
        """The whole log rechecked: hash chain, tiles, Merkle root, every checkpoint ever signed, and
        the witness checkpoint file of this node's data directory."""
        require_role(principal, "agency_admin")
        witness_note = witness.read(settings.witness_path)
        result, _ = await verify_chain(read_session, seal=signing_keys.seal, key_name=settings.origin,
                                       witnesses=[witness_note] if witness_note else [])
        return AuditVerify(ok=result.ok, length=result.length, head=result.head, problems=result.problems,
                           tree_size=result.tree_size, root_hash=result.root_hash,
                           checkpoints_checked=result.checkpoints_checked,
                           latest_checkpoint=result.latest_checkpoint,
                           witnesses_checked=result.witnesses_checked, tiles_checked=result.tiles_checked)

    @get("/checkpoint", description="The current signed tree head: a C2SP checkpoint (text/plain), or "
                                    "with ?format=json {tree_size, root_hash (base64), note, ...}. No login.")
    async def checkpoint(self, request: Request[Any, Any, Any], read_session: AsyncSession, settings: Settings,
                         format: Literal["text", "json"] = "text") -> Response[Any]:
        await _rate_limit(request)
        issued = await service.current_checkpoint(read_session)
        headers = {"Cache-Control": "no-cache"}
        if format == "json":
            return Response(content=service.checkpoint_read(issued, settings.origin), headers=headers,
                            media_type="application/json")
        # Litestar appends "; charset=utf-8" to text/* itself: naming it here sent it twice.
        return Response(content=issued.note, media_type="text/plain", headers=headers)

    @get("/keys", description="Public keys that sign checkpoints (the seal ring), as JWKs with the "
                              "signed-note verifier key of each. No login.")
    async def keys(self, signing_keys: Keys, settings: Settings) -> AuditKeys:
        return service.audit_keys(signing_keys.seal, settings.origin)

    @get("/proof", description="?seq=N[&tree_size=M]: inclusion proof of entry N (leaf N-1). "
                               "?from=A[&to=B]: consistency proof between tree sizes. Default tree size: "
                               "the latest signed checkpoint. Entries are integrated within the maximum merge delay "
                               "(FIELDCHECK_AUDIT_MAX_MERGE_DELAY_MS); before that, 404. Hashes are base64. No login.")
    async def proof(
        self, request: Request[Any, Any, Any], read_session: AsyncSession,
        seq: Annotated[int | None, Parameter(ge=1, le=_MAX_SIZE)] = None,
        tree_size: Annotated[int | None, Parameter(ge=1, le=_MAX_SIZE)] = None,
        from_size: Annotated[int | None, QueryParameter(name="from", ge=0, le=_MAX_SIZE)] = None,
        to_size: Annotated[int | None, QueryParameter(name="to", ge=0, le=_MAX_SIZE)] = None,
    ) -> InclusionProofRead | ConsistencyProofRead:
        await _rate_limit(request)
        if seq is not None:
            if from_size is not None or to_size is not None:
                raise validation_error("seq", "exclusive", "give either seq (inclusion) or from/to (consistency)",
                                       "seq 与 from/to 不能同时给出")
            return await service.inclusion(read_session, seq, tree_size)
        if from_size is not None:
            if tree_size is not None:
                raise validation_error("tree_size", "not_applicable", "use to= with from=", "from 须与 to 搭配")
            return await service.consistency(read_session, from_size, to_size)
        raise validation_error("seq", "required", "give seq (inclusion proof) or from (consistency proof)",
                               "须给出 seq（包含证明）或 from（一致性证明）")

