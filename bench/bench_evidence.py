"""Benchmark of evidence photo intake, in one run (~15-60 s):

1. ingest throughput of the real server (uvicorn on loopback, SQLite + SpatiaLite or --pg PostGIS,
   one worker; httpx uploads, a few in flight, keep-alive) against a plain script doing SHA-256 +
   EXIF + draft thumbnail on the same files, one after another;
2. peak server RSS per upload in flight (VmRSS of the server process sampled from /proc while N
   concurrent uploads run, minus its RSS before them, divided by N);
3. time to refuse a decompression bomb (a 300 kB PNG declaring 50000x50000);
4. p99 latency of GET /healthz while uploads run.

Files: the phone-sized JPEGs of the shared samples (>= 3 MP, ../shared/samples/exif) plus generated
12 MP phone-style JPEGs with EXIF GPS (cached in $TMPDIR/fieldcheck_bench_evidence). It also
prints CPU per upload (server and this client) and how busy the machine was: on a shared 2-CPU box
the ratio moves with whatever else runs, CPU per upload does not.

    .venv/bin/python bench/bench_evidence.py [--generated 12] [--concurrency 4] [--rounds 2] [--pg URL]

Goals: throughput >= 0.8x the plain script, <= 64 MB RSS per upload in flight, bomb refused in
< 50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from PIL import Image  # noqa: E402

from backend.core.auth import issue_access_token  # noqa: E402
from backend.core.checksums import make_credit_code  # noqa: E402
from backend.core.signing import Keys  # noqa: E402

SAMPLES = Path(os.environ.get("FIELDCHECK_SAMPLES_DIR", REPO.parent / "shared" / "samples" / "exif"))
CACHE = Path(tempfile.gettempdir()) / "fieldcheck_bench_evidence"  # generated photos, reused across runs
SITE = (123.4315, 41.8057)
CREDIT_CODE = make_credit_code("91210102MA0Y2K3L4")
CERTS = {"sy.officer1": "LN-ZF-210100-2024004", "sy.officer2": "LN-ZF-210100-2024005"}


def demo_id(username: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"fieldcheck-demo:{username}")


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- files ----------------------------------------------------------------------------------------


def _dms(v: float) -> tuple[float, float, float]:
    d = int(v)
    m = int((v - d) * 60)
    return float(d), float(m), round(((v - d) * 60 - m) * 60, 3)


def phone_jpeg(path: Path, seed: int) -> None:
    """4000x3000 (12 MP), photo-like content (a few MB), EXIF GPS near the site, orientation 6."""
    size = (4000, 3000)
    gradient = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 30 + seed)
    im = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "2211133C"
    exif[0x0112] = 6
    exif[0x8769] = {0x9003: datetime.now(UTC).strftime("%Y:%m:%d %H:%M:%S"), 0x9011: "+00:00"}
    lon, lat = SITE[0] + seed * 1e-5, SITE[1]
    exif[0x8825] = {1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)}
    im.save(path, "JPEG", exif=exif, quality=90)


def files(generated: int) -> list[Path]:
    """The phone-sized real samples (>= 3 MP; broken EXIF included) and `generated` 12 MP ones."""
    real = []
    for p in sorted(SAMPLES.rglob("*")):
        if p.suffix.lower() not in (".jpg", ".jpeg"):
            continue
        with Image.open(p) as im:
            if im.size[0] * im.size[1] >= 3_000_000:
                real.append(p)
    CACHE.mkdir(parents=True, exist_ok=True)
    made = []
    for i in range(generated):
        path = CACHE / f"phone_12mp_{i:02d}.jpg"
        if not path.exists():
            phone_jpeg(path, i)
        made.append(path)
    return real + made


def png_bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width = height = 50_000
    rows = bytes(1 + (width + 7) // 8) * 1000
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(rows) for _ in range(height // 1000)) + deflate.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- the plain script -----------------------------------------------------------------------------


def plain(path: Path) -> None:
    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        exif.get_ifd(0x8825)
        exif.get_ifd(0x8769)
        im.draft("RGB", (512, 512))
        im.thumbnail((512, 512))
        out = io.BytesIO()
        im.convert("RGB").save(out, "JPEG", quality=80)


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)


class HealthProbe(threading.Thread):
    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.times: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as c:
            while not self.stop.is_set():
                t = time.perf_counter()
                c.get(self.url).raise_for_status()
                self.times.append(time.perf_counter() - t)
                time.sleep(0.01)


def multipart(data: bytes, boundary: str = "benchboundary7f3a") -> tuple[bytes, str]:
    fields = {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": iso(datetime.now(UTC)),
              "lon": str(SITE[0]), "lat": str(SITE[1]), "accuracy_m": "5"}
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                    for k, v in fields.items())
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
             f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generated", type=int, default=12)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2, help="passes over the files (each into a new inspection)")
    ap.add_argument("--pg", help="a PostgreSQL URL (postgresql+asyncpg://user@host/db); a scratch database is "
                                 "created beside it and dropped afterwards (default: SQLite + SpatiaLite)")
    args = ap.parse_args()

    paths = files(args.generated)
    blobs = [p.read_bytes() for p in paths]
    total_mb = sum(len(b) for b in blobs) / 1e6
    print(f"files: {len(paths)} JPEGs, {total_mb:.1f} MB ({args.generated} generated 12 MP)")

    # Plain script, sequential (best of the rounds, warm cache).
    plain_best = float("inf")
    for _ in range(args.rounds):
        t = time.perf_counter()
        for p in paths:
            plain(p)
        plain_best = min(plain_best, time.perf_counter() - t)
    print(f"plain script (SHA-256 + EXIF + draft thumbnail): {plain_best:.2f} s = "
          f"{len(paths) / plain_best:.1f} files/s, {total_mb / plain_best:.1f} MB/s")

    tmp = Path(tempfile.mkdtemp(prefix="bench_evidence_"))
    env = {**os.environ, "FIELDCHECK_DATA_DIR": str(tmp), "FIELDCHECK_DEMO": "1", "PYTHONPATH": str(REPO)}
    env.pop("FIELDCHECK_DATABASE_URL", None)
    scratch = None
    if args.pg:
        scratch = f"fieldcheck_bench_ev_{os.getpid()}"
        _pg_admin(args.pg, f'CREATE DATABASE "{scratch}"')
        env["FIELDCHECK_DATABASE_URL"] = args.pg.rsplit("/", 1)[0] + f"/{scratch}"
    print(f"database: {'PostgreSQL + PostGIS' if scratch else 'SQLite + SpatiaLite'}")
    for cmd in (["db", "upgrade"], ["seed", "--demo"]):
        subprocess.run([sys.executable, "-m", "backend.cli", *cmd], cwd=REPO, env=env, check=True,
                       capture_output=True)
    keys = Keys(tmp).load()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "backend.asgi:make_app", "--factory", "--host",
                               "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                              cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

        def auth(who: str) -> dict[str, str]:
            token = issue_access_token(keys.access, person_id=demo_id(who), role="", issuer="fieldcheck.ln.gov.cn",
                                       now=datetime.now(UTC), ttl_s=3600)
            return {"Authorization": f"Bearer {token}"}

        http = httpx.Client(base_url=base, timeout=120)

        def new_inspection() -> str:
            body = {"kind": "on_site_inspection",
                    "enterprise": {"name": "基准企业", "credit_code": CREDIT_CODE},
                    "site": {"lon": SITE[0], "lat": SITE[1], "radius_m": 200, "address": "沈阳"},
                    "team": [str(demo_id("sy.officer1")), str(demo_id("sy.officer2"))],
                    "planned_at": iso(datetime.now(UTC))}
            r = http.post("/api/v1/inspections", json=body, headers=auth("sy.officer1"))
            r.raise_for_status()
            iid = r.json()["id"]
            pos = {"lon": SITE[0], "lat": SITE[1], "accuracy_m": 5}
            for who in CERTS:
                now = iso(datetime.now(UTC))
                http.post(f"/api/v1/inspections/{iid}/check-ins", json={"position": pos, "at": now},
                          headers=auth(who)).raise_for_status()
                http.post(f"/api/v1/inspections/{iid}/credential-displays",
                          json={"enforcement_certificate_number": CERTS[who], "position": pos, "at": now,
                                "shown_to": {"name": "x", "role": "y"}}, headers=auth(who)).raise_for_status()
            http.post(f"/api/v1/inspections/{iid}/start", headers=auth("sy.officer1")).raise_for_status()
            return iid

        # Warm-up: one upload (imports, first connections, SpatiaLite init).
        iid = new_inspection()
        warm, ctype = multipart(small_jpeg())
        r = http.post(f"/api/v1/inspections/{iid}/evidence", content=warm,
                      headers={**auth("sy.officer1"), "Content-Type": ctype})
        assert r.status_code == 201, r.text

        token = auth("sy.officer1")
        bodies = [multipart(b) for b in blobs]

        local = threading.local()

        def upload(iid: str, body: tuple[bytes, str]) -> float:
            # One keep-alive client per thread, as a phone keeps its connection.
            c = getattr(local, "client", None)
            if c is None:
                c = local.client = httpx.Client(base_url=base, timeout=120)
            t = time.perf_counter()
            r = c.post(f"/api/v1/inspections/{iid}/evidence", content=body[0],
                       headers={**token, "Content-Type": body[1]})
            if r.status_code != 201:
                raise RuntimeError(r.text)
            return time.perf_counter() - t

        base_rss = rss_kib(server.pid)
        sampler = Sampler(server.pid)
        probe = HealthProbe(f"{base}/healthz")
        sampler.start()
        probe.start()
        server_best = float("inf")
        cpu0 = cpu_s(server.pid)
        client0 = time.process_time()
        busy0 = machine_busy()
        for _ in range(args.rounds):
            iid = new_inspection()
            t = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                latencies = list(pool.map(lambda b, i=iid: upload(i, b), bodies))
            server_best = min(server_best, time.perf_counter() - t)
        server_cpu = (cpu_s(server.pid) - cpu0) / (args.rounds * len(bodies))
        client_cpu = (time.process_time() - client0) / (args.rounds * len(bodies))
        busy1 = machine_busy()
        utilisation = (busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1])
        probe.stop.set()
        sampler.stop.set()
        probe.join()
        sampler.join()
        per_upload_mb = (sampler.peak - base_rss) / 1024 / args.concurrency
        print(f"server ingest ({args.concurrency} in flight): {server_best:.2f} s = "
              f"{len(bodies) / server_best:.1f} files/s, {total_mb / server_best:.1f} MB/s; "
              f"upload latency median {statistics.median(latencies) * 1000:.0f} ms")
        print(f"  CPU per upload: server {server_cpu * 1000:.0f} ms, this client {client_cpu * 1000:.0f} ms "
              f"(plain script: {plain_best / len(paths) * 1000:.0f} ms per file); machine "
              f"{utilisation * 100:.0f} % busy on {os.cpu_count()} CPUs")
        ratio = plain_best / server_best
        print(f"  ratio server/plain: {ratio:.2f}x   (goal >= 0.80x) {'OK' if ratio >= 0.8 else 'MISSED'}")
        print(f"server RSS: {base_rss / 1024:.0f} MB idle, {sampler.peak / 1024:.0f} MB peak -> "
              f"{per_upload_mb:.1f} MB per upload in flight   (goal <= 64 MB) "
              f"{'OK' if per_upload_mb <= 64 else 'MISSED'}")
        times = sorted(probe.times)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
        print(f"GET /healthz during uploads: {len(times)} requests, median "
              f"{statistics.median(times) * 1000:.1f} ms, p99 {p99:.1f} ms, max {times[-1] * 1000:.1f} ms")

        bomb, bctype = multipart(png_bomb())
        refusals = []
        for _ in range(7):
            t = time.perf_counter()
            r = http.post(f"/api/v1/inspections/{iid}/evidence", content=bomb,
                          headers={**token, "Content-Type": bctype})
            refusals.append(time.perf_counter() - t)
            if r.status_code != 413 or r.json()["code"] != "TOO_LARGE":
                raise RuntimeError(r.text)
        bomb_ms = statistics.median(refusals) * 1000
        print(f"bomb ({len(bomb) / 1e3:.0f} kB PNG declaring 50000x50000) refused with 413 in {bomb_ms:.1f} ms "
              f"(median of 7, end to end)   (goal < 50 ms) {'OK' if bomb_ms < 50 else 'MISSED'}")
        http.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        if scratch:
            _pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
    return 0


def _pg_admin(url: str, sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((320, 240), 50).convert("RGB").save(out, "JPEG")
    return out.getvalue()




if __name__ == "__main__":
    raise SystemExit(main())
