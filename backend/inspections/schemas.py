"""Request and response bodies of inspections, presence records, credential displays, findings,
documents, signatures and signing authorisations (API.md §Inspections, §Documents and signatures)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct

Kind = Literal["on_site_inspection", "rectification_recheck", "investigation"]
Classification = Literal["normal", "secret"]
Status = Literal["planned", "in_progress", "finished"]
HazardLevel = Literal["general", "major"]
DocumentType = Literal[
    "on_site_inspection_record", "recheck_opinion",
    "rectification_order", "on_site_measure_decision", "penalty_decision",
    "seizure_decision",
]
SignableRecordType = Literal["on_site_inspection_record", "recheck_opinion"]
SignerRole = Literal["officer", "technical_inspector", "enterprise_representative", "witness"]
Crs = Literal["wgs84", "gcj02"]

Lon = Annotated[float, msgspec.Meta(ge=-180, le=180)]
Lat = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Accuracy = Annotated[float, msgspec.Meta(ge=0, le=100_000)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{64}$")]
# Base64 of a PNG of at most 512 kB (ink.check_signature_png's default limit), with some slack.
ImageB64 = Annotated[str, msgspec.Meta(min_length=1, max_length=720_000)]


class Position(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    lon: Lon
    lat: Lat
    crs: Crs = "wgs84"
    accuracy_m: Accuracy | None = None


class PositionRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """Always WGS84."""

    lon: float
    lat: float
    crs: str = "wgs84"
    accuracy_m: float | None = None


class Enterprise(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    name: Text200
    credit_code: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class SiteIn(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    lon: Lon
    lat: Lat
    crs: Crs = "wgs84"
    radius_m: Annotated[float, msgspec.Meta(gt=0, le=10_000)]
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class SiteRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    lon: float
    lat: float
    crs: str
    radius_m: float
    address: str


class InspectionCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    kind: Kind
    enterprise: Enterprise
    site: SiteIn
    team: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=50)]
    planned_at: datetime
    classification: Classification = "normal"


class TeamMemberRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    person_id: uuid.UUID
    name: str
    role: str
    employment: str | None
    agency_code: str
    dispatched: bool


class PresenceRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    person_id: uuid.UUID
    name: str
    role: str
    check_in_id: uuid.UUID
    checked_in_at: datetime
    position: PositionRead
    distance_m: float


class ShownTo(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    name: Text100
    role: Text100


class CredentialDisplayRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    inspection_id: uuid.UUID
    person_id: uuid.UUID
    holder_name: str
    kind: str
    credential_id: uuid.UUID | None
    number: str
    shown_to: ShownTo
    position: PositionRead
    at: datetime
    recorded_by: uuid.UUID
    created_at: datetime


class DocumentSummary(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    type: str
    version: int
    content_sha256: str
    locked: bool
    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None


class FindingCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000)]
    hazard_level: HazardLevel
    position: Position | None = None


class FindingRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    inspection_id: uuid.UUID
    description: str
    hazard_level: str
    position: PositionRead | None
    created_by: uuid.UUID
    created_at: datetime


class InspectionRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    kind: str
    status: str
    classification: str
    enterprise: Enterprise
    site: SiteRead
    planned_at: datetime
    agency_code: str
    created_by: uuid.UUID
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    team: list[TeamMemberRead]
    present: list[PresenceRead]
    credential_displays: list[CredentialDisplayRead]
    findings: list[FindingRead]
    documents: list[DocumentSummary]
    evidence_count: int


class InspectionListItem(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    kind: str
    status: str
    classification: str
    enterprise: Enterprise
    site: SiteRead
    planned_at: datetime
    agency_code: str
    created_at: datetime


class InspectionPage(Page[InspectionListItem], kw_only=True, forbid_unknown_fields=True):
    items: list[InspectionListItem]


class CheckInCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    position: Position
    at: datetime


class CheckOutCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    position: Position | None = None
    at: datetime


class CheckInRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    inspection_id: uuid.UUID
    person_id: uuid.UUID
    at: datetime
    position: PositionRead
    reported_crs: str
    distance_m: float
    checked_out_at: datetime | None
    check_out_position: PositionRead | None
    check_out_id: uuid.UUID | None


class CredentialDisplayCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    qr_text: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    enforcement_certificate_number: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    shown_to: ShownTo
    position: Position
    at: datetime


class DocumentCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    type: DocumentType
    content: dict[str, Any]


class DocumentUpdate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    content: dict[str, Any]


class CorrectionCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    content: dict[str, Any]


class SignatureCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    signer_role: SignerRole
    signer_name: Text100 | None = None
    image_png: ImageB64 | None = None
    content_sha256: Sha256Hex | None = None
    position: Position | None = None
    at: datetime | None = None
    refused: bool = False
    refusal_note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None
    witness_name: Text100 | None = None


class SignatureRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    document_id: uuid.UUID
    version: int
    content_sha256: str
    signer_role: str
    signer_person_id: uuid.UUID | None
    #: null for an enterprise refusal recorded without the representative's name.
    signer_name: str | None
    refused: bool
    refusal_note: str | None
    witness_name: str | None
    image_sha256: str | None
    position: PositionRead | None
    at: datetime
    entered_by: uuid.UUID
    seal_kid: str
    seal: str


class DocumentRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    inspection_id: uuid.UUID
    type: str
    version: int
    content: dict[str, Any]
    content_sha256: str
    signatures: list[SignatureRead]
    locked: bool
    locked_at: datetime | None
    supersedes: uuid.UUID | None
    superseded_by: uuid.UUID | None
    #: What the document still needs before it locks (empty once locked).
    lock_requirements: dict[str, Any]
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime


class SignatureCreated(SignatureRead, kw_only=True, forbid_unknown_fields=True):
    """201 body of a signature: the signature, and whether the document locked with it."""

    document_locked: bool
    lock_requirements: dict[str, Any]


class VerifyProblem(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    problem: str
    signature_id: uuid.UUID | None = None
    detail: str | None = None


class DocumentVerify(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    ok: bool
    document_id: uuid.UUID
    version: int
    content_sha256: str
    signatures_checked: int
    problems: list[VerifyProblem]
    #: {"entry", "proof", "checkpoint"}: the audit entry, its RFC 6962 inclusion proof, the signed checkpoint.
    audit: dict[str, Any] | None = None


class SigningAuthorisationCreate(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID | None = None
    document_types: Annotated[list[SignableRecordType], msgspec.Meta(min_length=1, max_length=2)]
    valid_until: date


class SigningAuthorisationRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    person_id: uuid.UUID
    document_types: list[str]
    valid_until: date
    granted_by: uuid.UUID
    created_at: datetime
