"""HTTP endpoints of the audit log (agency leadership only)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import repository
from backend.audit.schemas import AuditEntryRead, AuditPage, AuditVerify
from backend.audit.service import verify_chain
from backend.core.auth import Principal
from backend.core.http import clamp_limit
from backend.guards.access import require_role


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/")
    async def list_entries(
        self, session: AsyncSession, principal: Principal,
        after: Annotated[int, Parameter(ge=0)] = 0,
        limit: int | None = None,
    ) -> AuditPage:
        require_role(principal, "agency_admin")
        size = clamp_limit(limit)
        rows = await repository.page(session, after, size + 1)
        items = [AuditEntryRead(seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject,
                                data_sha256=r.data_sha256, leaf_hash=r.leaf_hash, prev_hash=r.prev_hash,
                                hash=r.hash) for r in rows[:size]]
        return AuditPage(items=items, next_cursor=str(rows[size - 1].seq) if len(rows) > size else None)

    @get("/verify")
    async def verify(self, session: AsyncSession, principal: Principal) -> AuditVerify:
        require_role(principal, "agency_admin")
        result = await verify_chain(session)
        return AuditVerify(ok=result.ok, length=result.length, head=result.head, problems=result.problems)
