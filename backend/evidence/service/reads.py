"""Reads of evidence photos: one photo (its record, original, thumbnail: each read recorded in the
custody log), an owner's photos (with a radius filter) and their GeoJSON export."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.errors import DomainError, Unprocessable
from backend.core.geo import to_wgs84
from backend.core.pagination import TimeKey, encode_time_cursor
from backend.evidence import blobs, repository
from backend.evidence.models import Evidence
from backend.evidence.schemas import (
    ChecksRead,
    DevicePositionRead,
    EvidencePage,
    EvidenceRead,
    ExifRead,
    LocationRead,
)
from backend.evidence.service.custody import ClientInfo, custody_row
from backend.evidence.service.form import invalid_fields
from backend.evidence.service.owners import load_visible, require_owner_visible
from backend.settings import Settings

log = logging.getLogger("fieldcheck.evidence")

MAX_WITHIN_M = 100_000.0
MAX_EXPORT = 10_000


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def evidence_read(e: Evidence) -> EvidenceRead:
    checks = e.checks or {}
    return EvidenceRead(
        id=e.id, sha256=e.sha256, size=e.size, media_type=e.media_type, width=e.width, height=e.height,
        oriented_width=e.oriented_width, oriented_height=e.oriented_height, orientation=e.orientation,
        exif=ExifRead(lon=e.exif_lon, lat=e.exif_lat, taken_at=e.exif_taken_at,
                      taken_at_has_offset=bool(e.exif_taken_at_has_offset), make=e.exif_make,
                      model=e.exif_model, software=e.exif_software),
        location=(LocationRead(lon=e.location_lon, lat=e.location_lat, source=e.location_source or "device")
                  if e.location_lon is not None and e.location_lat is not None else None),
        device_position=(DevicePositionRead(lon=e.device_lon, lat=e.device_lat, reported_crs=e.device_crs or "wgs84",
                                            accuracy_m=e.accuracy_m)
                         if e.device_lon is not None and e.device_lat is not None else None),
        distance_to_site_m=e.distance_to_site_m, flags=list(e.flags or []),
        checks=ChecksRead(site_tolerance_m=checks.get("site_tolerance_m"),
                          exif_device_distance_m=e.exif_device_distance_m,
                          exif_time_offset_s=checks.get("exif_time_offset_s"),
                          window_start=_dt(checks.get("window_start")), window_end=_dt(checks.get("window_end"))),
        captured_at=e.captured_at, received_at=e.received_at, note=e.note, owner_kind=e.owner_kind,
        owner_id=e.owner_id, inspection_id=e.inspection_id, uploaded_by=e.uploaded_by,
        thumbnail_url=f"/api/v1/evidence/{e.id}/thumbnail", original_url=f"/api/v1/evidence/{e.id}/original",
        receipt=e.receipt,
    )



async def get_evidence(session: AsyncSession, principal: Principal, evidence_id: uuid.UUID) -> EvidenceRead:
    return evidence_read(await load_visible(session, principal, evidence_id))


def _missing(evidence: Evidence, what: str) -> DomainError:
    log.error("evidence %s: %s file missing for sha256 %s", evidence.id, what, evidence.sha256)
    return DomainError("The stored photo is unavailable", "证据文件暂不可用", code="EVIDENCE_FILE_MISSING",
                       status=503, detail={"evidence_id": str(evidence.id)})


async def open_original(session: AsyncSession, settings: Settings, principal: Principal, evidence_id: uuid.UUID,
                        client: ClientInfo, now: datetime) -> tuple[Evidence, Path | AsyncIterator[bytes]]:
    """The original (a local path with the file store, else its chunks), after recording the read
    in the custody log (same transaction)."""
    evidence = await load_visible(session, principal, evidence_id)
    store = blobs.blob_store(settings)
    body: Path | AsyncIterator[bytes]
    if isinstance(store, blobs.FileBlobStore):
        body = store.local_path(evidence.sha256, blobs.ORIGINAL)
        if not await anyio.to_thread.run_sync(body.is_file):
            raise _missing(evidence, "original")
    else:
        try:
            body = await store.open_stream(session, evidence.sha256, blobs.ORIGINAL)
        except blobs.BlobMissing:
            raise _missing(evidence, "original") from None
    await repository.add_custody(session, [custody_row(evidence.id, "read_original", principal, client, now)])
    return evidence, body


async def read_thumbnail(session: AsyncSession, settings: Settings, principal: Principal, evidence_id: uuid.UUID,
                         client: ClientInfo, now: datetime) -> tuple[Evidence, bytes]:
    evidence = await load_visible(session, principal, evidence_id)
    try:
        stream = await blobs.blob_store(settings).open_stream(session, evidence.sha256, blobs.THUMBNAIL)
        data = await blobs.read_all(stream)
    except blobs.BlobMissing:
        raise _missing(evidence, "thumbnail") from None
    await repository.add_custody(session, [custody_row(evidence.id, "read_thumbnail", principal, client, now)])
    return evidence, data


def parse_near(near_lon: float | None, near_lat: float | None, within_m: float | None,
               crs: str = "wgs84") -> tuple[float, float, float] | None:
    given = [v is not None for v in (near_lon, near_lat, within_m)]
    if not any(given):
        return None
    errors = [{"field": n, "code": "required", "message": "near_lon, near_lat and within_m go together"}
              for n, g in zip(("near_lon", "near_lat", "within_m"), given, strict=True) if not g]
    if errors:
        raise invalid_fields(errors)
    assert near_lon is not None
    assert near_lat is not None
    assert within_m is not None
    if not (math.isfinite(within_m) and 0 < within_m <= MAX_WITHIN_M):
        raise invalid_fields([{"field": "within_m", "code": "range",
                            "message": f"must be more than 0 and at most {MAX_WITHIN_M:.0f}"}])
    try:
        lon, lat = to_wgs84(near_lon, near_lat, crs)
    except Unprocessable as exc:
        errors = [{**e, "field": {"lon": "near_lon", "lat": "near_lat"}.get(e["field"], e["field"])}
                  for e in exc.detail.get("errors", [])]
        raise invalid_fields(errors) from None
    return lon, lat, within_m


async def list_evidence(session: AsyncSession, principal: Principal, owner_kind: str, owner_id: uuid.UUID, *,
                        near: tuple[float, float, float] | None, after: TimeKey | None,
                        limit: int) -> EvidencePage:
    """Up to `limit` of the owner's photos after `after` (received_at, id), oldest first."""
    await require_owner_visible(session, principal, owner_kind, owner_id)
    rows = await repository.list_for_owner(session, owner_kind, owner_id, near=near, after=after, limit=limit + 1)
    return EvidencePage.of(rows, limit, item=evidence_read, key=lambda e: encode_time_cursor(e.received_at, e.id))


async def export_geojson(session: AsyncSession, principal: Principal, owner_kind: str, owner_id: uuid.UUID, *,
                         near: tuple[float, float, float] | None, client: ClientInfo,
                         now: datetime) -> dict[str, Any]:
    """RFC 7946 FeatureCollection of the owner's photos ([lon, lat], WGS84); each photo exported
    gets an `export` entry in its custody log."""
    await require_owner_visible(session, principal, owner_kind, owner_id)
    rows = await repository.list_for_owner(session, owner_kind, owner_id, near=near, after=None,
                                           limit=MAX_EXPORT)
    features = []
    for e in rows:
        read = msgspec.to_builtins(evidence_read(e))
        geometry = ({"type": "Point", "coordinates": [e.location_lon, e.location_lat]}
                    if e.location_lon is not None and e.location_lat is not None else None)
        properties = {k: read[k] for k in ("sha256", "size", "media_type", "captured_at", "received_at", "flags",
                                           "distance_to_site_m", "note", "thumbnail_url", "original_url",
                                           "uploaded_by", "inspection_id")}
        properties["location_source"] = e.location_source
        properties["exif_taken_at"] = read["exif"]["taken_at"]
        features.append({"type": "Feature", "id": str(e.id), "geometry": geometry, "properties": properties})
    await repository.add_custody(session, [custody_row(e.id, "export", principal, client, now,
                                                        {"format": "geojson", "count": len(rows)}) for e in rows])
    return {"type": "FeatureCollection", "features": features}


