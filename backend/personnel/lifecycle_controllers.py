"""HTTP endpoints of a person's working life: qualifications, appointments, trainings and the
training report, recruitments, dismissals (and their public notices), misconduct and dispatches.
Convert, call one service function, convert back."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.commands import COMMAND_DEPENDENCIES, Ctx
from backend.core.deps import client_address
from backend.core.errors import BadRequest
from backend.core.http import clamp_limit, decode_cursor, encode_cursor, time_cursor
from backend.core.responses import idempotent_create, outcome_response
from backend.personnel import commands, dismissal_service, dispatch_service, lifecycle_service, recruitment_service
from backend.personnel.lifecycle_schemas import (
    AppointmentCreate,
    AppointmentList,
    CandidateCreate,
    ChecklistUpdate,
    DismissalCreate,
    DismissalRead,
    DispatchCreate,
    DispatchPage,
    MisconductCreate,
    MisconductList,
    PublicDismissalPage,
    QualificationCreate,
    QualificationList,
    Ranking,
    RecruitmentCreate,
    RecruitmentRead,
    TrainingCreate,
    TrainingList,
    TrainingReport,
    WithdrawRequest,
)

Year = Annotated[int | None, Parameter(ge=2000, le=2100, description="Calendar year (default: this year)")]
AgencyCodeQuery = Annotated[str | None, Parameter(max_length=16)]


class QualificationController(Controller):
    path = "/api/v1/people/{person_id:uuid}/qualifications"
    tags = ["people"]

    @post("/", summary="Record a qualification (hr_admin of the person's agency or above)")
    async def add(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: QualificationCreate,
                  session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="qualification", data=data,
            create=lambda: lifecycle_service.add_qualification(session, principal, person_id, data, clock.now()),
        )

    @get("/", summary="The person's qualifications")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> QualificationList:
        return QualificationList(items=await lifecycle_service.list_qualifications(session, principal, person_id))


class AppointmentController(Controller):
    path = "/api/v1/people/{person_id:uuid}/appointments"
    tags = ["people"]

    @post("/", summary="Appoint (hr_admin); 422 NOT_ELIGIBLE lists every violation at once")
    async def create(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: AppointmentCreate,
                     session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="appointment", data=data,
            create=lambda: lifecycle_service.create_appointment(session, principal, person_id, data, clock.now()),
        )

    @get("/", summary="The person's appointments, oldest first")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> AppointmentList:
        return AppointmentList(items=await lifecycle_service.list_appointments(session, principal, person_id))


class TrainingController(Controller):
    path = "/api/v1/people/{person_id:uuid}/trainings"
    tags = ["people"]

    @post("/", summary="Record a training (pre_job, rotation, special)", dependencies=COMMAND_DEPENDENCIES)
    async def add(self, person_id: uuid.UUID, data: TrainingCreate, ctx: Ctx) -> Response[Any]:
        return outcome_response(await commands.add_training(ctx, person_id, data))

    @get("/", summary="The person's trainings")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> TrainingList:
        return TrainingList(items=await lifecycle_service.list_trainings(session, principal, person_id))


class TrainingReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/training", summary="Art. 14 yearly training report (≥ 7 days of rotation + special training)")
    async def training(self, session: AsyncSession, principal: Principal, clock: Clock, year: Year = None,
                       agency_code: AgencyCodeQuery = None) -> TrainingReport:
        return await lifecycle_service.training_report(session, principal, year or clock.today().year,
                                                       agency_code)

    @get("/training.csv", summary="The training report as CSV (UTF-8 with BOM, for Excel)",
         media_type="text/csv")
    async def training_csv(self, session: AsyncSession, principal: Principal, clock: Clock, year: Year = None,
                           agency_code: AgencyCodeQuery = None) -> Response[bytes]:
        report = await lifecycle_service.training_report(session, principal, year or clock.today().year,
                                                         agency_code)
        return Response(
            content=lifecycle_service.training_report_csv(report), media_type="text/csv",
            headers={"Content-Disposition":
                     f'attachment; filename="training-{report.year}-{report.agency_code}.csv"'},
        )


class RecruitmentController(Controller):
    path = "/api/v1/recruitments"
    tags = ["recruitments"]

    @post("/", summary="Open an exam recruitment (hr_admin); written_weight ≥ 0.6 (Art. 6)")
    async def create(self, request: Request[Any, Any, Any], data: RecruitmentCreate, session: AsyncSession,
                     principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="recruitment", data=data,
            create=lambda: recruitment_service.create_recruitment(session, principal, data, clock.now()),
        )

    @get("/{recruitment_id:uuid}")
    async def get_(self, recruitment_id: uuid.UUID, session: AsyncSession, principal: Principal) -> RecruitmentRead:
        return await recruitment_service.get_recruitment(session, principal, recruitment_id)

    @post("/{recruitment_id:uuid}/candidates", summary="Add a candidate with written and interview scores")
    async def add_candidate(self, recruitment_id: uuid.UUID, request: Request[Any, Any, Any], data: CandidateCreate,
                            session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="candidate", data=data,
            create=lambda: recruitment_service.add_candidate(session, principal, recruitment_id, data, clock.now()),
        )

    @get("/{recruitment_id:uuid}/ranking", summary="Candidates by total; the top `posts` still in are offered")
    async def ranking(self, recruitment_id: uuid.UUID, session: AsyncSession, principal: Principal) -> Ranking:
        return await recruitment_service.ranking(session, principal, recruitment_id)

    @post("/{recruitment_id:uuid}/candidates/{candidate_id:uuid}/withdraw", status_code=200,
          summary="Withdrawal or failed medical/background check; the next in score order is offered")
    async def withdraw(self, recruitment_id: uuid.UUID, candidate_id: uuid.UUID, data: WithdrawRequest,
                       session: AsyncSession, principal: Principal, clock: Clock) -> Ranking:
        return await recruitment_service.withdraw_candidate(session, principal, recruitment_id, candidate_id, data,
                                                          clock.now())


class DismissalController(Controller):
    path = "/api/v1"
    tags = ["dismissals"]

    @post("/people/{person_id:uuid}/dismissal",
          summary="Dismiss (hr_admin, Art. 25): credentials revoked, notice published, checklist opened")
    async def dismiss(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: DismissalCreate,
                      session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="dismissal", data=data,
            create=lambda: dismissal_service.create_dismissal(session, principal, person_id, data, clock.now()),
        )

    @get("/dismissals/{dismissal_id:uuid}")
    async def get_(self, dismissal_id: uuid.UUID, session: AsyncSession, principal: Principal) -> DismissalRead:
        return await dismissal_service.get_dismissal(session, principal, dismissal_id)

    @post("/dismissals/{dismissal_id:uuid}/checklist/{item:str}", status_code=200,
          summary="Tick off a returned item: credential_card, protective_equipment, technical_equipment")
    async def tick(self, dismissal_id: uuid.UUID, item: str, data: ChecklistUpdate, session: AsyncSession,
                   principal: Principal, clock: Clock) -> DismissalRead:
        return await dismissal_service.tick_checklist(session, principal, dismissal_id, item, data, clock.now())


class PublicDismissalController(Controller):
    path = "/api/v1/public/dismissals"
    tags = ["public"]

    @get("/", summary="Public notices of dismissals (no auth, rate-limited)")
    async def list_(self, request: Request[Any, Any, Any], session: AsyncSession, limit: int | None = None,
                    cursor: str | None = None) -> PublicDismissalPage:
        await request.app.state["public_limiter"].hit(client_address(request))
        size = clamp_limit(limit)
        after = time_cursor(decode_cursor(cursor))
        items, nxt = await dismissal_service.public_dismissals(session, after=after, limit=size)
        token = encode_cursor({"at": nxt[0].isoformat(), "id": str(nxt[1])}) if nxt else None
        return PublicDismissalPage(items=items, next_cursor=token)


class MisconductController(Controller):
    path = "/api/v1/people/{person_id:uuid}/misconduct"
    tags = ["people"]

    @post("/", summary="Record Art. 26 misconduct and its sanction; optionally dismiss (Art. 25)")
    async def create(self, person_id: uuid.UUID, request: Request[Any, Any, Any], data: MisconductCreate,
                     session: AsyncSession, principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="misconduct", data=data,
            create=lambda: dismissal_service.record_misconduct(session, principal, person_id, data, clock.today(),
                                                               clock.now()),
        )

    @get("/")
    async def list_(self, person_id: uuid.UUID, session: AsyncSession, principal: Principal) -> MisconductList:
        return MisconductList(items=await dismissal_service.list_misconduct(session, principal, person_id))


class DispatchController(Controller):
    path = "/api/v1/dispatches"
    tags = ["dispatches"]

    @post("/", summary="Dispatch an inspector to an upper-level agency (Art. 16)")
    async def create(self, request: Request[Any, Any, Any], data: DispatchCreate, session: AsyncSession,
                     principal: Principal, clock: Clock) -> Response[Any]:
        return await idempotent_create(
            request, session, principal, clock, entity="dispatch", data=data,
            create=lambda: dispatch_service.create_dispatch(session, principal, data, clock.now()),
        )

    @get("/")
    async def list_(self, session: AsyncSession, principal: Principal, person_id: uuid.UUID | None = None,
                    limit: int | None = None, cursor: str | None = None) -> DispatchPage:
        size = clamp_limit(limit)
        raw = decode_cursor(cursor)
        after = None
        if raw is not None:
            try:
                after = (date.fromisoformat(str(raw["d"])), uuid.UUID(str(raw["id"])))
            except (KeyError, ValueError) as exc:
                raise BadRequest("Invalid cursor", "分页游标无效", code="INVALID_CURSOR") from exc
        items, more = await dispatch_service.list_dispatches(session, principal, person_id, after, size)
        nxt = encode_cursor({"d": items[-1].start_date.isoformat(), "id": str(items[-1].id)}) if more else None
        return DispatchPage(items=items, next_cursor=nxt)


ROUTES: list[Any] = [
    QualificationController, AppointmentController, TrainingController, TrainingReportController,
    RecruitmentController, DismissalController, PublicDismissalController, MisconductController,
    DispatchController,
]
