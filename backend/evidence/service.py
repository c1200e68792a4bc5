"""Use cases of evidence photos: receiving an upload (streamed to disk while hashed), checking it
(hash, media type, pixels, decode, EXIF, position and time), storing it content-addressed,
sealing a receipt, and every read of it through the custody log.

The intake is shared by every owner of evidence. Inspections use it through
`POST /api/v1/inspections/{id}/evidence`; incidents (or any other domain) call the same two steps
after applying their own rules and describing the owner (an `Owner`):

    owner = await authorize(session)                      # fail fast, before the body is read
    await session.commit()                                # no transaction open while bytes stream
    upload = await receive_upload(chunks, content_type=..., content_length=..., store=...,
                                  max_file_bytes=settings.max_upload_bytes)
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

import logging
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import jwt
import msgspec
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import record
from backend.core.auth import Principal
from backend.core.clock import LOCAL_TZ, iso_utc
from backend.core.errors import (
    BadRequest,
    Conflict,
    DomainError,
    NotFound,
    TooLarge,
    Unprocessable,
    UnsupportedMediaType,
)
from backend.core.geo import to_wgs84
from backend.core.idempotency import Outcome, keys_for, request_fingerprint, run_idempotent
from backend.core.signing import KeyRing, Keys
from backend.core.times import TimeInvalid, cursor_instant, lenient_utc, utc_instant
from backend.evidence import blobs, decoding, imaging, repository
from backend.evidence.models import CustodyEvent, Evidence
from backend.evidence.schemas import (
    ChecksRead,
    CustodyEventRead,
    CustodyPage,
    DevicePositionRead,
    EvidencePage,
    EvidenceRead,
    ExifRead,
    LocationRead,
)
from backend.evidence.storage import DEFAULT_SWEEP_MIN_AGE_S, EvidenceStore, SpoolFile, SweepReport
from backend.settings import Settings
from backend.sync import ledger

log = logging.getLogger("fieldcheck.evidence")

#: API.md thresholds.
POSITION_MISMATCH_M = 100.0
TIME_TOLERANCE = timedelta(minutes=10)
#: Accuracy counted towards the site radius is capped, as for check-ins.
MAX_ACCURACY_ALLOWANCE_M = 100.0
#: Body bytes gathered on the event loop before one off-loop step parses, writes and hashes them.
FEED_BYTES = 1 << 20
#: The form fields around the file are small; the body may exceed the file by this much.
BODY_SLACK = 256 * 1024
MAX_FIELD_BYTES = 16 * 1024
MAX_PARTS = 32
MAX_NOTE_CHARS = 4000
MAX_WITHIN_M = 100_000.0
MAX_EXPORT = 10_000
FIELDS = ("file", "sha256", "captured_at", "lon", "lat", "crs", "accuracy_m", "note", "id")
FLAG_ORDER = ("NO_GPS", "OUTSIDE_SITE", "EXIF_DEVICE_MISMATCH", "TIME_MISMATCH", "EDITED")


# ------------------------------------------------------------------------------------------------
# Owners: who evidence belongs to, and who may see it
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Owner:
    """What intake needs to know about the thing a photo is evidence for, once the owner's own
    rules have let the caller add evidence to it."""

    kind: str
    id: uuid.UUID
    inspection_id: uuid.UUID | None = None
    #: (lon, lat) WGS84 of the site, and its radius: OUTSIDE_SITE is judged against them.
    site: tuple[float, float] | None = None
    radius_m: float | None = None
    #: captured_at outside this interval is TIME_MISMATCH.
    window: tuple[datetime, datetime] | None = None
    #: Whether the upload must carry the device position (lon, lat).
    require_position: bool = True


Authorize = Callable[[AsyncSession], Awaitable[Owner]]
#: async (session, principal, owner_id) -> None; raises NotFound (or a guard error) when the
#: principal may not see that owner's evidence.
VisibilityCheck = Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[None]]

_VISIBILITY: dict[str, VisibilityCheck] = {}


def register_owner_kind(kind: str, check: VisibilityCheck) -> None:
    """Let evidence of `kind` be read (GET /api/v1/evidence/{id}, ...) by whoever `check` admits.
    The incidents domain registers "incident" at import time."""
    _VISIBILITY[kind] = check


async def require_owner_visible(session: AsyncSession, principal: Principal, kind: str,
                                owner_id: uuid.UUID) -> None:
    check = _VISIBILITY.get(kind)
    if check is None:
        raise NotFound("No such evidence", "未找到该证据")
    await check(session, principal, owner_id)


async def _inspection_visible(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID) -> None:
    from backend.inspections import service as inspections

    await inspections.load_inspection(session, principal, inspection_id, write=False)


register_owner_kind("inspection", _inspection_visible)


async def inspection_owner(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                           now: datetime, *, declared_op: uuid.UUID | None = None) -> Owner:
    """Adding a photo to an inspection is an enforcement act: the inspections domain's Art. 12/13
    gate decides (403 visibility, 409 ART13_ACTING_ALONE, ART12_CREDENTIAL_NOT_SHOWN, ...).
    The file of a photo declared by an offline op (`declared_op`, from `Idempotency-Key: op:<id>`)
    was judged when its op was applied; only visibility is checked again."""
    from backend.inspections import service as inspections

    ctx = await inspections.load_act_context(session, principal, inspection_id, now)
    declared = declared_op is not None and await ledger.awaiting_upload_for(session, declared_op, principal.actor,
                                                                             inspection_id)
    # A phone that was offline on site uploads its photos later: officers may still add evidence
    # to a finished inspection (the guard's paperwork allowance); its capture time is then checked
    # against the inspection's start..finish (TIME_MISMATCH). Inspectors stay under Art. 13(2).
    if not declared:
        inspections.require_may_act(ctx, principal, after_finish_ok=True)
    insp = ctx.inspection
    if insp.started_at is not None:
        start = insp.started_at - TIME_TOLERANCE
        end = (insp.finished_at or now) + TIME_TOLERANCE
    else:
        day = insp.planned_at.astimezone(LOCAL_TZ).date()
        start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)
        end = start + timedelta(days=1)
    return Owner(kind="inspection", id=insp.id, inspection_id=insp.id, site=(insp.site_lon, insp.site_lat),
                 radius_m=insp.site_radius_m, window=(start, end), require_position=True)


async def count_for_inspection(session: AsyncSession, inspection_id: uuid.UUID) -> int:
    """Evidence photos of an inspection (for its `evidence_count`)."""
    return await repository.count_for_owner(session, "inspection", inspection_id)


# ------------------------------------------------------------------------------------------------
# Receiving the multipart body
# ------------------------------------------------------------------------------------------------

@dataclass
class ReceivedUpload:
    """A multipart body as received: the file spooled to disk (fsync'ed), its hash, the fields."""

    spool_path: Path
    sha256: str
    size: int
    head: bytes
    filename: str | None
    fields: dict[str, str]
    errors: list[dict[str, str]] = field(default_factory=list)


def _malformed(reason: str) -> BadRequest:
    return BadRequest(f"Malformed multipart/form-data body: {reason}", f"multipart/form-data 请求体格式错误：{reason}",
                      code="MALFORMED_MULTIPART", detail={"reason": reason})


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"The photo exceeds the upload limit of {limit} bytes", f"照片超过上传大小上限（{limit} 字节）",
                    detail={"max_bytes": limit})


def check_declared_length(content_length: str | None, max_file_bytes: int) -> None:
    """Refuse a body announced too large before reading a byte of it."""
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise BadRequest("Invalid Content-Length", "Content-Length 无效") from None
    if declared > max_file_bytes + BODY_SLACK:
        raise _too_large(max_file_bytes)


class _FormSink:
    """python-multipart callbacks: file data goes to a SpoolFile (disk + SHA-256), fields to memory.
    Runs in a worker thread, one `feed` per ~1 MiB of body."""

    def __init__(self, store: EvidenceStore, max_file_bytes: int) -> None:
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.spool: SpoolFile | None = None
        self.fields: dict[str, str] = {}
        self.errors: list[dict[str, str]] = []
        self.filename: str | None = None
        self.parts = 0
        self.ended = False
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._buf = bytearray()
        self._skip = False

    def callbacks(self) -> Any:  # python-multipart's MultipartCallbacks (a TypedDict)
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda d, s, e: self._hname.extend(d[s:e]),
            "on_header_value": lambda d, s, e: self._hvalue.extend(d[s:e]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _error(self, name: str, code: str, message: str) -> None:
        self.errors.append({"field": name, "code": code, "message": message})

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _malformed(f"more than {MAX_PARTS} parts")
        self._headers = {}
        self._name = None
        self._is_file = False
        self._skip = False
        self._buf = bytearray()

    def _header_end(self) -> None:
        self._headers[bytes(self._hname).strip().lower()] = bytes(self._hvalue).strip()
        self._hname = bytearray()
        self._hvalue = bytearray()

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition")
        if disposition is None:
            raise _malformed("a part has no Content-Disposition")
        _, params = parse_options_header(disposition)
        raw_name = params.get(b"name")
        if raw_name is None:
            raise _malformed("a part has no name")
        name = raw_name.decode("utf-8", "replace")
        self._name = name
        if name not in FIELDS:
            self._error(name, "unknown_field", "unknown field")
            self._skip = True
        elif name == "file":
            if self.spool is not None:
                self._error("file", "duplicate", "only one file per upload")
                self._skip = True
                return
            self._is_file = True
            filename = params.get(b"filename")
            self.filename = filename.decode("utf-8", "replace")[:200] if filename else None
            self.spool = self.store.open_upload()
        elif name in self.fields:
            self._error(name, "duplicate", "given more than once")
            self._skip = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._skip:
            return
        if self._is_file:
            assert self.spool is not None
            if self.spool.size + (end - start) > self.max_file_bytes:
                raise _too_large(self.max_file_bytes)
            self.spool.write([data[start:end]])
            return
        self._buf.extend(data[start:end])
        if len(self._buf) > MAX_FIELD_BYTES:
            raise _too_large_field(self._name or "?")

    def _part_end(self) -> None:
        if self._skip or self._is_file or self._name is None:
            return
        try:
            self.fields[self._name] = bytes(self._buf).decode("utf-8")
        except UnicodeDecodeError:
            self._error(self._name, "encoding", "must be UTF-8 text")

    def _end(self) -> None:
        self.ended = True

    def feed(self, parser: MultipartParser, chunks: list[bytes]) -> None:
        try:
            for chunk in chunks:
                parser.write(chunk)
        except FormParserError as exc:
            raise _malformed(str(exc)[:200]) from exc

    def finish(self, parser: MultipartParser, chunks: list[bytes]) -> ReceivedUpload:
        self.feed(parser, chunks)
        try:
            parser.finalize()
        except FormParserError as exc:
            raise _malformed(str(exc)[:200]) from exc
        if not self.ended:
            raise _malformed("the body ends before the closing boundary")
        if self.spool is None:
            raise _validation([*self.errors, {"field": "file", "code": "required", "message": "a photo is required"}])
        sha = self.spool.finish()
        return ReceivedUpload(spool_path=self.spool.path, sha256=sha, size=self.spool.size, head=self.spool.head,
                              filename=self.filename, fields=self.fields, errors=self.errors)

    def abort(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.store.discard(self.spool.path)


def _too_large_field(name: str) -> Unprocessable:
    return _validation([{"field": name, "code": "too_long", "message": f"at most {MAX_FIELD_BYTES} bytes"}])


def _check_body_size(total: int, max_body: int, max_file_bytes: int) -> None:
    if total > max_body:
        raise _too_large(max_file_bytes)


async def receive_upload(chunks: AsyncIterator[bytes], *, content_type: str | None, content_length: str | None,
                         store: EvidenceStore, max_file_bytes: int) -> ReceivedUpload:
    """Stream a multipart/form-data body to a temp file in the data directory, hashing as it
    goes; never more than ~1 MiB of it in memory. Refuses (and cleans up) what is too large
    (413), not multipart (415) or malformed (400 MALFORMED_MULTIPART)."""
    ctype, params = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise UnsupportedMediaType("Send the photo as multipart/form-data", "请以 multipart/form-data 格式上传照片",
                                   detail={"expected": "multipart/form-data"})
    boundary = params.get(b"boundary")
    if not boundary:
        raise _malformed("no boundary in Content-Type")
    check_declared_length(content_length, max_file_bytes)
    # Refuse (507) before reading a byte when the photo would not fit above the reserve.
    declared = int(content_length) if content_length and content_length.isdigit() else 0
    await anyio.to_thread.run_sync(store.check_room, declared)
    max_body = max_file_bytes + BODY_SLACK
    sink = _FormSink(store, max_file_bytes)
    try:
        try:
            parser = MultipartParser(boundary, callbacks=sink.callbacks())
        except (FormParserError, ValueError) as exc:
            raise _malformed("bad boundary") from exc
        pending: list[bytes] = []
        pending_bytes = 0
        total = 0
        async for chunk in chunks:
            if not chunk:
                continue
            total += len(chunk)
            _check_body_size(total, max_body, max_file_bytes)
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= FEED_BYTES:
                await anyio.to_thread.run_sync(sink.feed, parser, pending)
                pending, pending_bytes = [], 0
        return await anyio.to_thread.run_sync(sink.finish, parser, pending)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(sink.abort)
        raise


# ------------------------------------------------------------------------------------------------
# Validating the fields
# ------------------------------------------------------------------------------------------------

def _validation(errors: list[dict[str, str]]) -> Unprocessable:
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return Unprocessable(f"{first['field']}: {first['message']}", f"{first['field']}：字段无效",
                         detail={"errors": errors})


@dataclass(frozen=True)
class IntakeForm:
    sha256: str
    captured_at: datetime
    device: tuple[float, float] | None  # WGS84
    crs: str
    accuracy_m: float | None
    note: str | None
    id: uuid.UUID | None

    def fingerprint_body(self, computed_sha256: str) -> dict[str, Any]:
        return {
            "sha256": computed_sha256, "captured_at": iso_utc(self.captured_at),
            "lon": self.device[0] if self.device else None, "lat": self.device[1] if self.device else None,
            "crs": self.crs, "accuracy_m": self.accuracy_m, "note": self.note,
            "id": str(self.id) if self.id else None,
        }


def _float(fields: dict[str, str], name: str, errors: list[dict[str, str]]) -> float | None:
    raw = fields.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        errors.append({"field": name, "code": "type", "message": "must be a number"})
        return None
    if not math.isfinite(value):
        errors.append({"field": name, "code": "type", "message": "must be a finite number"})
        return None
    return value


def parse_form(upload: ReceivedUpload, *, require_position: bool) -> IntakeForm:
    """The upload's text fields, checked all at once: one 422 VALIDATION_ERROR lists every problem."""
    fields = upload.fields
    errors = list(upload.errors)
    sha = fields.get("sha256", "").strip().lower()
    if not sha:
        errors.append({"field": "sha256", "code": "required", "message": "the SHA-256 computed on the phone"})
    elif len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        errors.append({"field": "sha256", "code": "invalid", "message": "must be 64 hex characters"})
    captured: datetime | None = None
    raw_time = fields.get("captured_at", "").strip()
    if not raw_time:
        errors.append({"field": "captured_at", "code": "required", "message": "RFC 3339 time the photo was taken"})
    else:
        try:
            captured = utc_instant(datetime.fromisoformat(raw_time))
        except TimeInvalid as exc:
            errors.append({"field": "captured_at", "code": exc.code, "message": str(exc)})
            captured = None
        except ValueError:
            errors.append({"field": "captured_at", "code": "invalid", "message": "must be an RFC 3339 time"})
    lon = _float(fields, "lon", errors)
    lat = _float(fields, "lat", errors)
    crs = (fields.get("crs") or "wgs84").strip().lower()
    device: tuple[float, float] | None = None
    if lon is None and lat is None:
        if require_position:
            for name in ("lon", "lat"):
                if not any(e["field"] == name for e in errors):
                    errors.append({"field": name, "code": "required", "message": "the device position is required"})
    elif lon is None or lat is None:
        missing = "lat" if lat is None else "lon"
        if not any(e["field"] == missing for e in errors):
            errors.append({"field": missing, "code": "required", "message": "lon and lat go together"})
    try:
        if lon is not None and lat is not None:
            device = to_wgs84(lon, lat, crs)
        else:
            to_wgs84(0.0, 0.0, crs)  # the CRS is checked even without a position
    except Unprocessable as exc:
        errors.extend(exc.detail.get("errors", []))
    accuracy = _float(fields, "accuracy_m", errors)
    if accuracy is not None and not 0 <= accuracy <= 100_000:
        errors.append({"field": "accuracy_m", "code": "range", "message": "must be between 0 and 100000"})
    note = fields.get("note")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        errors.append({"field": "note", "code": "too_long", "message": f"at most {MAX_NOTE_CHARS} characters"})
    elif note is not None and "\x00" in note:  # PostgreSQL text cannot hold U+0000
        errors.append({"field": "note", "code": "invalid", "message": "must not contain U+0000"})
    client_id: uuid.UUID | None = None
    raw_id = (fields.get("id") or "").strip()
    if raw_id:
        try:
            client_id = uuid.UUID(raw_id)
        except ValueError:
            errors.append({"field": "id", "code": "invalid", "message": "must be a UUID"})
    if errors or captured is None:
        raise _validation(errors)
    return IntakeForm(sha256=sha, captured_at=captured, device=device, crs=crs,
                      accuracy_m=accuracy, note=note or None, id=client_id)


# ------------------------------------------------------------------------------------------------
# Intake
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClientInfo:
    address: str | None
    user_agent: str | None


def _examine(path: Path, media_type: str, max_pixels: int) -> tuple[imaging.ImageInfo, bytes]:
    # One decode serves the checks (size, truncation, EXIF) and the thumbnail.
    return imaging.inspect_and_thumbnail(path, media_type, max_pixels=max_pixels)


def exif_time_utc(exif: imaging.ExifInfo) -> datetime | None:
    if exif.taken_at is None:
        return None
    # A camera can write any year: one Python cannot convert is no EXIF time, not a 500.
    return lenient_utc(exif.taken_at, assume=LOCAL_TZ)


def make_receipt(ring: KeyRing, claims: dict[str, Any]) -> str:
    key = ring.current
    return jwt.encode(claims, key.private, algorithm="EdDSA",
                      headers={"kid": key.kid, "typ": "JWT", "cty": "fieldcheck-evidence-receipt"})


def verify_receipt(ring: KeyRing, token: str) -> dict[str, Any]:
    """The claims of a receipt this deployment signed (any key of the seal ring, old ones too)."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "EdDSA":
        raise jwt.InvalidAlgorithmError("receipts are EdDSA")
    key = ring.get(str(header.get("kid")))
    if key is None:
        raise jwt.InvalidKeyError("unknown kid")
    claims: dict[str, Any] = jwt.decode(token, key.public, algorithms=["EdDSA"],
                                        options={"verify_aud": False})
    return claims


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


def _custody_row(evidence_id: uuid.UUID, action: str, principal: Principal, client: ClientInfo, now: datetime,
                 detail: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "evidence_id": evidence_id, "action": action, "actor": principal.person_id, "actor_role": principal.role,
        "at": now, "client_address": (client.address or None) and client.address[:64],
        "user_agent": (client.user_agent or None) and client.user_agent[:300], "detail": detail or {},
    }


async def _record(session: AsyncSession, keys: Keys, settings: Settings, *, owner: Owner, uploader: Principal,
                  form: IntakeForm, upload: ReceivedUpload, media_type: str, info: imaging.ImageInfo,
                  thumbnail_size: int, client: ClientInfo, now: datetime,
                  idempotency_key: str | None) -> tuple[int, Any]:
    existing = await repository.by_owner_sha(session, owner.kind, owner.id, upload.sha256)
    if existing is not None:
        await repository.add_custody(session, [_custody_row(existing.id, "duplicate_upload", uploader, client, now,
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
        location=repository.point(*location) if location else None,
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
    await repository.add_custody(session, [_custody_row(
        evidence_id, "upload", uploader, client, now,
        {"sha256": upload.sha256, "size": upload.size, "filename": upload.filename,
         **({"idempotency_key": idempotency_key[:200]} if idempotency_key else {})},
    )])
    return 201, msgspec.to_builtins(evidence_read(evidence))


# ------------------------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------------------------

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


async def load_visible(session: AsyncSession, principal: Principal, evidence_id: uuid.UUID) -> Evidence:
    evidence = await repository.get(session, evidence_id)
    if evidence is None:
        raise NotFound("No such evidence", "未找到该证据")
    try:
        await require_owner_visible(session, principal, evidence.owner_kind, evidence.owner_id)
    except NotFound:
        # The photo is what was asked for: its 404 names the photo, not the inspection or case.
        raise NotFound("No such evidence", "未找到该证据") from None
    return evidence


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
    await repository.add_custody(session, [_custody_row(evidence.id, "read_original", principal, client, now)])
    return evidence, body


async def read_thumbnail(session: AsyncSession, settings: Settings, principal: Principal, evidence_id: uuid.UUID,
                         client: ClientInfo, now: datetime) -> tuple[Evidence, bytes]:
    evidence = await load_visible(session, principal, evidence_id)
    try:
        stream = await blobs.blob_store(settings).open_stream(session, evidence.sha256, blobs.THUMBNAIL)
        data = await blobs.read_all(stream)
    except blobs.BlobMissing:
        raise _missing(evidence, "thumbnail") from None
    await repository.add_custody(session, [_custody_row(evidence.id, "read_thumbnail", principal, client, now)])
    return evidence, data


def custody_read(c: CustodyEvent) -> CustodyEventRead:
    return CustodyEventRead(seq=c.seq, action=c.action, at=c.at, actor=c.actor, actor_role=c.actor_role,
                            client_address=c.client_address, user_agent=c.user_agent, detail=dict(c.detail or {}))


async def custody_page(session: AsyncSession, principal: Principal, evidence_id: uuid.UUID, *,
                       after_seq: int | None, limit: int) -> tuple[Evidence, list[CustodyEvent], bool]:
    evidence = await load_visible(session, principal, evidence_id)
    rows = list(await repository.custody(session, evidence.id, after_seq, limit + 1))
    return evidence, rows[:limit], len(rows) > limit


def custody_response(evidence: Evidence, rows: list[CustodyEvent], more: bool) -> CustodyPage:
    from backend.core.http import encode_cursor

    return CustodyPage(evidence_id=evidence.id, sha256=evidence.sha256, items=[custody_read(c) for c in rows],
                       next_cursor=encode_cursor({"seq": rows[-1].seq}) if more and rows else None)


def parse_near(near_lon: float | None, near_lat: float | None, within_m: float | None,
               crs: str = "wgs84") -> tuple[float, float, float] | None:
    given = [v is not None for v in (near_lon, near_lat, within_m)]
    if not any(given):
        return None
    errors = [{"field": n, "code": "required", "message": "near_lon, near_lat and within_m go together"}
              for n, g in zip(("near_lon", "near_lat", "within_m"), given, strict=True) if not g]
    if errors:
        raise _validation(errors)
    assert near_lon is not None
    assert near_lat is not None
    assert within_m is not None
    if not (math.isfinite(within_m) and 0 < within_m <= MAX_WITHIN_M):
        raise _validation([{"field": "within_m", "code": "range",
                            "message": f"must be more than 0 and at most {MAX_WITHIN_M:.0f}"}])
    try:
        lon, lat = to_wgs84(near_lon, near_lat, crs)
    except Unprocessable as exc:
        errors = [{**e, "field": {"lon": "near_lon", "lat": "near_lat"}.get(e["field"], e["field"])}
                  for e in exc.detail.get("errors", [])]
        raise _validation(errors) from None
    return lon, lat, within_m


def parse_list_cursor(value: dict[str, Any] | None) -> tuple[datetime, uuid.UUID] | None:
    if value is None:
        return None
    try:
        return cursor_instant(value["at"]), uuid.UUID(str(value["id"]))
    except (KeyError, ValueError, TypeError):
        raise BadRequest("Invalid cursor", "分页游标无效", code="INVALID_CURSOR") from None


async def list_evidence(session: AsyncSession, principal: Principal, owner_kind: str, owner_id: uuid.UUID, *,
                        near: tuple[float, float, float] | None, after: tuple[datetime, uuid.UUID] | None,
                        limit: int) -> EvidencePage:
    from backend.core.http import encode_cursor

    await require_owner_visible(session, principal, owner_kind, owner_id)
    rows = list(await repository.list_for_owner(session, owner_kind, owner_id, near=near, after=after,
                                                limit=limit + 1))
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor({"at": last.received_at.isoformat(), "id": str(last.id)})
    return EvidencePage(items=[evidence_read(e) for e in rows[:limit]], next_cursor=nxt)


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
    await repository.add_custody(session, [_custody_row(e.id, "export", principal, client, now,
                                                        {"format": "geojson", "count": len(rows)}) for e in rows])
    return {"type": "FeatureCollection", "features": features}


# ------------------------------------------------------------------------------------------------
# Housekeeping
# ------------------------------------------------------------------------------------------------

async def sweep(session: AsyncSession, data_dir: str | Path, *,
                min_age_s: float = DEFAULT_SWEEP_MIN_AGE_S, settings: Settings | None = None,
                now: datetime | None = None) -> SweepReport:
    """Remove leftover temp files and stored photos no evidence row refers to (older than
    `min_age_s`), and report rows whose bytes are missing (never expected; not repaired). With
    `settings`, the store they choose (the caller commits); else the data directory's files."""
    store = blobs.blob_store(settings) if settings is not None else blobs.FileBlobStore(EvidenceStore(data_dir))
    return await store.sweep(session, min_age_s=min_age_s, now=now or datetime.now(UTC))


_temp_swept = False


async def sweep_temp_once(data_dir: str | Path) -> None:
    """Once per process (on its first upload): remove temp files a crashed process left behind,
    at once when their writer is certainly dead (a worker uvicorn restarted after a kill), else
    once older than an hour (younger ones may be uploads in flight elsewhere)."""
    global _temp_swept
    if _temp_swept:
        return
    _temp_swept = True
    store = EvidenceStore(data_dir)
    try:
        await anyio.to_thread.run_sync(lambda: store.sweep_temp(min_age_s=DEFAULT_SWEEP_MIN_AGE_S))
    except OSError:
        log.warning("evidence temp sweep failed", exc_info=True)
