"""foundation

Revision ID: 0001
Revises: 0000
Create Date: 2026-11-26 06:54:20.744309
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = '0000'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=True),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('parent_code', sa.String(length=16), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['agencies.code'], name=op.f('fk_agencies_parent_code_agencies')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agencies')),
    sa.UniqueConstraint('path', name=op.f('uq_agencies_path'))
    )
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agencies_parent_code'), ['parent_code'], unique=False)

    op.create_table('audit_entries',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('data_sha256', sa.String(length=64), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entries')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entries_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_entries_prev_hash'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_subject'), ['subject'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('request_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_idempotency_records'))
    )
    op.create_table('people',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('employment', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('enforcement_certificate_number', sa.String(length=64), nullable=True),
    sa.Column('enforcement_certificate_valid_until', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_people_agency_code_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('enforcement_certificate_number', name=op.f('uq_people_enforcement_certificate_number')),
    sa.UniqueConstraint('id_number', name=op.f('uq_people_id_number')),
    sa.UniqueConstraint('username', name=op.f('uq_people_username'))
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_role'), ['role'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_status'), ['status'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('employment', sa.String(length=16), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('contract_type', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=20), nullable=False),
    sa.Column('experience_years', sa.Float(), nullable=True),
    sa.Column('declarations', sa.JSON(), nullable=False),
    sa.Column('consents', sa.JSON(), nullable=False),
    sa.Column('exception_reason', sa.Text(), nullable=True),
    sa.Column('recommended_by', sa.String(length=200), nullable=True),
    sa.Column('invitee_category', sa.String(length=40), nullable=True),
    sa.Column('consulted', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_appointments_agency_code_agencies')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_appointments_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_person_status', ['person_id', 'status'], unique=False)

    op.create_table('dispatches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('to_agency_code', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_dispatches_created_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dispatches_person_id_people')),
    sa.ForeignKeyConstraint(['to_agency_code'], ['agencies.code'], name=op.f('fk_dispatches_to_agency_code_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatches'))
    )
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatches_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatches_to_agency_code'), ['to_agency_code'], unique=False)

    op.create_table('qualifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('field', sa.String(length=200), nullable=True),
    sa.Column('safety_related', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_qualifications_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifications'))
    )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualifications_person_id'), ['person_id'], unique=False)

    op.create_table('signing_authorisations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('document_types', sa.JSON(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('granted_by', sa.Uuid(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by'], ['people.id'], name=op.f('fk_signing_authorisations_granted_by_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_signing_authorisations_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_authorisations'))
    )
    with op.batch_alter_table('signing_authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_authorisations_person_id'), ['person_id'], unique=False)

    op.create_table('trainings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('assessment_passed', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_trainings_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trainings'))
    )
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trainings_person_id'), ['person_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trainings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trainings_person_id'))

    op.drop_table('trainings')
    with op.batch_alter_table('signing_authorisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_authorisations_person_id'))

    op.drop_table('signing_authorisations')
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualifications_person_id'))

    op.drop_table('qualifications')
    with op.batch_alter_table('dispatches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatches_to_agency_code'))
        batch_op.drop_index(batch_op.f('ix_dispatches_person_id'))

    op.drop_table('dispatches')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_person_status')

    op.drop_table('appointments')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_status'))
        batch_op.drop_index(batch_op.f('ix_people_role'))
        batch_op.drop_index(batch_op.f('ix_people_agency_code'))

    op.drop_table('people')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_subject'))

    op.drop_table('audit_entries')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agencies_parent_code'))

    op.drop_table('agencies')
