"""Throughput and tail latency of POST /api/v1/verify, next to what they could be.

    .venv/bin/python bench/bench_verify.py [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
        [--credentials 40000] [--duration 8] [--concurrency 16]

One run per database (SQLite always; PostgreSQL with --pg, in a scratch database it drops after):
migrations + demo seed + `--credentials` credentials written straight into the tables, the real
app served by uvicorn with one worker in a subprocess pinned to CPU 0 (`taskset`), plus ONE extra
route that exists only in this benchmark's server process (`POST /bench/bare`: same request
decoding, same response type and size, no lookup, no signature). The load comes from `wrk`
(Debian package `wrk`) pinned to CPU 1, one thread, `--concurrency` connections, a Lua script for
the POST bodies:

  bare      POST /bench/bare                  the floor: HTTP + JSON, nothing else
  repeated  POST /api/v1/verify, one token    signature check cached
  fresh     POST /api/v1/verify, each request a different credential's never-seen token

and, in this process, the cost of one signature check as the server does it (decode + Ed25519
verify of a never-seen token, `tokens.verify_credential_token`).

Goals (issue): repeated ≥ 0.5 × bare; fresh ≥ 0.6 × 1/(t_bare + t_sig), t_bare = 1 / bare req/s;
p99 < 20 ms at concurrency 16. The public rate limit is lifted for the run. Other work on the same
machine shares both CPUs, so absolute figures are noise; the ratios, measured in the same minute,
are the point. Exit status 1 when a verification answers anything but `valid` or wrk fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_PATH = "/bench/bare"
LUA = r"""
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
local path = os.getenv("BENCH_PATH")
local headers = {["Content-Type"] = "application/json"}
request = function()
  i = i + 1
  local token = tokens[(i - 1) % #tokens + 1]
  return wrk.format("POST", path, headers, '{"qr_text":"' .. token .. '"}')
end
-- Each wrk thread has its own Lua state: count there, sum in done() through thread:get.
local threads = {}
function setup(thread) table.insert(threads, thread) end
valid = 0
other = 0
response = function(status, headers, body)
  if status == 200 and string.find(body, '"result":"valid"', 1, true) then valid = valid + 1 else other = other + 1 end
end
done = function(summary, latency, requests)
  local v, o = 0, 0
  for _, t in ipairs(threads) do v = v + t:get("valid"); o = o + t:get("other") end
  io.write("RESULT-COUNTS valid=" .. v .. " other=" .. o .. "\n")
end
"""


# --- server side (subprocess) --------------------------------------------------------------------


def serve(port: int) -> None:
    import msgspec
    import uvicorn
    from litestar import post

    from backend.app import create_app
    from backend.credentials.schemas import VerifyRequest, VerifyResponse
    from backend.settings import Settings

    sample = msgspec.json.decode(os.environ["BENCH_SAMPLE_RESPONSE"].encode(), type=VerifyResponse)

    @post(BARE_PATH, status_code=200, include_in_schema=False,
          signature_namespace={"VerifyRequest": VerifyRequest, "VerifyResponse": VerifyResponse})
    async def bare(data: VerifyRequest) -> VerifyResponse:
        return sample

    app = create_app(Settings.from_env())
    app.register(bare)
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, log_level="warning", access_log=False)


# --- set-up --------------------------------------------------------------------------------------


async def prepare(settings: Any, n: int) -> tuple[list[str], str]:
    """Seed, then write `n` credentials (and their holders) straight into the tables: issuing each
    through the service would take minutes and is not what is measured. Returns their tokens and a
    sample verify response (JSON) for the bare endpoint."""
    import msgspec

    from backend.cli import _seed
    from backend.core.checksums import make_id_number
    from backend.core.db import make_engine, make_sessionmaker, transaction
    from backend.core.signing import Keys
    from backend.credentials import service, tokens
    from backend.credentials.models import Credential
    from backend.credentials.numbering import format_number
    from backend.personnel.models import Appointment, Person

    await _seed(settings, demo=True)
    keys = Keys(Path(settings.data_dir)).load()
    engine = make_engine(settings.resolved_database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        maker = make_sessionmaker(engine)
        token_list: list[str] = []
        sample = None
        for start in range(0, n, 5000):
            async with transaction(maker) as s:
                people, appointments, credentials = [], [], []
                for i in range(start, min(n, start + 5000)):
                    pid, aid = uuid.uuid4(), uuid.uuid4()
                    born = date(1960, 1, 1) + timedelta(days=i // 1000)
                    people.append(Person(
                        id=pid, name=f"测试员{i:05d}", id_number=make_id_number(f"210102{born:%Y%m%d}{i % 1000:03d}"),
                        birth_date=born, phone="13900000000", agency_code="210102", role="technical_inspector",
                        employment="full_time", status="active", is_demo=False, created_at=now, updated_at=now))
                    appointments.append(Appointment(
                        id=aid, person_id=pid, agency_code="210102", role="technical_inspector",
                        employment="full_time", start_date=date(2026, 1, 1), end_date=None, contract_type="labor",
                        route="exam", declarations={}, consents={"self": True, "employer": True}, status="active",
                        created_at=now))
                    credentials.append(Credential(
                        id=uuid.uuid4(), number=format_number("technical_inspector", 2090, i + 1),
                        kind="technical_inspector", year=2090, serial=i + 1, person_id=pid, appointment_id=aid,
                        agency_code="210102", holder_name=f"测试员{i:05d}", issued_at=now,
                        expires_at=now + timedelta(days=365), status="valid", status_reason=None,
                        status_changed_at=now, issued_by="bench"))
                s.add_all(people)
                await s.flush()
                s.add_all(appointments)
                await s.flush()
                s.add_all(credentials)
                await s.flush()
            for credential in credentials:
                token_list.append(tokens.sign_credential(keys.credential, credential))
            if sample is None:
                outcome = service.VerifyOutcome("valid", credentials[0], None, None, "沈阳市和平区应急管理局")
                sample = msgspec.json.encode(service.verify_response(outcome, now)).decode()
        assert sample is not None
        return token_list, sample
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else argv


# --- load ----------------------------------------------------------------------------------------


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(base: str, path: str, token_file: Path, script: Path, concurrency: int, duration: int) -> dict[str, Any]:
    env = {**os.environ, "BENCH_TOKENS": str(token_file), "BENCH_PATH": path}
    out = subprocess.run(pinned(1, ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script),
                                    base]), env=env, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    counts_line = re.search(r"RESULT-COUNTS(.*)", out)
    counts = dict(kv.split("=") for kv in counts_line.group(1).split()) if counts_line else {}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    return {"n": total, "rps": rps, "p50_ms": pct.get("50", float("nan")), "p99_ms": pct.get("99", float("nan")),
            "results": {k: int(v) for k, v in counts.items()}, "errors": errors.group(0) if errors else ""}


def signature_cost(token_list: list[str], data_dir: Path, rounds: int = 3000) -> float:
    """Seconds per check of a never-seen token, as the server does it (cache misses only)."""
    from backend.core.signing import Keys
    from backend.credentials import tokens

    ring = Keys(data_dir).load().credential
    sample = token_list[-rounds:]
    tokens.clear_cache()
    start = time.perf_counter()
    for token in sample:
        tokens.verify_credential_token(ring, token)
    elapsed = (time.perf_counter() - start) / len(sample)
    tokens.clear_cache()
    return elapsed


def run_one(label: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    from backend.migrations.runner import upgrade
    from backend.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="fieldcheck-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FIELDCHECK_DATA_DIR": str(workdir),
        "FIELDCHECK_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'fieldcheck.db'}",
        "FIELDCHECK_PUBLIC_BASE_URL": base,
        "FIELDCHECK_PUBLIC_RATE_LIMIT": str(10**9),
        "FIELDCHECK_DEMO": "1",
    }
    settings = Settings.from_env(env)
    server = None
    try:
        print(f"[{label}] setting up {workdir} ...", flush=True)
        upgrade(settings.resolved_database_url)
        t0 = time.perf_counter()
        token_list, sample = asyncio.run(prepare(settings, args.credentials))
        print(f"[{label}] wrote {len(token_list)} credentials in {time.perf_counter() - t0:.1f} s", flush=True)
        (workdir / "one.txt").write_text(token_list[0] + "\n")
        (workdir / "fresh.txt").write_text("\n".join(token_list[1:]) + "\n")
        script = workdir / "verify.lua"
        script.write_text(LUA)
        server = subprocess.Popen(pinned(0, [sys.executable, __file__, "--serve", str(port)]), cwd=ROOT,
                                  env={**env, "BENCH_SAMPLE_RESPONSE": sample})
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        one = workdir / "one.txt"
        wrk(base, BARE_PATH, one, script, args.concurrency, 2)  # warm-up
        wrk(base, "/api/v1/verify", one, script, args.concurrency, 2)
        bare = wrk(base, BARE_PATH, one, script, args.concurrency, args.duration)
        repeated = wrk(base, "/api/v1/verify", one, script, args.concurrency, args.duration)
        fresh = wrk(base, "/api/v1/verify", workdir / "fresh.txt", script, args.concurrency, args.duration)
        t_sig = signature_cost(token_list, workdir)
        if fresh["n"] > len(token_list) - 1:
            print(f"[{label}] NOTE: {fresh['n']} fresh requests > {len(token_list) - 1} tokens: some repeated; "
                  "raise --credentials", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
    return {"label": label, "bare": bare, "repeated": repeated, "fresh": fresh, "t_sig": t_sig}


def report(r: dict[str, Any], concurrency: int) -> bool:
    bare, repeated, fresh, t_sig = r["bare"], r["repeated"], r["fresh"], r["t_sig"]
    t_bare = 1 / bare["rps"]
    ceiling = 1 / (t_bare + t_sig)
    print()
    print(f"== {r['label']}: POST /api/v1/verify, uvicorn 1 worker (CPU 0), wrk -t1 -c{concurrency} (CPU 1)")
    print(f"{'run':<10}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  results")
    for name, run in (("bare", bare), ("repeated", repeated), ("fresh", fresh)):
        print(f"{name:<10}{run['n']:>10}{run['rps']:>10.0f}{run['p50_ms']:>10.2f}{run['p99_ms']:>10.2f}  "
              f"{run['results']} {run['errors']}")
    ratio_rep = repeated["rps"] / bare["rps"]
    ratio_fresh = fresh["rps"] / ceiling
    p99 = max(repeated["p99_ms"], fresh["p99_ms"])
    print(f"one signature check (never-seen token): {t_sig * 1e6:.0f} µs; bare per request: {t_bare * 1e6:.0f} µs")
    print(f"repeated / bare                 = {ratio_rep:.2f}  (goal ≥ 0.5)")
    print(f"fresh / (1/(t_bare + t_sig))    = {ratio_fresh:.2f}  (goal ≥ 0.6)")
    print(f"p99 verify                      = {p99:.1f} ms (goal < 20 ms; bare p99 {bare['p99_ms']:.1f} ms "
          "in the same minute: what the machine's other load adds)")
    bad = {name: run["results"] for name, run in (("bare", bare), ("repeated", repeated), ("fresh", fresh))
           if run["results"].get("other", 1) or not run["results"].get("valid")}
    if bad:
        print(f"UNEXPECTED results: {bad}")
    return not bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", help="PostgreSQL admin URL (postgresql+asyncpg://...): also run on PostgreSQL")
    parser.add_argument("--credentials", type=int, default=40000, help="credentials, one fresh token each")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    results = [run_one("SQLite", "", args)]
    if args.pg:
        import asyncpg

        name = f"fieldcheck_bench_{os.getpid()}"
        admin = args.pg.replace("+asyncpg", "")

        async def admin_sql(sql: str) -> None:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
        try:
            base, _, _ = args.pg.rpartition("/")
            results.append(run_one("PostgreSQL", f"{base}/{name}", args))
        finally:
            asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    verdicts = [report(r, args.concurrency) for r in results]  # print every report, then decide
    ok = all(verdicts)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
