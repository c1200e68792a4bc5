"""All SQL of inspections and their documents. Jurisdiction is a row filter here (an agency's
subtree is a path prefix); geodesic distances are computed by the spatial database."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date

from geoalchemy2 import Geography
from sqlalchemy import ColumnElement, bindparam, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.db import dialect_name, point
from backend.core.pagination import TimeKey, keyset_after
from backend.evidence.models import Evidence
from backend.inspections.models import (
    CheckIn,
    CredentialDisplay,
    Document,
    Finding,
    Inspection,
    Signature,
    TeamMember,
)
from backend.personnel.dispatch.repository import covering_clause
from backend.personnel.models import Agency, Dispatch, Person, SigningAuthorisation

#: Roles that see every inspection of their agency subtree; everyone else sees only the
#: inspections whose team they are on.
AGENCY_WIDE_ROLES = ("officer", "hr_admin", "agency_admin")


async def add(session: AsyncSession, *objs: object) -> None:
    session.add_all(objs)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


def add_finding(session: AsyncSession, finding: Finding) -> None:
    """Add a finding without flushing it now: it is inserted by the session's next flush (the
    next `add`, the end of the caller's savepoint, the commit), so the findings a sync chunk
    records one after another go in one INSERT (an ORM flush costs ~0.4 ms of Python per call).
    Nothing in a finding is read back or referenced by other rows; `findings()` flushes first."""
    session.add(finding)


# The reads an act repeats (an inspection's context, a document's signatures) are built once, with
# their parameters bound at execution: building and keying a statement costs more than running it.
_INSPECTION_WITH_AGENCY = (select(Inspection, Agency).join(Agency, Agency.code == Inspection.agency_code)
                           .where(Inspection.id == bindparam("inspection_id")))
_TEAM = (select(TeamMember, Person).join(Person, Person.id == TeamMember.person_id)
         .where(TeamMember.inspection_id == bindparam("inspection_id")).order_by(Person.name, Person.id))
_OPEN_CHECK_INS = (select(CheckIn).where(CheckIn.inspection_id == bindparam("inspection_id"), CheckIn.out_at.is_(None))
                   .order_by(CheckIn.at, CheckIn.id))
_CHECKED_IN = select(CheckIn.person_id).where(CheckIn.inspection_id == bindparam("inspection_id")).distinct()
_DISPLAYS = (select(CredentialDisplay, Person).join(Person, Person.id == CredentialDisplay.person_id)
             .where(CredentialDisplay.inspection_id == bindparam("inspection_id"))
             .order_by(CredentialDisplay.at, CredentialDisplay.id))
_SIGNATURES = (select(Signature).where(Signature.document_id == bindparam("document_id"),
                                       Signature.version == bindparam("version"))
               .order_by(Signature.at, Signature.created_at, Signature.id))


async def inspection_with_agency(session: AsyncSession, inspection_id: uuid.UUID) -> tuple[Inspection, Agency] | None:
    row = (await session.execute(_INSPECTION_WITH_AGENCY, {"inspection_id": inspection_id})).first()
    return None if row is None else (row[0], row[1])


async def people_with_agencies(session: AsyncSession,
                               ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, tuple[Person, Agency]]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = (await session.execute(
        select(Person, Agency).join(Agency, Agency.code == Person.agency_code).where(Person.id.in_(wanted))
    )).all()
    return {row[0].id: (row[0], row[1]) for row in rows}


async def covering_dispatches(session: AsyncSession, person_ids: Iterable[uuid.UUID], agency_code: str,
                              day: date) -> dict[uuid.UUID, Dispatch]:
    """Art. 16 dispatches to `agency_code` that cover `day`, by person (the same clause as
    personnel's, so the team rule and the dispatch list cannot disagree)."""
    wanted = list(set(person_ids))
    if not wanted:
        return {}
    rows = (await session.execute(
        select(Dispatch).join(Person, Person.id == Dispatch.person_id)
        .where(Dispatch.person_id.in_(wanted), covering_clause(agency_code, day))
        .order_by(Dispatch.created_at)
    )).scalars().all()
    return {d.person_id: d for d in rows}


async def team(session: AsyncSession, inspection_id: uuid.UUID) -> Sequence[tuple[TeamMember, Person]]:
    rows = (await session.execute(_TEAM, {"inspection_id": inspection_id})).all()
    return [(row[0], row[1]) for row in rows]


async def open_check_ins(session: AsyncSession, inspection_id: uuid.UUID) -> Sequence[CheckIn]:
    """Who is on site now (by time). The closed stays are not read: an inspection's history of
    check-ins grows all day, the people present do not."""
    return (await session.execute(_OPEN_CHECK_INS, {"inspection_id": inspection_id})).scalars().all()


async def checked_in_people(session: AsyncSession, inspection_id: uuid.UUID) -> set[uuid.UUID]:
    """Everyone who checked in at some point."""
    return set((await session.execute(_CHECKED_IN, {"inspection_id": inspection_id})).scalars())


async def distance_to_site_m(session: AsyncSession, inspection_id: uuid.UUID, lon: float, lat: float) -> float:
    """Geodesic distance (metres, WGS84 ellipsoid) from the inspection's site to a point, computed
    by SpatiaLite or PostGIS."""
    here = point(lon, lat)
    if dialect_name(session) == "sqlite":
        expr = func.ST_Distance(Inspection.site, here, 1)
    else:
        expr = func.ST_Distance(cast(Inspection.site, Geography(srid=4326)), cast(here, Geography(srid=4326)))
    value = (await session.execute(select(expr).where(Inspection.id == inspection_id))).scalar_one()
    return float(value)


async def displays(session: AsyncSession, inspection_id: uuid.UUID) -> Sequence[tuple[CredentialDisplay, Person]]:
    rows = (await session.execute(_DISPLAYS, {"inspection_id": inspection_id})).all()
    return [(row[0], row[1]) for row in rows]


async def findings(session: AsyncSession, inspection_id: uuid.UUID) -> Sequence[Finding]:
    await session.flush()  # findings added and not flushed yet (add_finding)
    return (await session.execute(
        select(Finding).where(Finding.inspection_id == inspection_id).order_by(Finding.created_at, Finding.id)
    )).scalars().all()


async def documents_of(session: AsyncSession, inspection_id: uuid.UUID) -> Sequence[Document]:
    return (await session.execute(
        select(Document).where(Document.inspection_id == inspection_id).order_by(Document.created_at, Document.id)
    )).scalars().all()


async def superseded_by(session: AsyncSession, document_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    wanted = list(set(document_ids))
    if not wanted:
        return {}
    rows = (await session.execute(
        select(Document.supersedes, Document.id).where(Document.supersedes.in_(wanted))
    )).all()
    return {row[0]: row[1] for row in rows if row[0] is not None}


async def document(session: AsyncSession, document_id: uuid.UUID) -> Document | None:
    return await session.get(Document, document_id)


async def signatures(session: AsyncSession, document_id: uuid.UUID, version: int) -> Sequence[Signature]:
    return (await session.execute(_SIGNATURES, {"document_id": document_id, "version": version})).scalars().all()


async def authorisations_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[tuple[SigningAuthorisation, str]]:
    """A person's signing authorisations with the materialised path of the granter's agency."""
    rows = (await session.execute(
        select(SigningAuthorisation, Agency.path)
        .join(Person, Person.id == SigningAuthorisation.granted_by)
        .join(Agency, Agency.code == Person.agency_code)
        .where(SigningAuthorisation.person_id == person_id)
    )).all()
    return [(row[0], row[1]) for row in rows]


async def evidence_count(session: AsyncSession, inspection_id: uuid.UUID) -> int:
    """Photos attached to the inspection (the evidence table's owner index)."""
    return int((await session.execute(
        select(func.count()).select_from(Evidence)
        .where(Evidence.owner_kind == "inspection", Evidence.owner_id == inspection_id)
    )).scalar_one())


async def list_visible(
    session: AsyncSession,
    principal: Principal,
    *,
    status: str | None,
    before: TimeKey | None,
    limit: int,
) -> Sequence[Inspection]:
    """Inspections the caller may see, newest first: those of their agency subtree (officers and
    agency staff) and those whose team they are on. Secret inspections never reach an inspector."""
    on_team = select(TeamMember.inspection_id).where(TeamMember.person_id == principal.person_id)
    visible: ColumnElement[bool] = Inspection.id.in_(on_team)
    if principal.role in AGENCY_WIDE_ROLES:
        visible = or_(visible, Agency.path.startswith(principal.agency_path, autoescape=True))
    query = select(Inspection).join(Agency, Agency.code == Inspection.agency_code).where(visible)
    if principal.role == "technical_inspector":
        query = query.where(Inspection.classification != "secret")
    if status:
        query = query.where(Inspection.status == status)
    if before is not None:
        query = query.where(keyset_after(Inspection.created_at, Inspection.id, before))
    query = query.order_by(Inspection.created_at.desc(), Inspection.id.desc()).limit(limit)
    return (await session.execute(query)).scalars().all()
