"""Soak: sustained mixed load on one server with two workers, on SQLite and on PostgreSQL.

For each database: a fresh database (migrated, demo data), `fieldcheck serve --workers 2` on a
free loopback port, and load from separate client processes (asyncio + httpx, open loop: requests
leave on schedule whether or not earlier ones have been answered):

- field events, 50/s in all (two processes): findings 20/s, check-ins/check-outs 10/s (each
  inspector alternates, in order), incident reports 10/s, public credential verifications 10/s;
- photo uploads, 10/s in all (two processes): the real phone JPEGs of ../shared/samples/exif
  (2-12 MP, 0.8-2.9 MB), each made unique by a JPEG comment segment so every upload is new work.

Phases: 10 s of events alone (the baseline, same run), then `--duration` s (60) of events and
photos together. Reported per database: errors (any non-2xx or transport error), event p50/p95/p99
and the ratio of the mixed p95 to the baseline p95, photo p95, achieved rates, server RSS (sum of
the workers, sampled each second: first 10 s vs last 10 s, and peak), then whether every accepted
write is in the database afterwards (findings, incidents, check-ins, check-outs, evidence rows and
their files) and whether `fieldcheck audit verify` passes.

Absolute figures on a shared 2-core machine are noise (other work runs next to this one and the
clients share the cores with the server); ratios within one run and the error/durability checks
are what count. Goals (issue): 0 errors, event p95 < 200 ms, every accepted write present, audit
verify passes, RSS flat.

    .venv/bin/python bench/soak.py [--db sqlite|postgresql|both] [--duration 60]
                                   [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from backend.core.auth import issue_access_token  # noqa: E402
from backend.core.checksums import make_credit_code  # noqa: E402
from backend.core.signing import Keys  # noqa: E402

SAMPLES = Path(os.environ.get("FIELDCHECK_SAMPLES_DIR", REPO.parent / "shared" / "samples" / "exif"))
PHONE_JPEGS = ["jpg/mobile/HMD_Nokia_8.3_5G.jpg", "jpg/mobile/jolla.jpg", "jpg/tests/42_IndexError.jpg",
               "jpg/tests/67-0_length_string.jpg"]
SITE = {"lon": 123.4315, "lat": 41.8057, "crs": "wgs84", "accuracy_m": 5.0}
CERTS = {"sy.officer1": "LN-ZF-210100-2024004", "sy.officer2": "LN-ZF-210100-2024005"}
TEAM = ("sy.officer1", "sy.officer2", "sy.inspector.ft", "sy.inspector.pt")
BASELINE_S = 10.0


def demo_id(username: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fieldcheck-demo:{username}")


def iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------------
# Client processes
# ------------------------------------------------------------------------------------------------

class Recorder:
    def __init__(self, path: Path) -> None:
        self.fh = path.open("w")

    def add(self, kind: str, started: float, status: int, ms: float, ref: str | None = None,
            code: str | None = None) -> None:
        self.fh.write(json.dumps({"k": kind, "t": started, "s": status, "ms": round(ms, 2), "ref": ref,
                                  "code": code}) + "\n")


RETRIES = 4
#: After the load stops, how long answers to requests already sent are still awaited.
DRAIN_S = 120.0


async def _timed(rec: Recorder, kind: str, call: Any, ref_of: Any = None) -> Any:
    """One request as a phone makes it: a transport error or a 503 is retried with the same body
    (same client id, so the server must apply it once) after Retry-After; the latency counts
    from the first attempt."""
    started = time.time()
    t0 = time.perf_counter()
    for attempt in range(RETRIES + 1):
        try:
            r = await call()
        except asyncio.CancelledError:
            rec.add(kind, started, -2, (time.perf_counter() - t0) * 1000, code="unfinished")
            raise
        except httpx.HTTPError as exc:
            if attempt < RETRIES:
                rec.add(kind + "_retry", time.time(), -1, 0, code=type(exc).__name__)
                await asyncio.sleep(0.5)
                continue
            rec.add(kind, started, -1, (time.perf_counter() - t0) * 1000, code=type(exc).__name__)
            return None
        if r.status_code == 503 and attempt < RETRIES:
            rec.add(kind + "_retry", time.time(), 503, 0, code="SERVICE_UNAVAILABLE")
            await asyncio.sleep(min(5.0, float(r.headers.get("retry-after", "1"))))
            continue
        break
    ms = (time.perf_counter() - t0) * 1000
    code = None
    ref = None
    if r.status_code >= 300:
        try:
            code = r.json().get("code")
        except ValueError:
            code = r.text[:80]
    elif ref_of is not None:
        ref = ref_of(r)
    rec.add(kind, started, r.status_code, ms, ref, code)
    return r


async def _open_loop(rate: float, until: float, fire: Any) -> None:
    """Call `fire()` (which starts a task) `rate` times a second until `until`, on schedule."""
    if rate <= 0:
        return
    tasks: set[asyncio.Task[Any]] = set()
    start = time.monotonic()
    n = 0
    while True:
        due = start + n / rate
        if due >= until:
            break
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(fire())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        # Requests still unanswered this long after the end count as errors ("unfinished"); each
        # records itself when it ends, so cancel and let _timed write the row.
        _, pending = await asyncio.wait(tasks, timeout=DRAIN_S)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=10)


async def run_events(cfg: dict[str, Any], rec: Recorder) -> None:
    until = time.monotonic() + cfg["duration"]
    h = cfg["headers"]
    iid = cfg["inspection"]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=cfg["url"], timeout=30, limits=limits) as http:

        async def finding() -> None:
            fid = str(uuid.uuid4())
            body = {"id": fid, "description": "消防通道堵塞，应急照明损坏",
                    "hazard_level": random.choice(["general", "major"]), "position": SITE}
            await _timed(rec, "finding", lambda: http.post(f"/api/v1/inspections/{iid}/findings", json=body,
                                                             headers=h["sy.officer1"]), lambda r: fid)

        async def incident() -> None:
            nid = str(uuid.uuid4())
            body = {"id": nid, "kind": "threat", "victim": "self", "description": "企业负责人在检查现场威胁检查员",
                    "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(), "inspection_id": iid}
            await _timed(rec, "incident", lambda: http.post("/api/v1/incidents", json=body,
                                                              headers=h["sy.inspector.ft"]), lambda r: nid)

        async def verify() -> None:
            number = random.choice(cfg["numbers"])
            await _timed(rec, "verify", lambda: http.get("/api/v1/verify", params={"number": number}))

        async def presence(who: str, rate: float) -> None:
            # One inspector's stays on site, in order: check in, check out, check in, ...
            checked_in = False
            n = 0
            start = time.monotonic()
            while True:
                due = start + n / rate
                if due >= until and (not checked_in or due >= until + 1 / rate):
                    return  # one last check-out at most: the next phase starts off site
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                n += 1
                # Client ids: a retry after a lost answer must not count as a second stay.
                body = {"id": str(uuid.uuid4()), "position": SITE, "at": iso_now()}
                if not checked_in:
                    r = await _timed(rec, "check_in", lambda: http.post(
                        f"/api/v1/inspections/{iid}/check-ins", json=body, headers=h[who]),  # noqa: B023 — awaited here
                        lambda r: r.json()["id"])
                    checked_in = r is not None and r.status_code == 201
                else:
                    r = await _timed(rec, "check_out", lambda: http.post(
                        f"/api/v1/inspections/{iid}/check-outs", json=body, headers=h[who]),  # noqa: B023 — awaited here
                        lambda r: r.json()["id"])
                    # 409: not checked in after all (its check-in's answer was lost): off site.
                    checked_in = not (r is not None and r.status_code in (200, 201, 409))

        share = cfg["rate"] / 50.0  # the mix below is for 50/s
        await asyncio.gather(
            _open_loop(20 * share, until, finding),
            _open_loop(10 * share, until, incident),
            _open_loop(10 * share, until, verify),
            presence("sy.inspector.ft", 5 * share),
            presence("sy.inspector.pt", 5 * share),
        )


def unique_jpeg(data: bytes, tag: bytes) -> bytes:
    """The same photo with a JPEG comment (COM) segment after SOI: new bytes, same image."""
    payload = b"fieldcheck-soak " + tag
    return data[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + data[2:]


async def run_photos(cfg: dict[str, Any], rec: Recorder) -> None:
    import hashlib

    until = time.monotonic() + cfg["duration"]
    photos = [(SAMPLES / p).read_bytes() for p in PHONE_JPEGS]
    iid = cfg["inspection"]
    headers = cfg["headers"]["sy.officer1"]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=cfg["url"], timeout=60, limits=limits) as http:

        async def upload() -> None:
            data = unique_jpeg(random.choice(photos), uuid.uuid4().hex.encode())
            fields = {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": iso_now(),
                      "lon": str(SITE["lon"]), "lat": str(SITE["lat"]), "accuracy_m": "5"}
            await _timed(rec, "photo", lambda: http.post(
                f"/api/v1/inspections/{iid}/evidence", headers=headers,
                files={"file": ("photo.jpg", data, "image/jpeg")}, data=fields), lambda r: r.json()["id"])

        await _open_loop(cfg["rate"], until, upload)


def client_main(config_path: str, out_path: str) -> None:
    cfg = json.loads(Path(config_path).read_text())
    rec = Recorder(Path(out_path))
    try:
        asyncio.run(run_events(cfg, rec) if cfg["role"] == "events" else run_photos(cfg, rec))
    finally:
        rec.fh.close()


# ------------------------------------------------------------------------------------------------
# Orchestration
# ------------------------------------------------------------------------------------------------

class ServerProc:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port), "--workers", "2"],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-3000:])
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def pids(self) -> list[int]:
        """The supervisor and its workers."""
        assert self.proc is not None
        found = [self.proc.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pg_sessions(admin: str, database: str | None) -> int:
    """Connections ever opened to `database` (PostgreSQL 14+), to see pool churn; 0 on SQLite."""
    if database is None:
        return 0
    import asyncpg

    async def query() -> int:
        conn = await asyncpg.connect(admin)
        try:
            return int(await conn.fetchval("SELECT sessions FROM pg_stat_database WHERE datname = $1", database)
                       or 0)
        finally:
            await conn.close()

    return asyncio.run(query())


def cli(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def setup_inspection(http: httpx.Client, headers: dict[str, dict[str, str]]) -> str:
    body = {"kind": "on_site_inspection",
            "enterprise": {"name": "沈阳示例化工有限公司", "credit_code": make_credit_code("91210102MA0Y2K3L4")},
            "site": {"lon": SITE["lon"], "lat": SITE["lat"], "crs": "wgs84", "radius_m": 200,
                     "address": "沈阳市和平区南京北街1号"},
            "team": [str(demo_id(u)) for u in TEAM],
            "planned_at": (datetime.now(UTC) + timedelta(minutes=30)).isoformat(), "classification": "normal"}
    r = http.post("/api/v1/inspections", json=body, headers=headers["sy.officer1"])
    r.raise_for_status()
    iid = str(r.json()["id"])
    for who in ("sy.officer1", "sy.officer2"):
        http.post(f"/api/v1/inspections/{iid}/check-ins", json={"position": SITE, "at": iso_now()},
                  headers=headers[who]).raise_for_status()
        http.post(f"/api/v1/inspections/{iid}/credential-displays",
                  json={"enforcement_certificate_number": CERTS[who], "position": SITE, "at": iso_now(),
                        "shown_to": {"name": "李厂长", "role": "企业负责人"}}, headers=headers[who]).raise_for_status()
    http.post(f"/api/v1/inspections/{iid}/start", headers=headers["sy.officer1"]).raise_for_status()
    return iid


def spawn_clients(work: Path, phase: str, specs: list[dict[str, Any]]) -> list[tuple[subprocess.Popen[bytes], Path]]:
    procs = []
    for i, spec in enumerate(specs):
        cfg_path = work / f"{phase}-{i}.json"
        out_path = work / f"{phase}-{i}.jsonl"
        cfg_path.write_text(json.dumps(spec))
        proc = subprocess.Popen([sys.executable, __file__, "client", str(cfg_path), str(out_path)], cwd=REPO)
        procs.append((proc, out_path))
    return procs


def collect(procs: list[tuple[subprocess.Popen[bytes], Path]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for proc, out in procs:
        proc.wait(timeout=300)
        rows += [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return rows


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def missing_rows(url: str, accepted: dict[str, list[str]]) -> dict[str, int]:
    """How many accepted writes the database does not hold."""
    import sqlalchemy as sa

    import backend.models  # noqa: F401  (every table on the metadata)
    from backend.core.db import Base, make_engine

    tables = {"finding": "inspection_findings", "incident": "incidents", "check_in": "inspection_check_ins",
              "check_out": "inspection_check_ins", "photo": "evidence"}
    engine = make_engine(url)
    missing: dict[str, int] = {}
    try:
        async with engine.connect() as conn:
            for kind, ids in accepted.items():
                table = Base.metadata.tables[tables[kind]]
                found: set[str] = set()
                for i in range(0, len(ids), 500):
                    batch = [uuid.UUID(x) for x in ids[i:i + 500]]
                    query = sa.select(table.c.id).where(table.c.id.in_(batch))
                    if kind == "check_out":
                        query = query.where(table.c.out_at.is_not(None))
                    found |= {str(r[0]) for r in (await conn.execute(query)).all()}
                missing[kind] = len(set(ids) - found)
            # Exactly one effect per photo, retries included: one audit entry per evidence row.
            photo_ids = accepted.get("photo", [])
            audit = Base.metadata.tables["audit_entries"]
            doubled = 0
            for i in range(0, len(photo_ids), 500):
                subjects = [f"evidence:{x}" for x in photo_ids[i:i + 500]]
                query = (sa.select(audit.c.subject, sa.func.count()).where(audit.c.subject.in_(subjects))
                         .group_by(audit.c.subject).having(sa.func.count() > 1))
                doubled += len((await conn.execute(query)).all())
            missing["photo_audited_twice"] = doubled
    finally:
        await engine.dispose()
    return missing


def run_database(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"fieldcheck-soak-{kind}-"))
    data_dir = work / "data"
    data_dir.mkdir()
    pg_db = None
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'fieldcheck.db'}"
    else:
        import asyncpg

        pg_db = f"fieldcheck_soak_{os.getpid()}"

        async def create() -> None:
            conn = await asyncpg.connect(args.pg)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{pg_db}"')
            finally:
                await conn.close()

        asyncio.run(create())
        base = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        url = f"{base}/{pg_db}"
    env = {**os.environ, "PYTHONPATH": str(REPO), "FIELDCHECK_DATABASE_URL": url, "FIELDCHECK_DATA_DIR": str(data_dir),
           "FIELDCHECK_DEMO": "1", "FIELDCHECK_PUBLIC_RATE_LIMIT": "1000000", "FIELDCHECK_LOG_LEVEL": "WARNING"}
    for step in (("db", "upgrade"), ("seed", "--demo")):
        done = cli(env, *step)
        if done.returncode:
            raise RuntimeError(done.stdout + done.stderr)
    keys = Keys(data_dir).load()
    headers = {}
    for who in TEAM:
        token = issue_access_token(keys.access, person_id=demo_id(who), role="", issuer="fieldcheck.ln.gov.cn",
                                   now=datetime.now(UTC), ttl_s=3600)
        headers[who] = {"Authorization": f"Bearer {token}"}
    numbers = asyncio.run(_credential_numbers(url))

    server = ServerProc(env, work / "server.log")
    server.start()
    result: dict[str, Any] = {"db": kind}
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            inspections = [setup_inspection(http, headers) for _ in range(2)]

        def events(duration: float) -> list[dict[str, Any]]:
            return [{"role": "events", "url": server.url, "duration": duration, "rate": args.events_rate / 2,
                     "inspection": inspections[i], "headers": headers, "numbers": numbers} for i in range(2)]

        def photos(duration: float) -> list[dict[str, Any]]:
            return [{"role": "photos", "url": server.url, "duration": duration, "rate": args.photo_rate / 2,
                     "inspection": inspections[i], "headers": headers} for i in range(2)]

        print(f"[{kind}] baseline: events alone for {BASELINE_S:g} s", flush=True)
        cpu0, sessions0 = cpu_s(server.pids()), pg_sessions(args.pg, pg_db)
        baseline = collect(spawn_clients(work, "baseline", events(BASELINE_S)))
        cpu1, sessions1 = cpu_s(server.pids()), pg_sessions(args.pg, pg_db)

        print(f"[{kind}] soak: events + photos for {args.duration:g} s", flush=True)
        rss: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                rss.append((time.monotonic(), sum(rss_mb(p) for p in server.pids())))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        soak_started = time.monotonic()
        sampler.start()
        killed: list[int] = []
        if args.kill_worker_at is not None:
            def kill_one() -> None:
                workers = [p for p in server.pids() if p != (server.proc.pid if server.proc else None)]
                if workers:
                    os.kill(workers[0], signal.SIGKILL)
                    killed.append(workers[0])
                    print(f"[{kind}] killed worker {workers[0]} (SIGKILL)", flush=True)

            threading.Timer(args.kill_worker_at, kill_one).start()
        rows = collect(spawn_clients(work, "soak", events(args.duration) + photos(args.duration)))
        cpu2, sessions2 = cpu_s(server.pids()), pg_sessions(args.pg, pg_db)
        stop.set()
        sampler.join()
        soak_s = time.monotonic() - soak_started

        event_kinds = {"finding", "incident", "verify", "check_in", "check_out"}
        ev = [r for r in rows if r["k"] in event_kinds]
        ph = [r for r in rows if r["k"] == "photo"]
        base_ev = [r for r in baseline if r["k"] in event_kinds]
        retries = [r for r in rows + baseline if r["k"].endswith("_retry")]
        errors = [r for r in rows + baseline if not 200 <= r["s"] < 300 and not r["k"].endswith("_retry")]
        error_kinds: dict[str, int] = {}
        for r in errors:
            key = f"{r['k']} {r['s']} {r['code']}"
            error_kinds[key] = error_kinds.get(key, 0) + 1
        accepted: dict[str, list[str]] = {}
        for r in rows + baseline:
            if 200 <= r["s"] < 300 and r["ref"] and r["k"] != "verify":
                accepted.setdefault(r["k"], []).append(r["ref"])
        missing = asyncio.run(missing_rows(url, accepted))
        photo_files_missing = 0
        from backend.evidence.storage import EvidenceStore

        store = EvidenceStore(data_dir)
        shas = asyncio.run(_evidence_shas(url))
        photo_files_missing = sum(1 for sha in shas if not store.has(sha))
        audit = cli(env, "audit", "verify")
        rss_values = [v for _, v in rss]
        first = [v for t, v in rss if t - soak_started <= 10]
        last = [v for t, v in rss if t - soak_started >= soak_s - 10]
        result.update({
            "requests": len(rows) + len(baseline) - len(retries), "errors": len(errors), "error_kinds": error_kinds,
            "retries": len(retries), "killed_worker": killed,
            "events_per_s": len(ev) / args.duration, "photos_per_s": len(ph) / args.duration,
            "event_p50_ms": pct([r["ms"] for r in ev], 0.50), "event_p95_ms": pct([r["ms"] for r in ev], 0.95),
            "event_p99_ms": pct([r["ms"] for r in ev], 0.99),
            "baseline_event_p95_ms": pct([r["ms"] for r in base_ev], 0.95),
            "photo_p50_ms": pct([r["ms"] for r in ph], 0.50), "photo_p95_ms": pct([r["ms"] for r in ph], 0.95),
            "accepted": {k: len(v) for k, v in accepted.items()}, "missing": missing,
            "photo_files_missing": photo_files_missing,
            "audit_verify_exit": audit.returncode, "audit_verify": audit.stdout.strip().splitlines()[-1:],
            "rss_first10_mb": statistics.mean(first) if first else None,
            "rss_last10_mb": statistics.mean(last) if last else None,
            "rss_peak_mb": max(rss_values) if rss_values else None,
            # Mean RSS over each quarter of the soak: growth that stops after warm-up vs growth that does not.
            "rss_quarters_mb": [statistics.mean(q) if q else None for q in (
                [v for t, v in rss if i * soak_s / 4 <= t - soak_started < (i + 1) * soak_s / 4] for i in range(4))],
            "server_log_500s": (work / "server.log").read_text().count("unhandled error"),
            "baseline_cpu_s": cpu1 - cpu0, "soak_cpu_s": cpu2 - cpu1, "baseline_requests": len(base_ev),
            "soak_events": len(ev), "soak_photos": len(ph),
            "db_sessions_baseline": sessions1 - sessions0, "db_sessions_soak": sessions2 - sessions1,
            "loadavg_end": os.getloadavg(),
            "by_kind": {k: (len(v), pct(v, 0.50), pct(v, 0.95)) for k, v in sorted(by_kind(ev).items())},
        })
        result["event_p95_ratio_vs_baseline"] = result["event_p95_ms"] / result["baseline_event_p95_ms"]
    finally:
        server.stop()
        if pg_db is not None:
            import asyncpg

            async def drop() -> None:
                conn = await asyncpg.connect(args.pg)
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
                finally:
                    await conn.close()

            asyncio.run(drop())
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"[{kind}] kept {work}")
    return result


async def _credential_numbers(url: str) -> list[str]:
    from sqlalchemy import text

    from backend.core.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return [r[0] for r in (await conn.execute(text("SELECT number FROM credentials"))).all()]
    finally:
        await engine.dispose()


async def _evidence_shas(url: str) -> list[str]:
    from sqlalchemy import text

    from backend.core.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return [r[0] for r in (await conn.execute(text("SELECT sha256 FROM evidence"))).all()]
    finally:
        await engine.dispose()


def by_kind(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    kinds: dict[str, list[float]] = {}
    for r in rows:
        kinds.setdefault(r["k"], []).append(r["ms"])
    return kinds


def report(result: dict[str, Any]) -> None:
    db = result["db"]
    print(f"\n== {db} ==")
    print(f"requests {result['requests']}, errors {result['errors']} {result['error_kinds'] or ''}; "
          f"retried attempts {result['retries']}; killed workers {result['killed_worker'] or 'none'}")
    print(f"achieved: events {result['events_per_s']:.1f}/s, photos {result['photos_per_s']:.1f}/s")
    print(f"events p50 {result['event_p50_ms']:.0f} ms, p95 {result['event_p95_ms']:.0f} ms, "
          f"p99 {result['event_p99_ms']:.0f} ms; p95 is {result['event_p95_ratio_vs_baseline']:.2f}x the "
          f"events-alone baseline ({result['baseline_event_p95_ms']:.0f} ms) of the same run")
    print("events by kind (count, p50 / p95 ms): " + ", ".join(
        f"{k} {n} {p50:.0f}/{p95:.0f}" for k, (n, p50, p95) in result["by_kind"].items()))
    print(f"photos p50 {result['photo_p50_ms']:.0f} ms, p95 {result['photo_p95_ms']:.0f} ms")
    print(f"accepted writes {result['accepted']}; missing afterwards {result['missing']}; "
          f"photo files missing {result['photo_files_missing']}")
    print(f"audit verify exit {result['audit_verify_exit']}: {' '.join(result['audit_verify'])}")
    first, last = result["rss_first10_mb"], result["rss_last10_mb"]
    ratio = f" ({last / first:.2f}x)" if first and last else ""
    base_ms = 1000 * result["baseline_cpu_s"] / max(1, result["baseline_requests"])
    print(f"server CPU: baseline {result['baseline_cpu_s']:.1f} s for {result['baseline_requests']} events "
          f"({base_ms:.1f} ms each); soak {result['soak_cpu_s']:.1f} s for {result['soak_events']} events + "
          f"{result['soak_photos']} photos; database connections opened: baseline "
          f"{result['db_sessions_baseline']}, soak {result['db_sessions_soak']}; load average at the end "
          f"{' '.join(f'{x:.1f}' for x in result['loadavg_end'])}")
    print(f"server RSS (supervisor + 2 workers): first 10 s {first:.0f} MB, last 10 s {last:.0f} MB{ratio}, "
          f"peak {result['rss_peak_mb']:.0f} MB; 500s in the log: {result['server_log_500s']}")
    print("server RSS by quarter of the soak: " + " / ".join(
        f"{q:.0f}" if q is not None else "-" for q in result["rss_quarters_mb"]) + " MB")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client_main(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--events-rate", type=float, default=50.0)
    parser.add_argument("--photo-rate", type=float, default=10.0)
    parser.add_argument("--pg", default=os.environ.get("FIELDCHECK_TEST_PG_ADMIN",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    parser.add_argument("--kill-worker-at", type=float, default=None,
                        help="SIGKILL one worker this many seconds into the soak (clients retry with the same ids)")
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run_database(db, args) for db in dbs]
    for result in results:
        report(result)
    ok = all(r["errors"] == 0 and not any(r["missing"].values()) and r["photo_files_missing"] == 0
             and r["audit_verify_exit"] == 0 for r in results)
    print("\nsoak:", "PASS (0 errors, every accepted write present, audit verified)" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
