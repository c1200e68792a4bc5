"""Inspections: teams, check-ins, credential displays, findings, documents and sealed signatures.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-26

Drafted by autogenerate against a scratch SQLite database at 0001, then reduced by hand to this
domain's tables. Geometry columns go through GeoAlchemy2's Alembic helpers (create_geospatial_table
and create_geospatial_index register the columns with SpatiaLite and build the R*Tree / GiST
indexes). Works on SQLite + SpatiaLite and PostgreSQL + PostGIS.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table('inspections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('enterprise_name', sa.String(length=200), nullable=False),
    sa.Column('enterprise_credit_code', sa.String(length=18), nullable=False),
    sa.Column('site', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('site_lon', sa.Float(), nullable=False),
    sa.Column('site_lat', sa.Float(), nullable=False),
    sa.Column('site_radius_m', sa.Float(), nullable=False),
    sa.Column('site_address', sa.String(length=500), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('classification', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.Uuid(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_inspections_agency_code_agencies')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_inspections_created_by_people')),
    sa.ForeignKeyConstraint(['finished_by'], ['people.id'], name=op.f('fk_inspections_finished_by_people')),
    sa.ForeignKeyConstraint(['started_by'], ['people.id'], name=op.f('fk_inspections_started_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections'))
    )

    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_inspections_site', ['site'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_inspections_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_enterprise_credit_code'), ['enterprise_credit_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspections_status'), ['status'], unique=False)

    op.create_table('inspection_team_members',
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('dispatch_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['dispatch_id'], ['dispatches.id'], name=op.f('fk_inspection_team_members_dispatch_id_dispatches')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_team_members_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_inspection_team_members_person_id_people')),
    sa.PrimaryKeyConstraint('inspection_id', 'person_id', name=op.f('pk_inspection_team_members'))
    )

    with op.batch_alter_table('inspection_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_team_members_person_id'), ['person_id'], unique=False)

    op.create_geospatial_table('inspection_check_ins',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('reported_crs', sa.String(length=8), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=False),
    sa.Column('out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('out_lon', sa.Float(), nullable=True),
    sa.Column('out_lat', sa.Float(), nullable=True),
    sa.Column('out_accuracy_m', sa.Float(), nullable=True),
    sa.Column('out_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_check_ins_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_inspection_check_ins_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_check_ins')),
    sa.UniqueConstraint('out_id', name=op.f('uq_inspection_check_ins_out_id'))
    )

    with op.batch_alter_table('inspection_check_ins', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_inspection_check_ins_position', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index('ix_inspection_check_ins_inspection_person', ['inspection_id', 'person_id'], unique=False)

    op.create_geospatial_table('inspection_credential_displays',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('credential_id', sa.Uuid(), nullable=True),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('shown_to_name', sa.String(length=100), nullable=False),
    sa.Column('shown_to_role', sa.String(length=100), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_credential_displays_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_inspection_credential_displays_person_id_people')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_inspection_credential_displays_recorded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_credential_displays'))
    )

    with op.batch_alter_table('inspection_credential_displays', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_inspection_credential_displays_position', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_inspection_credential_displays_inspection_id'), ['inspection_id'], unique=False)

    op.create_geospatial_table('inspection_findings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('hazard_level', sa.String(length=16), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_inspection_findings_created_by_people')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_findings_inspection_id_inspections')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_findings'))
    )

    with op.batch_alter_table('inspection_findings', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_inspection_findings_position', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_inspection_findings_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('inspection_documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supersedes', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_inspection_documents_created_by_people')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_inspection_documents_inspection_id_inspections')),
    sa.ForeignKeyConstraint(['supersedes'], ['inspection_documents.id'], name=op.f('fk_inspection_documents_supersedes_inspection_documents')),
    sa.ForeignKeyConstraint(['updated_by'], ['people.id'], name=op.f('fk_inspection_documents_updated_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_documents')),
    sa.UniqueConstraint('supersedes', name=op.f('uq_inspection_documents_supersedes'))
    )

    with op.batch_alter_table('inspection_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_documents_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('inspection_document_signatures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('signer_role', sa.String(length=32), nullable=False),
    sa.Column('signer_person_id', sa.Uuid(), nullable=True),
    sa.Column('signer_name', sa.String(length=100), nullable=False),
    sa.Column('refused', sa.Boolean(), nullable=False),
    sa.Column('refusal_note', sa.Text(), nullable=True),
    sa.Column('witness_name', sa.String(length=100), nullable=True),
    sa.Column('image_png', sa.LargeBinary(), nullable=True),
    sa.Column('image_sha256', sa.String(length=64), nullable=True),
    sa.Column('image_width', sa.Integer(), nullable=True),
    sa.Column('image_height', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entered_by', sa.Uuid(), nullable=False),
    sa.Column('seal_kid', sa.String(length=64), nullable=False),
    sa.Column('seal', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['inspection_documents.id'], name=op.f('fk_inspection_document_signatures_document_id_inspection_documents')),
    sa.ForeignKeyConstraint(['entered_by'], ['people.id'], name=op.f('fk_inspection_document_signatures_entered_by_people')),
    sa.ForeignKeyConstraint(['signer_person_id'], ['people.id'], name=op.f('fk_inspection_document_signatures_signer_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_document_signatures'))
    )

    with op.batch_alter_table('inspection_document_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_document_signatures_document_version', ['document_id', 'version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inspection_document_signatures', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_document_signatures_document_version')

    op.drop_table('inspection_document_signatures')

    with op.batch_alter_table('inspection_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_documents_inspection_id'))

    op.drop_table('inspection_documents')

    with op.batch_alter_table('inspection_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_findings_inspection_id'))
        batch_op.drop_geospatial_index('idx_inspection_findings_position', postgresql_using='gist', column_name='position')

    op.drop_geospatial_table('inspection_findings')

    with op.batch_alter_table('inspection_credential_displays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_credential_displays_inspection_id'))
        batch_op.drop_geospatial_index('idx_inspection_credential_displays_position', postgresql_using='gist', column_name='position')

    op.drop_geospatial_table('inspection_credential_displays')

    with op.batch_alter_table('inspection_check_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_check_ins_inspection_person')
        batch_op.drop_geospatial_index('idx_inspection_check_ins_position', postgresql_using='gist', column_name='position')

    op.drop_geospatial_table('inspection_check_ins')

    with op.batch_alter_table('inspection_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_team_members_person_id'))

    op.drop_table('inspection_team_members')

    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspections_status'))
        batch_op.drop_index(batch_op.f('ix_inspections_enterprise_credit_code'))
        batch_op.drop_index(batch_op.f('ix_inspections_agency_code'))
        batch_op.drop_geospatial_index('idx_inspections_site', postgresql_using='gist', column_name='site')

    op.drop_geospatial_table('inspections')
