"""All SQL of credentials: the serial counter, credential rows, and the reads of people,
appointments and trainings that issuance needs (personnel owns those tables; we only read them)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import dialect_name
from backend.core.pagination import TimeKey, keyset_after
from backend.credentials.models import Credential, CredentialSerial
from backend.personnel.models import Agency, Appointment, Person, Training


async def person_with_agency(session: AsyncSession, person_id: uuid.UUID, *,
                             for_update: bool = False) -> tuple[Person, Agency] | None:
    query = select(Person, Agency).join(Agency, Agency.code == Person.agency_code).where(Person.id == person_id)
    if for_update:
        # Serialises issuances for one person on PostgreSQL (SQLite's BEGIN IMMEDIATE already does),
        # so two concurrent issues cannot both pass the "no live credential" check.
        query = query.with_for_update(of=Person)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


@dataclass(frozen=True)
class ActiveAppointment:
    id: uuid.UUID
    agency_code: str
    end_date: date | None


async def active_appointment(session: AsyncSession, person_id: uuid.UUID, role: str,
                             today: date) -> ActiveAppointment | None:
    # Only the columns issuance needs: personnel owns (and evolves) the appointments table.
    query = (
        select(Appointment.id, Appointment.agency_code, Appointment.end_date)
        .where(
            Appointment.person_id == person_id,
            Appointment.role == role,
            Appointment.status == "active",
            Appointment.start_date <= today,
            or_(Appointment.end_date.is_(None), Appointment.end_date >= today),
        )
        .order_by(Appointment.start_date.desc(), Appointment.id)
        .limit(1)
    )
    row = (await session.execute(query)).first()
    return None if row is None else ActiveAppointment(row[0], row[1], row[2])


async def has_passed_pre_job_training(session: AsyncSession, person_id: uuid.UUID) -> bool:
    query = select(Training.id).where(
        Training.person_id == person_id, Training.kind == "pre_job", Training.assessment_passed.is_(True),
    ).limit(1)
    return (await session.execute(query)).first() is not None


async def next_serial(session: AsyncSession, kind: str, year: int) -> int:
    """Atomically take the next serial of (kind, year) in the caller's transaction."""
    insert: Any = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    statement = (
        insert(CredentialSerial)
        .values(kind=kind, year=year, last_serial=1)
        .on_conflict_do_update(
            index_elements=[CredentialSerial.kind, CredentialSerial.year],
            set_={"last_serial": CredentialSerial.last_serial + 1},
        )
        .returning(CredentialSerial.last_serial)
    )
    return int((await session.execute(statement)).scalar_one())


async def get_agency(session: AsyncSession, code: str) -> Agency | None:
    return await session.get(Agency, code)


async def add(session: AsyncSession, obj: object) -> None:
    session.add(obj)
    await session.flush()


async def credential_with_agency(session: AsyncSession, credential_id: uuid.UUID, *,
                                 for_update: bool = False) -> tuple[Credential, Agency] | None:
    query = (
        select(Credential, Agency).join(Agency, Agency.code == Credential.agency_code)
        .where(Credential.id == credential_id)
    )
    if for_update:
        query = query.with_for_update(of=Credential)
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def credential_by_number(session: AsyncSession, number: str) -> tuple[Credential, Agency] | None:
    query = (
        select(Credential, Agency).join(Agency, Agency.code == Credential.agency_code)
        .where(Credential.number == number)
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def live_credential(session: AsyncSession, person_id: uuid.UUID, kind: str, now: datetime) -> Credential | None:
    """A credential of this kind the person still holds: not revoked and not expired."""
    query = select(Credential).where(
        Credential.person_id == person_id,
        Credential.kind == kind,
        Credential.status != "revoked",
        Credential.expires_at > now,
    ).limit(1)
    return (await session.execute(query)).scalars().first()


async def credentials_of_person(session: AsyncSession, person_id: uuid.UUID, *,
                                for_update: bool = False) -> Sequence[Credential]:
    query = select(Credential).where(Credential.person_id == person_id).order_by(Credential.issued_at, Credential.id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().all()


async def credentials_visible(
    session: AsyncSession,
    *,
    path_prefix: str,
    viewer_id: uuid.UUID,
    person_id: uuid.UUID | None,
    after: TimeKey | None,
    limit: int,
) -> Sequence[tuple[Credential, Agency]]:
    """Credentials of the viewer's jurisdiction, plus the viewer's own."""
    query = (
        select(Credential, Agency)
        .join(Agency, Agency.code == Credential.agency_code)
        .where(or_(Agency.path.startswith(path_prefix, autoescape=True), Credential.person_id == viewer_id))
    )
    if person_id is not None:
        query = query.where(Credential.person_id == person_id)
    if after is not None:
        query = query.where(keyset_after(Credential.issued_at, Credential.id, after, descending=False))
    query = query.order_by(Credential.issued_at, Credential.id).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def withdrawn_credentials(session: AsyncSession, now: datetime) -> Sequence[Credential]:
    """Revoked and suspended credentials whose tokens have not expired yet (an expired token fails
    offline on its own `exp`, so it need not be listed)."""
    query = (
        select(Credential)
        .where(Credential.status.in_(("revoked", "suspended")), Credential.expires_at > now)
        .order_by(Credential.number)
    )
    return (await session.execute(query)).scalars().all()


# --- the verification snapshot (backend.credentials.snapshot) ------------------------------------

_VERIFICATION_COLUMNS = (
    Credential.id, Credential.number, Credential.kind, Credential.person_id, Credential.holder_name,
    Credential.agency_code, Agency.name.label("agency_name"), Credential.issued_at, Credential.expires_at,
    Credential.status,
)


async def verification_rows(session: AsyncSession) -> Sequence[Any]:
    """Every credential with what a verification shows: plain rows, no ORM objects (cheap to load)."""
    query = select(*_VERIFICATION_COLUMNS).join(Agency, Agency.code == Credential.agency_code)
    return (await session.execute(query)).all()


async def verification_row(session: AsyncSession, *, credential_id: uuid.UUID | None = None,
                           number: str | None = None) -> Any | None:
    query = select(*_VERIFICATION_COLUMNS).join(Agency, Agency.code == Credential.agency_code)
    query = query.where(Credential.id == credential_id) if credential_id is not None else \
        query.where(Credential.number == number)
    return (await session.execute(query)).first()


async def agency_names(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(Agency.code, Agency.name))).all()
    return {str(code): str(name) for code, name in rows}
