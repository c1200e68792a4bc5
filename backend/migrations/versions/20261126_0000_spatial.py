"""Spatial extension: PostGIS on PostgreSQL, SpatiaLite's metadata tables on SQLite.

Revision ID: 0000
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0000"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    elif bind.dialect.name == "sqlite":
        has = bind.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='spatial_ref_sys'"
        ).scalar()
        if not has:
            # transaction=0: we are already inside Alembic's transaction.
            bind.exec_driver_sql("SELECT InitSpatialMetadata(0, 'WGS84')")


def downgrade() -> None:
    pass
