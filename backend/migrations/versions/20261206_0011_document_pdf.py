"""document_pdf: rendered PDFs of locked document versions, and the seal authority's certificates

Revision ID: 0011
Revises: 0003
Create Date: 2026-12-06 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seal_certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("agency_code", sa.String(length=16), nullable=False),
        sa.Column("key_kid", sa.String(length=64), nullable=False),
        sa.Column("issuer_kid", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seal_certificates")),
        sa.UniqueConstraint("kind", "agency_code", "key_kid", "issuer_kid",
                            name=op.f("uq_seal_certificates_kind_agency_code_key_kid_issuer_kid")),
    )
    op.create_table(
        "document_pdfs",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["seal_certificates.id"],
                                name=op.f("fk_document_pdfs_certificate_id_seal_certificates")),
        sa.ForeignKeyConstraint(["document_id"], ["inspection_documents.id"],
                                name=op.f("fk_document_pdfs_document_id_inspection_documents")),
        sa.PrimaryKeyConstraint("document_id", "version", name=op.f("pk_document_pdfs")),
    )


def downgrade() -> None:
    op.drop_table("document_pdfs")
    op.drop_table("seal_certificates")
