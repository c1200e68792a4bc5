"""HTTP endpoints of auth, agencies and people: convert, call one service method, convert back."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal, issue_access_token
from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.pagination import clamp_limit, parse_cursor, parse_time_cursor
from backend.core.responses import idempotent_create
from backend.core.signing import Keys
from backend.guards.access import require_may_list_people
from backend.personnel.people import service
from backend.personnel.people.login_limits import limited_login
from backend.personnel.people.schemas import (
    AgencyPage,
    AgencyRead,
    PersonCreate,
    PersonPage,
    PersonRead,
    TokenRequest,
    TokenResponse,
)
from backend.settings import Settings


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/token", status_code=200)
    async def token(self, request: Request[Any, Any, Any], data: TokenRequest, session: AsyncSession,
                    signing_keys: Keys, settings: Settings, clock: Clock) -> TokenResponse:
        person = await limited_login(
            request.app.state, data.username, client_address(request),
            lambda: service.authenticate(session, data.username, data.password, demo_enabled=settings.demo))
        token = issue_access_token(signing_keys.access, person_id=person.id, role=person.role, issuer=settings.origin,
                                   now=clock.now(), ttl_s=settings.access_token_ttl_s)
        return TokenResponse(access_token=token, token_type="bearer", expires_in=settings.access_token_ttl_s,
                             person_id=person.id, role=person.role)

    @get("/auth/jwks")
    async def jwks(self, signing_keys: Keys) -> dict[str, Any]:
        return signing_keys.access.jwks()

    @get("/me")
    async def me(self, session: AsyncSession, principal: Principal) -> PersonRead:
        return await service.get_person(session, principal, principal.person_id)


class AgencyController(Controller):
    path = "/api/v1/agencies"
    tags = ["agencies"]

    @get("/")
    async def list_agencies(
        self, session: AsyncSession, principal: Principal,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AgencyPage:
        size = clamp_limit(limit)
        after = parse_cursor(cursor, service.agency_cursor)
        return await service.list_agencies(session, principal, after=after, limit=size)

    @get("/{code:str}")
    async def get_agency(self, code: str, session: AsyncSession, principal: Principal) -> AgencyRead:
        return service.agency_read(await service.get_agency(session, principal, code))


class PeopleController(Controller):
    path = "/api/v1/people"
    tags = ["people"]

    @post("/")
    async def create_person(self, request: Request[Any, Any, Any], data: PersonCreate, session: AsyncSession,
                            principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="person", data=data,
            create=lambda: service.create_person(session, principal, data, clock.now()),
        )

    @get("/{person_id:uuid}")
    async def get_person(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> PersonRead:
        return await service.get_person(session, principal, person_id)

    @get("/")
    async def list_people(
        self, session: AsyncSession, principal: Principal,
        role: Literal["officer", "technical_inspector", "social_supervisor", "hr_admin", "agency_admin"]
                        | None = None,
        agency_code: Annotated[str | None, Parameter(max_length=16)] = None,
        status: Literal["active", "dismissed"] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PersonPage:
        require_may_list_people(principal)
        size = clamp_limit(limit)
        after = parse_time_cursor(cursor)
        return await service.list_people(session, principal, role=role, agency_code=agency_code, status=status,
                                         after=after, limit=size)


ROUTES: list[Any] = [AuthController, AgencyController, PeopleController]
