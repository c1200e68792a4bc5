"""HTTP endpoints of qualifications and appointments: convert, call one service function, convert
back."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.responses import idempotent_create
from backend.personnel.appointments import service
from backend.personnel.appointments.schemas import (
    AppointmentCreate,
    AppointmentList,
    QualificationCreate,
    QualificationList,
)


class QualificationController(Controller):
    path = "/api/v1/people/{person_id:uuid}/qualifications"
    tags = ["people"]

    @post("/", summary="Record a qualification (hr_admin of the person's agency or above)")
    async def add(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: QualificationCreate,
                  session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="qualification", data=data,
            create=lambda: service.add_qualification(session, principal, person_id, data, clock.now()),
        )

    @get("/", summary="The person's qualifications")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> QualificationList:
        return QualificationList(items=await service.list_qualifications(session, principal, person_id))


class AppointmentController(Controller):
    path = "/api/v1/people/{person_id:uuid}/appointments"
    tags = ["people"]

    @post("/", summary="Appoint (hr_admin); 422 NOT_ELIGIBLE lists every violation at once")
    async def create(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: AppointmentCreate,
                     session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="appointment", data=data,
            create=lambda: service.create_appointment(session, principal, person_id, data, clock.now()),
        )

    @get("/", summary="The person's appointments, oldest first")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> AppointmentList:
        return AppointmentList(items=await service.list_appointments(session, principal, person_id))


ROUTES: list[Any] = [QualificationController, AppointmentController]
