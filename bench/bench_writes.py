"""Benchmark of the write path and of the record at scale.

1. Writes/s through the API: `POST /api/v1/supervision/submissions` (a social supervisor's clue:
   one submission row, notifications for the staff above, one audit entry), load from `wrk` (Debian
   package) in a separate process pinned with `taskset` to CPU 1, concurrency 16, against uvicorn with
   1 and 2 workers; and the same handler with the audit `record()` replaced by a no-op (the baseline:
   the same rows, no log), in the same run. During each run `pg_stat_activity` is sampled every
   100 ms (what every connection waits on) and the servers' CPU is read from /proc. A probe client
   measures the merge delay: from a write's response (its commit) to its entry having a seq.
2. Proofs at scale: a scratch log of `--entries` synthetic entries (default 1 000 000) is generated
   straight into the tables (entries, tiles, checkpoint, exactly as the sequencer would write them),
   then inclusion and consistency proofs are timed through the service functions (p50, p90).
3. `fieldcheck audit verify` peak RSS (a child process, from wait4) at two log sizes.

    .venv/bin/python bench/bench_writes.py [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
        [--no-sqlite] [--duration 10] [--entries 1000000] [--verify-sizes 100000,1000000] [--skip-scale]

With --pg scratch databases are created beside the given one and dropped afterwards. Absolute
figures depend on whatever else loads this 2-core machine; compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx

from backend.core.auth import issue_access_token
from backend.core.signing import Keys
from backend.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SUPERVISOR = uuid.uuid5(uuid.NAMESPACE_URL, "fieldcheck-demo:sy.supervisor")
BODY = {"kind": "hazard_clue", "agency_code": "210100", "subject": "某化工厂消防通道堵塞",
        "body": "东门消防通道长期堆放货物", "position": {"lon": 123.40, "lat": 41.80, "crs": "wgs84"}}


# --- the app under test (uvicorn --factory bench.bench_writes:make_app) ---

def make_app() -> Any:
    """The real app; with FIELDCHECK_BENCH_BASELINE=1 the supervision service's audit `record()` is a
    no-op, so the same handler inserts the same rows without the log: the baseline."""
    if os.environ.get("FIELDCHECK_BENCH_BASELINE") == "1":
        import backend.supervision.service as supervision

        async def no_log(*_args: Any, **_kwargs: Any) -> None:
            return None

        supervision.record = no_log  # type: ignore[assignment]
    from backend.asgi import make_app as real

    return real()


# --- helpers ---

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += children(int(child))
    except OSError:
        pass
    return out


def machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def pg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def pg_admin(url: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(pg_dsn(url).rsplit("/", 1)[0] + "/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


async def prepare(url: str, data_dir: Path, *, seed: bool = True) -> None:
    from backend.cli import _seed
    from backend.migrations.runner import upgrade

    await asyncio.to_thread(upgrade, url)
    if seed:
        await _seed(Settings(database_url=url, data_dir=str(data_dir), demo=True), demo=True)


class Server:
    def __init__(self, url: str, data_dir: Path, workers: int, baseline: bool, log: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "FIELDCHECK_DATABASE_URL": url, "FIELDCHECK_DATA_DIR": str(data_dir),
               "FIELDCHECK_DEMO": "1", "FIELDCHECK_BENCH_BASELINE": "1" if baseline else "0",
               "PYTHONPATH": str(REPO)}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "bench.bench_writes:make_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(self.port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    time.sleep(1.0 if workers > 1 else 0.2)  # let every worker come up
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(log.read_text()[-3000:])
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ActivitySampler(threading.Thread):
    """Every 100 ms: what each client backend of the database waits on."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop_event = threading.Event()
        self.samples = 0
        self.waits: Counter[str] = Counter()
        self.advisory_waiters_max = 0

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        dsn = pg_dsn(self.url)
        database = dsn.rsplit("/", 1)[1]
        conn = await asyncpg.connect(dsn)
        try:
            while not self.stop_event.is_set():
                rows = await conn.fetch(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()", database)
                self.samples += 1
                advisory = 0
                for r in rows:
                    key = f"{r['state']}:{r['wait_event_type'] or '-'}/{r['wait_event'] or '-'}"
                    self.waits[key] += 1
                    if r["wait_event"] == "advisory":
                        advisory += 1
                self.advisory_waiters_max = max(self.advisory_waiters_max, advisory)
                await asyncio.sleep(0.1)
        finally:
            await conn.close()


def lua_script(path: Path, token: str) -> None:
    body = json.dumps(BODY, ensure_ascii=False).replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n', "utf-8")


def run_wrk(port: int, script: Path, duration: int, connections: int = 16) -> tuple[float, int, int]:
    """(requests/s, requests, non-2xx) from one wrk run pinned to CPU 1."""
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "-s", str(script),
         f"http://127.0.0.1:{port}/api/v1/supervision/submissions"],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, total, int(bad.group(1)) if bad else 0


class MergeProbe(threading.Thread):
    """During a run, one more client: it writes a submission, notes when the response (hence the
    commit) arrived, and polls the database until the entry is sequenced. Commit → integrated is
    the merge delay the server promises; each probe is an upper bound of it."""

    def __init__(self, url: str, port: int, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.port, self.token = url, port, token
        self.stop_event = threading.Event()
        self.delays: list[float] = []

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        pg = self.url.startswith("postgresql")
        conn: Any = await asyncpg.connect(pg_dsn(self.url)) if pg else sqlite3.connect(self.url.split("///", 1)[1])
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
                while not self.stop_event.is_set():
                    r = await http.post("/api/v1/supervision/submissions", json=BODY,
                                        headers={"Authorization": f"Bearer {self.token}"})
                    committed = time.monotonic()
                    if r.status_code != 201:
                        continue
                    subject = f"supervision_submission:{r.json()['id']}"
                    while time.monotonic() - committed < 30:
                        if pg:
                            found = await conn.fetchval("SELECT 1 FROM audit_entries WHERE subject = $1", subject)
                        else:
                            found = conn.execute("SELECT 1 FROM audit_entries WHERE subject = ?", (subject,)).fetchone()
                        if found:
                            self.delays.append(time.monotonic() - committed)
                            break
                        await asyncio.sleep(0.01)
                    await asyncio.sleep(0.2)
        finally:
            if pg:
                await conn.close()
            else:
                conn.close()


def writes(name: str, url: str, data_dir: Path, tmp: Path, duration: int) -> None:
    keys = Keys(data_dir).load()
    token = issue_access_token(keys.access, person_id=SUPERVISOR, role="", issuer=Settings().origin,
                               now=datetime.now(UTC), ttl_s=3600)
    script = tmp / "post.lua"
    lua_script(script, token)
    results: dict[tuple[str, int], float] = {}
    print(f"\n== {name}: POST /api/v1/supervision/submissions, wrk -c16 on CPU 1, {duration} s per run")
    print(f"{'variant':<10} {'workers':>7} {'writes/s':>9} {'non-2xx':>7} {'server CPU':>10} {'machine':>8}  "
          "merge delay p50/max       waits sampled")
    for variant, workers in (("log", 1), ("baseline", 1), ("log", 2), ("baseline", 2)):
        server = Server(url, data_dir, workers, variant == "baseline", tmp / f"{name}-{variant}-{workers}.log")
        try:
            run_wrk(server.port, script, 2)  # warm-up
            pids = children(server.proc.pid)
            sampler = ActivitySampler(url) if url.startswith("postgresql") else None
            if sampler:
                sampler.start()
            probe = MergeProbe(url, server.port, token) if variant == "log" else None
            if probe:
                probe.start()
            cpu0 = sum(cpu_s(p) for p in pids)
            busy0, total0 = machine_busy()
            t0 = time.monotonic()
            rate, _total, bad = run_wrk(server.port, script, duration)
            wall = time.monotonic() - t0
            if probe:
                probe.stop_event.set()
                probe.join()
            cpu = (sum(cpu_s(p) for p in pids) - cpu0) / wall
            busy1, total1 = machine_busy()
            if sampler:
                sampler.stop_event.set()
                sampler.join()
            delays = probe.delays if probe else []
        finally:
            server.stop()
        results[(variant, workers)] = rate
        delay = (f"{statistics.median(delays) * 1000:4.0f}/{max(delays) * 1000:4.0f} ms (n={len(delays)})"
                 if delays else "-")
        waits = ""
        if sampler:
            top = ", ".join(f"{k} {v / sampler.samples:.1f}" for k, v in sampler.waits.most_common(4))
            waits = f"avg/sample: {top}; advisory waiters max {sampler.advisory_waiters_max}"
        print(f"{variant:<10} {workers:>7} {rate:>9.0f} {bad:>7} {cpu * 100:>9.0f}% "
              f"{(busy1 - busy0) / (total1 - total0) * 100:>7.0f}%  {delay:<24} {waits}")
    for workers in (1, 2):
        print(f"log / baseline, {workers} worker(s): {results[('log', workers)] / results[('baseline', workers)]:.2f}")
    print(f"2 workers / 1 worker (log): {results[('log', 2)] / results[('log', 1)]:.2f}; "
          f"baseline: {results[('baseline', 2)] / results[('baseline', 1)]:.2f}")


# --- the record at scale ---

async def synthesize(url: str, n: int, data_dir: Path) -> None:
    """n entries written as the sequencer would (entries, tiles, one checkpoint), in bulk."""
    from backend.audit import merkle, tiles
    from backend.audit.service import GENESIS, canonical, chain_hash, entry_leaf, leaf_hash, make_checkpoint
    from backend.core.clock import Clock
    from backend.core.db import make_engine, make_sessionmaker

    await prepare(url, data_dir, seed=False)
    cr = merkle.CompactRange()
    prev = GENESIS
    at = datetime(2026, 1, 1, tzinfo=UTC)
    chunk: list[tuple[Any, ...]] = []
    pg = url.startswith("postgresql")
    conn: Any = await asyncpg.connect(pg_dsn(url)) if pg else sqlite3.connect(url.split("///", 1)[1])

    async def flush() -> None:
        if pg:
            await conn.copy_records_to_table(
                "audit_entries", records=chunk,
                columns=["seq", "at", "actor", "action", "subject", "data", "data_sha256", "leaf_hash", "prev_hash",
                         "hash"])
        else:
            conn.executemany("INSERT INTO audit_entries VALUES (?,?,?,?,?,?,?,?,?,?)",
                             [(r[0], r[1].isoformat(), *r[2:]) for r in chunk])
            conn.commit()
        chunk.clear()

    for seq in range(1, n + 1):
        when = at + timedelta(milliseconds=seq)
        data = {"n": seq}
        data_sha = hashlib.sha256(canonical(data)).hexdigest()
        leaf = leaf_hash(entry_leaf(seq, when, "bench", "bench.synthetic", f"bench:{seq % 1000}", data_sha))
        link = chain_hash(prev, leaf)
        chunk.append((seq, when, "bench", "bench.synthetic", f"bench:{seq % 1000}", json.dumps(data), data_sha,
                      leaf, prev, link))
        prev = link
        cr.append(bytes.fromhex(leaf))
        if len(chunk) >= 20_000:
            await flush()
    if chunk:
        await flush()
    if pg:
        await conn.close()
    else:
        conn.close()
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            await tiles.write_full_tiles(s, n)
            seal = Keys(data_dir).load().seal
            s.add(make_checkpoint(cr, seal=seal, key_name=Settings().origin, now=Clock().now()))
            await s.commit()
    finally:
        await engine.dispose()


async def time_round_trip(url: str, samples: int = 300) -> list[float]:
    """The floor under any proof on this machine right now: a session with one `SELECT 1`."""
    from sqlalchemy import text

    from backend.core.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    out = []
    try:
        maker = make_sessionmaker(engine, read_only=True)
        for _ in range(samples):
            async with maker() as s:
                t0 = time.perf_counter()
                await s.execute(text("SELECT 1"))
                out.append(time.perf_counter() - t0)
    finally:
        await engine.dispose()
    return out


async def time_proofs(url: str, n: int, samples: int = 300) -> tuple[list[float], list[float]]:
    from backend.audit import merkle, service
    from backend.core.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    rng = random.Random(7)
    inc: list[float] = []
    con: list[float] = []
    try:
        maker = make_sessionmaker(engine, read_only=True)
        for _ in range(samples):
            seq = rng.randint(1, n)
            async with maker() as s:
                t0 = time.perf_counter()
                p = await service.inclusion(s, seq)
                inc.append(time.perf_counter() - t0)
            # Outside the timing: the proof must be right, or its speed means nothing.
            assert merkle.verify_inclusion(base64.b64decode(p.leaf_hash), seq - 1, p.tree_size,
                                           [base64.b64decode(x) for x in p.audit_path], base64.b64decode(p.root_hash))
            old = rng.randint(1, n - 1)
            async with maker() as s:
                t0 = time.perf_counter()
                await service.consistency(s, old)
                con.append(time.perf_counter() - t0)
    finally:
        await engine.dispose()
    return inc, con


def verify_rss(url: str, data_dir: Path) -> tuple[float, int, str]:
    """(seconds, peak RSS KiB, last line) of `fieldcheck audit verify` in a child process."""
    env = {**os.environ, "FIELDCHECK_DATABASE_URL": url, "FIELDCHECK_DATA_DIR": str(data_dir),
           "FIELDCHECK_AUDIT_WITNESS_FILE": str(data_dir / f"witness-{uuid.uuid4().hex}.txt"),
           "PYTHONPATH": str(REPO)}
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "audit", "verify"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, _status, usage = os.wait4(proc.pid, 0)
    return time.monotonic() - t0, int(usage.ru_maxrss), out.strip().splitlines()[-1] if out.strip() else ""


def scale(name: str, make_url: Any, drop: Any, data_dir: Path, entries: int, verify_sizes: list[int]) -> None:
    print(f"\n== {name}: proofs at {entries:,} synthetic entries")
    url = make_url("scale")
    try:
        t0 = time.monotonic()
        asyncio.run(synthesize(url, entries, data_dir))
        print(f"generated in {time.monotonic() - t0:.0f} s")
        inc, con = asyncio.run(time_proofs(url, entries))
        floor = statistics.median(asyncio.run(time_round_trip(url)))
        q = statistics.quantiles
        print(f"one-query session (SELECT 1): p50 {floor * 1000:.2f} ms — the load floor of this machine now")
        print(f"inclusion proof:   p50 {statistics.median(inc) * 1000:.2f} ms, p90 {q(inc, n=10)[-1] * 1000:.2f} ms "
              f"({len(inc)} random seqs)")
        print(f"consistency proof: p50 {statistics.median(con) * 1000:.2f} ms, p90 {q(con, n=10)[-1] * 1000:.2f} ms")
        print(f"inclusion p50 / one-query p50: {statistics.median(inc) / floor:.1f}")
        if entries in verify_sizes:
            secs, rss, line = verify_rss(url, data_dir)
            print(f"audit verify at {entries:,}: {secs:.0f} s, peak RSS {rss / 1024:.0f} MiB — {line[:100]}")
    finally:
        drop(url)
    for size in [s for s in verify_sizes if s != entries]:
        url = make_url(f"v{size}")
        try:
            asyncio.run(synthesize(url, size, data_dir))
            secs, rss, line = verify_rss(url, data_dir)
            print(f"audit verify at {size:,}: {secs:.0f} s, peak RSS {rss / 1024:.0f} MiB — {line[:100]}")
        finally:
            drop(url)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--verify-sizes", default="100000,1000000")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-writes", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("needs wrk and taskset: apt-get install -y wrk util-linux")
        return 2
    verify_sizes = [int(v) for v in args.verify_sizes.split(",") if v]
    tmp = Path(tempfile.mkdtemp(prefix="bench-writes-"))
    data_dir = tmp / "data"
    data_dir.mkdir()
    Keys(data_dir).load()
    print(f"machine: {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start")
    try:
        backends = []
        if not args.no_sqlite:
            def sqlite_url(tag: str) -> str:
                return f"sqlite+aiosqlite:///{tmp / f'{tag}.db'}"

            backends.append(("SQLite", sqlite_url, lambda url: Path(url.split("///", 1)[1]).unlink(missing_ok=True)))
        if not args.no_pg:
            base = args.pg.rsplit("/", 1)[0]

            def pg_url(tag: str) -> str:
                name = f"bench_writes_{os.getpid()}_{tag}"
                pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{name}"')
                pg_admin(args.pg, f'CREATE DATABASE "{name}"')
                return f"{base}/{name}"

            def pg_drop(url: str) -> None:
                pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

            backends.append(("PostgreSQL", pg_url, pg_drop))
        for name, make_url, drop in backends:
            if not args.skip_writes:
                url = make_url("writes")
                try:
                    asyncio.run(prepare(url, data_dir))
                    writes(name, url, data_dir, tmp, args.duration)
                finally:
                    drop(url)
            if not args.skip_scale:
                scale(name, make_url, drop, data_dir, args.entries, verify_sizes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on this machine shares the CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
