"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from backend.core.db import make_engine
from backend.migrations.helpers import include_object
from backend.migrations.runner import current_heads
from backend.models import Base

pytestmark = pytest.mark.db


async def test_models_and_migrations_agree(db_url):
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            def diff(sync_conn):
                ctx = MigrationContext.configure(sync_conn, opts={"include_object": include_object,
                                                                  "compare_type": True})
                return compare_metadata(ctx, Base.metadata)

            changes = await conn.run_sync(diff)
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert changes == [], changes
    assert set(Base.metadata.tables) <= tables


async def test_upgrade_is_idempotent_and_at_head(db_url):
    import asyncio

    from backend.migrations.runner import upgrade

    await asyncio.to_thread(upgrade, db_url)  # already at head: a no-op, not an error
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            from sqlalchemy import text

            versions = {r[0] for r in (await conn.execute(text("SELECT version_num FROM alembic_version")))}
    finally:
        await engine.dispose()
    assert versions == set(current_heads(db_url))
