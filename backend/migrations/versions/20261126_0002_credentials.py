"""credentials

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('credential_serials',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_serial', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_credential_serials'))
    )
    op.create_table('credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('appointment_id', sa.Uuid(), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('holder_name', sa.String(length=100), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_credentials_agency_code_agencies')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_credentials_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_credentials_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credentials')),
    sa.UniqueConstraint('kind', 'year', 'serial', name=op.f('uq_credentials_kind_year_serial')),
    sa.UniqueConstraint('number', name=op.f('uq_credentials_number'))
    )
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentials_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index('ix_credentials_person_kind', ['person_id', 'kind'], unique=False)
        batch_op.create_index('ix_credentials_status_expires', ['status', 'expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_credentials_status_expires')
        batch_op.drop_index('ix_credentials_person_kind')
        batch_op.drop_index(batch_op.f('ix_credentials_agency_code'))

    op.drop_table('credentials')
    op.drop_table('credential_serials')
