"""Use cases of inspection documents and their signatures (API.md §Documents and signatures).

A document's identity for signing is the SHA-256 of the RFC 8785 serialisation of
`{"type", "inspection_id", "version", "content"}` (DOMAIN.md §Canonical form). A signature binds
that hash and gets a server seal: an Ed25519 signature (seal key ring) over the canonical JSON of
`seal_payload(...)`. Editing makes a new version, and signatures of older versions stop counting;
a locked document never changes, and a correction is a new document that supersedes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import anyio
import rfc8785
from cryptography.exceptions import InvalidSignature
from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit.service import inclusion_for_subject, record
from backend.core.auth import Principal
from backend.core.canonical import jcs
from backend.core.clock import iso_utc
from backend.core.errors import Conflict, NotFound, Unprocessable, validation_error
from backend.core.signing import Keys, b64url, b64url_decode
from backend.guards import article13, signing
from backend.guards.article13 import INSPECTOR, OFFICER
from backend.guards.signing import ENTERED_ROLES, AuthorisationView, SignatureView
from backend.inspections import repository
from backend.inspections.ink import check_signature_png, inline_ok
from backend.inspections.models import Document, Signature
from backend.inspections.schemas import (
    CorrectionCreate,
    DocumentCreate,
    DocumentRead,
    DocumentUpdate,
    DocumentVerify,
    SignatureCreate,
    SignatureCreated,
    SignatureRead,
    VerifyProblem,
)
from backend.inspections.service import (
    ActContext,
    hold,
    load_act_context,
    load_inspection,
    position_read,
    require_not_future,
    wgs84,
)


def content_sha256(doc_type: str, inspection_id: uuid.UUID, version: int, content: dict[str, Any]) -> str:
    """SHA-256 (hex) of the document's canonical form. Raises 422 for content JSON cannot carry
    canonically (integers beyond ±2^53, which RFC 8785 / I-JSON cannot represent exactly)."""
    try:
        canonical = jcs({"type": doc_type, "inspection_id": str(inspection_id), "version": version,
                                   "content": content})
    except rfc8785.CanonicalizationError as exc:
        raise validation_error("content", "not_canonicalizable",
                               "numbers must be exactly representable as IEEE 754 doubles (RFC 8785)",
                               "数值须可精确表示为 IEEE 754 双精度数（RFC 8785）") from exc
    return hashlib.sha256(canonical).hexdigest()


def require_canonical(content: dict[str, Any]) -> None:
    """422 unless the content has an RFC 8785 form (checked before the idempotency fingerprint,
    which canonicalises the whole body too)."""
    content_sha256("x", uuid.UUID(int=0), 0, content)


def seal_payload(sig: Signature) -> dict[str, Any]:
    """What a seal signs: the document hash, signer, role, time and image hash (and a refusal)."""
    return {
        "document_id": str(sig.document_id),
        "version": sig.version,
        "content_sha256": sig.content_sha256,
        "signer_person_id": str(sig.signer_person_id) if sig.signer_person_id else None,
        "signer_role": sig.signer_role,
        "signer_name": sig.signer_name,
        "at": iso_utc(sig.at),
        "image_sha256": sig.image_sha256,
        "refused": sig.refused,
        "refusal_note": sig.refusal_note,
        "witness_name": sig.witness_name,
    }


def signature_read(sig: Signature) -> SignatureRead:
    return SignatureRead(
        id=sig.id, document_id=sig.document_id, version=sig.version, content_sha256=sig.content_sha256,
        signer_role=sig.signer_role, signer_person_id=sig.signer_person_id, signer_name=sig.signer_name or None,
        refused=sig.refused, refusal_note=sig.refusal_note, witness_name=sig.witness_name,
        image_sha256=sig.image_sha256, position=position_read(sig.lon, sig.lat, sig.accuracy_m), at=sig.at,
        entered_by=sig.entered_by, seal_kid=sig.seal_kid, seal=sig.seal,
    )


async def _authorised(session: AsyncSession, person_id: uuid.UUID, agency_path: str, doc_type: str,
                      today: date) -> bool:
    views = [AuthorisationView(document_types=frozenset(a.document_types), valid_until=a.valid_until,
                               revoked=a.revoked_at is not None, granted_by_agency_path=path)
             for a, path in await repository.authorisations_of(session, person_id)]
    return signing.authorisation_covers(views, doc_type, today, agency_path)


async def _required_inspectors(session: AsyncSession, ctx: ActContext, doc_type: str, today: date) -> set[uuid.UUID]:
    """Authorised inspectors who were present (checked in at some point): they must sign."""
    if doc_type not in article13.RECORD_TYPES:
        return set()
    present_ever = await repository.checked_in_people(session, ctx.inspection_id)
    people = await repository.people_with_agencies(
        session, [tm.person_id for tm, _ in ctx.team if tm.role == INSPECTOR and tm.person_id in present_ever])
    out = set()
    for pid, (_, agency) in people.items():
        if await _authorised(session, pid, agency.path, doc_type, today):
            out.add(pid)
    return out


async def _lock_state(session: AsyncSession, ctx: ActContext, doc: Document, today: date,
                      sigs: Sequence[Signature] | None = None) -> signing.LockState:
    """The lock rule's state of the current version (`sigs`: its signatures, if already read)."""
    if sigs is None:
        sigs = await repository.signatures(session, doc.id, doc.version)
    return signing.lock_state([SignatureView(s.signer_role, s.signer_person_id, s.refused) for s in sigs],
                              await _required_inspectors(session, ctx, doc.type, today))


async def document_read(session: AsyncSession, ctx: ActContext, doc: Document, today: date, *,
                        written: bool = False) -> DocumentRead:
    """`written`: this version was just written by the caller, so it has no signatures yet and
    nothing supersedes it (only a locked document is corrected, and a new one is not locked)."""
    sigs: Sequence[Signature] = []
    successor = None
    if not written:
        sigs = await repository.signatures(session, doc.id, doc.version)
        successor = (await repository.superseded_by(session, [doc.id])).get(doc.id)
    requirements: dict[str, Any] = {}
    if not doc.locked:
        requirements = (await _lock_state(session, ctx, doc, today, sigs)).detail()
    return DocumentRead(
        id=doc.id, inspection_id=doc.inspection_id, type=doc.type, version=doc.version, content=doc.content,
        content_sha256=doc.content_sha256, signatures=[signature_read(s) for s in sigs], locked=doc.locked,
        locked_at=doc.locked_at, supersedes=doc.supersedes, superseded_by=successor,
        lock_requirements=requirements, created_by=doc.created_by, created_at=doc.created_at,
        updated_at=doc.updated_at,
    )


async def _load_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID, *,
                         write: bool) -> tuple[Document, ActContext]:
    doc = await repository.document(session, document_id)
    if doc is None:
        raise NotFound("No such document", "未找到该文书")
    hold(session, doc)
    ctx = await load_inspection(session, principal, doc.inspection_id, write=write)
    return doc, ctx


def _gate_write(ctx: ActContext, principal: Principal, doc_type: str) -> None:
    """Decision and coercive documents are officers' alone (Art. 13(3), (4)); then the general
    enforcement-act gate. Paperwork may be completed by officers after the inspection finishes."""
    if principal.role == INSPECTOR:
        article13.require_document_type_allowed(principal, doc_type)
    article13.require_may_act(ctx.snapshot, principal, after_finish_ok=True)


def _locked(doc: Document) -> Conflict:
    return Conflict("The document is locked; issue a correction instead", "文书已锁定，请出具更正文书",
                    code="DOCUMENT_LOCKED", detail={"document_id": str(doc.id), "version": doc.version})


async def get_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID,
                       today: date) -> DocumentRead:
    doc, ctx = await _load_document(session, principal, document_id, write=False)
    return await document_read(session, ctx, doc, today)


async def create_document(session: AsyncSession, principal: Principal, inspection_id: uuid.UUID,
                          data: DocumentCreate, now: datetime, today: date) -> DocumentRead:
    ctx = await load_act_context(session, principal, inspection_id, now)
    _gate_write(ctx, principal, data.type)
    doc_id = data.id or uuid.uuid4()
    doc = Document(id=doc_id, inspection_id=inspection_id, type=data.type, version=1, content=data.content,
                   content_sha256=content_sha256(data.type, inspection_id, 1, data.content), locked=False,
                   created_by=principal.person_id, created_at=now, updated_by=principal.person_id, updated_at=now)
    await repository.add(session, doc)
    hold(session, doc)
    await record(session, actor=principal.actor, action="document.created", subject=f"document:{doc.id}",
                 data={"inspection_id": str(inspection_id), "type": doc.type, "version": 1,
                       "content_sha256": doc.content_sha256}, at=now)
    return await document_read(session, ctx, doc, today, written=True)


async def update_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID,
                          data: DocumentUpdate, now: datetime, today: date) -> DocumentRead:
    doc, ctx = await _load_document(session, principal, document_id, write=True)
    _gate_write(ctx, principal, doc.type)
    if doc.locked:
        raise _locked(doc)
    dropped = len(await repository.signatures(session, doc.id, doc.version))
    doc.version += 1
    doc.content = data.content
    doc.content_sha256 = content_sha256(doc.type, doc.inspection_id, doc.version, data.content)
    doc.updated_by = principal.person_id
    doc.updated_at = now
    await repository.flush(session)
    await record(session, actor=principal.actor, action="document.updated", subject=f"document:{doc.id}",
                 data={"version": doc.version, "content_sha256": doc.content_sha256,
                       "signatures_dropped": dropped}, at=now)
    return await document_read(session, ctx, doc, today, written=True)


async def correct_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID,
                           data: CorrectionCreate, now: datetime, today: date) -> DocumentRead:
    doc, ctx = await _load_document(session, principal, document_id, write=True)
    _gate_write(ctx, principal, doc.type)
    if not doc.locked:
        raise Conflict("Only a locked document is corrected; edit this one with PUT",
                       "仅已锁定的文书需出具更正文书；未锁定的文书可直接修改",
                       code="DOCUMENT_NOT_LOCKED", detail={"document_id": str(doc.id)})
    successor = (await repository.superseded_by(session, [doc.id])).get(doc.id)
    if successor is not None:
        raise Conflict("This document has already been corrected", "该文书已有更正文书",
                       code="DOCUMENT_SUPERSEDED", detail={"superseded_by": str(successor)})
    new_id = data.id or uuid.uuid4()
    new = Document(id=new_id, inspection_id=doc.inspection_id, type=doc.type, version=1, content=data.content,
                   content_sha256=content_sha256(doc.type, doc.inspection_id, 1, data.content), locked=False,
                   supersedes=doc.id, created_by=principal.person_id, created_at=now,
                   updated_by=principal.person_id, updated_at=now)
    await repository.add(session, new)
    hold(session, new)
    await record(session, actor=principal.actor, action="document.corrected", subject=f"document:{new.id}",
                 data={"supersedes": str(doc.id), "type": new.type, "content_sha256": new.content_sha256}, at=now)
    return await document_read(session, ctx, new, today, written=True)


def _validate_signature_body(data: SignatureCreate) -> None:
    if data.refused:
        if data.signer_role != "enterprise_representative":
            raise validation_error("refused", "not_applicable", "only the enterprise's refusal is recorded",
                                   "仅可记录企业拒绝签字")
        if not data.refusal_note:
            raise validation_error("refusal_note", "required", "a refusal is recorded with its reason",
                                   "拒绝签字须记录原因")
        if data.image_png is not None:
            raise validation_error("image_png", "not_applicable", "a refusal has no signature image",
                                   "拒绝签字无签名图片")
        return
    if data.refusal_note is not None or data.witness_name is not None:
        raise validation_error("refusal_note", "not_applicable", "only with refused: true", "仅在拒绝签字时填写")
    if data.image_png is None:
        raise validation_error("image_png", "required", "the signature image is required", "须提供签名图片")
    if data.content_sha256 is None:
        raise validation_error("content_sha256", "required", "sign the hash of the version you saw",
                               "须提供所签文书版本的哈希")
    if data.signer_role in ENTERED_ROLES and not data.signer_name:
        raise validation_error("signer_name", "required", "name the person signing", "须填写签名人姓名")


def _decode_png(text: str) -> bytes:
    try:
        cleaned = "".join(text.split())
        if cleaned.startswith("data:"):
            cleaned = cleaned.split(",", 1)[-1]
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise validation_error("image_png", "base64", "must be base64 of a PNG", "须为 PNG 的 base64 编码") from exc


async def sign_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID, data: SignatureCreate,
                        now: datetime, today: date, keys: Keys) -> SignatureCreated:
    _validate_signature_body(data)
    doc, ctx = await _load_document(session, principal, document_id, write=True)
    authorised = False
    if principal.role == INSPECTOR:
        authorised = await _authorised(session, principal.person_id, principal.agency_path, doc.type, today)
    signing.require_may_sign(principal, signer_role=data.signer_role, doc_type=doc.type, authorised=authorised)
    article13.require_may_act(ctx.snapshot, principal, after_finish_ok=True)
    if doc.locked:
        raise _locked(doc)
    if data.content_sha256 is not None and data.content_sha256.lower() != doc.content_sha256:
        raise Conflict("The document changed since you read it; re-read and sign the current version",
                       "文书已被修改，请重新阅读后签署当前版本", code="STALE_DOCUMENT",
                       detail={"current_version": doc.version, "current_content_sha256": doc.content_sha256})
    at = require_not_future(data.at or now, now, "at")
    current = await repository.signatures(session, doc.id, doc.version)
    signer_person_id = principal.person_id if data.signer_role in (OFFICER, INSPECTOR) else None
    if signer_person_id is not None and any(s.signer_person_id == signer_person_id for s in current):
        raise Conflict("You have already signed this version", "您已签署该版本", code="ALREADY_SIGNED")
    if data.signer_role == "enterprise_representative" and any(
            s.signer_role == "enterprise_representative" for s in current):
        raise Conflict("The enterprise has already signed or refused this version", "企业已签署或拒签该版本",
                       code="ALREADY_SIGNED")
    image: bytes | None = None
    image_sha: str | None = None
    width = height = None
    if data.image_png is not None:
        image = _decode_png(data.image_png)
        png = image
        if inline_ok(png):  # a signature pad's size: checking it costs less than a thread hop
            width, height = check_signature_png(png)
        else:
            width, height = await anyio.to_thread.run_sync(lambda: check_signature_png(png))
        image_sha = hashlib.sha256(image).hexdigest()
    lon = lat = None
    if data.position is not None:
        lon, lat = wgs84(data.position)
    # A refusal records no name unless one was given: nobody signed, and a placeholder such as
    # "(refused)" would read as a signer's name on the form. The column is NOT NULL: "" stands for
    # none and reads back as null.
    signer_name = principal.name if signer_person_id is not None else (data.signer_name or "")
    key = keys.seal.current
    sig = Signature(
        id=data.id or uuid.uuid4(), document_id=doc.id, version=doc.version, content_sha256=doc.content_sha256,
        signer_role=data.signer_role, signer_person_id=signer_person_id, signer_name=signer_name,
        refused=data.refused, refusal_note=data.refusal_note, witness_name=data.witness_name, image_png=image,
        image_sha256=image_sha, image_width=width, image_height=height, lon=lon, lat=lat,
        accuracy_m=data.position.accuracy_m if data.position else None, at=at, entered_by=principal.person_id,
        seal_kid=key.kid, seal="", created_at=now,
    )
    sig.seal = b64url(key.private.sign(jcs(seal_payload(sig))))
    await repository.add(session, sig)
    await record(session, actor=principal.actor,
                 action="document.signature_refused" if data.refused else "document.signed",
                 subject=f"document:{doc.id}",
                 data={"signature_id": str(sig.id), "version": doc.version, "signer_role": sig.signer_role,
                       "signer_person_id": str(signer_person_id) if signer_person_id else None,
                       "content_sha256": doc.content_sha256, "image_sha256": image_sha, "seal_kid": key.kid},
                 at=now)
    state = await _lock_state(session, ctx, doc, today, [*current, sig])
    if state.locked:
        doc.locked = True
        doc.locked_at = now
        await repository.flush(session)
        await record(session, actor=principal.actor, action="document.locked", subject=f"document:{doc.id}",
                     data={"version": doc.version, "content_sha256": doc.content_sha256}, at=now)
    base = signature_read(sig)
    return SignatureCreated(**{f: getattr(base, f) for f in base.__struct_fields__},
                            document_locked=doc.locked, lock_requirements={} if doc.locked else state.detail())


async def verify_document(session: AsyncSession, principal: Principal, document_id: uuid.UUID,
                          keys: Keys, *, origin: str, now: datetime) -> DocumentVerify:
    """Recompute the content hash, every current signature's image hash and seal (with the seal
    ring's public keys, old ones included), and the lock rule's signature part."""
    doc, _ = await _load_document(session, principal, document_id, write=False)
    problems: list[VerifyProblem] = []
    try:
        recomputed = content_sha256(doc.type, doc.inspection_id, doc.version, doc.content)
    except Unprocessable:
        recomputed = ""
    if recomputed != doc.content_sha256:
        problems.append(VerifyProblem(problem="content_sha256_mismatch",
                                      detail=f"stored {doc.content_sha256}, recomputed {recomputed}"))
    sigs = await repository.signatures(session, doc.id, doc.version)
    for sig in sigs:
        if sig.content_sha256 != doc.content_sha256:
            problems.append(VerifyProblem(problem="signature_content_mismatch", signature_id=sig.id))
        if sig.image_png is not None and hashlib.sha256(sig.image_png).hexdigest() != sig.image_sha256:
            problems.append(VerifyProblem(problem="image_sha256_mismatch", signature_id=sig.id))
        if sig.image_png is None and not sig.refused:
            problems.append(VerifyProblem(problem="image_missing", signature_id=sig.id))
        key = keys.seal.get(sig.seal_kid)
        if key is None:
            problems.append(VerifyProblem(problem="unknown_seal_key", signature_id=sig.id, detail=sig.seal_kid))
            continue
        try:
            key.public.verify(b64url_decode(sig.seal), jcs(seal_payload(sig)))
        except (InvalidSignature, ValueError):
            problems.append(VerifyProblem(problem="seal_invalid", signature_id=sig.id))
    if doc.locked:
        state = signing.lock_state([SignatureView(s.signer_role, s.signer_person_id, s.refused) for s in sigs], ())
        if not (state.officer_signatures >= article13.OFFICERS_REQUIRED and state.enterprise_done):
            problems.append(VerifyProblem(problem="lock_rule_not_met", detail=str(state.detail())))
    # The latest audit entry about the document, with its inclusion proof against a signed checkpoint.
    audit = await inclusion_for_subject(session, f"document:{doc.id}", seal=keys.seal, key_name=origin, now=now)
    return DocumentVerify(ok=not problems, document_id=doc.id, version=doc.version,
                          content_sha256=doc.content_sha256, signatures_checked=len(sigs), problems=problems,
                          audit=audit)
