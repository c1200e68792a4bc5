"""sync as commands: an op's ledger row is written with its result, in the same transaction as its
effect; claims (claim_token, claimed_at) and pending rows are gone

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-06 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A claim without a result belonged to a worker that died mid-op under the old scheme: the op
    # is not known to have been applied, and the phone resends it.
    op.execute("DELETE FROM sync_ops WHERE status_code IS NULL OR applied_at IS NULL")
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.drop_column('claim_token')
        batch_op.drop_column('claimed_at')
        batch_op.alter_column('status_code', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('applied_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.alter_column('applied_at', existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.alter_column('status_code', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False,
                                      server_default=sa.text("CURRENT_TIMESTAMP")))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=False, server_default=''))
