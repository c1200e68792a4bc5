"""Planning, starting and finishing inspections (reserved to officers, Art. 13(5)), findings, and
Art. 12 signing authorisations."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.checksums import validate_credit_code
from backend.core.db import point
from backend.core.errors import (
    NotFound,
)
from backend.core.geo import to_wgs84
from backend.guards import article13
from backend.guards.article13 import OFFICER, OfficerReadiness
from backend.guards.inspection_status import FINISHED, IN_PROGRESS, PLANNED, require_transition
from backend.guards.signing import require_may_grant_signing
from backend.guards.team import Candidate, require_team_eligible
from backend.inspections import repository
from backend.inspections.models import Finding, Inspection, TeamMember
from backend.inspections.schemas import (
    FindingCreate,
    FindingRead,
    InspectionCreate,
    InspectionRead,
    SigningAuthorisationCreate,
    SigningAuthorisationRead,
)
from backend.inspections.service.context import (
    ActContext,
    load_act_context,
    load_inspection,
    local_day,
    require_aware,
    require_may_act,
    require_member,
    wgs84,
)
from backend.inspections.service.reads import (
    finding_read,
    get_inspection,
    inspection_read,
)
from backend.personnel.models import SigningAuthorisation

# ------------------------------------------------------------------------------------------------
# Planning, starting, finishing
# ------------------------------------------------------------------------------------------------

async def create_inspection(session: AsyncSession, principal: Principal, data: InspectionCreate,
                            now: datetime) -> InspectionRead:
    article13.require_officer(principal, "create")
    credit_code = validate_credit_code(data.enterprise.credit_code)
    lon, lat = to_wgs84(data.site.lon, data.site.lat, data.site.crs)
    planned_at = require_aware(data.planned_at, "planned_at")
    team_ids = list(dict.fromkeys(data.team))
    people = await repository.people_with_agencies(session, team_ids)
    known = {pid: Candidate(person_id=pid, role=p.role, status=p.status, agency_code=p.agency_code)
             for pid, (p, _) in people.items()}
    dispatches = await repository.covering_dispatches(
        session, [pid for pid, c in known.items() if c.agency_code != principal.agency_code],
        principal.agency_code, local_day(planned_at))
    require_team_eligible(data.classification, team_ids, known, principal.agency_code, dispatches)
    inspection = Inspection(
        id=data.id or uuid.uuid4(), kind=data.kind, enterprise_name=data.enterprise.name,
        enterprise_credit_code=credit_code, site=point(lon, lat), site_lon=lon, site_lat=lat,
        site_radius_m=data.site.radius_m, site_address=data.site.address, planned_at=planned_at,
        classification=data.classification, status=PLANNED, agency_code=principal.agency_code,
        created_by=principal.person_id, created_at=now, updated_at=now,
    )
    await repository.add(session, inspection)
    await repository.add(session, *[
        TeamMember(inspection_id=inspection.id, person_id=pid, role=people[pid][0].role,
                   dispatch_id=dispatches[pid].id if pid in dispatches else None)
        for pid in team_ids
    ])
    await record(session, actor=principal.actor, action="inspection.created", subject=f"inspection:{inspection.id}",
                 data={"kind": inspection.kind, "classification": inspection.classification,
                       "agency_code": inspection.agency_code, "credit_code": credit_code,
                       "team": [str(p) for p in team_ids], "planned_at": planned_at}, at=now)
    return await get_inspection(session, principal, inspection.id)


def officer_readiness(ctx: ActContext, today: date, certificate_shown: set[uuid.UUID]) -> list[OfficerReadiness]:
    """The start rule's view of every officer on the team."""
    out = []
    for tm, person in ctx.team:
        if tm.role != OFFICER:
            continue
        valid = (person.role == OFFICER and person.status == "active"
                 and person.enforcement_certificate_number is not None
                 and person.enforcement_certificate_valid_until is not None
                 and person.enforcement_certificate_valid_until >= today)
        out.append(OfficerReadiness(person_id=person.id, name=person.name,
                                    checked_in=person.id in ctx.snapshot.present,
                                    certificate_valid=valid, certificate_shown=person.id in certificate_shown))
    return out


def _certificate_shown(ctx: ActContext) -> set[uuid.UUID]:
    return {d.person_id for d, _ in ctx.displays if d.kind == "enforcement_certificate"}


async def start_inspection(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                           now: datetime, today: date) -> InspectionRead:
    article13.require_officer(principal, "start")
    ctx = await load_inspection(session, principal, inspection_id, write=True)
    require_member(ctx, principal)
    require_transition(ctx.inspection.status, IN_PROGRESS)
    readiness = officer_readiness(ctx, today, _certificate_shown(ctx))
    article13.require_two_officers(readiness)
    ctx.inspection.status = IN_PROGRESS
    ctx.inspection.started_at = now
    ctx.inspection.started_by = principal.person_id
    ctx.inspection.updated_at = now
    await repository.flush(session)
    ready = [str(o.person_id) for o in readiness if not o.missing]
    await record(session, actor=principal.actor, action="inspection.started", subject=f"inspection:{inspection_id}",
                 data={"officers_ready": ready}, at=now)
    # The view of what was loaded (and checked) above, with the start written into its row: its
    # team, check-ins and displays have not changed since.
    return await inspection_read(session, ctx)


async def finish_inspection(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                            now: datetime) -> InspectionRead:
    article13.require_officer(principal, "finish")
    ctx = await load_inspection(session, principal, inspection_id, write=True)
    require_member(ctx, principal)
    require_transition(ctx.inspection.status, FINISHED)
    ctx.inspection.status = FINISHED
    ctx.inspection.finished_at = now
    ctx.inspection.finished_by = principal.person_id
    ctx.inspection.updated_at = now
    # Whoever is still checked in leaves with the inspection: presence ends when it does.
    closed = []
    for c in await repository.open_check_ins(session, inspection_id):
        c.out_at = now
        closed.append(str(c.person_id))
    await repository.flush(session)
    await record(session, actor=principal.actor, action="inspection.finished", subject=f"inspection:{inspection_id}",
                 data={"checked_out_at_finish": closed}, at=now)
    # The view of what was loaded above: the check-ins closed are the same rows as its own.
    return await inspection_read(session, ctx)


# ------------------------------------------------------------------------------------------------
# Findings
# ------------------------------------------------------------------------------------------------

async def add_finding(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID, data: FindingCreate,
                      now: datetime) -> FindingRead:
    ctx = await load_act_context(session, principal, inspection_id, now)
    require_may_act(ctx, principal)
    lon = lat = None
    if data.position is not None:
        lon, lat = wgs84(data.position)
    row = Finding(id=data.id or uuid.uuid4(), inspection_id=inspection_id, description=data.description,
                  hazard_level=data.hazard_level,
                  position=point(lon, lat) if lon is not None and lat is not None else None,
                  lon=lon, lat=lat, accuracy_m=data.position.accuracy_m if data.position else None,
                  created_by=principal.person_id, created_at=now)
    repository.add_finding(session, row)  # inserted with the next flush (see there)
    await record(session, actor=principal.actor, action="inspection.finding_added",
                 subject=f"inspection:{inspection_id}",
                 data={"finding_id": str(row.id), "hazard_level": row.hazard_level}, at=now)
    return finding_read(row)


# ------------------------------------------------------------------------------------------------
# Art. 12 signing authorisations
# ------------------------------------------------------------------------------------------------

async def grant_signing_authorisation(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                                      data: SigningAuthorisationCreate, now: datetime,
                                      today: date) -> SigningAuthorisationRead:
    """Agency leadership of the inspector's agency (or above) authorises them to sign records."""
    found = await repository.people_with_agencies(session, [person_id])
    if person_id not in found:
        raise NotFound("No such person", "未找到该人员")
    person, agency = found[person_id]
    require_may_grant_signing(principal, holder_role=person.role, holder_status=person.status,
                              holder_agency_path=agency.path, valid_until=data.valid_until, today=today)
    types: list[str] = sorted(set(data.document_types))
    row = SigningAuthorisation(id=data.id or uuid.uuid4(), person_id=person.id, document_types=types,
                               valid_until=data.valid_until, granted_by=principal.person_id, created_at=now)
    await repository.add(session, row)
    await record(session, actor=principal.actor, action="signing_authorisation.granted",
                 subject=f"person:{person.id}",
                 data={"authorisation_id": str(row.id), "document_types": types,
                       "valid_until": data.valid_until.isoformat()}, at=now)
    return SigningAuthorisationRead(id=row.id, person_id=row.person_id, document_types=types,
                                    valid_until=row.valid_until, granted_by=row.granted_by, created_at=row.created_at)
