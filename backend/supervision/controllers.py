"""HTTP endpoints of social supervision (API.md §Social supervision): convert, call one service
method, convert back. Submissions and feedback are creates (201, client `id`, Idempotency-Key)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.commands import Ctx
from backend.core.deps import COMMAND_DEPENDENCIES
from backend.core.pagination import clamp_limit, parse_time_cursor
from backend.core.responses import idempotent_create, outcome_response
from backend.supervision import commands, service
from backend.supervision.schemas import (
    FeedbackCreate,
    SubmissionCreate,
    SubmissionPage,
    SubmissionRead,
    SubmissionStatus,
)


class SubmissionController(Controller):
    path = "/api/v1/supervision/submissions"
    tags = ["supervision"]

    @post("/", summary="Send a criticism, opinion, suggestion or clue (social_supervisor)",
          dependencies=COMMAND_DEPENDENCIES)
    async def submit(self, data: SubmissionCreate, ctx: Ctx) -> Response[SubmissionRead]:
        return outcome_response(await commands.submit(ctx, data))

    @get("/{submission_id:uuid}")
    async def get_submission(self, submission_id: uuid.UUID, session: AsyncSession, principal: Principal,
                             clock: Clock) -> SubmissionRead:
        return await service.get_submission(session, principal, submission_id, clock.now())

    @get("/", summary="Own submissions (supervisors) or those to the caller's agency and below (staff, officers)")
    async def list_submissions(
        self, session: AsyncSession, principal: Principal, clock: Clock,
        mine: bool = False,
        overdue: bool = False,
        status: SubmissionStatus | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SubmissionPage:
        return await service.list_submissions(session, principal, mine=mine, overdue=overdue, status=status,
                                              before=parse_time_cursor(cursor), limit=clamp_limit(limit),
                                              now=clock.now())

    @post("/{submission_id:uuid}/feedback", summary="The agency's answer (agency_admin or hr_admin), once")
    async def answer(self, request: Request[Any, Any, Any], submission_id: uuid.UUID, data: FeedbackCreate,
                     session: AsyncSession, principal: Principal, clock: Clock) -> Response[SubmissionRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="supervision-feedback", data=data,
            create=lambda: service.answer(session, principal, submission_id, data, clock.now()),
        )


ROUTES: list[Any] = [SubmissionController]
