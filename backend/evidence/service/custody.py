"""The custody log of a photo: who uploaded, read or exported it, when and from where. Every read
of a photo adds its row in the transaction of the read."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.pagination import Page, encode_cursor, of_type
from backend.evidence import repository
from backend.evidence.models import CustodyEvent
from backend.evidence.schemas import CustodyEventRead, CustodyPage
from backend.evidence.service.owners import load_visible


@dataclass(frozen=True)
class ClientInfo:
    """Where a request came from, as the custody log records it."""

    address: str | None
    user_agent: str | None


def custody_row(evidence_id: uuid.UUID, action: str, principal: Principal, client: ClientInfo, now: datetime,
                detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "evidence_id": evidence_id, "action": action, "actor": principal.person_id, "actor_role": principal.role,
        "at": now, "client_address": (client.address or None) and client.address[:64],
        "user_agent": (client.user_agent or None) and client.user_agent[:300], "detail": detail or {},
    }


def custody_read(c: CustodyEvent) -> CustodyEventRead:
    return CustodyEventRead(seq=c.seq, action=c.action, at=c.at, actor=c.actor, actor_role=c.actor_role,
                            client_address=c.client_address, user_agent=c.user_agent, detail=dict(c.detail or {}))


def custody_cursor(value: dict[str, Any]) -> int:
    """The position inside a decoded `{"seq"}` cursor (for core/pagination.parse_cursor)."""
    return of_type(value["seq"], int)


async def custody_page(session: AsyncSession, principal: Principal, evidence_id: uuid.UUID, *,
                       after_seq: int | None, limit: int) -> CustodyPage:
    """Up to `limit` rows of the photo's custody log after `after_seq`, oldest first."""
    evidence = await load_visible(session, principal, evidence_id)
    rows = await repository.custody(session, evidence.id, after_seq, limit + 1)
    page = Page[CustodyEventRead].of(rows, limit, item=custody_read, key=lambda c: encode_cursor({"seq": c.seq}))
    return CustodyPage(evidence_id=evidence.id, sha256=evidence.sha256, items=page.items, next_cursor=page.next_cursor)
