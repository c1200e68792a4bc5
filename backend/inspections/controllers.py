"""HTTP endpoints of inspections, documents and Art. 12 signing authorisations: convert, call one
service method, convert back."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.commands import Ctx
from backend.core.deps import COMMAND_DEPENDENCIES
from backend.core.pagination import clamp_limit, parse_time_cursor
from backend.core.responses import idempotent_create, outcome_response
from backend.core.signing import Keys
from backend.inspections import commands, documents, service
from backend.inspections.schemas import (
    CheckInCreate,
    CheckInRead,
    CheckOutCreate,
    CorrectionCreate,
    CredentialDisplayCreate,
    CredentialDisplayRead,
    DocumentCreate,
    DocumentRead,
    DocumentUpdate,
    DocumentVerify,
    FindingCreate,
    FindingRead,
    InspectionCreate,
    InspectionPage,
    InspectionRead,
    SignatureCreate,
    SignatureCreated,
    SigningAuthorisationCreate,
    SigningAuthorisationRead,
)
from backend.settings import Settings


class InspectionController(Controller):
    path = "/api/v1/inspections"
    tags = ["inspections"]
    dependencies = COMMAND_DEPENDENCIES

    @post("/", description="Plan an inspection (officers only).")
    async def create_inspection(self, request: Request[Any, Any, Any], data: InspectionCreate,
                                session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="inspection", data=data,
            create=lambda: service.create_inspection(session, principal, data, clock.now()),
        )

    @get("/")
    async def list_inspections(self, session: AsyncSession, principal: Principal,
                               status: Literal["planned", "in_progress", "finished"] | None = None,
                               limit: int | None = None, cursor: str | None = None) -> InspectionPage:
        before = parse_time_cursor(cursor)
        return await service.list_inspections(session, principal, status=status, before=before,
                                              limit=clamp_limit(limit))

    @get("/{inspection_id:uuid}")
    async def get_inspection(self, inspection_id: uuid.UUID, session: AsyncSession,
                             principal: Principal) -> InspectionRead:
        return await service.get_inspection(session, principal, inspection_id)

    @post("/{inspection_id:uuid}/check-ins", description="Check in on site (team members, for themselves).")
    async def check_in(self, inspection_id: uuid.UUID, data: CheckInCreate, ctx: Ctx) -> Response[CheckInRead]:
        return outcome_response(await commands.check_in(ctx, inspection_id, data))

    @post("/{inspection_id:uuid}/check-outs")
    async def check_out(self, inspection_id: uuid.UUID, data: CheckOutCreate, ctx: Ctx) -> Response[CheckInRead]:
        return outcome_response(await commands.check_out(ctx, inspection_id, data))

    @post("/{inspection_id:uuid}/credential-displays")
    async def credential_display(self, inspection_id: uuid.UUID, data: CredentialDisplayCreate,
                                 ctx: Ctx) -> Response[CredentialDisplayRead]:
        return outcome_response(await commands.credential_display(ctx, inspection_id, data))

    @post("/{inspection_id:uuid}/start", status_code=200)
    async def start(self, inspection_id: uuid.UUID, ctx: Ctx) -> Response[InspectionRead]:
        return outcome_response(await commands.start(ctx, inspection_id))

    @post("/{inspection_id:uuid}/finish", status_code=200)
    async def finish(self, inspection_id: uuid.UUID, ctx: Ctx) -> Response[InspectionRead]:
        return outcome_response(await commands.finish(ctx, inspection_id))

    @post("/{inspection_id:uuid}/findings")
    async def add_finding(self, inspection_id: uuid.UUID, data: FindingCreate, ctx: Ctx) -> Response[FindingRead]:
        return outcome_response(await commands.add_finding(ctx, inspection_id, data))

    @post("/{inspection_id:uuid}/documents")
    async def create_document(self, inspection_id: uuid.UUID, data: DocumentCreate,
                              ctx: Ctx) -> Response[DocumentRead]:
        return outcome_response(await commands.create_document(ctx, inspection_id, data))


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]
    dependencies = COMMAND_DEPENDENCIES

    @get("/{document_id:uuid}")
    async def get_document(self, document_id: uuid.UUID, session: AsyncSession, principal: Principal,
                           clock: Clock) -> DocumentRead:
        return await documents.get_document(session, principal, document_id, clock.today())

    @put("/{document_id:uuid}", description="New version of an unlocked document; its signatures are dropped.")
    async def update_document(self, document_id: uuid.UUID, data: DocumentUpdate, ctx: Ctx) -> Response[DocumentRead]:
        return outcome_response(await commands.update_document(ctx, document_id, data))

    @post("/{document_id:uuid}/corrections", description="A new document that supersedes a locked one.")
    async def correct_document(self, document_id: uuid.UUID, data: CorrectionCreate,
                               ctx: Ctx) -> Response[DocumentRead]:
        return outcome_response(await commands.correct_document(ctx, document_id, data))

    @post("/{document_id:uuid}/signatures")
    async def sign(self, document_id: uuid.UUID, data: SignatureCreate, ctx: Ctx) -> Response[SignatureCreated]:
        return outcome_response(await commands.sign(ctx, document_id, data))

    @get("/{document_id:uuid}/verify")
    async def verify(self, document_id: uuid.UUID, session: AsyncSession, principal: Principal,
                     signing_keys: Keys, settings: Settings, clock: Clock) -> DocumentVerify:
        return await documents.verify_document(session, principal, document_id, signing_keys,
                                               origin=settings.origin, now=clock.now())


class SigningAuthorisationController(Controller):
    path = "/api/v1/people"
    tags = ["people"]

    @post("/{person_id:uuid}/signing-authorisations",
          description="Art. 12: authorise a technical inspector to sign records (agency_admin).")
    async def grant(self, request: Request[Any, Any, Any], person_id: uuid.UUID,
                    data: SigningAuthorisationCreate, session: AsyncSession, principal: Principal,
                    clock: Clock) -> Response[SigningAuthorisationRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="signing_authorisation", data=data,
            create=lambda: service.grant_signing_authorisation(session, principal, person_id, data, clock.now(),
                                                                clock.today()),
        )


ROUTES: list[Any] = [InspectionController, DocumentController, SigningAuthorisationController]
