"""HTTP endpoints of exam recruitments (Art. 6)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.responses import idempotent_create
from backend.personnel.recruitment import service
from backend.personnel.recruitment.schemas import (
    CandidateCreate,
    Ranking,
    RecruitmentCreate,
    RecruitmentRead,
    WithdrawRequest,
)


class RecruitmentController(Controller):
    path = "/api/v1/recruitments"
    tags = ["recruitments"]

    @post("/", summary="Open an exam recruitment (hr_admin); written_weight ≥ 0.6 (Art. 6)")
    async def create(self, request: Request[Any, Any, Any], data: RecruitmentCreate, session: AsyncSession,
                     principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="recruitment", data=data,
            create=lambda: service.create_recruitment(session, principal, data, clock.now()),
        )

    @get("/{recruitment_id:uuid}")
    async def get_(self, recruitment_id: uuid.UUID, session: AsyncSession, principal: Principal) -> RecruitmentRead:
        return await service.get_recruitment(session, principal, recruitment_id)

    @post("/{recruitment_id:uuid}/candidates", summary="Add a candidate with written and interview scores")
    async def add_candidate(self, recruitment_id: uuid.UUID, request: Request[Any, Any, Any], data: CandidateCreate,
                            session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="candidate", data=data,
            create=lambda: service.add_candidate(session, principal, recruitment_id, data, clock.now()),
        )

    @get("/{recruitment_id:uuid}/ranking", summary="Candidates by total; the top `posts` still in are offered")
    async def ranking(self, recruitment_id: uuid.UUID, session: AsyncSession, principal: Principal) -> Ranking:
        return await service.ranking(session, principal, recruitment_id)

    @post("/{recruitment_id:uuid}/candidates/{candidate_id:uuid}/withdraw", status_code=200,
          summary="Withdrawal or failed medical/background check; the next in score order is offered")
    async def withdraw(self, recruitment_id: uuid.UUID, candidate_id: uuid.UUID, data: WithdrawRequest,
                       session: AsyncSession, principal: Principal, clock: Clock) -> Ranking:
        return await service.withdraw_candidate(session, principal, recruitment_id, candidate_id, data,
                                                          clock.now())


ROUTES: list[Any] = [RecruitmentController]
