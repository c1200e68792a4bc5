"""ORM models of printed documents: the rendered PDF of each locked version (bytes on disk,
content-addressed) and the certificates of the deployment's seal authority."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime, new_id


class DocumentPdf(Base):
    """The one PDF of a locked document version: rendered and sealed once, then served as is."""

    __tablename__ = "document_pdfs"

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_documents.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 of the signed PDF: its name in the store.
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The document's content hash the PDF prints (and binds).
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seal_certificates.id"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class SealCertificate(Base):
    """A certificate of the seal authority: a root (kind `root`, agency_code "") for each `ca`
    ring key, and a seal certificate per (agency, seal key, root)."""

    __tablename__ = "seal_certificates"
    __table_args__ = (UniqueConstraint("kind", "agency_code", "key_kid", "issuer_kid"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: root | seal
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    agency_code: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The ring key (kid) the certified key is derived from, and the issuing root's ring key.
    key_kid: Mapped[str] = mapped_column(String(64), nullable=False)
    issuer_kid: Mapped[str] = mapped_column(String(64), nullable=False)
    serial: Mapped[str] = mapped_column(String(40), nullable=False)
    der: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
