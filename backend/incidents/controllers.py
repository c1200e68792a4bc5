"""HTTP endpoints of incidents (API.md §Incidents): convert, call one service method, convert back.

Creates (the report, police notifications, assistance actions, findings, clarifications) answer
201 and honour a client `id` and `Idempotency-Key`; the pure state changes (`/investigation`,
`/close`) answer 200 and honour `Idempotency-Key`. Every step answers with the whole case.
An Art. 29 case enters `investigating` through an explicit `POST /incidents/{id}/investigation`."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.http import clamp_limit, decode_cursor
from backend.core.responses import idempotent_create
from backend.incidents import service
from backend.incidents.schemas import (
    ActionCreate,
    ClarificationCreate,
    CloseRequest,
    FindingCreate,
    IncidentCreate,
    IncidentPage,
    IncidentRead,
    IncidentStatus,
    InvestigationStart,
    PoliceNotificationCreate,
)
from backend.settings import Settings


async def idempotent_step(request: Request[Any, Any, Any], session: AsyncSession, principal: Principal,
                          clock: Clock, *, entity: str, data: Any, run: Any) -> Response[Any]:
    """A state change that creates nothing: 200 the first time and on a replay (Idempotency-Key)."""
    response = await idempotent_create(request, session, principal, clock, entity=entity, data=data, create=run)
    response.status_code = 200
    return response


class IncidentController(Controller):
    path = "/api/v1/incidents"
    tags = ["incidents"]

    @post("/", summary="Report an incident (technical_inspector or social_supervisor)")
    async def report(self, request: Request[Any, Any, Any], data: IncidentCreate, session: AsyncSession,
                     principal: Principal, clock: Clock, settings: Settings) -> Response[IncidentRead]:
        now = clock.now()
        return await idempotent_create(
            request, session, principal, clock, entity="incident", data=data,
            create=lambda: service.report(session, principal, data, settings, now),
        )

    @get("/{incident_id:uuid}")
    async def get_incident(self, incident_id: uuid.UUID, session: AsyncSession, principal: Principal,
                           clock: Clock) -> IncidentRead:
        return await service.get_incident(session, principal, incident_id, clock.now())

    @get("/", summary="Incidents the caller may see, newest first")
    async def list_incidents(
        self, session: AsyncSession, principal: Principal, clock: Clock,
        status: IncidentStatus | None = None,
        overdue: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> IncidentPage:
        return await service.list_incidents(session, principal, status=status, overdue=overdue,
                                            cursor=decode_cursor(cursor), limit=clamp_limit(limit), now=clock.now())

    @post("/{incident_id:uuid}/police-notifications", summary="Record that the police were told (Art. 28)")
    async def notify_police(self, request: Request[Any, Any, Any], incident_id: uuid.UUID,
                            data: PoliceNotificationCreate, session: AsyncSession, principal: Principal,
                            clock: Clock) -> Response[IncidentRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="incident-police-notification", data=data,
            create=lambda: service.notify_police(session, principal, incident_id, data, clock.now()),
        )

    @post("/{incident_id:uuid}/actions", summary="Record assistance given (Art. 28)")
    async def add_action(self, request: Request[Any, Any, Any], incident_id: uuid.UUID, data: ActionCreate,
                         session: AsyncSession, principal: Principal, clock: Clock) -> Response[IncidentRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="incident-action", data=data,
            create=lambda: service.add_action(session, principal, incident_id, data, clock.now()),
        )

    @post("/{incident_id:uuid}/investigation", status_code=200, summary="Start the investigation of an Art. 29 case")
    async def start_investigation(self, request: Request[Any, Any, Any], incident_id: uuid.UUID,
                                  session: AsyncSession, principal: Principal, clock: Clock,
                                  data: InvestigationStart | None = None) -> Response[IncidentRead]:
        return await idempotent_step(
            request, session, principal, clock, entity="incident-investigation", data=data or {},
            run=lambda: service.start_investigation(session, principal, incident_id, data, clock.now()),
        )

    @post("/{incident_id:uuid}/findings", summary="Record the investigation's finding (Art. 29)")
    async def record_finding(self, request: Request[Any, Any, Any], incident_id: uuid.UUID, data: FindingCreate,
                             session: AsyncSession, principal: Principal, clock: Clock,
                             settings: Settings) -> Response[IncidentRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="incident-finding", data=data,
            create=lambda: service.record_finding(session, principal, incident_id, data, settings, clock.now()),
        )

    @post("/{incident_id:uuid}/clarifications", summary="Record the clarification after a not-liable finding")
    async def clarify(self, request: Request[Any, Any, Any], incident_id: uuid.UUID, data: ClarificationCreate,
                      session: AsyncSession, principal: Principal, clock: Clock) -> Response[IncidentRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="incident-clarification", data=data,
            create=lambda: service.clarify(session, principal, incident_id, data, clock.now()),
        )

    @post("/{incident_id:uuid}/close", status_code=200, summary="Close a case")
    async def close(self, request: Request[Any, Any, Any], incident_id: uuid.UUID, data: CloseRequest,
                    session: AsyncSession, principal: Principal, clock: Clock) -> Response[IncidentRead]:
        return await idempotent_step(
            request, session, principal, clock, entity="incident-close", data=data,
            run=lambda: service.close(session, principal, incident_id, data, clock.now()),
        )


ROUTES: list[Any] = [IncidentController]
