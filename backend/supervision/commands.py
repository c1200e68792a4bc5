"""The social supervisor's submission as a command: one function, called by the HTTP controller and
by the offline-sync registry alike (idempotent per client `id` / Idempotency-Key through
core/idempotency.once). No Litestar here."""

from __future__ import annotations

from backend.core.commands import Ctx
from backend.core.idempotency import Outcome, once
from backend.supervision import service
from backend.supervision.schemas import SubmissionCreate


async def submit(ctx: Ctx, data: SubmissionCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, actor=ctx.principal.actor, entity="supervision-submission",
                      scope="supervision/submissions", data=data, header_key=ctx.idempotency_key, now=now,
                      create=lambda: service.submit(ctx.session, ctx.principal, data, ctx.settings, now))
