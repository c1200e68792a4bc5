"""Crash safety of evidence storage, against a real server process.

A uvicorn server runs in a subprocess on a free loopback port. Uploads are cut by SIGKILL (one in
the middle of a slow streamed body, then a burst of complete uploads killed at an arbitrary
moment); after each kill no evidence row may lack its files. After a restart and
`fieldcheck evidence sweep --min-age 0` there are no temp files, no files without rows and no rows
without files, and the server takes uploads again."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from backend.core.auth import issue_access_token
from backend.core.clock import Clock
from backend.core.db import make_engine
from backend.core.signing import Keys
from backend.evidence.storage import EvidenceStore
from tests.conftest import demo_id
from tests.inspections.helpers import CERTS, inspection_body, iso, position

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parents[2]
SITE = position()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = env
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "backend.asgi:make_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(self.port), "--log-level", "warning"],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def jpeg(size: tuple[int, int], seed: int) -> bytes:
    im = Image.merge("RGB", [Image.effect_noise(size, 40 + seed % 20) for _ in range(3)])
    out = io.BytesIO()
    im.save(out, "JPEG", quality=92)
    return out.getvalue()


def multipart(data: bytes, boundary: str = "crashtestboundary") -> tuple[bytes, bytes, str]:
    """(head, tail, content type): head + data + tail is the body."""
    fields = {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": iso(datetime.now(UTC)),
              "lon": str(SITE["lon"]), "lat": str(SITE["lat"]), "accuracy_m": "5"}
    head = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                    for k, v in fields.items())
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
             f"Content-Type: image/jpeg\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def db_state(db_url: str) -> set[str]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            return {r[0] for r in (await conn.execute(text("SELECT sha256 FROM evidence"))).all()}
    finally:
        await engine.dispose()


def files_state(store: EvidenceStore) -> tuple[set[str], set[str], list[Path]]:
    originals, thumbs = set(), set()
    for sha, p in store.content_files():
        (thumbs if p.name.endswith(".thumb.jpg") else originals).add(sha)
    return originals, thumbs, list(store.temp_files())


def assert_no_row_without_files(db_url: str, store: EvidenceStore) -> set[str]:
    rows = asyncio.run(db_state(db_url))
    originals, thumbs, _ = files_state(store)
    assert rows <= originals, rows - originals
    assert rows <= thumbs, rows - thumbs
    for sha in rows:
        assert hashlib.sha256(store.original_path(sha).read_bytes()).hexdigest() == sha
    return rows


def test_crash_and_sweep_leave_no_orphans(db_url, tmp_path):
    _scenario(db_url, tmp_path)


def _scenario(db_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    keys = Keys(data_dir).load()
    env = {**os.environ, "FIELDCHECK_DATABASE_URL": db_url, "FIELDCHECK_DATA_DIR": str(data_dir),
           "FIELDCHECK_DEMO": "1", "PYTHONPATH": str(REPO)}
    server = Server(env, free_port(), tmp_path / "server.log")
    store = EvidenceStore(data_dir)

    def auth(who: str) -> dict[str, str]:
        token = issue_access_token(keys.access, person_id=demo_id(who), role="", issuer="fieldcheck.ln.gov.cn",
                                   now=datetime.now(UTC), ttl_s=3600)
        return {"Authorization": f"Bearer {token}"}

    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            body = inspection_body(Clock(), team=("sy.officer1", "sy.officer2"))
            r = http.post("/api/v1/inspections", json=body, headers=auth("sy.officer1"))
            assert r.status_code == 201, r.text
            iid = r.json()["id"]
            for who in ("sy.officer1", "sy.officer2"):
                now = iso(datetime.now(UTC))
                r = http.post(f"/api/v1/inspections/{iid}/check-ins", json={"position": SITE, "at": now},
                              headers=auth(who))
                assert r.status_code == 201, r.text
                r = http.post(f"/api/v1/inspections/{iid}/credential-displays",
                              json={"enforcement_certificate_number": CERTS[who], "position": SITE, "at": now,
                                    "shown_to": {"name": "李厂长", "role": "企业负责人"}}, headers=auth(who))
                assert r.status_code == 201, r.text
            r = http.post(f"/api/v1/inspections/{iid}/start", headers=auth("sy.officer1"))
            assert r.status_code == 200, r.text
            first = jpeg((800, 600), 1)
            r = http.post(f"/api/v1/inspections/{iid}/evidence", headers=auth("sy.officer1"),
                          files={"file": ("a.jpg", first, "image/jpeg")},
                          data={"sha256": hashlib.sha256(first).hexdigest(), "captured_at": iso(datetime.now(UTC)),
                                "lon": str(SITE["lon"]), "lat": str(SITE["lat"])})
            assert r.status_code == 201, r.text
        url = f"/api/v1/inspections/{iid}/evidence"

        # 1. SIGKILL in the middle of a slow streamed upload.
        big = jpeg((2400, 1800), 2)
        head, tail, ctype = multipart(big)
        sock = socket.create_connection(("127.0.0.1", server.port))
        request = (f"POST {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                   f"Content-Length: {len(head) + len(big) + len(tail)}\r\n"
                   f"Authorization: {auth('sy.officer1')['Authorization']}\r\n\r\n").encode()
        sock.sendall(request + head)
        sent = 0
        deadline = time.monotonic() + 20
        while sent < len(big) // 2:
            chunk = big[sent:sent + 64 * 1024]
            sock.sendall(chunk)
            sent += len(chunk)
            time.sleep(0.01)
        # The server has spooled part of it to a temp file by now.
        while not [p for p in store.temp_files() if p.stat().st_size > 0] and time.monotonic() < deadline:
            time.sleep(0.05)
        cut = [p for p in store.temp_files() if p.stat().st_size > 0]
        assert cut, "no temp file for the upload in flight"
        server.kill()
        sock.close()
        rows = assert_no_row_without_files(db_url, store)
        assert hashlib.sha256(big).hexdigest() not in rows

        # 2. A burst of complete uploads, killed at an arbitrary moment.
        server.start()
        photos = [jpeg((1600, 1200), 10 + i) for i in range(8)]
        results: list[Any] = []

        def send(data: bytes) -> None:
            h, t, ct = multipart(data)
            try:
                with httpx.Client(base_url=server.url, timeout=30) as c:
                    results.append(c.post(url, content=h + data + t,
                                          headers={**auth("sy.officer1"), "Content-Type": ct}).status_code)
            except httpx.HTTPError as exc:
                results.append(type(exc).__name__)

        threads = [threading.Thread(target=send, args=(p,)) for p in photos]
        for th in threads:
            th.start()
        time.sleep(0.35)
        server.kill()
        for th in threads:
            th.join(timeout=30)
        assert_no_row_without_files(db_url, store)

        # 3. Restart, sweep, and nothing is left over: every file has its row and every row its files.
        server.start()
        # The step-2 server may already have removed step 1's temp file: its first upload sweeps
        # temp files whose writer is dead (evidence/service/housekeeping.py::sweep_temp_once). What
        # is left now (step 1's, or uploads cut in step 2) the CLI sweep must remove and report.
        left = list(store.temp_files())
        sweep = subprocess.run([sys.executable, "-m", "backend.cli", "evidence", "sweep", "--min-age", "0"],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert sweep.returncode == 0, sweep.stdout + sweep.stderr
        assert "evidence sweep:" in sweep.stdout
        if left:
            assert "removed temp file" in sweep.stdout, (left, sweep.stdout)
        assert not [p for p in cut if p.exists()]  # the upload cut in step 1 is gone either way
        rows = assert_no_row_without_files(db_url, store)
        originals, thumbs, temps = files_state(store)
        assert temps == []
        assert originals == rows
        assert thumbs == rows
        assert hashlib.sha256(first).hexdigest() in rows

        # The server still works, and a default sweep (min age 1 h) keeps a fresh upload's files.
        again = jpeg((640, 480), 99)
        h, t, ct = multipart(again)
        r = httpx.post(f"{server.url}{url}", content=h + again + t,
                       headers={**auth("sy.officer1"), "Content-Type": ct}, timeout=30)
        assert r.status_code == 201, r.text
        sweep = subprocess.run([sys.executable, "-m", "backend.cli", "evidence", "sweep"],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert sweep.returncode == 0, sweep.stdout + sweep.stderr
        assert store.original_path(hashlib.sha256(again).hexdigest()).is_file()
        # An orphan younger than the minimum age is kept, an old one removed.
        orphan = b"\xff\xd8\xff orphan bytes"
        sha = hashlib.sha256(orphan).hexdigest()
        store.original_path(sha).parent.mkdir(parents=True, exist_ok=True)
        store.original_path(sha).write_bytes(orphan)
        assert store.sweep(set(rows) | {hashlib.sha256(again).hexdigest()}, min_age_s=3600).orphans_removed == []
        old = time.time() - timedelta(hours=2).total_seconds()
        os.utime(store.original_path(sha), (old, old))
        report = store.sweep(set(rows) | {hashlib.sha256(again).hexdigest()}, min_age_s=3600)
        assert report.orphans_removed == [str(store.original_path(sha))]
    finally:
        server.stop()
