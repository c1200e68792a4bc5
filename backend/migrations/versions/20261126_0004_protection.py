"""protection: incidents (Art. 28, 29), social supervision submissions (Art. 19, 20), notifications

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-26 07:04:34.084690

Drafted with autogenerate against SpatiaLite, then reduced by hand to this domain's tables. Geometry
columns go through GeoAlchemy2's helpers (create_geospatial_table / create_geospatial_index), which
do the right thing on both SpatiaLite (AddGeometryColumn, R*Tree) and PostGIS (GiST).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = '0004'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_geospatial_table('incidents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('article', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('victim', sa.String(length=16), nullable=False),
    sa.Column('relative_relation', sa.String(length=64), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_accuracy_m', sa.Float(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=True),
    sa.Column('reporter_id', sa.Uuid(), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('police_notify_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('police_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assisting_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('investigating_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('investigation_note', sa.Text(), nullable=True),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('liable', sa.Boolean(), nullable=True),
    sa.Column('finding_note', sa.Text(), nullable=True),
    sa.Column('clarification_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clarified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('overdue_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_incidents_agency_code_agencies')),
    sa.ForeignKeyConstraint(['reporter_id'], ['people.id'], name=op.f('fk_incidents_reporter_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_incidents_position', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index('ix_incidents_agency_reported', ['agency_code', 'reported_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_reporter_id'), ['reporter_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_status'), ['status'], unique=False)

    op.create_table('incident_actions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_actions_incident_id_incidents')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_incident_actions_recorded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_actions'))
    )
    with op.batch_alter_table('incident_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_actions_incident_id'), ['incident_id'], unique=False)

    op.create_table('incident_clarifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('form', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_clarifications_incident_id_incidents')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_incident_clarifications_recorded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_clarifications'))
    )
    with op.batch_alter_table('incident_clarifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_clarifications_incident_id'), ['incident_id'], unique=False)

    op.create_table('incident_police_notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('police_unit', sa.String(length=200), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_number', sa.String(length=64), nullable=True),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('recorded_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_police_notifications_incident_id_incidents')),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], name=op.f('fk_incident_police_notifications_recorded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_police_notifications'))
    )
    with op.batch_alter_table('incident_police_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_police_notifications_incident_id'), ['incident_id'], unique=False)

    op.create_geospatial_table('supervision_submissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('agency_code', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('position_accuracy_m', sa.Float(), nullable=True),
    sa.Column('supervisor_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.Uuid(), nullable=True),
    sa.Column('feedback_text', sa.Text(), nullable=True),
    sa.Column('feedback_outcome', sa.String(length=200), nullable=True),
    sa.Column('overdue_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_code'], ['agencies.code'], name=op.f('fk_supervision_submissions_agency_code_agencies')),
    sa.ForeignKeyConstraint(['answered_by'], ['people.id'], name=op.f('fk_supervision_submissions_answered_by_people')),
    sa.ForeignKeyConstraint(['supervisor_id'], ['people.id'], name=op.f('fk_supervision_submissions_supervisor_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_submissions'))
    )
    with op.batch_alter_table('supervision_submissions', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_supervision_submissions_position', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index('ix_supervision_submissions_agency_received', ['agency_code', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_submissions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_submissions_supervisor_id'), ['supervisor_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('recipient_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_zh', sa.String(length=200), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['recipient_id'], ['people.id'], name=op.f('fk_notifications_recipient_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('recipient_id', 'subject', 'kind', name=op.f('uq_notifications_recipient_id_subject_kind'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_recipient_created', ['recipient_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_recipient_created')

    op.drop_table('notifications')
    with op.batch_alter_table('supervision_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_submissions_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_submissions_status'))
        batch_op.drop_index('ix_supervision_submissions_agency_received')
        batch_op.drop_geospatial_index('idx_supervision_submissions_position', postgresql_using='gist',
                                       column_name='position')

    op.drop_geospatial_table('supervision_submissions')
    with op.batch_alter_table('incident_police_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_police_notifications_incident_id'))

    op.drop_table('incident_police_notifications')
    with op.batch_alter_table('incident_clarifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_clarifications_incident_id'))

    op.drop_table('incident_clarifications')
    with op.batch_alter_table('incident_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_actions_incident_id'))

    op.drop_table('incident_actions')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_status'))
        batch_op.drop_index(batch_op.f('ix_incidents_reporter_id'))
        batch_op.drop_index(batch_op.f('ix_incidents_inspection_id'))
        batch_op.drop_index('ix_incidents_agency_reported')
        batch_op.drop_geospatial_index('idx_incidents_position', postgresql_using='gist', column_name='position')

    op.drop_geospatial_table('incidents')
