"""sync: the offline op ledger and the audit log's issued checkpoints

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-26 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sync_ops',
    sa.Column('op_id', sa.Uuid(), nullable=False),
    sa.Column('caller', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.String(length=128), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('claim_token', sa.String(length=32), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('op_id', name=op.f('pk_sync_ops'))
    )
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_ops_caller'), ['caller'], unique=False)

    op.create_table('audit_checkpoints',
    sa.Column('tree_size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('frontier', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tree_size', name=op.f('pk_audit_checkpoints'))
    )


def downgrade() -> None:
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_ops_caller'))

    op.drop_table('sync_ops')
