"""Intake of an evidence photo once its body has been received: check it (hash, media type,
pixels, decode, EXIF, position and time), store it content-addressed, seal a receipt, and record
it (audit entry, custody log, the op ledger of a photo taken offline).

The intake is shared by every owner of evidence. Inspections use it through
`POST /api/v1/inspections/{id}/evidence`; incidents (or any other domain) call the same steps
after applying their own rules and describing the owner (an `Owner`):

    owner = await authorize(session)                      # fail fast, before the body is read
    await session.commit()                                # no transaction open while bytes stream
    upload = await receive_upload(chunks, ...)            # backend/evidence/upload.py (HTTP side)
    outcome = await intake_photo(session, settings, keys, owner=owner, uploader=principal,
                                 upload=upload, client=ClientInfo(...), now=clock.now(),
                                 idempotency_key=..., scope=request.url.path)

The owner's rules are applied once, when the request arrives (the act is judged when it is
attempted, and a refusal then costs the phone no upload); the row is written in a second, short
transaction after the body has been received and checked.
(`backend.evidence.controllers.handle_upload` does exactly this for a Litestar request.)

Decisions the flags rest on (API.md leaves them to us):
- OUTSIDE_SITE: the photo's location is farther from the site than radius_m + min(accuracy_m, 100),
  the check-in rule (DOMAIN.md §Positions); accuracy_m is the device's reported accuracy (0 when
  absent), used for EXIF positions too (the same phone took the photo).
- TIME_MISMATCH: the EXIF capture time and captured_at differ by more than 10 minutes, or
  captured_at falls outside the inspection: [started_at − 10 min, (finished_at or now) + 10 min],
  or the planned day (Asia/Shanghai) when it has not started. An EXIF time without an offset
  (most cameras) is read as Asia/Shanghai time, the zone of every Fieldcheck deployment.
- Location: EXIF GPS when the photo has it, else the device position sent with the upload.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.clock import LOCAL_TZ, iso_utc
from backend.core.db import point
from backend.core.errors import Conflict, Unprocessable, UnsupportedMediaType
from backend.core.idempotency import Outcome, keys_for, request_fingerprint, run_idempotent
from backend.core.signing import Keys
from backend.core.times import lenient_utc
from backend.evidence import blobs, decoding, imaging, repository
from backend.evidence.models import Evidence
from backend.evidence.service.custody import ClientInfo, custody_row
from backend.evidence.service.form import IntakeForm, ReceivedUpload, parse_form
from backend.evidence.service.owners import TIME_TOLERANCE, Owner
from backend.evidence.service.reads import evidence_read
from backend.evidence.service.receipts import make_receipt
from backend.evidence.storage import EvidenceStore
from backend.settings import Settings
from backend.sync import ledger

#: API.md thresholds.
POSITION_MISMATCH_M = 100.0
#: Accuracy counted towards the site radius is capped, as for check-ins.
MAX_ACCURACY_ALLOWANCE_M = 100.0
FLAG_ORDER = ("NO_GPS", "OUTSIDE_SITE", "EXIF_DEVICE_MISMATCH", "TIME_MISMATCH", "EDITED")


def _examine(path: Path, media_type: str, max_pixels: int) -> tuple[imaging.ImageInfo, bytes]:
    # One decode serves the checks (size, truncation, EXIF) and the thumbnail.
    return imaging.inspect_and_thumbnail(path, media_type, max_pixels=max_pixels)


def exif_time_utc(exif: imaging.ExifInfo) -> datetime | None:
    if exif.taken_at is None:
        return None
    # A camera can write any year: one Python cannot convert is no EXIF time, not a 500.
    return lenient_utc(exif.taken_at, assume=LOCAL_TZ)


async def intake_photo(
    session: AsyncSession,
    settings: Settings,
    keys: Keys,
    *,
    owner: Owner,
    uploader: Principal,
    upload: ReceivedUpload,
    client: ClientInfo,
    now: datetime,
    idempotency_key: str | None,
    scope: str,
) -> Outcome:
    """Check, store and record a received upload; (201, body) the first time, (200, body) for the
    same photo again (same owner, same sha256) or a replayed client id / Idempotency-Key.

    `owner` comes from the owner's own rules, applied when the request arrived (see the module
    docstring). The temp file is always consumed."""
    store = EvidenceStore(settings.data_dir, min_free_bytes=settings.min_free_bytes)
    try:
        form = parse_form(upload, require_position=owner.require_position)
        if form.sha256 != upload.sha256:
            raise Unprocessable(
                "The SHA-256 sent does not match the bytes received", "上传内容的 SHA-256 与提交的不一致",
                code="HASH_MISMATCH", detail={"claimed": form.sha256, "received": upload.sha256, "size": upload.size},
            )
        media_type = imaging.sniff_media_type(upload.head)
        if media_type is None:
            raise UnsupportedMediaType(
                "The file is not a JPEG, PNG or HEIC image", "文件不是 JPEG、PNG 或 HEIC 图片",
                detail={"accepted": sorted(imaging.ACCEPTED_MEDIA_TYPES), "filename": upload.filename},
            )
        # The header says how much memory the decode will take: wait for room for it (or refuse).
        cost = await anyio.to_thread.run_sync(lambda: imaging.decode_estimate(
            upload.spool_path, media_type, max_pixels=settings.max_image_pixels))
        decodes = decoding.gate(settings.decode_memory_bytes, settings.max_concurrent_decodes,
                                settings.decode_wait_s)
        async with decodes.slot(cost):
            info, thumbnail = await anyio.to_thread.run_sync(_examine, upload.spool_path, media_type,
                                                             settings.max_image_pixels)
        # Bytes first (files: renamed into place; database: in this transaction), row second:
        # whatever happens from here on, no row can lack its bytes.
        await blobs.blob_store(settings).put(session, upload.sha256, upload.spool_path, media_type, thumbnail, now)

        # A photo taken offline: its metadata op may have arrived (declared, awaiting this file:
        # the evidence gets the id the op answered) or not (this upload enters the op ledger).
        op_id = ledger.op_id_from_idempotency_key(idempotency_key)
        op_row = None
        if op_id is not None:
            op_row = await ledger.declared_photo(session, op_id, uploader.actor, owner.kind, owner.id, upload.sha256)
            if op_row is not None and not ledger.awaiting_upload(op_row):
                # This op's photo has arrived before: its first answer again.
                return Outcome(200 if op_row.status_code == 201 else op_row.status_code, op_row.response, True)
            if op_row is not None:
                # Declared by its metadata op: the photo gets the id the op answered.
                form = replace(form, id=uuid.UUID(str(op_row.response["id"])))
        # An op key's once-only record is the op ledger (below), not a second idempotency record.
        ids = keys_for(entity="evidence", client_id=form.id, header_key=None if op_id else idempotency_key,
                       actor=uploader.actor)

        async def create() -> tuple[int, Any]:
            return await _record(session, keys, settings, owner=owner, uploader=uploader, form=form,
                                 upload=upload, media_type=media_type, info=info, thumbnail_size=len(thumbnail),
                                 client=client, now=now, idempotency_key=idempotency_key)

        outcome = await run_idempotent(
            session, keys=ids, fingerprint=request_fingerprint("POST", scope, form.fingerprint_body(upload.sha256)),
            actor=uploader.actor, now=now, create=create,
        )
        if op_id is not None and 200 <= outcome.status_code < 300:
            if op_row is None:
                await ledger.record_direct_op(
                    session, op_id=op_id, caller=uploader.actor, method="POST", path=scope, request=None,
                    status=outcome.status_code, response=outcome.body, device_id="upload",
                    recorded_at=form.captured_at, now=now,
                    request_sha256=ledger.photo_fingerprint(uploader.actor, owner.kind, owner.id, upload.sha256))
            elif ledger.awaiting_upload(op_row):
                await ledger.complete_photo(session, op_row, 201, outcome.body, now)
        return outcome
    finally:
        store.discard(upload.spool_path)


async def _record(session: AsyncSession, keys: Keys, settings: Settings, *, owner: Owner, uploader: Principal,
                  form: IntakeForm, upload: ReceivedUpload, media_type: str, info: imaging.ImageInfo,
                  thumbnail_size: int, client: ClientInfo, now: datetime,
                  idempotency_key: str | None) -> tuple[int, Any]:
    existing = await repository.by_owner_sha(session, owner.kind, owner.id, upload.sha256)
    if existing is not None:
        await repository.add_custody(session, [custody_row(existing.id, "duplicate_upload", uploader, client, now,
                                                            {"size": upload.size})])
        return 200, msgspec.to_builtins(evidence_read(existing))
    if form.id is not None and await repository.get(session, form.id) is not None:
        raise Conflict("This id is already used by another photo", "该 ID 已用于另一张照片",
                       code="ID_CONFLICT", detail={"id": str(form.id)})

    exif = info.exif
    exif_pos = (exif.lon, exif.lat) if exif.lon is not None and exif.lat is not None else None
    if exif_pos is not None:
        location, source = exif_pos, "exif"
    elif form.device is not None:
        location, source = form.device, "device"
    else:
        location, source = None, None

    pairs: list[tuple[tuple[float, float], tuple[float, float]]] = []
    if location is not None and owner.site is not None:
        pairs.append((location, owner.site))
    if exif_pos is not None and form.device is not None:
        pairs.append((exif_pos, form.device))
    found = await repository.distances_m(session, pairs)
    distance_site = found.pop(0) if location is not None and owner.site is not None else None
    exif_device = found.pop(0) if exif_pos is not None and form.device is not None else None

    flags: set[str] = set()
    if exif_pos is None:
        flags.add("NO_GPS")
    tolerance = None
    if owner.radius_m is not None:
        tolerance = owner.radius_m + min(form.accuracy_m or 0.0, MAX_ACCURACY_ALLOWANCE_M)
        if distance_site is not None and distance_site > tolerance:
            flags.add("OUTSIDE_SITE")
    if exif_device is not None and exif_device > POSITION_MISMATCH_M:
        flags.add("EXIF_DEVICE_MISMATCH")
    taken = exif_time_utc(exif)
    offset_s = (form.captured_at - taken).total_seconds() if taken is not None else None
    if offset_s is not None and abs(offset_s) > TIME_TOLERANCE.total_seconds():
        flags.add("TIME_MISMATCH")
    if owner.window is not None and not owner.window[0] <= form.captured_at <= owner.window[1]:
        flags.add("TIME_MISMATCH")
    if imaging.is_edited(exif.software):
        flags.add("EDITED")
    ordered = [f for f in FLAG_ORDER if f in flags]

    evidence_id = form.id or uuid.uuid4()
    claims = {
        "iss": settings.origin, "iat": int(now.timestamp()),
        "evidence_id": str(evidence_id), "sha256": upload.sha256, "size": upload.size, "media_type": media_type,
        "inspection_id": str(owner.inspection_id) if owner.inspection_id else None,
        "owner_kind": owner.kind, "owner_id": str(owner.id),
        "uploader": str(uploader.person_id), "received_at": iso_utc(now),
    }
    evidence = Evidence(
        id=evidence_id, owner_kind=owner.kind, owner_id=owner.id, inspection_id=owner.inspection_id,
        sha256=upload.sha256, size=upload.size, media_type=media_type,
        width=info.width, height=info.height, oriented_width=info.oriented_width,
        oriented_height=info.oriented_height, orientation=info.orientation,
        exif_lon=exif.lon, exif_lat=exif.lat, exif_taken_at=taken,
        exif_taken_at_has_offset=exif.taken_at_has_offset if exif.taken_at is not None else None,
        exif_taken_at_raw=exif.taken_at.isoformat()[:40] if exif.taken_at is not None else None,
        exif_make=exif.make, exif_model=exif.model, exif_software=exif.software,
        device_lon=form.device[0] if form.device else None, device_lat=form.device[1] if form.device else None,
        device_crs=form.crs if form.device else None, accuracy_m=form.accuracy_m,
        location=point(*location) if location else None,
        location_lon=location[0] if location else None, location_lat=location[1] if location else None,
        location_source=source, distance_to_site_m=distance_site, exif_device_distance_m=exif_device,
        flags=ordered,
        checks={"site_tolerance_m": tolerance, "exif_time_offset_s": offset_s,
                "window_start": iso_utc(owner.window[0]) if owner.window else None,
                "window_end": iso_utc(owner.window[1]) if owner.window else None},
        captured_at=form.captured_at, note=form.note, uploaded_by=uploader.person_id, received_at=now,
        receipt=make_receipt(keys.seal, claims), thumbnail_size=thumbnail_size,
    )
    if not await repository.insert_evidence(session, evidence):
        # The same photo arrived concurrently and its transaction won.
        winner = await repository.by_owner_sha(session, owner.kind, owner.id, upload.sha256)
        if winner is None:
            raise Conflict("This id is already used by another photo", "该 ID 已用于另一张照片",
                           code="ID_CONFLICT", detail={"id": str(evidence_id)})
        return 200, msgspec.to_builtins(evidence_read(winner))
    await record(session, actor=uploader.actor, action="evidence.upload", subject=f"evidence:{evidence_id}",
                 data={"sha256": upload.sha256, "size": upload.size, "media_type": media_type,
                       "owner_kind": owner.kind, "owner_id": str(owner.id), "flags": ordered},
                 at=now)
    await repository.add_custody(session, [custody_row(
        evidence_id, "upload", uploader, client, now,
        {"sha256": upload.sha256, "size": upload.size, "filename": upload.filename,
         **({"idempotency_key": idempotency_key[:200]} if idempotency_key else {})},
    )])
    return 201, msgspec.to_builtins(evidence_read(evidence))


