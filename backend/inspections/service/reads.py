"""Reads of inspections: the full view (team, presence, displays, findings, documents, evidence
count) and the jurisdiction-filtered list."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.inspections import repository
from backend.inspections.models import CheckIn, CredentialDisplay, Finding, Inspection
from backend.inspections.schemas import (
    CheckInRead,
    CredentialDisplayRead,
    DocumentSummary,
    Enterprise,
    FindingRead,
    InspectionListItem,
    InspectionPage,
    InspectionRead,
    PresenceRead,
    ShownTo,
    SiteRead,
    TeamMemberRead,
)
from backend.inspections.service.context import (
    ActContext,
    load_inspection,
    position_read,
)
from backend.personnel.models import Person

# ------------------------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------------------------

def site_read(inspection: Inspection) -> SiteRead:
    return SiteRead(lon=inspection.site_lon, lat=inspection.site_lat, crs="wgs84",
                    radius_m=inspection.site_radius_m, address=inspection.site_address)


def list_item(inspection: Inspection) -> InspectionListItem:
    return InspectionListItem(
        id=inspection.id, kind=inspection.kind, status=inspection.status,
        classification=inspection.classification,
        enterprise=Enterprise(name=inspection.enterprise_name, credit_code=inspection.enterprise_credit_code),
        site=site_read(inspection), planned_at=inspection.planned_at, agency_code=inspection.agency_code,
        created_at=inspection.created_at,
    )


def check_in_read(c: CheckIn) -> CheckInRead:
    pos = position_read(c.lon, c.lat, c.accuracy_m)
    assert pos is not None
    return CheckInRead(
        id=c.id, inspection_id=c.inspection_id, person_id=c.person_id, at=c.at, position=pos,
        reported_crs=c.reported_crs, distance_m=round(c.distance_m, 2), checked_out_at=c.out_at,
        check_out_position=position_read(c.out_lon, c.out_lat, c.out_accuracy_m), check_out_id=c.out_id,
    )


def display_read(d: CredentialDisplay, holder: Person) -> CredentialDisplayRead:
    pos = position_read(d.lon, d.lat, d.accuracy_m)
    assert pos is not None
    return CredentialDisplayRead(
        id=d.id, inspection_id=d.inspection_id, person_id=d.person_id, holder_name=holder.name, kind=d.kind,
        credential_id=d.credential_id, number=d.number,
        shown_to=ShownTo(name=d.shown_to_name, role=d.shown_to_role), position=pos, at=d.at,
        recorded_by=d.recorded_by, created_at=d.created_at,
    )


def finding_read(f: Finding) -> FindingRead:
    return FindingRead(id=f.id, inspection_id=f.inspection_id, description=f.description,
                       hazard_level=f.hazard_level, position=position_read(f.lon, f.lat, f.accuracy_m),
                       created_by=f.created_by, created_at=f.created_at)


async def inspection_read(session: AsyncSession, ctx: ActContext) -> InspectionRead:
    inspection = ctx.inspection
    names = {p.id: p for _, p in ctx.team}
    present = []
    for c in ctx.check_ins:
        if c.out_at is None and c.person_id in names:
            pos = position_read(c.lon, c.lat, c.accuracy_m)
            assert pos is not None
            person = names[c.person_id]
            present.append(PresenceRead(person_id=c.person_id, name=person.name, role=person.role,
                                        check_in_id=c.id, checked_in_at=c.at, position=pos,
                                        distance_m=round(c.distance_m, 2)))
    docs = await repository.documents_of(session, inspection.id)
    successors = await repository.superseded_by(session, [d.id for d in docs])
    return InspectionRead(
        id=inspection.id, kind=inspection.kind, status=inspection.status,
        classification=inspection.classification,
        enterprise=Enterprise(name=inspection.enterprise_name, credit_code=inspection.enterprise_credit_code),
        site=site_read(inspection), planned_at=inspection.planned_at, agency_code=inspection.agency_code,
        created_by=inspection.created_by, created_at=inspection.created_at,
        started_at=inspection.started_at, finished_at=inspection.finished_at,
        team=[TeamMemberRead(person_id=tm.person_id, name=p.name, role=tm.role, employment=p.employment,
                             agency_code=p.agency_code, dispatched=tm.dispatch_id is not None)
              for tm, p in ctx.team],
        present=present,
        credential_displays=[display_read(d, p) for d, p in ctx.displays],
        findings=[finding_read(f) for f in await repository.findings(session, inspection.id)],
        documents=[DocumentSummary(id=d.id, type=d.type, version=d.version, content_sha256=d.content_sha256,
                                   locked=d.locked, supersedes=d.supersedes, superseded_by=successors.get(d.id))
                   for d in docs],
        evidence_count=await repository.evidence_count(session, inspection.id),
    )


async def get_inspection(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID) -> InspectionRead:
    ctx = await load_inspection(session, principal, inspection_id, write=False)
    return await inspection_read(session, ctx)





async def list_inspections(session: AsyncSession, principal: Principal, *, status: str | None,
                           before: TimeKey | None, limit: int) -> InspectionPage:
    rows = await repository.list_visible(session, principal, status=status, before=before, limit=limit + 1)
    return InspectionPage.of(rows, limit, item=list_item, key=lambda i: encode_time_cursor(i.created_at, i.id))


