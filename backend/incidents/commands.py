"""The incident use cases a phone records in the field, as commands: one function each, called by
the HTTP controller and by the offline-sync registry alike (idempotent per client `id` /
Idempotency-Key through core/idempotency.once). No Litestar here."""

from __future__ import annotations

import uuid

from backend.core.commands import Ctx
from backend.core.idempotency import Outcome, once
from backend.incidents import service
from backend.incidents.schemas import ActionCreate, IncidentCreate


async def report(ctx: Ctx, data: IncidentCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, actor=ctx.principal.actor, entity="incident", scope="incidents", data=data,
                      header_key=ctx.idempotency_key, now=now,
                      create=lambda: service.report(ctx.session, ctx.principal, data, ctx.settings, now))


async def add_action(ctx: Ctx, incident_id: uuid.UUID, data: ActionCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, actor=ctx.principal.actor, entity="incident-action",
                      scope=f"incident:{incident_id}/actions", data=data, header_key=ctx.idempotency_key, now=now,
                      create=lambda: service.add_action(ctx.session, ctx.principal, incident_id, data, now))
