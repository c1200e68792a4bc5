"""Recording a training as a command: one function, called by the HTTP controller and by the
offline-sync registry alike (idempotent per client `id` / Idempotency-Key through
core/idempotency.once). No Litestar here."""

from __future__ import annotations

import uuid

from backend.core.commands import Ctx
from backend.core.idempotency import Outcome, once
from backend.personnel.training import service
from backend.personnel.training.schemas import TrainingCreate


async def add_training(ctx: Ctx, person_id: uuid.UUID, data: TrainingCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, actor=ctx.principal.actor, entity="training",
                      scope=f"person:{person_id}/trainings", data=data, header_key=ctx.idempotency_key, now=now,
                      create=lambda: service.add_training(ctx.session, ctx.principal, person_id, data,
                                                                    now))
