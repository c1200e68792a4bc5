"""HTTP endpoints of inspections, documents and Art. 12 signing authorisations: convert, call one
service method, convert back."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.http import clamp_limit, decode_cursor, encode_cursor, time_cursor
from backend.core.idempotency import keys_for, request_fingerprint, run_idempotent
from backend.core.responses import idempotent_create, to_builtins
from backend.core.signing import Keys
from backend.inspections import documents, service
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


async def _idempotent_action(request: Request[Any, Any, Any], session: AsyncSession, principal: Principal,
                             clock: Clock, *, entity: str, run: Any) -> Response[Any]:
    """A state-changing POST that creates nothing (start, finish): 200, and an Idempotency-Key
    replays the first answer instead of failing on the second attempt."""
    keys = keys_for(entity=entity, client_id=None, header_key=request.headers.get("idempotency-key"),
                    actor=principal.actor)

    async def create() -> tuple[int, Any]:
        return 200, to_builtins(await run())

    outcome = await run_idempotent(session, keys=keys, fingerprint=request_fingerprint(request.method,
                                   request.url.path, None), actor=principal.actor, now=clock.now(), create=create)
    return Response(content=outcome.body, status_code=outcome.status_code,
                    headers={"Idempotent-Replayed": "true"} if outcome.replayed else None)


class InspectionController(Controller):
    path = "/api/v1/inspections"
    tags = ["inspections"]

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
        size = clamp_limit(limit)
        after = time_cursor(decode_cursor(cursor))
        rows = await service.list_inspections(session, principal, status=status, after=after, limit=size + 1)
        nxt = None
        if len(rows) > size:
            last = rows[size - 1]
            nxt = encode_cursor({"at": last.created_at.isoformat(), "id": str(last.id)})
        return InspectionPage(items=[service.list_item(i) for i in rows[:size]], next_cursor=nxt)

    @get("/{inspection_id:uuid}")
    async def get_inspection(self, inspection_id: uuid.UUID, session: AsyncSession,
                             principal: Principal) -> InspectionRead:
        return await service.get_inspection(session, principal, inspection_id)

    @post("/{inspection_id:uuid}/check-ins", description="Check in on site (team members, for themselves).")
    async def check_in(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, data: CheckInCreate,
                       session: AsyncSession, principal: Principal, clock: Clock) -> Response[CheckInRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="check_in", data=data,
            create=lambda: service.check_in(session, principal, inspection_id, data, clock.now()),
        )

    @post("/{inspection_id:uuid}/check-outs")
    async def check_out(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, data: CheckOutCreate,
                        session: AsyncSession, principal: Principal, clock: Clock) -> Response[CheckInRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="check_out", data=data,
            create=lambda: service.check_out(session, principal, inspection_id, data, clock.now()),
        )

    @post("/{inspection_id:uuid}/credential-displays")
    async def credential_display(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID,
                                 data: CredentialDisplayCreate, session: AsyncSession, principal: Principal,
                                 clock: Clock, signing_keys: Keys,
                                 settings: Settings) -> Response[CredentialDisplayRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="credential_display", data=data,
            create=lambda: service.record_display(session, principal, inspection_id, data, clock.now(),
                                                  signing_keys, settings),
        )

    @post("/{inspection_id:uuid}/start", status_code=200)
    async def start(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, session: AsyncSession,
                    principal: Principal, clock: Clock) -> Response[InspectionRead]:
        return await _idempotent_action(
            request, session, principal, clock, entity="inspection.start",
            run=lambda: service.start_inspection(session, principal, inspection_id, clock.now(), clock.today()),
        )

    @post("/{inspection_id:uuid}/finish", status_code=200)
    async def finish(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, session: AsyncSession,
                     principal: Principal, clock: Clock) -> Response[InspectionRead]:
        return await _idempotent_action(
            request, session, principal, clock, entity="inspection.finish",
            run=lambda: service.finish_inspection(session, principal, inspection_id, clock.now()),
        )

    @post("/{inspection_id:uuid}/findings")
    async def add_finding(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, data: FindingCreate,
                          session: AsyncSession, principal: Principal, clock: Clock) -> Response[FindingRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="finding", data=data,
            create=lambda: service.add_finding(session, principal, inspection_id, data, clock.now()),
        )

    @post("/{inspection_id:uuid}/documents")
    async def create_document(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID,
                              data: DocumentCreate, session: AsyncSession, principal: Principal,
                              clock: Clock) -> Response[DocumentRead]:
        documents.require_canonical(data.content)
        return await idempotent_create(
            request, session, principal, clock, entity="document", data=data,
            create=lambda: documents.create_document(session, principal, inspection_id, data, clock.now(),
                                                     clock.today()),
        )


class DocumentController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]

    @get("/{document_id:uuid}")
    async def get_document(self, document_id: uuid.UUID, session: AsyncSession, principal: Principal,
                           clock: Clock) -> DocumentRead:
        return await documents.get_document(session, principal, document_id, clock.today())

    @put("/{document_id:uuid}", description="New version of an unlocked document; its signatures are dropped.")
    async def update_document(self, document_id: uuid.UUID, data: DocumentUpdate, session: AsyncSession,
                              principal: Principal, clock: Clock) -> DocumentRead:
        return await documents.update_document(session, principal, document_id, data, clock.now(), clock.today())

    @post("/{document_id:uuid}/corrections", description="A new document that supersedes a locked one.")
    async def correct_document(self, request: Request[Any, Any, Any], document_id: uuid.UUID,
                               data: CorrectionCreate, session: AsyncSession, principal: Principal,
                               clock: Clock) -> Response[DocumentRead]:
        documents.require_canonical(data.content)
        return await idempotent_create(
            request, session, principal, clock, entity="document", data=data,
            create=lambda: documents.correct_document(session, principal, document_id, data, clock.now(),
                                                      clock.today()),
        )

    @post("/{document_id:uuid}/signatures")
    async def sign(self, request: Request[Any, Any, Any], document_id: uuid.UUID, data: SignatureCreate,
                   session: AsyncSession, principal: Principal, clock: Clock,
                   signing_keys: Keys) -> Response[SignatureCreated]:
        return await idempotent_create(
            request, session, principal, clock, entity="signature", data=data,
            create=lambda: documents.sign_document(session, principal, document_id, data, clock.now(),
                                                   clock.today(), signing_keys),
        )

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
