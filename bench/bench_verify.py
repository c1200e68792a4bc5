"""Throughput and tail latency of POST /api/v1/verify, next to what they could be.

    .venv/bin/python bench/bench_verify.py [--fresh 600] [--requests 3000] [--concurrency 16]

One run: a fresh SQLite data directory (migrations + demo seed + `--fresh` issued credentials), the
real app served by uvicorn with one worker in a subprocess on 127.0.0.1, plus ONE extra route that
exists only in this benchmark's server process (`POST /bench/bare`, added with Litestar.register:
same request decoding, same response type and size, no database, no signature). Then, with httpx
and a bounded number of requests:

  bare      POST /bench/bare                  the floor: HTTP + JSON, nothing else
  repeated  POST /api/v1/verify, one token    signature check cached: bare + DB read
  fresh     POST /api/v1/verify, each request a different credential's never-seen token
            bare + Ed25519 verify + DB read

and, in this process, the raw cost of one signature check (PyJWT decode of one token, in a loop).
Ratios: fresh vs 1/(t_bare + t_sig) — what a server that did nothing but HTTP and one signature
check would manage — and repeated vs bare. The public rate limit is lifted for the run through
FIELDCHECK_PUBLIC_RATE_LIMIT. Client and server share the machine's cores, so absolute numbers
understate the server; the ratios are the point.
"""

from __future__ import annotations

import argparse
import asyncio
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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_PATH = "/bench/bare"


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


async def prepare(settings, n: int) -> tuple[list[str], str]:
    """Seed, then issue `n` credentials to new people. Returns their qr_texts and a sample verify
    response body (JSON) for the bare endpoint."""
    import msgspec

    from backend.cli import _seed
    from backend.core.checksums import make_id_number
    from backend.core.db import make_engine, make_sessionmaker, transaction
    from backend.core.signing import Keys
    from backend.credentials import service
    from backend.personnel.models import Appointment, Person, Training

    await _seed(settings, demo=True)
    keys = Keys(Path(settings.data_dir)).load()
    engine = make_engine(settings.resolved_database_url)
    now = datetime.now(UTC)
    try:
        maker = make_sessionmaker(engine)
        ids = []
        async with transaction(maker) as s:
            for i in range(n):
                pid = uuid.uuid4()
                ids.append(pid)
                born = date(1980, 1, 1) + timedelta(days=i // 1000)
                id_number = make_id_number(f"210102{born:%Y%m%d}{i % 1000:03d}")
                s.add(Person(id=pid, name=f"测试员{i:04d}", id_number=id_number, birth_date=born,
                             phone="13900000000", agency_code="210102", role="technical_inspector",
                             employment="full_time", status="active", is_demo=False, created_at=now,
                             updated_at=now))
            await s.flush()
            for pid in ids:
                s.add(Appointment(person_id=pid, agency_code="210102", role="technical_inspector",
                                  employment="full_time", start_date=date(2026, 1, 1), end_date=None,
                                  contract_type="labor", route="exam", declarations={},
                                  consents={"self": True, "employer": True}, status="active", created_at=now))
                s.add(Training(person_id=pid, kind="pre_job", start_date=date(2026, 1, 2), days=5,
                               assessment_passed=True, created_at=now))
            await s.flush()
        qr_texts = []
        sample = None
        async with transaction(maker) as s:
            for pid in ids:
                credential, agency = await service.issue_credential(s, person_id=pid, kind="technical_inspector",
                                                                    actor="bench", now=now)
                qr_texts.append(service.qr_text(keys, settings, credential))
                if sample is None:
                    outcome = service.VerifyOutcome("valid", credential, None, agency)
                    sample = msgspec.json.encode(service.verify_response(outcome, now)).decode()
        assert sample is not None
        return qr_texts, sample
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- load ----------------------------------------------------------------------------------------


async def run_load(base: str, path: str, bodies: list[dict], concurrency: int) -> dict:
    import httpx

    latencies: list[float] = []
    results: dict[str, int] = {}
    sizes: set[int] = set()
    errors: list[str] = []
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.perf_counter()
                try:
                    r = await client.post(path, json=body)
                except httpx.TransportError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - start)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
                results[r.json()["result"]] = results.get(r.json()["result"], 0) + 1
                sizes.add(len(r.content))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "n": len(latencies),
        "rps": len(latencies) / wall,
        "mean_ms": statistics.fmean(latencies) * 1000,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "results": results,
        "sizes": sorted(sizes),
        "errors": errors,
    }


def signature_cost(base: str, token: str, rounds: int = 3000) -> float:
    """Seconds per PyJWT decode (Ed25519 verify) of one token, key parsed once."""
    import httpx
    import jwt

    jwks = httpx.get(f"{base}/api/v1/credentials/jwks", timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid))
    options = {"verify_exp": False, "verify_iat": False}
    for _ in range(200):
        jwt.decode(token, key, algorithms=["EdDSA"], options=options)
    start = time.perf_counter()
    for _ in range(rounds):
        jwt.decode(token, key, algorithms=["EdDSA"], options=options)
    return (time.perf_counter() - start) / rounds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh", type=int, default=600, help="credentials issued; one fresh request each")
    parser.add_argument("--requests", type=int, default=3000, help="requests for the bare and repeated runs")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    from backend.migrations.runner import upgrade
    from backend.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="fieldcheck-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FIELDCHECK_DATA_DIR": str(workdir),
        "FIELDCHECK_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'fieldcheck.db'}",
        "FIELDCHECK_PUBLIC_BASE_URL": base,
        "FIELDCHECK_PUBLIC_RATE_LIMIT": str(10**9),
        "FIELDCHECK_DEMO": "1",
    }
    settings = Settings.from_env(env)
    server = None
    try:
        print(f"setting up {workdir} ...", flush=True)
        upgrade(settings.resolved_database_url)
        t0 = time.perf_counter()
        qr_texts, sample = asyncio.run(prepare(settings, args.fresh))
        print(f"issued {len(qr_texts)} credentials in {time.perf_counter() - t0:.1f} s", flush=True)
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=ROOT,
                                  env={**env, "BENCH_SAMPLE_RESPONSE": sample})
        import httpx

        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)

        repeated_token = {"qr_text": qr_texts[0]}
        fresh = [{"qr_text": q} for q in qr_texts[1:]]
        # Warm-up (connections, code paths, the one repeated token's cache entry).
        asyncio.run(run_load(base, BARE_PATH, [repeated_token] * 300, args.concurrency))
        asyncio.run(run_load(base, "/api/v1/verify", [repeated_token] * 300, args.concurrency))

        bare = asyncio.run(run_load(base, BARE_PATH, [repeated_token] * args.requests, args.concurrency))
        repeated = asyncio.run(run_load(base, "/api/v1/verify", [repeated_token] * args.requests, args.concurrency))
        fresh_run = asyncio.run(run_load(base, "/api/v1/verify", fresh, args.concurrency))
        t_sig = signature_cost(base, qr_texts[0].rsplit("/v/", 1)[1])
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)

    t_bare = 1 / bare["rps"]
    ceiling = 1 / (t_bare + t_sig)
    print()
    print(f"POST /api/v1/verify, uvicorn 1 worker, SQLite, concurrency {args.concurrency}, "
          f"response sizes bare {bare['sizes']} / verify {repeated['sizes']} bytes")
    print(f"{'run':<10}{'requests':>10}{'req/s':>10}{'mean ms':>10}{'p50 ms':>10}{'p99 ms':>10}  results")
    for name, run in (("bare", bare), ("repeated", repeated), ("fresh", fresh_run)):
        print(f"{name:<10}{run['n']:>10}{run['rps']:>10.0f}{run['mean_ms']:>10.2f}{run['p50_ms']:>10.2f}"
              f"{run['p99_ms']:>10.2f}  {json.dumps(run['results'])}"
              + (f"  transport errors: {len(run['errors'])} ({run['errors'][0]})" if run["errors"] else ""))
    print()
    print(f"one signature check (PyJWT decode, EdDSA):  {t_sig * 1e6:.0f} µs")
    print(f"bare per-request time (1 / bare req/s):       {t_bare * 1e6:.0f} µs")
    print(f"fresh    / (1 / (t_bare + t_sig)) = {fresh_run['rps']:.0f} / {ceiling:.0f} = "
          f"{fresh_run['rps'] / ceiling:.2f}")
    print(f"repeated / bare                   = {repeated['rps']:.0f} / {bare['rps']:.0f} = "
          f"{repeated['rps'] / bare['rps']:.2f}")
    bad = {k: v for run in (repeated, fresh_run) for k, v in run["results"].items() if k != "valid"}
    if any(run["errors"] for run in (bare, repeated, fresh_run)):
        print("NOTE: transport errors above are not counted in req/s or latency")
    if bad:
        print(f"UNEXPECTED results: {bad}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
