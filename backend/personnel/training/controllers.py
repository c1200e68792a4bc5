"""HTTP endpoints of trainings and the Art. 14 training report (JSON and CSV)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.commands import Ctx
from backend.core.deps import COMMAND_DEPENDENCIES
from backend.core.responses import outcome_response
from backend.personnel.training import commands, service
from backend.personnel.training.schemas import TrainingCreate, TrainingList, TrainingReport

Year = Annotated[int | None, Parameter(ge=2000, le=2100, description="Calendar year (default: this year)")]
AgencyCodeQuery = Annotated[str | None, Parameter(max_length=16)]


class TrainingController(Controller):
    path = "/api/v1/people/{person_id:uuid}/trainings"
    tags = ["people"]

    @post("/", summary="Record a training (pre_job, rotation, special)", dependencies=COMMAND_DEPENDENCIES)
    async def add(self, person_id: uuid.UUID, data: TrainingCreate, ctx: Ctx) -> Response[Any]:
        return outcome_response(await commands.add_training(ctx, person_id, data))

    @get("/", summary="The person's trainings")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> TrainingList:
        return TrainingList(items=await service.list_trainings(session, principal, person_id))


class TrainingReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/training", summary="Art. 14 yearly training report (≥ 7 days of rotation + special training)")
    async def training(self, session: AsyncSession, principal: Principal, clock: Clock, year: Year = None,
                       agency_code: AgencyCodeQuery = None) -> TrainingReport:
        return await service.training_report(session, principal, year or clock.today().year,
                                                       agency_code)

    @get("/training.csv", summary="The training report as CSV (UTF-8 with BOM, for Excel)",
         media_type="text/csv")
    async def training_csv(self, session: AsyncSession, principal: Principal, clock: Clock, year: Year = None,
                           agency_code: AgencyCodeQuery = None) -> Response[bytes]:
        report = await service.training_report(session, principal, year or clock.today().year,
                                                         agency_code)
        return Response(
            content=service.training_report_csv(report), media_type="text/csv",
            headers={"Content-Disposition":
                     f'attachment; filename="training-{report.year}-{report.agency_code}.csv"'},
        )


ROUTES: list[Any] = [TrainingController, TrainingReportController]
