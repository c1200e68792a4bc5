"""scale-out: change counters (+ triggers, NOTIFY on PostgreSQL), shared signing keys

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-06 17:00:00

The triggers bump `change_versions` on every change of credentials, agencies (their names show in
verification answers) and signing keys, whoever writes: every process compares the counter with
the one its in-memory copy was built at. On PostgreSQL they also `pg_notify('fieldcheck_changes',
'<topic>:<version>[:<id>]')`, delivered at commit, so listening processes see a revocation at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_FUNCTIONS = ("""
CREATE OR REPLACE FUNCTION fieldcheck_credential_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
  UPDATE change_versions SET version = version + 1 WHERE name = 'credentials' RETURNING version INTO v;
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('fieldcheck_changes', 'credentials:' || v || ':' || OLD.id::text);
  ELSE
    PERFORM pg_notify('fieldcheck_changes', 'credentials:' || v || ':' || NEW.id::text);
  END IF;
  RETURN NULL;
END $$""", """
CREATE OR REPLACE FUNCTION fieldcheck_topic_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
  UPDATE change_versions SET version = version + 1 WHERE name = TG_ARGV[0] RETURNING version INTO v;
  PERFORM pg_notify('fieldcheck_changes', TG_ARGV[0] || ':' || v);
  RETURN NULL;
END $$""")


def upgrade() -> None:
    op.create_table(
        "change_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_versions")),
    )
    op.execute("INSERT INTO change_versions (name, version) VALUES ('credentials', 1), ('signing_keys', 1)")
    op.create_table(
        "signing_keys",
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("private_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("purpose", "kid", name=op.f("pk_signing_keys")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_FUNCTIONS:  # asyncpg prepares each statement: one command at a time
            op.execute(statement)
        op.execute("CREATE TRIGGER credentials_changed AFTER INSERT OR UPDATE OR DELETE ON credentials "
                   "FOR EACH ROW EXECUTE FUNCTION fieldcheck_credential_changed()")
        op.execute("CREATE TRIGGER agencies_changed AFTER INSERT OR UPDATE OR DELETE ON agencies "
                   "FOR EACH STATEMENT EXECUTE FUNCTION fieldcheck_topic_changed('credentials')")
        op.execute("CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE ON signing_keys "
                   "FOR EACH STATEMENT EXECUTE FUNCTION fieldcheck_topic_changed('signing_keys')")
        return
    for table, topic in (("credentials", "credentials"), ("agencies", "credentials"),
                         ("signing_keys", "signing_keys")):
        for event in ("INSERT", "UPDATE", "DELETE"):
            bump = f"UPDATE change_versions SET version = version + 1 WHERE name = '{topic}'"  # noqa: S608 (constants)
            op.execute(f"CREATE TRIGGER {table}_changed_{event.lower()} AFTER {event} ON {table} BEGIN {bump}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS credentials_changed ON credentials")
        op.execute("DROP TRIGGER IF EXISTS agencies_changed ON agencies")
        op.execute("DROP TRIGGER IF EXISTS signing_keys_changed ON signing_keys")
        op.execute("DROP FUNCTION IF EXISTS fieldcheck_credential_changed()")
        op.execute("DROP FUNCTION IF EXISTS fieldcheck_topic_changed()")
    else:
        for table in ("credentials", "agencies", "signing_keys"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_changed_{event}")
    op.drop_table("signing_keys")
    op.drop_table("change_versions")
