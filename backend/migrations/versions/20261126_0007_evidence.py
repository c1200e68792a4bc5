"""evidence: photos (content-addressed files on disk, metadata here) and their custody log

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-26 08:00:00

Drafted with autogenerate against SpatiaLite, reduced by hand to this domain's tables. The
`location` geometry goes through GeoAlchemy2's helpers (R*Tree on SpatiaLite, GiST on PostGIS).

On PostgreSQL there is a second GiST index, on the expression `location::geography(Geometry,4326)`
(exactly what the radius query `ST_DWithin(CAST(location AS geography(GEOMETRY,4326)), ...)`
says): a GiST index on the geometry column alone does not serve a geography predicate, and the
planner would scan the table. The model declares it too (PostgreSQL only), so the migration test
compares it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table(
        "evidence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("inspection_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("oriented_width", sa.Integer(), nullable=False),
        sa.Column("oriented_height", sa.Integer(), nullable=False),
        sa.Column("orientation", sa.Integer(), nullable=False),
        sa.Column("exif_lon", sa.Float(), nullable=True),
        sa.Column("exif_lat", sa.Float(), nullable=True),
        sa.Column("exif_taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exif_taken_at_has_offset", sa.Boolean(), nullable=True),
        sa.Column("exif_taken_at_raw", sa.String(length=40), nullable=True),
        sa.Column("exif_make", sa.String(length=200), nullable=True),
        sa.Column("exif_model", sa.String(length=200), nullable=True),
        sa.Column("exif_software", sa.String(length=200), nullable=True),
        sa.Column("device_lon", sa.Float(), nullable=True),
        sa.Column("device_lat", sa.Float(), nullable=True),
        sa.Column("device_crs", sa.String(length=8), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("location", Geometry(geometry_type="POINT", srid=4326, dimension=2, spatial_index=False,
                                       from_text="ST_GeomFromEWKT", name="geometry"), nullable=True),
        sa.Column("location_lon", sa.Float(), nullable=True),
        sa.Column("location_lat", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(length=8), nullable=True),
        sa.Column("distance_to_site_m", sa.Float(), nullable=True),
        sa.Column("exif_device_distance_m", sa.Float(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=False),
        sa.Column("thumbnail_size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"],
                                name=op.f("fk_evidence_inspection_id_inspections")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["people.id"], name=op.f("fk_evidence_uploaded_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint("owner_kind", "owner_id", "sha256", name="uq_evidence_owner_sha256"),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_geospatial_index("idx_evidence_location", ["location"], unique=False,
                                         postgresql_using="gist", postgresql_ops={})
        batch_op.create_index("ix_evidence_owner_received", ["owner_kind", "owner_id", "received_at", "id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_inspection_id"), ["inspection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX idx_evidence_location_geog ON evidence USING gist ((location::geography(Geometry,4326)))")

    op.create_table(
        "evidence_custody",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.Uuid(), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["actor"], ["people.id"], name=op.f("fk_evidence_custody_actor_people")),
        sa.ForeignKeyConstraint(["evidence_id"], ["evidence.id"],
                                name=op.f("fk_evidence_custody_evidence_id_evidence")),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_evidence_custody")),
    )
    with op.batch_alter_table("evidence_custody", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_custody_evidence_seq", ["evidence_id", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_custody", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_custody_evidence_seq")
    op.drop_table("evidence_custody")

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS idx_evidence_location_geog")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_inspection_id"))
        batch_op.drop_index("ix_evidence_owner_received")
        batch_op.drop_geospatial_index("idx_evidence_location", postgresql_using="gist", column_name="location")
    op.drop_geospatial_table("evidence")
