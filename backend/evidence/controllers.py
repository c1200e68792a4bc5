"""HTTP endpoints of evidence photos: the streaming upload, reads of the photo (each recorded in the
custody log), lists (with a radius filter) and the GeoJSON export, and the receipt-verification
keys. `handle_upload` is the whole upload flow for any owner (incidents reuse it)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import InternalServerException
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.response import File, Stream
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import inclusion_for_subject
from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.errors import BadRequest
from backend.core.pagination import clamp_limit, parse_cursor, parse_time_cursor
from backend.core.signing import Keys
from backend.evidence import service
from backend.evidence.schemas import CustodyPage, EvidencePage, EvidenceRead, EvidenceReceipt, Jwks
from backend.evidence.service import Authorize, ClientInfo
from backend.evidence.storage import EvidenceStore
from backend.evidence.upload import check_declared_length, receive_upload
from backend.settings import Settings
from backend.sync.ledger import op_id_from_idempotency_key

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic"}

UPLOAD_DESCRIPTION = """multipart/form-data with the parts:
`file` (the photo: JPEG, PNG or HEIC, at most 25 MB by default; its type is read from its bytes),
`sha256` (hex SHA-256 of the file computed on the phone), `captured_at` (RFC 3339 with offset),
`lon`, `lat` (device position when the photo was taken; required), `crs` (`wgs84` default or
`gcj02`), `accuracy_m`, `note`, `id` (optional client UUID).
201 the first time; 200 with the same record for the same photo (same sha256) again, or a replayed
`id` / `Idempotency-Key`. 422 HASH_MISMATCH, 415 UNSUPPORTED_MEDIA_TYPE, 413 TOO_LARGE,
422 IMAGE_CORRUPT, 422 VALIDATION_ERROR; Art. 12/13 refusals as for every enforcement act.
Send `Expect: 100-continue`: refusals that need no body (rights, Article 13, size) come before it is read."""


@dataclass
class UploadOperation(Operation):
    """OpenAPI of the upload: the body is parsed by hand (streamed), so describe it here."""

    def __post_init__(self) -> None:
        text = Schema(type=OpenAPIType.STRING)
        number = Schema(type=OpenAPIType.NUMBER)
        self.request_body = RequestBody(required=True, content={"multipart/form-data": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["file", "sha256", "captured_at", "lon", "lat"],
                properties={
                    "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY,
                                   description="JPEG, PNG or HEIC; type read from the bytes"),
                    "sha256": Schema(type=OpenAPIType.STRING, pattern="^[0-9a-fA-F]{64}$",
                                     description="hex SHA-256 of the file, computed on the phone"),
                    "captured_at": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.DATE_TIME),
                    "lon": number, "lat": number,
                    "crs": Schema(type=OpenAPIType.STRING, enum=["wgs84", "gcj02"], default="wgs84"),
                    "accuracy_m": number, "note": text,
                    "id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
                },
            ))})


def client_info(request: Request[Any, Any, Any]) -> ClientInfo:
    return ClientInfo(address=client_address(request), user_agent=request.headers.get("user-agent"))


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException as exc:  # Litestar's "client disconnected prematurely"
        raise BadRequest("The upload was interrupted", "上传中断", code="UPLOAD_INTERRUPTED") from exc


async def handle_upload(request: Request[Any, Any, Any], session: AsyncSession, principal: Principal,
                        settings: Settings, keys: Keys, clock: Clock, *, authorize: Authorize) -> Response[Any]:
    """The upload flow for any owner of evidence: `authorize(session)` applies the owner's rules and
    describes it (service.Owner). Declare the route with `request_max_body_size=None` and no
    `data` parameter: the body is streamed here, under `settings.max_upload_bytes`."""
    owner = await authorize(session)  # refuse before reading 25 MB from someone who may not send it
    check_declared_length(request.headers.get("content-length"), settings.max_upload_bytes)
    # No transaction may stay open while a phone sends its photo: on SQLite ours begin with
    # BEGIN IMMEDIATE (the database's write lock), on PostgreSQL an idle transaction pins a pooled
    # connection. Nothing was written; the row is written in a second, short transaction.
    await session.commit()
    await service.sweep_temp_once(settings.data_dir)
    upload = await receive_upload(
        _body(request), content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        store=EvidenceStore(settings.data_dir, min_free_bytes=settings.min_free_bytes),
        max_file_bytes=settings.max_upload_bytes,
    )
    # From before the photo is put in place until its row is committed, a marker names it: if
    # this process dies in between, the next start removes the orphan at once (storage.py). The
    # database store needs none: it writes the photo in the row's own transaction.
    store = EvidenceStore(settings.data_dir, min_free_bytes=settings.min_free_bytes)
    marker = None
    if settings.blob_store == "files":
        try:
            marker = await anyio.to_thread.run_sync(store.mark_placing, upload.sha256)
        except BaseException:
            store.discard(upload.spool_path)
            raise
    try:
        outcome = await service.intake_photo(
            session, settings, keys, owner=owner, uploader=principal, upload=upload,
            client=client_info(request), now=clock.now(), idempotency_key=request.headers.get("idempotency-key"),
            scope=request.url.path,
        )
        await session.commit()
    finally:
        store.discard(marker)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    if isinstance(outcome.body, dict) and outcome.body.get("id"):
        headers["Location"] = f"/api/v1/evidence/{outcome.body['id']}"
    return Response(content=outcome.body, status_code=outcome.status_code, headers=headers)


class InspectionEvidenceController(Controller):
    path = "/api/v1/inspections"
    tags = ["evidence"]

    @post("/{inspection_id:uuid}/evidence", request_max_body_size=None, status_code=201,
          summary="Upload an evidence photo", description=UPLOAD_DESCRIPTION, operation_class=UploadOperation)
    async def upload(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, session: AsyncSession,
                     principal: Principal, settings: Settings, signing_keys: Keys,
                     clock: Clock) -> Response[EvidenceRead]:
        return await handle_upload(
            request, session, principal, settings, signing_keys, clock,
            authorize=lambda s: service.inspection_owner(
                s, principal, inspection_id, clock.now(),
                declared_op=op_id_from_idempotency_key(request.headers.get("idempotency-key"))),
        )

    @get("/{inspection_id:uuid}/evidence", description="The inspection's photos, oldest first; with near_lon, "
         "near_lat and within_m (metres) only those within that distance (geodesic, spatial index).")
    async def list_evidence(self, inspection_id: uuid.UUID, session: AsyncSession, principal: Principal,
                            near_lon: float | None = None, near_lat: float | None = None,
                            within_m: float | None = None, near_crs: Literal["wgs84", "gcj02"] = "wgs84",
                            limit: int | None = None, cursor: str | None = None) -> EvidencePage:
        near = service.parse_near(near_lon, near_lat, within_m, near_crs)
        return await evidence_page(session, principal, "inspection", inspection_id, near=near, cursor=cursor,
                                   limit=limit)

    @get("/{inspection_id:uuid}/evidence.geojson", media_type="application/geo+json",
         description="RFC 7946 FeatureCollection of the inspection's photos (recorded as an export in "
                     "each photo's custody log).")
    async def geojson(self, request: Request[Any, Any, Any], inspection_id: uuid.UUID, session: AsyncSession,
                      principal: Principal, clock: Clock, near_lon: float | None = None,
                      near_lat: float | None = None, within_m: float | None = None,
                      near_crs: Literal["wgs84", "gcj02"] = "wgs84") -> Response[Any]:
        near = service.parse_near(near_lon, near_lat, within_m, near_crs)
        body = await service.export_geojson(session, principal, "inspection", inspection_id, near=near,
                                            client=client_info(request), now=clock.now())
        return Response(content=body, media_type="application/geo+json")


class EvidenceController(Controller):
    path = "/api/v1/evidence"
    tags = ["evidence"]

    @get("/keys", description="Public keys (JWK set) that sign evidence receipts: the seal ring, old keys "
         "included. A receipt is a compact JWS (EdDSA) whose header names its key by `kid`.")
    async def keys(self, signing_keys: Keys) -> Jwks:
        return Jwks(keys=signing_keys.seal.jwks()["keys"])

    @get("/{evidence_id:uuid}")
    async def get_evidence(self, evidence_id: uuid.UUID, session: AsyncSession,
                           principal: Principal) -> EvidenceRead:
        return await service.get_evidence(session, principal, evidence_id)

    @get("/{evidence_id:uuid}/receipt", description="The upload receipt (JWS signed with the seal key) with the "
         "audit entry of the upload, its RFC 6962 inclusion proof and the signed checkpoint it is proven "
         "against: what anyone needs to show the photo was recorded and the record not altered since.")
    async def receipt(self, evidence_id: uuid.UUID, session: AsyncSession, principal: Principal,
                      signing_keys: Keys, settings: Settings, clock: Clock) -> EvidenceReceipt:
        evidence = await service.get_evidence(session, principal, evidence_id)
        inclusion = await inclusion_for_subject(session, f"evidence:{evidence_id}", seal=signing_keys.seal,
                                                key_name=settings.origin, now=clock.now())
        return EvidenceReceipt(evidence_id=evidence.id, sha256=evidence.sha256, receipt=evidence.receipt,
                               audit=inclusion)

    @get("/{evidence_id:uuid}/original", description="The exact bytes uploaded (recorded in the custody log).")
    async def original(self, request: Request[Any, Any, Any], evidence_id: uuid.UUID, session: AsyncSession,
                       principal: Principal, settings: Settings, clock: Clock) -> File | Stream:
        evidence, body = await service.open_original(session, settings, principal, evidence_id,
                                                     client_info(request), clock.now())
        filename = f"{evidence.sha256}.{_EXTENSIONS.get(evidence.media_type, 'bin')}"
        headers = {"Cache-Control": "no-store", "ETag": f'"{evidence.sha256}"',
                   "Repr-Digest": f"sha-256=:{_b64(bytes.fromhex(evidence.sha256))}:"}
        if isinstance(body, Path):
            return File(path=body, media_type=evidence.media_type, content_disposition_type="inline",
                        filename=filename, etag=None, headers=headers)
        # The database store: its chunks as they are read (the same headers, and the length known).
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
        headers["Content-Length"] = str(evidence.size)
        return Stream(body, media_type=evidence.media_type, headers=headers)

    @get("/{evidence_id:uuid}/thumbnail", description="JPEG, at most 512 px (recorded in the custody log).")
    async def thumbnail(self, request: Request[Any, Any, Any], evidence_id: uuid.UUID, session: AsyncSession,
                        principal: Principal, settings: Settings, clock: Clock) -> Response[bytes]:
        _, data = await service.read_thumbnail(session, settings, principal, evidence_id, client_info(request),
                                               clock.now())
        return Response(content=data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    @get("/{evidence_id:uuid}/custody", description="Every upload, read and export of the photo, oldest first.")
    async def custody(self, evidence_id: uuid.UUID, session: AsyncSession, principal: Principal,
                      limit: int | None = None, cursor: str | None = None) -> CustodyPage:
        return await service.custody_page(session, principal, evidence_id,
                                          after_seq=parse_cursor(cursor, service.custody_cursor),
                                          limit=clamp_limit(limit))


async def evidence_page(session: AsyncSession, principal: Principal, owner_kind: str, owner_id: uuid.UUID, *,
                        near: tuple[float, float, float] | None, cursor: str | None,
                        limit: int | None) -> EvidencePage:
    """One page of an owner's photos (GET .../evidence of any owner)."""
    return await service.list_evidence(session, principal, owner_kind, owner_id, near=near,
                                       after=parse_time_cursor(cursor), limit=clamp_limit(limit))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


ROUTES: list[Any] = [InspectionEvidenceController, EvidenceController]
