"""HTTP endpoints of printed documents: `GET /api/v1/documents/{id}.pdf` (and per version; the
`.pdf` spelling reaches these routes through backend.documents_pdf.paths), and the seal
authority's public certificates."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.auth import Principal
from backend.core.clock import Clock
from backend.core.deps import client_address
from backend.core.errors import NotFound
from backend.core.signing import Keys
from backend.documents_pdf import service
from backend.documents_pdf.ca import IssuedCertificate
from backend.documents_pdf.models import SealCertificate
from backend.documents_pdf.schemas import CertificateRead, CertificateSet
from backend.settings import Settings

MAX_VERSION = 2**31 - 1


def _pdf_response(pdf: service.PdfFile) -> Response[bytes]:
    return Response(
        content=pdf.content, media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{pdf.filename}"',
            "ETag": f'"{pdf.sha256}"',
            # The form names people and an enterprise: never in shared caches. A locked version's
            # PDF never changes; a draft's does with every signature.
            "Cache-Control": "private, max-age=86400, immutable" if pdf.locked else "private, no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


class DocumentPdfController(Controller):
    path = "/api/v1/documents"
    tags = ["documents"]

    @get("/{document_id:uuid}/pdf", summary="Printable A4 form, PAdES-sealed (also /api/v1/documents/{id}.pdf)",
         media_type="application/pdf")
    async def pdf(self, document_id: uuid.UUID, read_session: AsyncSession, session: AsyncSession,
                  principal: Principal, signing_keys: Keys, settings: Settings, clock: Clock) -> Response[bytes]:
        pdf = await service.document_pdf(read_session, session, principal, document_id, None, keys=signing_keys,
                                         settings=settings, now=clock.now())
        return _pdf_response(pdf)

    @get("/{document_id:uuid}/versions/{version:int}/pdf", media_type="application/pdf",
         summary="The PDF of one version (also /api/v1/documents/{id}/versions/{n}.pdf)")
    async def version_pdf(self, document_id: uuid.UUID, version: int, read_session: AsyncSession,
                          session: AsyncSession, principal: Principal, signing_keys: Keys, settings: Settings,
                          clock: Clock) -> Response[bytes]:
        if not 1 <= version <= MAX_VERSION:  # beyond the column's range: no such version, not a DB error
            raise NotFound("No such version", "无此版本")
        pdf = await service.document_pdf(read_session, session, principal, document_id, version,
                                         keys=signing_keys, settings=settings, now=clock.now())
        return _pdf_response(pdf)


def _read(row: SealCertificate) -> CertificateRead:
    pem = IssuedCertificate(row.der, 0, row.not_before, row.not_after).pem
    return CertificateRead(kind=row.kind, agency_code=row.agency_code or None, key_kid=row.key_kid,
                           issuer_kid=row.issuer_kid, serial=row.serial, sha256=row.sha256,
                           not_before=row.not_before, not_after=row.not_after, pem=pem)


class SealCertificateController(Controller):
    """Public and rate-limited, like the credential key set: whoever holds a printed PDF can fetch
    the chain that its seal should lead to."""

    path = "/api/v1/seal-certificates"
    tags = ["documents"]

    @get("/", summary="The document seal authority's roots and agency seal certificates")
    async def certificates(self, request: Request[Any, Any, Any], read_session: AsyncSession,
                           session: AsyncSession, signing_keys: Keys, settings: Settings,
                           clock: Clock) -> Response[CertificateSet]:
        await request.app.state["public_limiter"].hit(client_address(request))
        rows = await service.certificates(read_session, session, signing_keys, settings, clock.now())
        body = CertificateSet(roots=[_read(r) for r in rows if r.kind == "root"],
                              seals=[_read(r) for r in rows if r.kind == "seal"])
        return Response(body, headers={"Cache-Control": "public, max-age=300"})

    @get("/roots.pem", summary="The roots as PEM (to import into a PDF reader's trusted certificates)",
         media_type="application/x-pem-file")
    async def roots_pem(self, request: Request[Any, Any, Any], read_session: AsyncSession, session: AsyncSession,
                        signing_keys: Keys, settings: Settings, clock: Clock) -> Response[str]:
        await request.app.state["public_limiter"].hit(client_address(request))
        rows = await service.certificates(read_session, session, signing_keys, settings, clock.now())
        pem = "".join(_read(r).pem for r in rows if r.kind == "root")
        return Response(pem, media_type="application/x-pem-file", headers={"Cache-Control": "public, max-age=300"})


ROUTES: list[Any] = [DocumentPdfController, SealCertificateController]
