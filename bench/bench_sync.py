"""Benchmark of offline sync: a realistic 500-op field day of one officer, sent as ONE /sync batch,
against the same kind of field day sent as 500 direct requests one after another — same server, same
run, fresh inspections for each.

The field day: 25 inspections (team: two officers); at each, officer 2 has checked in and shown
his certificate (set-up, not timed); officer 1's phone queued check-in, certificate display, start,
11 findings, the inspection record, two revisions of it (PUT), his signature and the enterprise's,
and his check-out: 20 ops × 25 = 500, every created object with a client id, as the app sends them.

The server runs in its own process (uvicorn, `taskset -c 0` when there are 2+ cores); the clients
run on the other core. The batch is one POST from httpx in this script. The 500 direct requests are
built here (same bytes httpx would send: compact UTF-8 JSON, Content-Type, Authorization), written
to a file and replayed by `wrk -t1 -c1` (Debian package `wrk`, `taskset -c 1`) with
bench/lua/replay.lua: in order, each once, on one keep-alive connection, each sent when the previous
answer has been read; then wrk exits. The direct figure is the wall time inside wrk from handing
the first request to the socket to parsing the last response (CLOCK_MONOTONIC, read in the Lua
script): 500 requests one after another, without wrk's start-up or connect. httpx measures itself
too: it adds ~0.7 ms to each sequential request, which would flatter the ratio; so the same kind of
field day (fresh inspections) is also sent from httpx in this process, as before, and printed
beside it, not used for the ratio (--no-httpx-direct skips it). Without wrk the direct requests
come from httpx, with a warning. Other work on the machine adds noise to the absolute figures:
read the ratio.

    .venv/bin/python bench/bench_sync.py [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
                                         [--reps 2] [--no-sqlite] [--no-httpx-direct] [--profile DIR]

With --pg a scratch database is created beside the given one and dropped afterwards. Goals: batch
≤ 0.25 × direct; ≤ 2 ms/op on SQLite, ≤ 3 ms/op on PostgreSQL. The ratio is taken per rep, between a
batch and the direct run beside it in time (alternating which goes first), and the median of those
is the figure; the speed of these shared machines drifts by tens of percent within a minute, so
pairs measured seconds apart agree far better than medians taken over the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from PIL import Image, ImageDraw

from backend.core.auth import issue_access_token
from backend.core.checksums import make_credit_code
from backend.core.signing import Keys
from backend.inspections.documents import content_sha256
from backend.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BASE_URL = "http://bench.local"
SITE = {"lon": 123.4315, "lat": 41.8057}
CERTS = {"sy.officer1": "LN-ZF-210100-2024004", "sy.officer2": "LN-ZF-210100-2024005"}
INSPECTIONS = 25
FINDINGS = 11
RECORD = "on_site_inspection_record"
WRK = shutil.which("wrk")
REPLAY_LUA = ROOT / "bench" / "lua" / "replay.lua"
#: A request as sent: method, path, headers, body bytes.
Request = tuple[str, str, dict[str, str], bytes]


def demo_id(username: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fieldcheck-demo:{username}")


def signature_png() -> str:
    im = Image.new("RGBA", (400, 150), (0, 0, 0, 0))
    pts = [(40, 105), (100, 45), (160, 112), (220, 38), (360, 90)]
    ImageDraw.Draw(im).line(pts, fill=(10, 10, 80, 255), width=5)
    out = io.BytesIO()
    im.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


PNG = signature_png()


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def position(dx_m: float = 0.0) -> dict[str, Any]:
    return {"lon": SITE["lon"] + dx_m / (111_320.0 * 0.7455), "lat": SITE["lat"], "crs": "wgs84",
            "accuracy_m": 8.0}


def inspection_body(now: datetime) -> dict[str, Any]:
    return {"kind": "on_site_inspection",
            "enterprise": {"name": "沈阳示例化工有限公司", "credit_code": make_credit_code("91210102MA0Y2K3L4")},
            "site": {**SITE, "crs": "wgs84", "radius_m": 200.0, "address": "沈阳市和平区南京北街1号"},
            "team": [str(demo_id("sy.officer1")), str(demo_id("sy.officer2"))],
            "planned_at": iso(now + timedelta(minutes=30)), "classification": "normal"}


def field_day(inspection_ids: list[str], now: datetime) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Officer 1's (method, path, body) requests of the day, in the order the phone made them."""
    when = iso(now - timedelta(minutes=1))
    reqs: list[tuple[str, str, dict[str, Any] | None]] = []
    for iid in inspection_ids:
        base = f"/api/v1/inspections/{iid}"
        doc_id = str(uuid.uuid4())
        reqs.append(("POST", f"{base}/check-ins", {"id": str(uuid.uuid4()), "position": position(30), "at": when}))
        reqs.append(("POST", f"{base}/credential-displays", {
            "id": str(uuid.uuid4()), "enforcement_certificate_number": CERTS["sy.officer1"],
            "shown_to": {"name": "李厂长", "role": "企业负责人"}, "position": position(), "at": when}))
        reqs.append(("POST", f"{base}/start", None))
        for i in range(FINDINGS):
            reqs.append(("POST", f"{base}/findings", {"id": str(uuid.uuid4()), "description": f"隐患 {i}: 消防通道堵塞",
                                                      "hazard_level": "general", "position": position(i)}))
        content: dict[str, Any] = {"place": "储罐区", "findings": [f"隐患 {i}" for i in range(FINDINGS)]}
        reqs.append(("POST", f"{base}/documents", {"id": doc_id, "type": RECORD, "content": content}))
        for version in (2, 3):
            content = {**content, "revision": version}
            reqs.append(("PUT", f"/api/v1/documents/{doc_id}", {"content": content}))
        sha = content_sha256(RECORD, uuid.UUID(iid), 3, content)
        for role, extra in (("officer", {}), ("enterprise_representative", {"signer_name": "李厂长"})):
            reqs.append(("POST", f"/api/v1/documents/{doc_id}/signatures", {
                "id": str(uuid.uuid4()), "signer_role": role, "image_png": PNG, "content_sha256": sha,
                "position": position(), "at": when, **extra}))
        reqs.append(("POST", f"{base}/check-outs", {"id": str(uuid.uuid4()), "at": when}))
    return reqs


def as_sent(reqs: list[tuple[str, str, dict[str, Any] | None]], headers: dict[str, str]) -> list[Request]:
    """The requests as httpx sends `request(method, path, json=body, headers=headers)`."""
    out: list[Request] = []
    for method, path, body in reqs:
        if body is None:
            out.append((method, path, dict(headers), b""))
        else:
            content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
            out.append((method, path, {**headers, "Content-Type": "application/json"}, content))
    return out


def write_requests(path: Path, reqs: list[Request]) -> None:
    """The request file bench/lua/replay.lua reads: a count, then per request a line
    `METHOD path n_headers body_length`, the header lines, the body bytes and a newline."""
    with path.open("wb") as f:
        f.write(b"%d\n" % len(reqs))
        for method, target, headers, body in reqs:
            if any(c.isspace() for c in method + target):
                raise ValueError(f"no spaces allowed in {method} {target}")
            f.write(f"{method} {target} {len(headers)} {len(body)}\n".encode())
            for name, value in headers.items():
                if ":" in name or "\n" in name + value:
                    raise ValueError(f"header {name!r} cannot be written on one line")
                f.write(f"{name}: {value}\n".encode())
            f.write(body + b"\n")


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else argv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare(url: str, data_dir: Path) -> None:
    from backend.cli import _seed
    from backend.migrations.runner import upgrade

    await asyncio.to_thread(upgrade, url)
    await _seed(Settings(database_url=url, data_dir=str(data_dir), demo=True), demo=True)


def start_server(url: str, data_dir: Path, port: int, pin: bool, profile: Path | None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FIELDCHECK_DATABASE_URL": url, "FIELDCHECK_DATA_DIR": str(data_dir),
           "FIELDCHECK_DEMO": "1", "FIELDCHECK_PUBLIC_BASE_URL": BASE_URL}
    # With a profile, the app also counts the SQL statements each request runs (bench/sqlcount.py).
    factory = "bench.sqlcount:make_app" if profile is not None else "backend.asgi:make_app"
    cmd = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]
    if profile is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        cmd = [spy, "record", "--format", "raw", "--rate", "200", "-o", str(profile), "--", *cmd]
    if pin:
        cmd = ["taskset", "-c", "0", *cmd]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


async def wait_up(client: httpx.AsyncClient) -> None:
    for _ in range(600):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("server did not start")


class Run:
    def __init__(self, client: httpx.AsyncClient, base: str, scratch: Path, tokens: dict[str, dict[str, str]],
                 count_sql: bool) -> None:
        self.client = client
        self.base = base
        self.scratch = scratch
        self.tokens = tokens
        self.count_sql = count_sql
        #: Statements (by first keyword) the server ran for the timed part of each batch / direct run.
        self.sql: dict[str, list[dict[str, int]]] = {"batch": [], "direct": [], "direct (httpx)": []}

    async def sql_counts(self) -> dict[str, int]:
        if not self.count_sql:
            return {}
        return dict((await self.client.get("/__sqlcount")).json())

    def keep_sql(self, kind: str, before: dict[str, int], after: dict[str, int]) -> None:
        if self.count_sql:
            self.sql[kind].append({k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)})

    async def setup(self) -> list[str]:
        """Fresh inspections, officer 2 in and shown at each (untimed)."""
        now = datetime.now(UTC)
        ids = []
        for _ in range(INSPECTIONS):
            r = await self.client.post("/api/v1/inspections", json=inspection_body(now),
                                       headers=self.tokens["sy.officer1"])
            assert r.status_code == 201, r.text
            iid = r.json()["id"]
            ids.append(iid)
            when = iso(now - timedelta(minutes=2))
            r = await self.client.post(f"/api/v1/inspections/{iid}/check-ins", headers=self.tokens["sy.officer2"],
                                       json={"position": position(-20), "at": when})
            assert r.status_code == 201, r.text
            r = await self.client.post(f"/api/v1/inspections/{iid}/credential-displays",
                                       headers=self.tokens["sy.officer2"],
                                       json={"enforcement_certificate_number": CERTS["sy.officer2"],
                                             "shown_to": {"name": "李厂长", "role": "企业负责人"},
                                             "position": position(), "at": when})
            assert r.status_code == 201, r.text
        return ids

    async def batch(self) -> float:
        reqs = field_day(await self.setup(), datetime.now(UTC))
        ops = [{"op_id": str(uuid.uuid4()), "method": m, "path": p, "body": b,
                "recorded_at": iso(datetime.now(UTC) - timedelta(minutes=1))} for m, p, b in reqs]
        before = await self.sql_counts()
        t0 = time.perf_counter()
        r = await self.client.post("/api/v1/sync", json={"device_id": "bench", "ops": ops},
                                   headers=self.tokens["sy.officer1"], timeout=600)
        took = time.perf_counter() - t0
        self.keep_sql("batch", before, await self.sql_counts())
        results = r.json()["results"]
        bad = [x for x in results if x["status"] >= 300]
        if r.status_code != 200 or bad or len(results) != len(ops):
            raise SystemExit(f"sync failed: {r.status_code} {bad[:2]}")
        return took

    async def direct(self, via_wrk: bool, sql_kind: str = "direct") -> tuple[float, float | None]:
        """The field day (fresh inspections) as direct requests one after another: (seconds, seconds of
        them in flight or None). Through wrk (see replay()), or else from httpx in this process."""
        reqs = field_day(await self.setup(), datetime.now(UTC))
        headers = self.tokens["sy.officer1"]
        before = await self.sql_counts()
        if via_wrk:
            took, inflight = await self.replay(as_sent(reqs, headers))
        else:
            inflight = None
            t0 = time.perf_counter()
            for method, path, body in reqs:
                r = await self.client.request(method, path, json=body, headers=headers)
                if r.status_code >= 300:
                    raise SystemExit(f"direct {method} {path} failed: {r.status_code} {r.text[:300]}")
            took = time.perf_counter() - t0
        self.keep_sql(sql_kind, before, await self.sql_counts())
        return took, inflight

    async def replay(self, reqs: list[Request]) -> tuple[float, float]:
        """`wrk -t1 -c1` replays `reqs` in order, each once, on one connection (bench/lua/replay.lua):
        (first request sent -> last response read, the sum of each request's time in flight), seconds."""
        assert WRK is not None
        req_file, results = self.scratch / "direct-requests.txt", self.scratch / "direct-results.txt"
        write_requests(req_file, reqs)
        results.unlink(missing_ok=True)
        env = {**os.environ, "REPLAY_REQUESTS": str(req_file), "REPLAY_RESULTS": str(results)}
        # -d is only a safety net: the script ends wrk after the last response.
        proc = await asyncio.create_subprocess_exec(
            *pinned(1, [WRK, "-t1", "-c1", "-d300s", "--timeout", "60s", "-s", str(REPLAY_LUA), self.base]),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        lines = results.read_text("utf-8").splitlines() if results.exists() else []
        fields = dict(line.split(" ", 1) for line in lines if " " in line and not line.startswith("fail "))
        for line in lines:
            if line.startswith("fail "):
                _, index, status, text = [*line.split(" ", 3), ""][:4]
                method, path = reqs[int(index) - 1][:2]
                raise SystemExit(f"direct {method} {path} failed: {status} {text}")
        if (proc.returncode != 0 or "complete" not in lines or fields.get("answered") != str(len(reqs))
                or fields.get("resent") != "0" or fields.get("extra") != "0"):
            raise SystemExit(f"wrk replay of {len(reqs)} requests failed (exit {proc.returncode}): {fields}\n"
                             f"{out.decode(errors='replace')}{err.decode(errors='replace')}")
        return int(fields["wall_ns"]) / 1e9, int(fields["inflight_ns"]) / 1e9


async def bench_db(name: str, url: str, data_dir: Path, reps: int, profile: Path | None, httpx_direct: bool) -> None:
    await prepare(url, data_dir)
    keys = Keys(data_dir).load()
    settings = Settings(database_url=url, data_dir=str(data_dir), public_base_url=BASE_URL, demo=True)
    tokens = {who: {"Authorization": "Bearer " + issue_access_token(
        keys.access, person_id=demo_id(who), role="officer", issuer=settings.origin, now=datetime.now(UTC),
        ttl_s=3600)} for who in ("sy.officer1", "sy.officer2")}
    port = free_port()
    pin = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    server = start_server(url, data_dir, port, pin, profile)
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            await wait_up(client)
            run = Run(client, base, data_dir, tokens, count_sql=profile is not None)
            await run.batch()  # warm-up: imports, caches, connection pool
            batch_t: list[float] = []
            direct_t: list[float] = []
            inflight_t: list[float] = []
            httpx_t: list[float] = []
            for rep in range(reps):
                # Each rep pairs a batch with a direct run next to it in time, batch first in even
                # reps and second in odd ones, so a machine that slows down or speeds up over the
                # run does not favour either side.
                if rep % 2 == 0:
                    batch_t.append(await run.batch())
                took, inflight = await run.direct(via_wrk=WRK is not None)
                direct_t.append(took)
                if inflight is not None:
                    inflight_t.append(inflight)
                if rep % 2 == 1:
                    batch_t.append(await run.batch())
                if WRK is not None and httpx_direct:
                    httpx_t.append((await run.direct(via_wrk=False, sql_kind="direct (httpx)"))[0])
    finally:
        server.send_signal(2)  # SIGINT: py-spy writes its profile, uvicorn stops
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
    n = INSPECTIONS * (9 + FINDINGS)
    b, d = statistics.median(batch_t), statistics.median(direct_t)
    print(f"\n{name}: {n}-op field day, {reps} runs each (median)")

    def line(label: str, runs: list[float], note: str = "") -> None:
        m = statistics.median(runs)
        print(f"  {label:<24}{m * 1000:8.0f} ms  ({m / n * 1000:.2f} ms/op)   runs: "
              + ", ".join(f"{x * 1000:.0f}" for x in runs) + (f"   {note}" if note else ""))

    line("one /sync batch", batch_t)
    if WRK is not None:
        line(f"{n} direct, wrk", direct_t, "(-t1 -c1: first request sent -> last response read)")
        gap = statistics.median([(w - f) / n * 1e6 for w, f in zip(direct_t, inflight_t, strict=True)])
        print(f"  {'':<24}of which wrk's own, between an answer and the next request: {gap:.0f} µs/op")
    else:
        line(f"{n} direct, httpx", direct_t, "(wrk not found: httpx in this process)")
    if httpx_t:
        line(f"{n} direct, httpx", httpx_t, "(in this process, as before; not used for the ratio)")
    paired = [x / y for x, y in zip(batch_t, direct_t, strict=True)]
    print("  ratio batch / direct, per rep (each batch ÷ the direct run beside it): "
          + ", ".join(f"{r:.3f}" for r in paired))
    print(f"  ratio batch / direct = {statistics.median(paired):.3f} (median of the reps; "
          f"{b / d:.3f} as median ÷ median)   (goal ≤ 0.25; direct by {'wrk' if WRK else 'httpx'})")
    for kind, runs in run.sql.items():
        if runs:
            last = runs[-1]
            total = sum(last.values())
            print(f"  SQL statements, {kind}: {total / n:.1f} per op ("
                  + ", ".join(f"{k} {v / n:.1f}" for k, v in sorted(last.items(), key=lambda kv: -kv[1])) + ")")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="a PostgreSQL URL (postgresql+asyncpg://user@host:port/db); a scratch "
                                     "database is created next to it")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-httpx-direct", action="store_true",
                        help="skip the extra run of direct requests from httpx in this process (shown beside wrk's)")
    parser.add_argument("--profile", help="write a py-spy profile (collapsed stacks) of the server to this directory, "
                                          "and count the SQL statements per op")
    args = parser.parse_args()
    if WRK is None:
        print("WARNING: wrk not found (apt-get install wrk): the direct requests are sent from httpx in this "
              "process, which adds ~0.7 ms to each and flatters the ratio batch / direct", file=sys.stderr)
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})  # the client on the other core than the server
    profile_dir = Path(args.profile) if args.profile else None
    work = Path(tempfile.mkdtemp(prefix="fieldcheck-bench-"))
    started = time.perf_counter()
    try:
        if not args.no_sqlite:
            db = work / "bench.db"
            await bench_db("SQLite + SpatiaLite", f"sqlite+aiosqlite:///{db}", work, args.reps,
                           profile_dir / "sync-sqlite.txt" if profile_dir else None, not args.no_httpx_direct)
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
                await bench_db("PostgreSQL + PostGIS", f"{base}/{name}", work, args.reps,
                               profile_dir / "sync-pg.txt" if profile_dir else None, not args.no_httpx_direct)
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
