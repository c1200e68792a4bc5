"""Verification of work credentials: a scanned QR code (the verification URL or the bare token)
or a typed number, against the database (callers that act on the answer) or the in-memory
snapshot (public endpoints); and what offline verifiers download: the public keys and the signed
list of revoked and suspended credentials."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.canonical import jcs
from backend.core.clock import iso_utc
from backend.core.signing import KeyRing, Keys
from backend.credentials import repository, tokens
from backend.credentials.models import Credential
from backend.credentials.numbering import parse_number
from backend.credentials.schemas import StatusEntry, StatusList, VerifiedCredential, VerifyResponse
from backend.credentials.snapshot import CredentialSnapshot, CredentialView
from backend.credentials.validity import effective_status
from backend.personnel.models import Agency
from backend.settings import Settings


@dataclass(frozen=True)
class VerifyOutcome:
    #: valid | revoked | suspended | expired | forged | unknown
    result: str
    credential: Credential | CredentialView | None
    reason: str | None
    agency: Agency | None = None
    agency_name: str | None = None


def _claims_match(claims: dict[str, Any], credential: Credential | CredentialView) -> bool:
    """Every claim we sign must agree with the record: a genuine signature over another holder's
    name, number or validity (a key compromise, a bug) must not pass as this credential."""
    return all(claims.get(name) == value for name, value in tokens.claims_for(credential).items())


def _outcome(credential: Credential | CredentialView, agency_name: str, now: datetime,
             agency: Agency | None = None) -> VerifyOutcome:
    status = effective_status(credential, now)
    return VerifyOutcome(status, credential, None if status == "valid" else status, agency, agency_name)


def _checked_claims(keys: Keys, qr_text: str) -> tuple[uuid.UUID, dict[str, Any]] | VerifyOutcome:
    text = tokens.extract_token(qr_text)
    try:
        claims = tokens.verify_credential_token(keys.credential, text)
    except tokens.Rejected as exc:
        return VerifyOutcome("forged", None, exc.reason)
    try:
        return uuid.UUID(claims["jti"]), claims
    except ValueError:
        return VerifyOutcome("forged", None, "claims_invalid")


async def verify_qr(session: AsyncSession, keys: Keys, settings: Settings, qr_text: str,
                    now: datetime) -> VerifyOutcome:
    """Verify what a camera read from a card: the verification URL or the bare token.
    BadRequest MALFORMED_CREDENTIAL for anything else. A typed number is deliberately not accepted
    here (it goes to `verify_number`): numbers are sequential, so knowing one proves nothing about
    holding the card, and callers such as the record of an on-site credential display rely on a scan.
    Reads the row in the caller's transaction (for callers that act on the answer)."""
    checked = _checked_claims(keys, qr_text)
    if isinstance(checked, VerifyOutcome):
        return checked
    credential_id, claims = checked
    found = await repository.credential_with_agency(session, credential_id)
    if found is None:
        return VerifyOutcome("unknown", None, "not_found")
    credential, agency = found
    if not _claims_match(claims, credential):
        return VerifyOutcome("forged", None, "claims_mismatch")
    return _outcome(credential, agency.name, now, agency)


async def verify_qr_public(snapshot: CredentialSnapshot, keys: Keys, qr_text: str, now: datetime) -> VerifyOutcome:
    """`verify_qr` for the public endpoints: the same answer, from the in-memory snapshot."""
    checked = _checked_claims(keys, qr_text)
    if isinstance(checked, VerifyOutcome):
        return checked
    credential_id, claims = checked
    view = await snapshot.by_id(credential_id)
    if view is None:
        return VerifyOutcome("unknown", None, "not_found")
    if not _claims_match(claims, view):
        return VerifyOutcome("forged", None, "claims_mismatch")
    return _outcome(view, view.agency_name, now)


async def verify_number(session: AsyncSession, number: str, now: datetime) -> VerifyOutcome:
    parsed = parse_number(number)
    found = await repository.credential_by_number(session, parsed.canonical)
    if found is None:
        return VerifyOutcome("unknown", None, "not_found")
    return _outcome(found[0], found[1].name, now, found[1])


async def verify_number_public(snapshot: CredentialSnapshot, number: str, now: datetime) -> VerifyOutcome:
    view = await snapshot.by_number(parse_number(number).canonical)
    if view is None:
        return VerifyOutcome("unknown", None, "not_found")
    return _outcome(view, view.agency_name, now)


def verify_response(outcome: VerifyOutcome, now: datetime) -> VerifyResponse:
    shown = None
    if outcome.credential is not None and outcome.agency_name is not None:
        c = outcome.credential
        shown = VerifiedCredential(number=c.number, kind=c.kind, holder_name=c.holder_name,
                                   agency_code=c.agency_code, agency_name=outcome.agency_name,
                                   issued_at=c.issued_at, expires_at=c.expires_at, status=effective_status(c, now))
    return VerifyResponse(result=outcome.result, checked_at=now, credential=shown,  # type: ignore[arg-type]
                          reason=outcome.reason)


# --- offline verification: public keys and the status list ---------------------------------------


def credential_jwks(keys: Keys) -> dict[str, Any]:
    """Every public key of the credential ring, including keys another process (`fieldcheck keys
    rotate`, another worker) has added since this one loaded the ring."""
    ring: KeyRing = keys.credential
    try:
        on_disk = {e.name[:-4] for e in os.scandir(ring.directory) if e.name.endswith(".pem")}
    except OSError:
        on_disk = set()
    if not on_disk <= {k.kid for k in ring.all()}:
        ring.load(create=False)
    return ring.jwks()


def status_etag(entries: list[StatusEntry]) -> str:
    body = jcs([{"jti": e.jti, "number": e.number, "status": e.status, "since": iso_utc(e.since)}
                          for e in entries])
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


async def status_list(session: AsyncSession, keys: Keys, settings: Settings, now: datetime) -> tuple[StatusList, str]:
    """The signed list of revoked and suspended credentials and its ETag (a hash of the entries)."""
    entries = [StatusEntry(jti=str(c.id), number=c.number, status=c.status,  # type: ignore[arg-type]
                           since=c.status_changed_at)
               for c in await repository.withdrawn_credentials(session, now)]
    issued_at = now.replace(microsecond=0)
    valid_until = issued_at + timedelta(seconds=settings.status_list_ttl_s)
    payload = {
        "issued_at": iso_utc(issued_at),
        "valid_until": iso_utc(valid_until),
        "max_staleness_s": settings.status_list_ttl_s,
        "entries": [{"jti": e.jti, "number": e.number, "status": e.status, "since": iso_utc(e.since)}
                    for e in entries],
        "iat": int(issued_at.timestamp()),
        "exp": int(valid_until.timestamp()),
    }
    token = tokens.sign_status_list(keys.credential, payload)
    return (StatusList(token=token, issued_at=issued_at, valid_until=valid_until,
                       max_staleness_s=settings.status_list_ttl_s, entries=entries), status_etag(entries))
