"""Benchmark of offline sync: one 500-op batch (people created by sy.hr through POST /api/v1/sync),
end to end in process (httpx ASGITransport, the real app with its lifespan), and its database phase
(the time spent inside SQL statements, from SQLAlchemy's cursor events) against the raw driver
inserting the equivalent rows (aiosqlite / asyncpg executemany: 500 people, 500 idempotency
records, 500 audit-shaped rows, 500 sync_ops rows, one transaction).

    .venv/bin/python bench/bench_sync.py [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
                                         [--reps 3] [--ops 500] [--no-sqlite]

With --pg a scratch database is created beside the given one and dropped afterwards. Bodies carry
no password (a password would be argon2-hashed: ~20 ms per op, measuring the hash, not sync).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from sqlalchemy import event

from backend.app import create_app
from backend.core.auth import issue_access_token
from backend.core.checksums import make_id_number
from backend.core.signing import Keys
from backend.settings import Settings

HR = uuid.uuid5(uuid.NAMESPACE_URL, "fieldcheck-demo:sy.hr")


class IdNumbers:
    """Distinct valid resident ID numbers, never repeating within a run."""

    def __init__(self) -> None:
        self.i = 0

    def next(self) -> str:
        i = self.i
        self.i += 1
        birth = date(1960, 1, 1) + timedelta(days=i // 1000)
        return make_id_number(f"210102{birth:%Y%m%d}{i % 1000:03d}")


def person(ids: IdNumbers) -> dict[str, Any]:
    return {"name": "基准", "id_number": ids.next(), "phone": "13912345678", "agency_code": "210102",
            "role": "social_supervisor"}


async def prepare(url: str, data_dir: Path) -> None:
    from backend.cli import _seed
    from backend.migrations.runner import upgrade

    await asyncio.to_thread(upgrade, url)
    await _seed(Settings(database_url=url, data_dir=str(data_dir), demo=True), demo=True)


class StatementTimer:
    """Wall time spent inside SQL statements (cursor execute), summed."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0

    def attach(self, engine: Any) -> None:
        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
            conn.info.setdefault("bench_t0", []).append(time.perf_counter())

        @event.listens_for(engine.sync_engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any) -> None:
            self.total += time.perf_counter() - conn.info["bench_t0"].pop()
            self.count += 1


async def run_app(url: str, data_dir: Path, reps: int, n_ops: int, ids: IdNumbers,
                  budget_s: float) -> tuple[list[float], list[float], int]:
    settings = Settings(database_url=url, data_dir=str(data_dir), demo=True)
    app = create_app(settings)
    keys = Keys(data_dir).load()
    token = issue_access_token(keys.access, person_id=HR, role="hr_admin", issuer=settings.origin,
                               now=datetime.now(UTC), ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    totals: list[float] = []
    db_phase: list[float] = []
    statements = 0
    async with app.lifespan():
        timer = StatementTimer()
        timer.attach(app.state.engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            warm = {"device_id": "bench", "ops": [{"op_id": str(uuid.uuid4()), "method": "POST",
                                                    "path": "/api/v1/people", "body": person(ids),
                                                    "recorded_at": "2026-11-26T08:00:00+08:00"}]}
            assert (await client.post("/api/v1/sync", json=warm, headers=headers)).status_code == 200
            began = time.perf_counter()
            for _ in range(reps):
                if totals and time.perf_counter() - began > budget_s:
                    break  # keep the whole bench within its time budget; fewer runs, same measure
                ops = [{"op_id": str(uuid.uuid4()), "method": "POST", "path": "/api/v1/people", "body": person(ids),
                        "recorded_at": "2026-11-26T08:00:00+08:00"} for _ in range(n_ops)]
                timer.total, timer.count = 0.0, 0
                t0 = time.perf_counter()
                r = await client.post("/api/v1/sync", json={"device_id": "bench", "ops": ops}, headers=headers,
                                      timeout=600)
                totals.append(time.perf_counter() - t0)
                db_phase.append(timer.total)
                statements = timer.count
                results = r.json()["results"]
                bad = [x for x in results if x["status"] != 201]
                if r.status_code != 200 or bad:
                    raise SystemExit(f"sync failed: {r.status_code} {bad[:2]}")
    return totals, db_phase, statements


def raw_rows(n: int, ids: IdNumbers, now: datetime) -> dict[str, list[tuple[Any, ...]]]:
    people, idem, audit, ops = [], [], [], []
    for i in range(n):
        pid = uuid.uuid4()
        op_id = uuid.uuid4()
        h = hashlib.sha256(f"{pid}".encode()).hexdigest()
        people.append((pid, "基准", ids.next(), date(1990, 1, 1), "13912345678", "210102", "social_supervisor",
                       None, "active", None, None, False, None, None, now, now))
        idem.append((f"hdr:{HR}:op:{op_id}", str(HR), h, 201, f'{{"id": "{pid}"}}', now))
        audit.append((i + 1, now, str(HR), "person.created", f"person:{pid}", '{"name": "x"}', h, h, h, h))
        ops.append((op_id, str(HR), "bench", "POST", "/api/v1/people", h, "t" * 32, now, 201,
                    f'{{"id": "{pid}"}}', now, now))
    return {"people": people, "idempotency": idem, "audit": audit, "ops": ops}


PEOPLE_COLS = ("id, name, id_number, birth_date, phone, agency_code, role, employment, status, username, "
               "password_hash, is_demo, enforcement_certificate_number, enforcement_certificate_valid_until, "
               "created_at, updated_at")
IDEM_COLS = "key, actor, request_sha256, status_code, response, created_at"
AUDIT_COLS = "seq, at, actor, action, subject, data, data_sha256, leaf_hash, prev_hash, hash"
OPS_COLS = ("op_id, caller, device_id, method, path, request_sha256, claim_token, claimed_at, status_code, "
            "response, recorded_at, applied_at")


async def raw_sqlite(path: Path, n: int, reps: int, ids: IdNumbers) -> list[float]:
    import aiosqlite

    times = []
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("CREATE TEMP TABLE bench_audit AS SELECT * FROM audit_entries WHERE 0")
        for _ in range(reps):
            now = datetime.now(UTC).replace(tzinfo=None)
            rows = raw_rows(n, ids, now)

            def conv(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
                return [tuple(v.hex if isinstance(v, uuid.UUID) else v for v in r) for r in rows]

            t0 = time.perf_counter()
            await db.execute("BEGIN IMMEDIATE")
            await db.executemany(f"INSERT INTO people ({PEOPLE_COLS}) VALUES ({','.join('?' * 16)})",
                                 conv(rows["people"]))
            await db.executemany(f"INSERT INTO idempotency_records ({IDEM_COLS}) VALUES (?,?,?,?,?,?)",
                                 rows["idempotency"])
            await db.executemany(f"INSERT INTO bench_audit ({AUDIT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                                 rows["audit"])
            await db.executemany(f"INSERT INTO sync_ops ({OPS_COLS}) VALUES ({','.join('?' * 12)})", conv(rows["ops"]))
            await db.execute("COMMIT")
            times.append(time.perf_counter() - t0)
            await db.execute("DELETE FROM bench_audit")
    return times


async def raw_pg(dsn: str, n: int, reps: int, ids: IdNumbers) -> list[float]:
    times = []
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TEMP TABLE bench_audit (LIKE audit_entries)")
        for _ in range(reps):
            rows = raw_rows(n, ids, datetime.now(UTC))
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.executemany(f"INSERT INTO people ({PEOPLE_COLS}) VALUES "
                                       f"({','.join(f'${i}' for i in range(1, 17))})", rows["people"])
                await conn.executemany(f"INSERT INTO idempotency_records ({IDEM_COLS}) VALUES "
                                       "($1,$2,$3,$4,$5::json,$6)", rows["idempotency"])
                await conn.executemany(f"INSERT INTO bench_audit ({AUDIT_COLS}) VALUES "
                                       "($1,$2,$3,$4,$5,$6::json,$7,$8,$9,$10)", rows["audit"])
                await conn.executemany(f"INSERT INTO sync_ops ({OPS_COLS}) VALUES "
                                       "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10::json,$11,$12)", rows["ops"])
            times.append(time.perf_counter() - t0)
            await conn.execute("DELETE FROM bench_audit")
    finally:
        await conn.close()
    return times


def report(name: str, n: int, totals: list[float], db_phase: list[float], statements: int, raw: list[float]) -> None:
    p50_total = statistics.median(totals)
    p50_db = statistics.median(db_phase)
    p50_raw = statistics.median(raw)
    print(f"\n{name}: {n}-op batch, {len(totals)} runs (raw driver: {len(raw)} runs)")
    print(f"  end to end        p50 {p50_total * 1000:9.1f} ms   ({p50_total / n * 1000:.2f} ms/op, "
          f"{n / p50_total:.0f} ops/s)")
    print(f"  database phase    p50 {p50_db * 1000:9.1f} ms   ({statements} statements, "
          f"{statements / n:.1f} per op)")
    print(f"  raw driver        p50 {p50_raw * 1000:9.1f} ms   (executemany of the equivalent rows)")
    print(f"  ratios: end-to-end / raw = {p50_total / p50_raw:.1f}x, database phase / raw = {p50_db / p50_raw:.1f}x, "
          f"database phase / end-to-end = {p50_db / p50_total:.0%}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="a PostgreSQL URL (postgresql+asyncpg://user@host:port/db); a scratch "
                                     "database is created next to it")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--budget", type=float, default=80.0,
                        help="seconds of batches in all (split between the databases); runs stop early past it")
    args = parser.parse_args()
    ids = IdNumbers()
    per_db = args.budget / (1 + bool(args.pg) - bool(args.no_sqlite)) if args.pg or not args.no_sqlite else 0
    work = Path(tempfile.mkdtemp(prefix="fieldcheck-bench-"))
    started = time.perf_counter()
    try:
        if not args.no_sqlite:
            db = work / "bench.db"
            url = f"sqlite+aiosqlite:///{db}"
            await prepare(url, work)
            totals, phase, statements = await run_app(url, work, args.reps, args.ops, ids, per_db * 0.8)
            raw = await raw_sqlite(db, args.ops, max(args.reps, 5), ids)
            report("SQLite + SpatiaLite", args.ops, totals, phase, statements, raw)
        if args.pg:
            base = args.pg.rsplit("/", 1)[0]
            admin = args.pg.replace("postgresql+asyncpg://", "postgresql://")
            name = f"fieldcheck_bench_{os.getpid()}"
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            try:
                url = f"{base}/{name}"
                await prepare(url, work)
                totals, phase, statements = await run_app(url, work, args.reps, args.ops, ids, per_db * 0.8)
                raw = await raw_pg(url.replace("postgresql+asyncpg://", "postgresql://"), args.ops,
                                   max(args.reps, 5), ids)
                report("PostgreSQL + PostGIS", args.ops, totals, phase, statements, raw)
            finally:
                conn = await asyncpg.connect(admin)
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\ntotal bench time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
