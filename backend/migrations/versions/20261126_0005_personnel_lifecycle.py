"""personnel lifecycle: recruitments and candidates (Art. 6), dismissals with their public notice
and equipment-return checklist (Art. 25), misconduct records (Art. 26, 27), and the day an
appointment actually stopped.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-26 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dismissals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('misconduct_id', sa.Uuid(), nullable=True),
    sa.Column('revoked_credential_ids', sa.JSON(), nullable=False),
    sa.Column('ended_appointment_ids', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_dismissals_agency_code_agencies')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dismissals_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dismissals'))
    )
    with op.batch_alter_table('dismissals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dismissals_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_dismissals_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dismissals_published_at'), ['published_at'], unique=False)

    op.create_table('recruitments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('written_weight', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_recruitments_agency_code_agencies')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_recruitments_created_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recruitments'))
    )
    with op.batch_alter_table('recruitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recruitments_agency_code'), ['agency_code'], unique=False)

    op.create_table('equipment_return_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dismissal_id', sa.Uuid(), nullable=False),
    sa.Column('item', sa.String(length=32), nullable=False),
    sa.Column('returned', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.Uuid(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['dismissal_id'], ['dismissals.id'], name=op.f('fk_equipment_return_items_dismissal_id_dismissals')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_equipment_return_items_recorded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_return_items')),
    sa.UniqueConstraint('dismissal_id', 'item', name=op.f('uq_equipment_return_items_dismissal_id_item'))
    )
    with op.batch_alter_table('equipment_return_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_equipment_return_items_dismissal_id'), ['dismissal_id'], unique=False)

    op.create_table('misconduct_records',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('sanction', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('occurred_on', sa.Date(), nullable=True),
    sa.Column('dismissal_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_misconduct_records_created_by_people')),
    sa.ForeignKeyConstraint(['dismissal_id'], ['dismissals.id'], name=op.f('fk_misconduct_records_dismissal_id_dismissals')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_misconduct_records_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_misconduct_records'))
    )
    with op.batch_alter_table('misconduct_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_misconduct_records_person_id'), ['person_id'], unique=False)

    op.create_table('recruitment_candidates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recruitment_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('written', sa.String(length=16), nullable=False),
    sa.Column('interview', sa.String(length=16), nullable=False),
    sa.Column('withdrawal_reason', sa.String(length=32), nullable=True),
    sa.Column('withdrawal_note', sa.Text(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_recruitment_candidates_person_id_people')),
    sa.ForeignKeyConstraint(['recruitment_id'], ['recruitments.id'], name=op.f('fk_recruitment_candidates_recruitment_id_recruitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recruitment_candidates'))
    )
    with op.batch_alter_table('recruitment_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recruitment_candidates_recruitment_id'), ['recruitment_id'], unique=False)

    # A plain ADD COLUMN (nullable, no default) on both engines: no table rebuild on SQLite.
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('ended_on')

    with op.batch_alter_table('recruitment_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recruitment_candidates_recruitment_id'))
    op.drop_table('recruitment_candidates')

    with op.batch_alter_table('misconduct_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_misconduct_records_person_id'))
    op.drop_table('misconduct_records')

    with op.batch_alter_table('equipment_return_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equipment_return_items_dismissal_id'))
    op.drop_table('equipment_return_items')

    with op.batch_alter_table('recruitments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recruitments_agency_code'))
    op.drop_table('recruitments')

    with op.batch_alter_table('dismissals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dismissals_published_at'))
        batch_op.drop_index(batch_op.f('ix_dismissals_person_id'))
        batch_op.drop_index(batch_op.f('ix_dismissals_agency_code'))
    op.drop_table('dismissals')
