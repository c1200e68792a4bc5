"""Use cases of work credentials: issuance (Art. 14, 24), numbering, validity, the lifecycle
(suspend, reinstate, revoke — revocation is final), verification of a scanned QR code or a typed
number, the signed status list for offline verifiers. Raises domain errors; knows nothing of HTTP.
Validity rules are in validity.py, verification and the status list in verification.py; their
names are re-exported here.

Interfaces other domains call:
- `verify_qr(session, keys, settings, qr_text, now) -> VerifyOutcome` (inspections: credential displays)
- `verify_qr_public(snapshot, keys, qr_text, now)`: the same answer from memory (public endpoints)
- `revoke_all_for_person(session, person_id, reason, actor, now) -> list[uuid.UUID]` (personnel: dismissal)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.clock import LOCAL_TZ
from backend.core.errors import Conflict, NotFound, validation_error
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.core.signing import Keys
from backend.credentials import repository, tokens
from backend.credentials.models import Credential
from backend.credentials.numbering import MAX_SERIAL, format_number
from backend.credentials.repository import ActiveAppointment
from backend.credentials.schemas import CredentialCreate, CredentialPage, CredentialRead
from backend.credentials.validity import OPEN_ENDED_YEARS, add_years, effective_status, last_valid_day, validity_end
from backend.credentials.verification import (
    VerifyOutcome,
    credential_jwks,
    status_etag,
    status_list,
    verify_number,
    verify_number_public,
    verify_qr,
    verify_qr_public,
    verify_response,
)
from backend.guards.access import in_jurisdiction, require_role, require_visible, require_writable
from backend.guards.credentials import require_pre_job_training, require_provincial_issuer
from backend.personnel.models import Agency, Person
from backend.settings import Settings

__all__ = [
    "OPEN_ENDED_YEARS", "CardData", "VerifyOutcome", "add_years", "card_data", "change_status",
    "credential_jwks", "credential_read", "credentials_of_person", "effective_status", "get_credential", "issue",
    "issue_credential", "last_valid_day", "list_credentials", "qr_text", "require_active_appointment",
    "revoke_all_for_person", "status_etag", "status_list", "validity_end", "verify_number", "verify_number_public",
    "verify_qr", "verify_qr_public", "verify_response",
]



# --- the articles as pure checks (candidates for backend/guards/credentials.py) ----------------


def require_active_appointment(person: Person, appointment: ActiveAppointment | None, kind: str) -> ActiveAppointment:
    if person.status != "active" or appointment is None:
        raise Conflict(
            f"The person has no active appointment as {kind}",
            "该人员没有在聘的相应聘用记录",
            code="NO_ACTIVE_APPOINTMENT", detail={"kind": kind},
        )
    return appointment


def _revoked_conflict(credential: Credential) -> Conflict:
    return Conflict("The credential is revoked; revocation is final", "该证件已吊销，吊销不可撤回",
                    code="CREDENTIAL_REVOKED", detail={"number": credential.number})



# --- reads ---------------------------------------------------------------------------------------


def qr_text(keys: Keys, settings: Settings, credential: Credential) -> str:
    return tokens.qr_text_for(settings.public_base_url, tokens.sign_credential(keys.credential, credential))


def credential_read(credential: Credential, agency: Agency, keys: Keys, settings: Settings,
                    now: datetime) -> CredentialRead:
    return CredentialRead(
        id=credential.id, number=credential.number, kind=credential.kind, person_id=credential.person_id,
        holder_name=credential.holder_name, agency_code=credential.agency_code, agency_name=agency.name,
        issued_at=credential.issued_at, expires_at=credential.expires_at,
        status=effective_status(credential, now), status_reason=credential.status_reason,
        status_changed_at=credential.status_changed_at, qr_text=qr_text(keys, settings, credential),
    )


def _may_read(principal: Principal, credential: Credential, agency: Agency) -> bool:
    return credential.person_id == principal.person_id or in_jurisdiction(principal, agency.path)


async def _load(session: AsyncSession, credential_id: uuid.UUID, *,
                for_update: bool = False) -> tuple[Credential, Agency]:
    found = await repository.credential_with_agency(session, credential_id, for_update=for_update)
    if found is None:
        raise NotFound("No such credential", "未找到该证件")
    return found


async def get_credential(session: AsyncSession, principal: Principal, credential_id: uuid.UUID, keys: Keys,
                         settings: Settings, now: datetime) -> CredentialRead:
    credential, agency = await _load(session, credential_id)
    if credential.person_id != principal.person_id:
        require_visible(principal, agency.path, "credential")
    return credential_read(credential, agency, keys, settings, now)


async def list_credentials(session: AsyncSession, principal: Principal, *, person_id: uuid.UUID | None,
                           after: TimeKey | None, limit: int, keys: Keys,
                           settings: Settings, now: datetime) -> CredentialPage:
    """Oldest issue first."""
    rows = await repository.credentials_visible(session, path_prefix=principal.agency_path,
                                                viewer_id=principal.person_id, person_id=person_id,
                                                after=after, limit=limit + 1)
    return CredentialPage.of(rows, limit, item=lambda row: credential_read(row[0], row[1], keys, settings, now),
                             key=lambda row: encode_time_cursor(row[0].issued_at, row[0].id))





@dataclass(frozen=True)
class CardData:
    holder_name: str
    number: str
    kind: str
    agency_name: str
    valid_from: date
    valid_until: date
    qr_text: str


async def card_data(session: AsyncSession, principal: Principal, credential_id: uuid.UUID, keys: Keys,
                    settings: Settings) -> CardData:
    """What the printable card shows. The holder, or hr_admin of the credential's agency or above."""
    credential, agency = await _load(session, credential_id)
    if credential.person_id != principal.person_id:
        require_visible(principal, agency.path, "credential")
        require_role(principal, "hr_admin")
    if credential.status == "revoked":
        raise _revoked_conflict(credential)
    return CardData(
        holder_name=credential.holder_name, number=credential.number, kind=credential.kind,
        agency_name=agency.name, valid_from=credential.issued_at.astimezone(LOCAL_TZ).date(),
        valid_until=last_valid_day(credential), qr_text=qr_text(keys, settings, credential),
    )


# --- issuance ------------------------------------------------------------------------------------


async def issue_credential(session: AsyncSession, *, person_id: uuid.UUID, kind: str, actor: str, now: datetime,
                           credential_id: uuid.UUID | None = None) -> tuple[Credential, Agency]:
    """Issue one credential (no caller checks: `issue` and the demo seed decide who may)."""
    found = await repository.person_with_agency(session, person_id, for_update=True)
    if found is None:
        raise validation_error("person_id", "unknown", "no such person", "人员不存在")
    person, _ = found
    today = now.astimezone(LOCAL_TZ).date()
    appointment = require_active_appointment(
        person, await repository.active_appointment(session, person.id, kind, today), kind)
    require_pre_job_training(await repository.has_passed_pre_job_training(session, person.id))
    existing = await repository.live_credential(session, person.id, kind, now)
    if existing is not None:
        raise Conflict("The person already holds a credential of this kind; revoke it first",
                       "该人员已持有同类有效证件，须先吊销", code="CREDENTIAL_EXISTS",
                       detail={"credential_id": str(existing.id), "number": existing.number})
    year = now.astimezone(LOCAL_TZ).year
    serial = await repository.next_serial(session, kind, year)
    if serial > MAX_SERIAL:
        raise Conflict("No credential numbers left for this kind and year", "本年度该类证件编号已用尽",
                       code="SERIAL_EXHAUSTED")
    issued_at = now.replace(microsecond=0)
    credential = Credential(
        id=credential_id or uuid.uuid4(), number=format_number(kind, year, serial), kind=kind, year=year,
        serial=serial, person_id=person.id, appointment_id=appointment.id, agency_code=appointment.agency_code,
        holder_name=person.name, issued_at=issued_at, expires_at=validity_end(appointment, issued_at),
        status="valid", status_reason=None, status_changed_at=issued_at, issued_by=actor,
    )
    await repository.add(session, credential)
    await record(session, actor=actor, action="credential.issued", subject=f"credential:{credential.id}",
                 data={"number": credential.number, "kind": kind, "person_id": str(person.id),
                       "agency_code": credential.agency_code, "appointment_id": str(appointment.id),
                       "expires_at": credential.expires_at}, at=now)
    agency = await repository.get_agency(session, credential.agency_code)
    assert agency is not None  # a foreign key
    return credential, agency


async def issue(session: AsyncSession, principal: Principal, data: CredentialCreate, keys: Keys,
                settings: Settings, now: datetime) -> CredentialRead:
    require_provincial_issuer(principal)
    credential, agency = await issue_credential(session, person_id=data.person_id, kind=data.kind,
                                                actor=principal.actor, now=now, credential_id=data.id)
    return credential_read(credential, agency, keys, settings, now)


# --- lifecycle -----------------------------------------------------------------------------------


async def _set_status(session: AsyncSession, credential: Credential, status: str, reason: str | None, actor: str,
                      action: str, now: datetime, extra: dict[str, Any] | None = None) -> None:
    previous = credential.status
    credential.status = status
    credential.status_reason = reason
    credential.status_changed_at = now.replace(microsecond=0)
    await session.flush()
    await record(session, actor=actor, action=action, subject=f"credential:{credential.id}",
                 data={"number": credential.number, "from": previous, "to": status, "reason": reason,
                       **(extra or {})}, at=now)


async def change_status(session: AsyncSession, principal: Principal, credential_id: uuid.UUID, action: str,
                        reason: str | None, keys: Keys, settings: Settings, now: datetime) -> CredentialRead:
    """revoke | suspend | reinstate, by hr_admin of the credential's agency or above (the
    provincial office included). Suspending a suspended or reinstating a valid credential changes
    nothing; anything on a revoked one is 409 CREDENTIAL_REVOKED."""
    credential, agency = await _load(session, credential_id, for_update=True)
    if credential.person_id != principal.person_id:
        require_visible(principal, agency.path, "credential")
    require_role(principal, "hr_admin")
    require_writable(principal, agency.path)
    if credential.status == "revoked":
        raise _revoked_conflict(credential)
    target = {"revoke": "revoked", "suspend": "suspended", "reinstate": "valid"}[action]
    if credential.status != target:
        await _set_status(session, credential, target, reason if action != "reinstate" else None, principal.actor,
                          f"credential.{target if action != 'reinstate' else 'reinstated'}", now)
    return credential_read(credential, agency, keys, settings, now)


async def revoke_all_for_person(session: AsyncSession, person_id: uuid.UUID, reason: str, actor: str,
                                now: datetime) -> list[uuid.UUID]:
    """Revoke every credential of a person (dismissal, Art. 25), each audited. Idempotent: ones
    already revoked are left alone. Returns the ids revoked by this call."""
    revoked: list[uuid.UUID] = []
    for credential in await repository.credentials_of_person(session, person_id, for_update=True):
        if credential.status == "revoked":
            continue
        await _set_status(session, credential, "revoked", reason, actor, "credential.revoked", now,
                          {"cause": "dismissal"})
        revoked.append(credential.id)
    return revoked


async def credentials_of_person(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Credential]:
    """Every credential of a person, oldest first (for dismissal notices)."""
    return await repository.credentials_of_person(session, person_id)
