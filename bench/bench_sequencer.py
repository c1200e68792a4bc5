"""Benchmark of the audit sequencer's rounds: what integrating K pending entries costs, against what
recording them cost the request path, in the same run.

For K in --sizes (default 1, 25, 200): --rounds times, K entries are recorded in one transaction
through `audit.service.record` (what every command does: canonical data hash, a pending row), then
one round integrates them (`sequencer.integrate_once`: seqs, leaf hashes, chain links, tiles, a
signed checkpoint, the witness file). Printed per K: the median time of a round and of the
recording transaction, per entry, and the ratio round ÷ recording. The entries are of a realistic
size (a finding's audit data); one per round carries a 500-op sync batch's data (≈ 60 kB), as a
batch's own entry does.

    .venv/bin/python bench/bench_sequencer.py [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
                                              [--no-sqlite] [--rounds 40] [--sizes 1,25,200]

In-process and single-connection: it measures the sequencer's own work, not contention (for that,
bench_writes.py reports the merge delay under load). With --pg a scratch database is created beside
the given one and dropped afterwards. Compare the ratios; absolute figures follow the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.audit.sequencer import integrate_once
from backend.audit.service import record
from backend.core.clock import Clock
from backend.core.db import make_engine, make_sessionmaker, transaction
from backend.core.signing import Keys
from backend.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_writes import pg_admin, prepare  # the same scratch-database helpers


def _batch_data() -> dict[str, object]:
    return {"device_id": "bench", "ops": [{"op_id": str(uuid.uuid4()), "method": "POST",
                                           "path": f"/api/v1/inspections/{uuid.uuid4()}/findings",
                                           "status": 201, "recorded_at": "2026-11-20T09:30:00Z"}
                                          for _ in range(500)]}


async def bench(name: str, url: str, data_dir: Path, rounds: int, sizes: list[int]) -> None:
    await prepare(url, data_dir)
    settings = Settings(database_url=url, data_dir=str(data_dir), demo=True)
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    seal = Keys(data_dir).load().seal
    clock = Clock()
    batch = _batch_data()
    print(f"\n{name}: {rounds} rounds per size (median)")
    try:
        await integrate_once(maker, seal=seal, settings=settings, clock=clock)  # whatever seeding left
        for k in sizes:
            recording: list[float] = []
            integrating: list[float] = []
            for r in range(rounds):
                t0 = time.perf_counter()
                async with transaction(maker) as session:
                    for i in range(k):
                        data = batch if i == 0 and k > 1 else {
                            "finding_id": str(uuid.uuid4()), "hazard_level": "general", "round": r}
                        await record(session, actor=f"person:{uuid.uuid4()}", action="inspection.finding_added",
                                     subject=f"inspection:{uuid.uuid4()}", data=data, at=datetime.now(UTC))
                t1 = time.perf_counter()
                result = await integrate_once(maker, seal=seal, settings=settings, clock=clock)
                t2 = time.perf_counter()
                if result.integrated != k:
                    raise SystemExit(f"round integrated {result.integrated} entries, expected {k}")
                recording.append(t1 - t0)
                integrating.append(t2 - t1)
            rec, rnd = statistics.median(recording), statistics.median(integrating)
            print(f"  K={k:4d}  round {rnd * 1e3:7.2f} ms ({rnd / k * 1e3:6.3f} ms/entry)   "
                  f"recording {rec * 1e3:7.2f} ms ({rec / k * 1e3:6.3f} ms/entry)   round ÷ recording {rnd / rec:5.2f}")
    finally:
        await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="a PostgreSQL URL; a scratch database is created next to it")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--sizes", default="1,25,200")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.no_sqlite:
            (work / "sqlite").mkdir()
            asyncio.run(bench("SQLite + SpatiaLite", f"sqlite+aiosqlite:///{work}/sqlite/fieldcheck.db",
                              work / "sqlite", args.rounds, sizes))
        if args.pg:
            base, _, _ = args.pg.rpartition("/")
            scratch = f"fieldcheck_bench_seq_{uuid.uuid4().hex[:8]}"
            pg_admin(args.pg, f'CREATE DATABASE "{scratch}"')
            try:
                (work / "pg").mkdir()
                asyncio.run(bench("PostgreSQL + PostGIS", f"{base}/{scratch}", work / "pg", args.rounds, sizes))
            finally:
                pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
