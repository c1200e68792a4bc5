"""The state-changing use cases of inspections and documents as commands: one function each, called
by the HTTP controller and by the offline-sync registry alike. Each runs its service function at
most once per client `id` / Idempotency-Key (core/idempotency.once) and answers an `Outcome`
(status + JSON body). Their effects are all in the database transaction, so a duplicate is run
and rolled back when its idempotency record collides (`lookup_first=False`) rather than looked
up before every first attempt. No Litestar here."""

from __future__ import annotations

import uuid

from backend.core.commands import Ctx
from backend.core.idempotency import Outcome, once
from backend.inspections import documents, service
from backend.inspections.schemas import (
    CheckInCreate,
    CheckOutCreate,
    CorrectionCreate,
    CredentialDisplayCreate,
    DocumentCreate,
    DocumentUpdate,
    FindingCreate,
    SignatureCreate,
)


async def check_in(ctx: Ctx, inspection_id: uuid.UUID, data: CheckInCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="check_in",
                      scope=f"inspection:{inspection_id}/check-ins", data=data, header_key=ctx.idempotency_key,
                      now=now, create=lambda: service.check_in(ctx.session, ctx.principal, inspection_id, data, now))


async def check_out(ctx: Ctx, inspection_id: uuid.UUID, data: CheckOutCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="check_out",
                      scope=f"inspection:{inspection_id}/check-outs", data=data, header_key=ctx.idempotency_key,
                      now=now, create=lambda: service.check_out(ctx.session, ctx.principal, inspection_id, data, now))


async def credential_display(ctx: Ctx, inspection_id: uuid.UUID, data: CredentialDisplayCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="credential_display",
                      scope=f"inspection:{inspection_id}/credential-displays", data=data,
                      header_key=ctx.idempotency_key, now=now,
                      create=lambda: service.record_display(ctx.session, ctx.principal, inspection_id, data, now,
                                                            ctx.keys, ctx.settings))


async def start(ctx: Ctx, inspection_id: uuid.UUID) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="inspection.start",
                      scope=f"inspection:{inspection_id}/start", data=None, header_key=ctx.idempotency_key,
                      now=now, status=200,
                      create=lambda: service.start_inspection(ctx.session, ctx.principal, inspection_id, now,
                                                              ctx.clock.today()))


async def finish(ctx: Ctx, inspection_id: uuid.UUID) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="inspection.finish",
                      scope=f"inspection:{inspection_id}/finish", data=None, header_key=ctx.idempotency_key,
                      now=now, status=200,
                      create=lambda: service.finish_inspection(ctx.session, ctx.principal, inspection_id, now))


async def add_finding(ctx: Ctx, inspection_id: uuid.UUID, data: FindingCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="finding",
                      scope=f"inspection:{inspection_id}/findings", data=data, header_key=ctx.idempotency_key,
                      now=now, create=lambda: service.add_finding(ctx.session, ctx.principal, inspection_id, data, now))


async def create_document(ctx: Ctx, inspection_id: uuid.UUID, data: DocumentCreate) -> Outcome:
    # Before the idempotency fingerprint, which needs the content's canonical form.
    documents.require_canonical(data.content)
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="document",
                      scope=f"inspection:{inspection_id}/documents", data=data, header_key=ctx.idempotency_key,
                      now=now, create=lambda: documents.create_document(ctx.session, ctx.principal, inspection_id,
                                                                        data, now, ctx.clock.today()))


async def update_document(ctx: Ctx, document_id: uuid.UUID, data: DocumentUpdate) -> Outcome:
    documents.require_canonical(data.content)
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="document.update",
                      scope=f"document:{document_id}", data=data, header_key=ctx.idempotency_key, now=now,
                      status=200, create=lambda: documents.update_document(ctx.session, ctx.principal, document_id,
                                                                           data, now, ctx.clock.today()))


async def correct_document(ctx: Ctx, document_id: uuid.UUID, data: CorrectionCreate) -> Outcome:
    documents.require_canonical(data.content)
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="document",
                      scope=f"document:{document_id}/corrections", data=data, header_key=ctx.idempotency_key,
                      now=now, create=lambda: documents.correct_document(ctx.session, ctx.principal, document_id,
                                                                         data, now, ctx.clock.today()))


async def sign(ctx: Ctx, document_id: uuid.UUID, data: SignatureCreate) -> Outcome:
    now = ctx.clock.now()
    return await once(ctx.session, lookup_first=False, actor=ctx.principal.actor, entity="signature",
                      scope=f"document:{document_id}/signatures", data=data, header_key=ctx.idempotency_key,
                      now=now, create=lambda: documents.sign_document(ctx.session, ctx.principal, document_id, data,
                                                                      now, ctx.clock.today(), ctx.keys))
