"""HTTP endpoints of incidents (API.md §Incidents): convert, call one service method, convert back.

Creates (the report, police notifications, assistance actions, findings, clarifications) answer
201 and honour a client `id` and `Idempotency-Key`; the pure state changes (`/investigation`,
`/close`) answer 200 and honour `Idempotency-Key`. Every step answers with the whole case.
An Art. 29 case enters `investigating` through an explicit `POST /incidents/{id}/investigation`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import RequestBody, Schema
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.commands import Ctx
from backend.core.deps import COMMAND_DEPENDENCIES
from backend.core.pagination import clamp_limit, parse_time_cursor
from backend.core.responses import idempotent_create, outcome_response
from backend.core.signing import Keys
from backend.evidence import service as evidence
from backend.evidence.controllers import UploadOperation, evidence_page, handle_upload
from backend.evidence.schemas import EvidencePage, EvidenceRead
from backend.incidents import commands, service
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

    @post("/", summary="Report an incident (technical_inspector or social_supervisor)",
          dependencies=COMMAND_DEPENDENCIES)
    async def report(self, data: IncidentCreate, ctx: Ctx) -> Response[IncidentRead]:
        return outcome_response(await commands.report(ctx, data))

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
                                            before=parse_time_cursor(cursor), limit=clamp_limit(limit), now=clock.now())

    @post("/{incident_id:uuid}/police-notifications", summary="Record that the police were told (Art. 28)")
    async def notify_police(self, request: Request[Any, Any, Any], incident_id: uuid.UUID,
                            data: PoliceNotificationCreate, session: AsyncSession, principal: Principal,
                            clock: Clock) -> Response[IncidentRead]:
        return await idempotent_create(
            request, session, principal, clock, entity="incident-police-notification", data=data,
            create=lambda: service.notify_police(session, principal, incident_id, data, clock.now()),
        )

    @post("/{incident_id:uuid}/actions", summary="Record assistance given (Art. 28)",
          dependencies=COMMAND_DEPENDENCIES)
    async def add_action(self, incident_id: uuid.UUID, data: ActionCreate, ctx: Ctx) -> Response[IncidentRead]:
        return outcome_response(await commands.add_action(ctx, incident_id, data))

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


INCIDENT_UPLOAD_DESCRIPTION = """Attach a photo to a case: its reporter, or staff of its agency or above
(anyone else: 404). multipart/form-data as for inspections (`file`, `sha256`, `captured_at`, `lon`,
`lat`, `crs`, `accuracy_m`, `note`, `id`), except that the device position (`lon`, `lat`) is
optional. 201 the first time; 200 for the same photo (same sha256) again, or a replayed `id` /
`Idempotency-Key`. 422 HASH_MISMATCH, 415 UNSUPPORTED_MEDIA_TYPE, 413 TOO_LARGE, 422 IMAGE_CORRUPT,
422 VALIDATION_ERROR. Flags: NO_GPS, EXIF_DEVICE_MISMATCH, TIME_MISMATCH (EXIF time vs captured_at),
EDITED (no site, so never OUTSIDE_SITE). Read, custody and export through /api/v1/evidence/{id}."""


@dataclass
class IncidentUploadOperation(UploadOperation):
    """As for inspections, but the device position is optional."""

    def __post_init__(self) -> None:
        super().__post_init__()
        body = self.request_body
        schema = body.content["multipart/form-data"].schema if isinstance(body, RequestBody) else None
        if isinstance(schema, Schema):
            schema.required = ["file", "sha256", "captured_at"]


class IncidentEvidenceController(Controller):
    path = "/api/v1/incidents"
    tags = ["incidents", "evidence"]

    @post("/{incident_id:uuid}/evidence", request_max_body_size=None, status_code=201,
          summary="Attach an evidence photo to a case", description=INCIDENT_UPLOAD_DESCRIPTION,
          operation_class=IncidentUploadOperation)
    async def upload(self, request: Request[Any, Any, Any], incident_id: uuid.UUID, session: AsyncSession,
                     principal: Principal, settings: Settings, signing_keys: Keys,
                     clock: Clock) -> Response[EvidenceRead]:
        return await handle_upload(
            request, session, principal, settings, signing_keys, clock,
            authorize=lambda s: service.evidence_owner(s, principal, incident_id),
        )

    @get("/{incident_id:uuid}/evidence", summary="The case's photos, oldest first",
         description="With near_lon, near_lat and within_m (metres) only those within that distance.")
    async def list_evidence(self, incident_id: uuid.UUID, session: AsyncSession, principal: Principal,
                            near_lon: float | None = None, near_lat: float | None = None,
                            within_m: float | None = None, near_crs: Literal["wgs84", "gcj02"] = "wgs84",
                            limit: int | None = None, cursor: str | None = None) -> EvidencePage:
        near = evidence.parse_near(near_lon, near_lat, within_m, near_crs)
        return await evidence_page(session, principal, "incident", incident_id, near=near, cursor=cursor,
                                   limit=limit)


ROUTES: list[Any] = [IncidentController, IncidentEvidenceController]
