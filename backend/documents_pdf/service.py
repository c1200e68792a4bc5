"""Use cases of printed documents: the sealed PDF of a document (rendered once per locked version,
then served from the content-addressed store), the public page's facts, and the seal authority's
certificates. Raises domain errors; knows nothing of HTTP; never commits.

Reads go through a read session (on SQLite it never takes the write lock, so rendering does not
hold up writers); only the rows that must be shared (a first certificate, the cached PDF's row)
are written, through the write session, at the end.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.errors import NotFound
from backend.core.signing import Keys, SigningKey
from backend.documents_pdf import ca, repository, signer
from backend.documents_pdf.fonts import cjk_font
from backend.documents_pdf.layout import ROLES, TITLES, PrintSignature, PrintView, render
from backend.documents_pdf.models import DocumentPdf, SealCertificate
from backend.documents_pdf.store import PdfStore
from backend.documents_pdf.tokens import page_token, read_page_token
from backend.inspections import repository as inspections
from backend.inspections.models import Document, Inspection
from backend.inspections.service import ActContext, load_inspection
from backend.personnel.models import Agency
from backend.settings import Settings

SECRET = "secret"


@dataclass(frozen=True)
class PdfFile:
    content: bytes
    filename: str
    sha256: str
    version: int
    locked: bool


def page_url(settings: Settings, keys: Keys, document_id: uuid.UUID) -> str:
    return f"{settings.public_base_url}/d/{page_token(keys.seal, document_id)}"


def _font_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "cache" / "fonts"


# ------------------------------------------------------------------------------------------------
# Certificates
# ------------------------------------------------------------------------------------------------

async def _root(read: AsyncSession, write: AsyncSession, keys: Keys, settings: Settings,
                now: datetime) -> SealCertificate:
    ca_key = keys.ca.current
    found = await repository.certificate(read, kind="root", agency_code="", key_kid=ca_key.kid,
                                         issuer_kid=ca_key.kid)
    if found is not None:
        return found
    issued = ca.issue_root(ca_key, settings.origin, now)
    return await repository.add_certificate(write, _row("root", "", ca_key.kid, ca_key.kid, issued, now))


async def _seal(read: AsyncSession, write: AsyncSession, keys: Keys, settings: Settings, agency: Agency,
                now: datetime) -> tuple[SealCertificate, SealCertificate]:
    root = await _root(read, write, keys, settings, now)
    seal_key = keys.seal.current
    found = await repository.certificate(read, kind="seal", agency_code=agency.code, key_kid=seal_key.kid,
                                         issuer_kid=root.key_kid)
    if found is not None:
        return found, root
    issued = ca.issue_seal(keys.ca.current, root.der, seal_key, agency.code, agency.name, settings.origin, now)
    row = _row("seal", agency.code, seal_key.kid, root.key_kid, issued, now)
    return await repository.add_certificate(write, row), root


def _row(kind: str, agency_code: str, key_kid: str, issuer_kid: str, issued: ca.IssuedCertificate,
         now: datetime) -> SealCertificate:
    return SealCertificate(id=uuid.uuid4(), kind=kind, agency_code=agency_code, key_kid=key_kid,
                           issuer_kid=issuer_kid, serial=f"{issued.serial:x}", der=issued.der, sha256=issued.sha256,
                           not_before=issued.not_before, not_after=issued.not_after, created_at=now)


async def certificates(read: AsyncSession, write: AsyncSession, keys: Keys, settings: Settings,
                       now: datetime) -> list[SealCertificate]:
    """Every certificate the authority ever issued (the current root made on first use). Read
    through the read session: only a missing root touches the write session (and, on SQLite, its
    lock), so a public endpoint does not queue behind writers."""
    rows = list(await repository.certificates(read))
    current = keys.ca.current.kid
    if not any(r.kind == "root" and r.key_kid == current for r in rows):
        rows.append(await _root(read, write, keys, settings, now))
    return rows


# ------------------------------------------------------------------------------------------------
# The PDF
# ------------------------------------------------------------------------------------------------

async def _print_view(read: AsyncSession, ctx: ActContext, doc: Document, url: str | None) -> PrintView:
    inspection = ctx.inspection
    order = {"officer": 0, "technical_inspector": 1}
    team = sorted(((tm.role, p.name) for tm, p in ctx.team), key=lambda t: order.get(t[0], 9))
    displays = await inspections.displays(read, inspection.id)
    sigs = await inspections.signatures(read, doc.id, doc.version)
    supersedes = None
    if doc.supersedes is not None:
        old = await inspections.document(read, doc.supersedes)
        if old is not None:
            supersedes = (str(old.id), old.content_sha256)
    return PrintView(
        document_id=str(doc.id), doc_type=doc.type, version=doc.version, content=doc.content,
        content_sha256=doc.content_sha256, agency_name=ctx.agency.name,
        enterprise_name=inspection.enterprise_name, enterprise_credit_code=inspection.enterprise_credit_code,
        site_address=inspection.site_address, inspected_on=inspection.started_at or inspection.planned_at,
        locked_at=doc.locked_at if doc.locked else None, page_url=url, team=team,
        credentials=[(p.name, d.kind, d.number, f"{d.shown_to_name}（{d.shown_to_role}）", d.at) for d, p in displays],
        findings=[(f.hazard_level, f.description) for f in await inspections.findings(read, inspection.id)],
        signatures=[PrintSignature(role=s.signer_role, name=s.signer_name, at=s.at, image_png=s.image_png,
                                   refused=s.refused, refusal_note=s.refusal_note, witness_name=s.witness_name)
                    for s in sigs],
        supersedes=supersedes,
    )


def render_and_seal(view: PrintView, font_dir: Path, key: SigningKey, seal_der: bytes, root_der: bytes,
                    agency_name: str, location: str) -> bytes:
    """Render and sign (blocking: run off the event loop)."""
    unsigned = render(view, cjk_font(font_dir))
    reason = f"{view.title}（第 {view.version} 版）内容哈希 {view.content_sha256}"
    return signer.sign_pdf(unsigned, key, seal_der, root_der, reason=reason, location=location, name=agency_name)


async def document_pdf(read: AsyncSession, write: AsyncSession, principal: Principal, document_id: uuid.UUID,
                       version: int | None, *, keys: Keys, settings: Settings, now: datetime) -> PdfFile:
    """The sealed PDF of the document's current version (or of `version`, which must be the current
    one or an earlier locked one that was printed). A locked version is rendered once and cached;
    an unlocked one is rendered on every call, marked 草稿 (draft)."""
    doc = await inspections.document(read, document_id)
    if doc is None:
        raise NotFound("No such document", "未找到该文书")
    ctx = await load_inspection(read, principal, doc.inspection_id, write=False)
    wanted = doc.version if version is None else version
    store = PdfStore(settings.data_dir)
    filename = f"{doc.type}-{doc.id}-v{wanted}.pdf"
    cached = await repository.cached_pdf(read, doc.id, wanted)
    if cached is not None:
        content = await anyio.to_thread.run_sync(store.get, cached.pdf_sha256)
        if content is not None:
            return PdfFile(content, filename, cached.pdf_sha256, wanted, locked=True)
    if wanted != doc.version:
        raise NotFound("Only the current version, or a printed locked version, has a PDF",
                       "仅当前版本或已打印的锁定版本有 PDF 文件", detail={"current_version": doc.version})
    url = None if ctx.inspection.classification == SECRET else page_url(settings, keys, doc.id)
    view = await _print_view(read, ctx, doc, url)
    seal, root = await _seal(read, write, keys, settings, ctx.agency, now)
    location = ctx.inspection.site_address
    seal_key = keys.seal.get(seal.key_kid)
    if seal_key is None:  # the certificate was looked up for the current key a moment ago
        raise RuntimeError(f"seal key {seal.key_kid} vanished")
    content = await anyio.to_thread.run_sync(functools.partial(
        render_and_seal, view, _font_dir(settings), seal_key, seal.der, root.der, ctx.agency.name, location))
    sha = await anyio.to_thread.run_sync(store.put, content) if doc.locked else hashlib.sha256(content).hexdigest()
    if doc.locked:
        row = await repository.add_pdf(write, DocumentPdf(
            document_id=doc.id, version=doc.version, pdf_sha256=sha, size=len(content),
            content_sha256=doc.content_sha256, certificate_id=seal.id, created_at=now))
        if row.pdf_sha256 != sha:  # another request printed it first: serve that one
            winner = await anyio.to_thread.run_sync(store.get, row.pdf_sha256)
            if winner is not None:
                return PdfFile(winner, filename, row.pdf_sha256, wanted, locked=True)
    return PdfFile(content, filename, sha, wanted, locked=doc.locked)


# ------------------------------------------------------------------------------------------------
# The public page
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicDocument:
    title: str
    doc_type: str
    enterprise_name: str
    inspected_on: datetime
    version: int
    content_sha256: str
    locked: bool
    locked_at: datetime | None
    #: (role label, name, refused)
    signers: list[tuple[str, str, bool]]
    #: Page addresses (paths) of the correction of this document, and of the one it corrects.
    superseded_by: str | None
    supersedes: str | None


def _visible(found: tuple[Inspection, Agency] | None) -> Inspection | None:
    if found is None or found[0].classification == SECRET:
        return None
    return found[0]


async def public_document(read: AsyncSession, keys: Keys, token: str) -> PublicDocument | None:
    """What `/d/{token}` shows, or None: a bad token, an unknown document, or (saying nothing
    more) a document of a secret inspection."""
    document_id = read_page_token(keys.seal, token)
    if document_id is None:
        return None
    doc = await inspections.document(read, document_id)
    if doc is None:
        return None
    inspection = _visible(await inspections.inspection_with_agency(read, doc.inspection_id))
    if inspection is None:
        return None
    sigs = await inspections.signatures(read, doc.id, doc.version)
    successor = (await inspections.superseded_by(read, [doc.id])).get(doc.id)
    return PublicDocument(
        title=TITLES.get(doc.type, doc.type), doc_type=doc.type, enterprise_name=inspection.enterprise_name,
        inspected_on=inspection.started_at or inspection.planned_at, version=doc.version,
        content_sha256=doc.content_sha256, locked=doc.locked, locked_at=doc.locked_at,
        signers=[(ROLES.get(s.signer_role, s.signer_role), s.signer_name, s.refused) for s in sigs],
        superseded_by=f"/d/{page_token(keys.seal, successor)}" if successor else None,
        supersedes=f"/d/{page_token(keys.seal, doc.supersedes)}" if doc.supersedes else None,
    )
