"""Who may sign which document in which slot (Art. 12, 13), and when a document locks.

Pure checks, no database. Art. 12, last paragraph: with their agency's authorisation, a technical
inspector signs on-site inspection records and rectification re-check opinions, no other
documents. An inspector never signs in an officer's slot; the enterprise's representative and
witnesses sign on an officer's device, so an officer enters their signatures (or the refusal,
Work Safety Law Art. 68).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from backend.core.auth import Principal
from backend.core.errors import Forbidden, GuardError, Unprocessable, validation_error
from backend.guards.access import in_jurisdiction, require_role
from backend.guards.article13 import (
    INSPECTOR,
    OFFICER,
    OFFICERS_REQUIRED,
    RECORD_TYPES,
    require_document_type_allowed,
)

SIGNER_ROLES = frozenset({OFFICER, INSPECTOR, "enterprise_representative", "witness"})
#: Signatures an officer enters on the device for someone who has no account.
ENTERED_ROLES = frozenset({"enterprise_representative", "witness"})


@dataclass(frozen=True)
class AuthorisationView:
    """An Art. 12 signing authorisation as the rule sees it."""

    document_types: frozenset[str]
    valid_until: date
    revoked: bool
    #: Materialised path of the granting person's agency.
    granted_by_agency_path: str


def authorisation_covers(auths: Iterable[AuthorisationView], doc_type: str, today: date,
                         holder_agency_path: str) -> bool:
    """An unrevoked authorisation for this type, valid today, granted by the holder's own agency
    (or one above it, which may act for it)."""
    return any(
        doc_type in a.document_types and not a.revoked and a.valid_until >= today
        and holder_agency_path.startswith(a.granted_by_agency_path)
        for a in auths
    )


def require_may_grant_signing(principal: Principal, *, holder_role: str, holder_status: str,
                              holder_agency_path: str, valid_until: date, today: date) -> None:
    """Art. 12: the leadership (`agency_admin`) of the inspector's agency or one above it authorises
    an active technical inspector to sign, until a day not yet past."""
    require_role(principal, "agency_admin", article="12")
    if not in_jurisdiction(principal, holder_agency_path):
        raise Forbidden("Only the leadership of the person's agency or above may authorise",
                        "仅该人员所在机关或上级机关负责人可授权", article="12", detail={"reason": "jurisdiction"})
    if holder_role != INSPECTOR or holder_status != "active":
        raise Unprocessable("Only active technical inspectors are authorised to sign",
                            "仅在职技术检查员可被授权签字", code="NOT_A_TECHNICAL_INSPECTOR", article="12",
                            detail={"role": holder_role, "status": holder_status})
    if valid_until < today:
        raise validation_error("valid_until", "in_past", "is in the past", "已过期")


def _mismatch(message: str, message_zh: str, article: str | None, **detail: object) -> GuardError:
    return GuardError(message, message_zh, code="SIGNER_ROLE_MISMATCH", article=article, status=403,
                      detail=dict(detail))


def require_may_sign(principal: Principal, *, signer_role: str, doc_type: str, authorised: bool) -> None:
    """Raise unless `principal` may put a signature of `signer_role` on a `doc_type` document.

    `authorised`: whether the caller holds a signing authorisation covering `doc_type`
    (`authorisation_covers`); only consulted for technical inspectors."""
    if principal.role == INSPECTOR:
        if signer_role != INSPECTOR:
            raise _mismatch(
                "A technical inspector signs only as a technical inspector, never in an officer's slot "
                "or for the enterprise", "技术检查员只能以技术检查员身份签名，不得代行政执法人员或企业签名",
                "13", signer_role=signer_role, caller_role=principal.role)
        require_document_type_allowed(principal, doc_type)
        if doc_type not in RECORD_TYPES or not authorised:
            raise GuardError(
                "Technical inspectors sign only on-site inspection records and re-check opinions, "
                "with their agency's authorisation",
                "技术检查员经本机关授权方可在现场检查记录、整改复查意见书上签字",
                code="ART12_NOT_AUTHORISED_TO_SIGN", article="12", status=403, detail={"type": doc_type},
            )
        return
    if principal.role == OFFICER:
        if signer_role == INSPECTOR:
            raise _mismatch("An officer cannot sign in a technical inspector's slot",
                            "行政执法人员不能以技术检查员身份签名", None,
                            signer_role=signer_role, caller_role=principal.role)
        return
    raise Forbidden("Only officers and technical inspectors on the team sign or enter signatures",
                    "仅检查组中的行政执法人员和技术检查员可签名或录入签名",
                    detail={"reason": "not_an_enforcement_role"})


@dataclass(frozen=True)
class SignatureView:
    signer_role: str
    signer_person_id: uuid.UUID | None
    refused: bool = False


@dataclass(frozen=True)
class LockState:
    locked: bool
    officer_signatures: int
    enterprise_done: bool
    inspectors_missing: tuple[uuid.UUID, ...]

    def detail(self) -> dict[str, object]:
        return {
            "officer_signatures": self.officer_signatures,
            "officer_signatures_required": OFFICERS_REQUIRED,
            "enterprise_signed_or_refused": self.enterprise_done,
            "inspectors_missing": [str(p) for p in self.inspectors_missing],
        }


def lock_state(signatures: Iterable[SignatureView], required_inspectors: Iterable[uuid.UUID]) -> LockState:
    """A document locks with ≥ 2 distinct officers' signatures, the enterprise's signature or a
    recorded refusal, and the signature of every authorised inspector who was present."""
    sigs = list(signatures)
    officers = {s.signer_person_id for s in sigs if s.signer_role == OFFICER and s.signer_person_id}
    enterprise = any(s.signer_role == "enterprise_representative" for s in sigs)
    signed_inspectors = {s.signer_person_id for s in sigs if s.signer_role == INSPECTOR}
    missing = tuple(sorted((p for p in set(required_inspectors) if p not in signed_inspectors), key=str))
    return LockState(
        locked=len(officers) >= OFFICERS_REQUIRED and enterprise and not missing,
        officer_signatures=len(officers),
        enterprise_done=enterprise,
        inspectors_missing=missing,
    )
