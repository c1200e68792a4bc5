"""record: pending audit entries, the Merkle tree as tiles, and append-only triggers

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-06 08:00:00

Branches from 0006, which created `audit_checkpoints` (next to the sync ledger); `audit_entries`
comes from 0001 on the same line.

Request transactions now only insert into `audit_pending`; the sequencer moves rows into
`audit_entries` and writes full tiles and one checkpoint per batch. The sequenced tables are
insert-only, enforced by the database itself: a trigger refuses UPDATE and DELETE (and TRUNCATE on
PostgreSQL) on `audit_entries`, `audit_tiles` and `audit_checkpoints`. Someone who owns the database
can drop the triggers; the witness checkpoint outside the database is what catches that.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_entries", "audit_tiles", "audit_checkpoints")


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )
    with op.batch_alter_table("audit_pending", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_pending_subject"), ["subject"], unique=False)

    op.create_table(
        "audit_tiles",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tiles")),
    )

    # Entries sequenced before this revision have no tiles yet: the sequencer's first round finds
    # the stored tiles short of the log and writes the missing ones (backend.audit.tiles.backfill).

    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
        """)
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    op.drop_table("audit_tiles")
    with op.batch_alter_table("audit_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_pending_subject"))
    op.drop_table("audit_pending")
