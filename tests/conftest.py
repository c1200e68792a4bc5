"""Test harness.

Every test that asks for `client` (or `db_url`) runs twice: on SQLite + SpatiaLite and on
PostgreSQL + PostGIS. The schema comes from `alembic upgrade head` once per backend into a
template (plus the agency tree and the demo accounts); each test then gets its own copy — a file
copy on SQLite, `CREATE DATABASE ... TEMPLATE` on PostgreSQL. A copy rather than a rolled-back
transaction because the code under test commits for real: concurrency, idempotency and the audit
chain are only tested honestly across real transactions.

FIELDCHECK_TEST_BACKENDS=sqlite (or postgresql) narrows the run for a quick local loop; CI runs both.
FIELDCHECK_TEST_PG_ADMIN is the maintenance database URL (default postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.core.auth import issue_access_token
from backend.core.clock import FixedClock
from backend.core.db import make_engine, make_sessionmaker
from backend.core.signing import Keys
from backend.settings import Settings

BACKENDS = [b.strip() for b in os.environ.get("FIELDCHECK_TEST_BACKENDS", "sqlite,postgresql").split(",") if b.strip()]
PG_ADMIN = os.environ.get("FIELDCHECK_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def pg_url(database: str) -> str:
    """The SQLAlchemy URL of `database` on the server of PG_ADMIN (TCP or a socket `?host=` DSN)."""
    parts = urlsplit(PG_ADMIN)
    return urlunsplit(("postgresql+asyncpg", parts.netloc, f"/{database}", parts.query, ""))

TEMPLATE_DB = f"fieldcheck_tpl_{os.getpid()}"
SAMPLES = Path(os.environ.get("FIELDCHECK_SAMPLES_DIR",
                              Path(__file__).resolve().parents[1].parent / "shared" / "samples" / "exif"))


class TestClock(FixedClock):
    """A fixed clock that tests move forward to cross deadlines without sleeping."""

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)


def demo_id(username: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fieldcheck-demo:{username}")


async def _prepare(url: str, data_dir: Path) -> None:
    from backend.cli import _seed
    from backend.migrations.runner import upgrade

    await asyncio.to_thread(upgrade, url)
    await _seed(Settings(database_url=url, data_dir=str(data_dir), demo=True), demo=True)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    Keys(path).load()
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.postgresql_only` tests exist only in their PostgreSQL variant (not a skip: the
    SQLite variant describes nothing that can happen)."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        sqlite_variant = callspec is not None and callspec.params.get("backend_name") == "sqlite"
        (drop if sqlite_variant and item.get_closest_marker("postgresql_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def template(backend_name: str, keys_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend_name == "sqlite":
        path = tmp_path_factory.mktemp("tpl") / "template.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(_prepare(url, keys_dir))
        yield str(path)
        return

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"')
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        finally:
            await conn.close()

    try:
        asyncio.run(create())
    except OSError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}); run scripts/test.sh, which starts it, "
                    "or set FIELDCHECK_TEST_BACKENDS=sqlite for a SQLite-only run")
    asyncio.run(_prepare(pg_url(TEMPLATE_DB), keys_dir))
    yield TEMPLATE_DB

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture
async def db_url(backend_name: str, template: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend_name == "sqlite":
        target = tmp_path / "test.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    name = f"fieldcheck_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    yield pg_url(name)
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def clock() -> TestClock:
    return TestClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(db_url: str, keys_dir: Path, tmp_path: Path) -> Settings:
    # The app's own background sequencer is off: tests integrate the audit log at the moment they
    # choose (the `integrate` fixture), so what they see does not depend on timing.
    return Settings(database_url=db_url, data_dir=str(keys_dir), demo=True,
                    public_base_url="http://testserver.local", audit_sequencer=False,
                    audit_witness_file=str(tmp_path / "audit-checkpoint.txt"))


@pytest.fixture
async def app(settings: Settings, clock: TestClock) -> Any:
    return create_app(settings, clock=clock)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
def token_for(keys_dir: Path, settings: Settings) -> Any:
    """Bearer headers for a demo account, or any person id, without a password round trip."""
    keys = Keys(keys_dir).load()

    def make(who: str | uuid.UUID, role: str = "") -> dict[str, str]:
        person_id = who if isinstance(who, uuid.UUID) else demo_id(who)
        token = issue_access_token(keys.access, person_id=person_id, role=role, issuer=settings.origin,
                                   now=datetime.now(UTC), ttl_s=600)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
async def session_factory(db_url: str) -> AsyncIterator[Any]:
    """A sessionmaker on the test's own event loop (the test client runs the app on another one,
    so the app's own engine cannot be shared with test code)."""
    engine = make_engine(db_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def integrate_audit(settings: Settings, clock: Any = None) -> int:
    """Run the audit sequencer until nothing committed is pending, as `fieldcheck audit integrate`
    does; returns how many entries it integrated."""
    from backend.audit.sequencer import integrate_all
    from backend.core.clock import Clock

    engine = make_engine(settings.resolved_database_url)
    try:
        return await integrate_all(make_sessionmaker(engine), seal=Keys(Path(settings.data_dir)).load().seal,
                                   settings=settings, clock=clock or Clock())
    finally:
        await engine.dispose()


@pytest.fixture
def integrate(settings: Settings, clock: TestClock) -> Any:
    """`await integrate()`: the audit sequencer's rounds, now (the test app runs none by itself)."""

    async def run() -> int:
        return await integrate_audit(settings, clock)

    return run
