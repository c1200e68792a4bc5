"""HTTP endpoints of credentials (issuance, reads, card, lifecycle, public keys, status list) and
of public verification: convert, call one service method, convert back. The public endpoints are
rate-limited per client address."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

import anyio
from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.pagination import clamp_limit, parse_time_cursor
from backend.core.responses import idempotent_create
from backend.core.signing import Keys
from backend.credentials import service
from backend.credentials.card import render_card
from backend.credentials.schemas import (
    CredentialCreate,
    CredentialPage,
    CredentialRead,
    RevokeRequest,
    StatusList,
    SuspendRequest,
    VerifyRequest,
    VerifyResponse,
)
from backend.settings import Settings


async def rate_limit(request: Request[Any, Any, Any]) -> None:
    await request.app.state["public_limiter"].hit(client_address(request))


class CredentialController(Controller):
    path = "/api/v1/credentials"
    tags = ["credentials"]

    @post("/", summary="Issue a credential (provincial hr_admin)")
    async def issue(self, request: Request[Any, Any, Any], data: CredentialCreate, session: AsyncSession,
                    principal: Principal, clock: Clock, signing_keys: Keys, settings: Settings) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="credential", data=data,
            create=lambda: service.issue(session, principal, data, signing_keys, settings, clock.now()),
        )

    @get("/")
    async def list_credentials(self, session: AsyncSession, principal: Principal, signing_keys: Keys,
                               settings: Settings, clock: Clock, person_id: uuid.UUID | None = None,
                               limit: int | None = None, cursor: str | None = None) -> CredentialPage:
        size = clamp_limit(limit)
        after = parse_time_cursor(cursor)
        return await service.list_credentials(session, principal, person_id=person_id, after=after, limit=size,
                                              keys=signing_keys, settings=settings, now=clock.now())

    @get("/{credential_id:uuid}")
    async def get_credential(self, credential_id: uuid.UUID, session: AsyncSession, principal: Principal,
                             signing_keys: Keys, settings: Settings, clock: Clock) -> CredentialRead:
        return await service.get_credential(session, principal, credential_id, signing_keys, settings, clock.now())

    @get("/{credential_id:uuid}/card.png", media_type="image/png",
         summary="Printable card (PNG, 85.6 × 54 mm at 300 dpi) with the verification QR code")
    async def card(self, credential_id: uuid.UUID, session: AsyncSession, principal: Principal,
                   signing_keys: Keys, settings: Settings) -> Response[bytes]:
        card = await service.card_data(session, principal, credential_id, signing_keys, settings)
        png = await anyio.to_thread.run_sync(partial(
            render_card, holder_name=card.holder_name, number=card.number, kind=card.kind,
            agency_name=card.agency_name, valid_from=card.valid_from, valid_until=card.valid_until,
            qr_text=card.qr_text,
        ))
        return Response(content=png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @post("/{credential_id:uuid}/revoke", status_code=200)
    async def revoke(self, credential_id: uuid.UUID, data: RevokeRequest, session: AsyncSession,
                     principal: Principal, signing_keys: Keys, settings: Settings, clock: Clock) -> CredentialRead:
        return await service.change_status(session, principal, credential_id, "revoke", data.reason, signing_keys,
                                           settings, clock.now())

    @post("/{credential_id:uuid}/suspend", status_code=200)
    async def suspend(self, credential_id: uuid.UUID, session: AsyncSession, principal: Principal,
                      signing_keys: Keys, settings: Settings, clock: Clock,
                      data: SuspendRequest | None = None) -> CredentialRead:
        return await service.change_status(session, principal, credential_id, "suspend",
                                           data.reason if data else None, signing_keys, settings, clock.now())

    @post("/{credential_id:uuid}/reinstate", status_code=200)
    async def reinstate(self, credential_id: uuid.UUID, session: AsyncSession, principal: Principal,
                        signing_keys: Keys, settings: Settings, clock: Clock) -> CredentialRead:
        return await service.change_status(session, principal, credential_id, "reinstate", None, signing_keys,
                                           settings, clock.now())

    @get("/jwks", summary="Credential-signing public keys (JWK set), for offline verifiers")
    async def jwks(self, request: Request[Any, Any, Any], signing_keys: Keys) -> Response[dict[str, Any]]:
        await rate_limit(request)
        return Response(service.credential_jwks(signing_keys), headers={"Cache-Control": "public, max-age=3600"})

    @get("/status", summary="Signed list of revoked and suspended credentials, for offline verifiers")
    async def status(self, request: Request[Any, Any, Any], read_session: AsyncSession, signing_keys: Keys,
                     settings: Settings, clock: Clock) -> Response[Any]:
        await rate_limit(request)
        body, etag = await service.status_list(read_session, signing_keys, settings, clock.now())
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
            return Response(content=b"", status_code=304, headers=headers)
        return Response[StatusList](content=body, headers=headers)


class VerifyController(Controller):
    path = "/api/v1/verify"
    tags = ["verification"]

    @post("/", status_code=200, summary="Verify a scanned QR code (URL or bare token)")
    async def verify_qr(self, request: Request[Any, Any, Any], data: VerifyRequest) -> VerifyResponse:
        # The hot path of a crowd scanning cards: no session, no dependency beyond the request;
        # the answer comes from the in-memory snapshot (backend/credentials/snapshot.py).
        await rate_limit(request)
        state = request.app.state
        now = state["clock"].now()
        outcome = await service.verify_qr_public(state["credential_snapshot"], state["keys"], data.qr_text, now)
        return service.verify_response(outcome, now)

    @get("/", summary="Verify a credential number (hyphens optional, any case)")
    async def verify_number(self, request: Request[Any, Any, Any], number: str) -> VerifyResponse:
        await rate_limit(request)
        state = request.app.state
        now = state["clock"].now()
        outcome = await service.verify_number_public(state["credential_snapshot"], number, now)
        return service.verify_response(outcome, now)


ROUTES: list[Any] = [CredentialController, VerifyController]
