"""Request and response bodies of credentials, verification and the status list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct

Kind = Literal["technical_inspector", "social_supervisor"]
Status = Literal["valid", "suspended", "revoked", "expired"]
Result = Literal["valid", "revoked", "suspended", "expired", "forged", "unknown"]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class CredentialCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    person_id: uuid.UUID
    kind: Kind


class CredentialRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    number: str
    kind: str
    person_id: uuid.UUID
    holder_name: str
    agency_code: str
    agency_name: str
    issued_at: datetime
    expires_at: datetime
    #: valid | suspended | revoked | expired (expired is computed from expires_at)
    status: str
    status_reason: str | None
    status_changed_at: datetime
    #: `{public_base_url}/v/{token}`: what the card's QR code holds.
    qr_text: str


class CredentialPage(Page[CredentialRead], kw_only=True, forbid_unknown_fields=True):
    items: list[CredentialRead]


class RevokeRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason


class SuspendRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    reason: Reason | None = None


class VerifyRequest(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    #: The verification URL read from the QR code, or the bare token.
    qr_text: Annotated[str, msgspec.Meta(max_length=4096)]


class VerifiedCredential(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    number: str
    kind: str
    holder_name: str
    agency_code: str
    agency_name: str
    issued_at: datetime
    expires_at: datetime
    status: str


class VerifyResponse(ApiStruct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    result: Result
    checked_at: datetime
    credential: VerifiedCredential | None
    #: Why the result is not `valid`, as a code: bad_signature, unknown_signing_key,
    #: algorithm_not_accepted, wrong_token_type, claims_invalid, claims_mismatch, not_found,
    #: revoked, suspended, expired.
    reason: str | None = None


class StatusEntry(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    jti: str
    number: str
    status: Literal["revoked", "suspended"]
    since: datetime


class StatusList(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """The signed list (`token`, a compact JWS of the other fields) and the same fields in clear."""

    token: str
    issued_at: datetime
    valid_until: datetime
    max_staleness_s: int
    entries: list[StatusEntry]
