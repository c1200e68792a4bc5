"""Use cases of agencies and people: login, the caller's record, creating and reading people within
one's jurisdiction, and loading a person for the other personnel use cases (`person_for_write`,
`person_for_staff_read`). Raises domain errors; knows nothing of HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal, hash_password, verify_password
from backend.core.checksums import mask_id_number, validate_id_number
from backend.core.errors import Conflict, NotFound, Unauthenticated, validation_error
from backend.core.pagination import TimeKey, encode_cursor, encode_time_cursor, of_type
from backend.guards.access import (
    may_see_id_number,
    require_may_read_person,
    require_role,
    require_visible,
    require_writable,
)
from backend.personnel.models import Agency, Person
from backend.personnel.people import repository
from backend.personnel.people.schemas import (
    AgencyPage,
    AgencyRead,
    EnforcementCertificate,
    PersonCreate,
    PersonPage,
    PersonRead,
)

#: Agency staff: the personnel office and the agency's leadership.
STAFF = ("hr_admin", "agency_admin")


def agency_read(agency: Agency) -> AgencyRead:
    return AgencyRead(code=agency.code, name=agency.name, name_en=agency.name_en, level=agency.level,
                      parent_code=agency.parent_code)


def mask_phone(phone: str) -> str:
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def person_read(person: Person, agency: Agency, viewer: Principal | None) -> PersonRead:
    """The person as `viewer` may see it: ID number and phone in full only to the personnel office
    of the person's agency or above, and to the person themself."""
    full = viewer is not None and (viewer.person_id == person.id or may_see_id_number(viewer, agency.path))
    cert = None
    if person.enforcement_certificate_number and person.enforcement_certificate_valid_until:
        cert = EnforcementCertificate(number=person.enforcement_certificate_number,
                                      valid_until=person.enforcement_certificate_valid_until)
    return PersonRead(
        id=person.id,
        name=person.name,
        id_number=person.id_number if full else mask_id_number(person.id_number),
        id_number_masked=not full,
        phone=person.phone if full else mask_phone(person.phone),
        agency_code=person.agency_code,
        role=person.role,
        employment=person.employment,
        status=person.status,
        username=person.username,
        enforcement_certificate=cert,
        created_at=person.created_at,
    )


async def authenticate(session: AsyncSession, username: str, password: str, *, demo_enabled: bool) -> Person:
    person = await repository.person_by_username(session, username)
    # Hash checking is deliberately slow (argon2): keep it off the event loop.
    ok = await anyio.to_thread.run_sync(verify_password, person.password_hash if person else None, password)
    if person is None or not ok:
        raise Unauthenticated("Wrong username or password", "用户名或密码错误")
    if person.is_demo and not demo_enabled:
        raise Unauthenticated("Demo accounts are disabled on this server", "本服务器未启用演示账户")
    if person.status != "active":
        raise Unauthenticated("This account is no longer active", "该账户已停用")
    return person


async def load_principal(session: AsyncSession, person_id: uuid.UUID) -> Principal:
    found = await repository.person_with_agency(session, person_id)
    if found is None:
        raise Unauthenticated("Unknown account", "账户不存在")
    person, agency = found
    if person.status != "active":
        raise Unauthenticated("This account is no longer active", "该账户已停用")
    return Principal(person_id=person.id, role=person.role, agency_code=agency.code, agency_path=agency.path,
                     name=person.name, employment=person.employment)


def agency_cursor(value: dict[str, Any]) -> str:
    """The position inside a decoded `{"code"}` cursor (for core/pagination.parse_cursor)."""
    return of_type(value["code"], str)


async def list_agencies(session: AsyncSession, principal: Principal, *, after: str | None,
                        limit: int) -> AgencyPage:
    """The agencies of the caller's subtree by code, from after the code `after`."""
    rows = await repository.agencies_in(session, principal.agency_path, after, limit + 1)
    return AgencyPage.of(rows, limit, item=agency_read, key=lambda a: encode_cursor({"code": a.code}))


async def list_people(session: AsyncSession, principal: Principal, *, role: str | None, agency_code: str | None,
                      status: str | None, after: TimeKey | None, limit: int) -> PersonPage:
    """The people of the caller's subtree, oldest record first (created_at, id). The controller
    checks `require_may_list_people` before it reads the query parameters."""
    rows = await repository.people_in(session, principal.agency_path, role=role, agency_code=agency_code,
                                      status=status, after=after, limit=limit + 1)
    return PersonPage.of(rows, limit, item=lambda r: person_read(r[0], r[1], principal),
                         key=lambda r: encode_time_cursor(r[0].created_at, r[0].id))


async def get_agency(session: AsyncSession, principal: Principal, code: str) -> Agency:
    agency = await repository.get_agency(session, code)
    if agency is None:
        raise NotFound("No such agency", "未找到该机关")
    return agency


def _person_conflict(message: str) -> Conflict | None:
    """The 409 of the unique column a concurrent insert of the same person hit (SQLite names the
    column, PostgreSQL the constraint `uq_people_<column>`)."""
    if "enforcement_certificate_number" in message:
        return Conflict("Enforcement certificate already registered", "该执法证已登记", code="CERTIFICATE_EXISTS")
    if "id_number" in message:
        return Conflict("A person with this ID number exists", "该身份证号码已登记", code="PERSON_EXISTS")
    if "username" in message:
        return Conflict("Username taken", "用户名已被占用", code="USERNAME_TAKEN")
    return None


async def create_person(session: AsyncSession, principal: Principal, data: PersonCreate, now: datetime) -> PersonRead:
    require_role(principal, "hr_admin")
    agency = await repository.get_agency(session, data.agency_code)
    if agency is None:
        raise validation_error("agency_code", "unknown", "no such agency", "机关代码不存在")
    require_writable(principal, agency.path)
    info = validate_id_number(data.id_number)
    # `employment` may wait for the appointment, which carries it (API.md §Agencies and people).
    if data.role != "technical_inspector" and data.employment is not None:
        raise validation_error("employment", "not_applicable", "only technical inspectors have an employment",
                               "仅技术检查员区分专职兼职")
    if data.role == "officer" and data.enforcement_certificate is None:
        raise validation_error("enforcement_certificate", "required", "officers carry an enforcement certificate",
                               "行政执法人员须登记执法证")
    if data.role != "officer" and data.enforcement_certificate is not None:
        raise validation_error("enforcement_certificate", "not_applicable",
                               "only officers carry an enforcement certificate", "仅行政执法人员登记执法证")
    if (data.username is None) != (data.password is None):
        raise validation_error("password", "required", "username and password go together", "用户名和密码须同时提供")
    if await repository.person_by_id_number(session, info.number) is not None:
        raise Conflict("A person with this ID number exists", "该身份证号码已登记", code="PERSON_EXISTS")
    if data.username and await repository.person_by_username(session, data.username) is not None:
        raise Conflict("Username taken", "用户名已被占用", code="USERNAME_TAKEN")
    cert = data.enforcement_certificate
    if cert and await repository.person_by_certificate(session, cert.number) is not None:
        raise Conflict("Enforcement certificate already registered", "该执法证已登记", code="CERTIFICATE_EXISTS")
    password_hash = None
    if data.password:
        password_hash = await anyio.to_thread.run_sync(hash_password, data.password)
    person = Person(
        id=data.id or uuid.uuid4(),
        name=data.name,
        id_number=info.number,
        birth_date=info.birth_date,
        phone=data.phone,
        agency_code=agency.code,
        role=data.role,
        employment=data.employment,
        status="active",
        username=data.username,
        password_hash=password_hash,
        is_demo=False,
        enforcement_certificate_number=cert.number if cert else None,
        enforcement_certificate_valid_until=cert.valid_until if cert else None,
        created_at=now,
        updated_at=now,
    )
    try:
        await repository.add(session, person)
    except IntegrityError as exc:
        # The checks above read before this insert; a concurrent request for the same person can
        # commit in between. Its unique constraint is the answer: the same 409, never a 500.
        conflict = _person_conflict(str(exc.orig))
        if conflict is None:
            raise  # e.g. a client id already used: the idempotency layer answers ID_CONFLICT
        raise conflict from exc
    await record(session, actor=principal.actor, action="person.created", subject=f"person:{person.id}",
                 data={"name": person.name, "agency_code": person.agency_code, "role": person.role,
                       "employment": person.employment, "id_number": mask_id_number(person.id_number)},
                 at=now)
    return person_read(person, agency, principal)


async def get_person(session: AsyncSession, principal: Principal, person_id: uuid.UUID) -> PersonRead:
    found = await repository.person_with_agency(session, person_id)
    if found is None:
        raise NotFound("No such person", "未找到该人员")
    person, agency = found
    require_may_read_person(principal, person.id, agency.path)
    return person_read(person, agency, principal)


async def person_for_write(session: AsyncSession, principal: Principal, person_id: uuid.UUID,
                           *roles: str) -> tuple[Person, Agency]:
    """The person, when the caller has one of `roles` at the person's agency or above (403 else)."""
    require_role(principal, *roles)
    found = await repository.person_with_agency(session, person_id)
    if found is None:
        raise NotFound("No such person", "未找到该人员")
    require_writable(principal, found[1].path)
    return found


async def person_for_staff_read(session: AsyncSession, principal: Principal,
                                person_id: uuid.UUID) -> tuple[Person, Agency]:
    """The person's file: the person themself, or agency staff of the person's agency or above.
    Someone outside the jurisdiction gets 404, a colleague without a staff role 403."""
    found = await repository.person_with_agency(session, person_id)
    if found is None:
        raise NotFound("No such person", "未找到该人员")
    if principal.person_id == person_id:
        return found
    require_visible(principal, found[1].path, "person")
    require_role(principal, *STAFF)
    return found
