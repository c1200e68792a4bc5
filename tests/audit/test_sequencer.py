"""The sequencer against real server processes: two `uvicorn` servers on the same database, each
running the sequencer loop of `fieldcheck serve`, writers hitting both at once. Every recorded entry
must be integrated exactly once, with seqs 1..n and no gap, the log in seq order must verify, and a
sequencer killed with SIGKILL in the middle of a round must lose nothing and integrate nothing twice
once the other server takes over."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select, text

from backend.audit import repository
from backend.audit.models import AuditEntry, AuditPending
from backend.audit.sequencer import integrate_all, integrate_round
from backend.audit.service import record
from backend.audit.verify import verify_chain
from backend.core.auth import issue_access_token
from backend.core.checksums import make_id_number
from backend.core.clock import Clock
from backend.core.db import make_engine, make_sessionmaker
from backend.core.signing import Keys
from tests.conftest import PG_ADMIN, demo_id
from tests.evidence.test_crash import REPO, Server, free_port

pytestmark = pytest.mark.db


def person_body() -> dict[str, Any]:
    return {"name": "并发", "id_number": make_id_number("21010219850101" + f"{uuid.uuid4().int % 1000:03d}"),
            "phone": "13912345678", "agency_code": "210102", "role": "social_supervisor"}


def start_server(settings: Any, log: Path) -> Server:
    env = {**os.environ, "FIELDCHECK_DATABASE_URL": settings.database_url, "FIELDCHECK_DATA_DIR": settings.data_dir,
           "FIELDCHECK_AUDIT_WITNESS_FILE": settings.audit_witness_file, "FIELDCHECK_DEMO": "1",
           "FIELDCHECK_AUDIT_MAX_MERGE_DELAY_MS": "400", "PYTHONPATH": str(REPO)}
    server = Server(env, free_port(), log)
    server.start()
    return server


def start_servers(settings: Any, tmp_path: Path) -> list[Server]:
    return [start_server(settings, tmp_path / f"server{i}.log") for i in range(2)]


async def write_people(urls: list[str], headers: dict[str, str], writers: int, each: int,
                       created: list[str] | None = None, *, tolerate_kill: bool = False) -> list[str]:
    """`writers` concurrent clients, spread over the servers, each creating `each` people. With
    `tolerate_kill`, a writer whose server dies stops (its last request may or may not have committed)."""
    created = [] if created is None else created

    async def writer(n: int) -> None:
        async with httpx.AsyncClient(base_url=urls[n % len(urls)], timeout=30) as http:
            done = 0
            while done < each:
                try:
                    r = await http.post("/api/v1/people", json=person_body(), headers=headers)
                except httpx.TransportError:
                    if tolerate_kill:
                        return
                    raise
                if r.status_code == 201:
                    created.append(r.json()["id"])
                    done += 1
                else:
                    assert r.status_code == 409, r.text  # a random id number that happened to repeat

    await asyncio.gather(*(writer(n) for n in range(writers)))
    return created


async def wait_integrated(db_url: str, within_s: float = 20.0) -> None:
    engine = make_engine(db_url)
    try:
        deadline = time.monotonic() + within_s
        while True:
            async with engine.connect() as conn:
                left = (await conn.execute(select(func.count()).select_from(AuditPending))).scalar_one()
            if left == 0:
                return
            assert time.monotonic() < deadline, f"{left} entries still pending after {within_s} s"
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def check_log(settings: Any, created: list[str]) -> None:
    """Every created person has exactly one person.created entry; seqs are 1..n; the log verifies."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as s:
            seqs = list((await s.execute(select(AuditEntry.seq).order_by(AuditEntry.seq))).scalars())
            assert seqs == list(range(1, len(seqs) + 1))
            subjects = list((await s.execute(
                select(AuditEntry.subject).where(AuditEntry.action == "person.created"))).scalars())
            assert len(subjects) == len(set(subjects))  # nothing integrated twice
            assert {f"person:{pid}" for pid in created} <= set(subjects)  # nothing lost
            result, _ = await verify_chain(s, seal=Keys(Path(settings.data_dir)).load().seal,
                                           key_name=settings.origin)
            assert result.ok, result.problems
            assert result.tree_size == len(seqs) and result.checkpoints_checked >= 1
    finally:
        await engine.dispose()


def auth(settings: Any) -> dict[str, str]:
    keys = Keys(Path(settings.data_dir)).load()
    token = issue_access_token(keys.access, person_id=demo_id("sy.hr"), role="", issuer=settings.origin,
                               now=datetime.now(UTC), ttl_s=3600)
    return {"Authorization": f"Bearer {token}"}


async def test_two_servers_integrate_every_entry_exactly_once(settings, tmp_path):
    servers = start_servers(settings, tmp_path)
    try:
        created = await write_people([s.url for s in servers], auth(settings), writers=8, each=15)
        await wait_integrated(settings.database_url)
    finally:
        for server in servers:
            server.stop()
    assert len(created) == 120
    await check_log(settings, created)
    # The witness file follows the log.
    assert settings.witness_path.read_text("utf-8").split("\n")[1].isdigit()


async def _sequencer_backend(conn: asyncpg.Connection, database: str) -> int | None:
    """PID of the database backend holding the sequencer's leader lock."""
    from backend.audit.repository import LEADER_LOCK_KEY

    row = await conn.fetchrow(
        "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1 "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = $2", database, LEADER_LOCK_KEY)
    return None if row is None else int(row["pid"])


async def test_sequencer_killed_mid_round_is_replaced(settings, tmp_path, backend_name):
    """PostgreSQL: the leader is caught inside a round for certain (its DELETE of the pending rows waits
    on a row lock this test holds), then killed with SIGKILL; the other server takes over. SQLite: the
    leader is killed at arbitrary moments while writers run (a SQLite round cannot be held open from
    outside), three times in a row, each time replaced by a fresh server."""
    servers = start_servers(settings, tmp_path)
    urls = [s.url for s in servers]
    created: list[str] = []
    try:
        if backend_name == "postgresql":
            database = settings.database_url.rsplit("/", 1)[1]
            admin = await asyncpg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{database}")
            try:
                # Which server leads? The one whose database session holds the leader lock.
                deadline = time.monotonic() + 10
                while (leader_backend := await _sequencer_backend(admin, database)) is None:
                    assert time.monotonic() < deadline, "no sequencer took the lead"
                    await asyncio.sleep(0.1)
                created += await write_people(urls, auth(settings), writers=4, each=5)
                await wait_integrated(settings.database_url)
                # Hold the checkpoint table: the next round with entries writes them, deletes their
                # pending rows and its tiles, then waits to store its checkpoint — mid-batch.
                tx = admin.transaction()
                await tx.start()
                await admin.execute("LOCK TABLE audit_checkpoints IN SHARE MODE")
                await write_people(urls, auth(settings), writers=2, each=2, created=created)
                deadline = time.monotonic() + 10
                while not await admin.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
                        leader_backend):
                    assert time.monotonic() < deadline, "the sequencer never reached its checkpoint"
                    await asyncio.sleep(0.05)
                # The leader's server process: the one whose port its backend's client uses.
                client_port = await admin.fetchval("SELECT client_port FROM pg_stat_activity WHERE pid = $1",
                                                   leader_backend)
                leader = next(s for s in servers if _owns_port(s, client_port))
                leader.kill()
                await tx.rollback()  # the orphaned round wakes, finds its client gone, rolls back
                survivor = next(s for s in servers if s is not leader)
                created += await write_people([survivor.url], auth(settings), writers=4, each=5)
                await wait_integrated(settings.database_url, within_s=15)
            finally:
                await admin.close()
        else:
            for attempt in range(3):
                writing = asyncio.create_task(write_people(urls, auth(settings), writers=4, each=10, created=created,
                                                           tolerate_kill=True))
                await asyncio.sleep(0.7)
                victim = attempt % 2  # the leader is one of the two; over three rounds both die
                servers[victim].kill()
                await writing
                servers[victim] = start_server(settings, tmp_path / f"restart{attempt}.log")
                urls[victim] = servers[victim].url
                await wait_integrated(settings.database_url, within_s=15)
    finally:
        for server in servers:
            server.stop()
    await check_log(settings, created)


def _owns_port(server: Server, port: int) -> bool:
    """Whether the local TCP port `port` belongs to the server's process (from /proc)."""
    assert server.proc is not None
    inodes = set()
    for fd in Path(f"/proc/{server.proc.pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[9] in inodes:
                return True
    return False


@pytest.mark.postgresql_only
async def test_a_late_commit_with_a_lower_id_is_integrated_in_a_later_round(settings, backend_name):
    """Commit order is not id order. SQLite cannot have two write transactions at once, so only
    PostgreSQL can produce the situation."""
    assert backend_name == "postgresql"
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    seal = Keys(Path(settings.data_dir)).load().seal
    try:
        async with maker() as early, maker() as late:
            await record(early, actor="t", action="test.early", subject="test:early", data={}, at=datetime.now(UTC))
            await early.flush()  # takes the lower id, does not commit yet
            await record(late, actor="t", action="test.late", subject="test:late", data={}, at=datetime.now(UTC))
            await late.commit()
            await integrate_all(maker, seal=seal, settings=settings, clock=Clock())
            await early.commit()
        await integrate_all(maker, seal=seal, settings=settings, clock=Clock())
        async with maker() as s:
            rows = dict((await s.execute(select(AuditEntry.subject, AuditEntry.seq)
                                         .where(AuditEntry.subject.in_(["test:early", "test:late"])))).all())
            pending = (await s.execute(text("SELECT count(*) FROM audit_pending"))).scalar_one()
        assert rows["test:late"] < rows["test:early"] and pending == 0
    finally:
        await engine.dispose()


async def test_a_pending_row_gone_before_its_move_fails_the_round_not_the_log(settings, monkeypatch):
    """Entries move by INSERT ... SELECT from their pending rows; one that matched no row would
    insert nothing without an error. The round counts what it moved and rolls back instead of
    signing a checkpoint over a gap."""
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    seal = Keys(Path(settings.data_dir)).load().seal
    try:
        await integrate_all(maker, seal=seal, settings=settings, clock=Clock())
        async with maker() as s:
            for i in range(3):
                await record(s, actor="t", action="test.move", subject=f"test:move-{i}", data={"i": i},
                             at=datetime.now(UTC))
            await s.commit()
        real = repository.pending_batch

        async def one_row_gone(session: Any, limit: int) -> Any:
            rows = list(await real(session, limit))
            await session.execute(text("DELETE FROM audit_pending WHERE id = :id"), {"id": rows[1].id})
            return rows

        with monkeypatch.context() as patched:
            patched.setattr(repository, "pending_batch", one_row_gone)
            async with maker() as s:
                with pytest.raises(RuntimeError, match="moved 2 of 3"):
                    await integrate_round(s, seal=seal, key_name=settings.origin, clock=Clock())
                await s.rollback()
        # Nothing of the failed round stayed: the three entries integrate in the next one.
        assert await integrate_all(maker, seal=seal, settings=settings, clock=Clock()) == 3
        async with maker() as s:
            seqs = sorted((await s.execute(select(AuditEntry.seq)
                                           .where(AuditEntry.action == "test.move"))).scalars())
            assert seqs == list(range(seqs[0], seqs[0] + 3))
    finally:
        await engine.dispose()
