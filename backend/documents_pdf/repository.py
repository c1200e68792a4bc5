"""Every query of printed documents: cached PDFs and seal certificates. Inserts that another
request (or node) may race go through a savepoint, so the loser reads the winner's row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.documents_pdf.models import DocumentPdf, SealCertificate


async def cached_pdf(session: AsyncSession, document_id: uuid.UUID, version: int) -> DocumentPdf | None:
    return await session.get(DocumentPdf, (document_id, version))


async def add_pdf(session: AsyncSession, row: DocumentPdf) -> DocumentPdf:
    """Insert `row`, or return the row another request inserted first."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = await session.get(DocumentPdf, (row.document_id, row.version), populate_existing=True)
        if existing is None:
            raise
        return existing
    return row


async def certificate(session: AsyncSession, *, kind: str, agency_code: str, key_kid: str,
                      issuer_kid: str) -> SealCertificate | None:
    return (await session.execute(
        select(SealCertificate).where(SealCertificate.kind == kind, SealCertificate.agency_code == agency_code,
                                      SealCertificate.key_kid == key_kid, SealCertificate.issuer_kid == issuer_kid)
    )).scalar_one_or_none()


async def certificate_by_id(session: AsyncSession, certificate_id: uuid.UUID) -> SealCertificate | None:
    return await session.get(SealCertificate, certificate_id)


async def add_certificate(session: AsyncSession, row: SealCertificate) -> SealCertificate:
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = await certificate(session, kind=row.kind, agency_code=row.agency_code, key_kid=row.key_kid,
                                     issuer_kid=row.issuer_kid)
        if existing is None:
            raise
        return existing
    return row


async def certificates(session: AsyncSession) -> Sequence[SealCertificate]:
    return (await session.execute(
        select(SealCertificate).order_by(SealCertificate.kind, SealCertificate.created_at, SealCertificate.id)
    )).scalars().all()
