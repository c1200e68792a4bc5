"""Response bodies of evidence photos, their custody log and the seal keys (API.md §Evidence
photos). The upload itself is multipart/form-data, parsed and validated field by field in
service.py (its fields are documented on the endpoint)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct


class ExifRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    #: What the camera wrote, reported as found: not held to the input time range.
    _check_time_range: ClassVar[bool] = False

    lon: float | None
    lat: float | None
    #: UTC. A camera time without an offset is read as Asia/Shanghai time (`taken_at_has_offset`
    #: false), the zone of every Fieldcheck deployment.
    taken_at: datetime | None
    taken_at_has_offset: bool
    make: str | None
    model: str | None
    software: str | None


class LocationRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    lon: float
    lat: float
    #: exif (the photo's own GPS tag) | device (the position the phone reported)
    source: str


class DevicePositionRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """The position the phone reported with the upload, in WGS84 (converted if it was GCJ-02)."""

    lon: float
    lat: float
    crs: str = "wgs84"
    reported_crs: str
    accuracy_m: float | None


class ChecksRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """The numbers behind `flags`."""

    #: Distance allowed from the site: radius_m + min(accuracy_m, 100) (0 when accuracy_m is absent).
    site_tolerance_m: float | None
    exif_device_distance_m: float | None
    #: captured_at minus the EXIF capture time, in seconds.
    exif_time_offset_s: float | None
    #: The interval captured_at must fall in (the inspection's start .. finish, ±10 min).
    window_start: datetime | None
    window_end: datetime | None


class EvidenceRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    id: uuid.UUID
    sha256: str
    size: int
    media_type: str
    #: Pixel grid as encoded; `oriented_*` as displayed after the EXIF orientation.
    width: int
    height: int
    oriented_width: int
    oriented_height: int
    orientation: int
    exif: ExifRead
    location: LocationRead | None
    device_position: DevicePositionRead | None
    distance_to_site_m: float | None
    #: Subset of NO_GPS, OUTSIDE_SITE, EXIF_DEVICE_MISMATCH, TIME_MISMATCH, EDITED.
    flags: list[str]
    checks: ChecksRead
    captured_at: datetime
    received_at: datetime
    note: str | None
    owner_kind: str
    owner_id: uuid.UUID
    inspection_id: uuid.UUID | None
    uploaded_by: uuid.UUID
    thumbnail_url: str
    original_url: str
    #: Compact JWS (EdDSA, `kid` of the seal ring, keys at GET /api/v1/evidence/keys) over
    #: {sha256, evidence_id, inspection_id, uploader, received_at, size, ...}.
    receipt: str


class EvidencePage(Page[EvidenceRead], kw_only=True, forbid_unknown_fields=True):
    items: list[EvidenceRead]


class CustodyEventRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    seq: int
    #: upload | duplicate_upload | read_original | read_thumbnail | export
    action: str
    at: datetime
    actor: uuid.UUID
    actor_role: str
    client_address: str | None
    user_agent: str | None
    detail: dict[str, Any]


class CustodyPage(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """A page of the custody log, headed by the photo it belongs to. Not a `Page` subclass: that
    would put `items` and `next_cursor` before the photo's fields on the wire."""

    evidence_id: uuid.UUID
    sha256: str
    items: list[CustodyEventRead]
    next_cursor: str | None


class EvidenceReceipt(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    evidence_id: uuid.UUID
    sha256: str
    receipt: str
    #: {"entry", "proof", "checkpoint"} of the audit log (backend.audit.service.inclusion_for_subject).
    audit: dict[str, Any] | None


class Jwks(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    keys: list[dict[str, Any]]


class EvidenceDeclare(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """A photo taken offline, as an op of /sync (`POST /api/v1/inspections/{id}/evidence` with a JSON
    body): what the phone knows of it. The file follows as the usual multipart upload with
    `Idempotency-Key: op:<op_id>`, before or after this op."""

    id: uuid.UUID | None = None
    sha256: Annotated[str, msgspec.Meta(pattern="^[0-9a-fA-F]{64}$")]
    captured_at: datetime
    lon: float | None = None
    lat: float | None = None
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    accuracy_m: Annotated[float, msgspec.Meta(ge=0)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class EvidenceDeclared(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """The answer (202) to a photo's metadata op while its file has not arrived: the id the
    evidence will have (later ops may name it by `$op:<op_id>`)."""

    id: uuid.UUID
    state: Literal["awaiting_upload"]
    sha256: str
    owner_kind: str
    owner_id: uuid.UUID
    inspection_id: uuid.UUID | None
    captured_at: datetime
