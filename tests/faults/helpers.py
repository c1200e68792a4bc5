"""Real processes for the fault tests: a Fieldcheck server (`fieldcheck serve` in a subprocess on a
free loopback port), a PostgreSQL instance of the test's own (initdb + pg_ctl on a spare port, so
it can be stopped and started without touching the shared one), and an inspection that takes
evidence uploads."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from backend.core.auth import issue_access_token
from backend.core.clock import Clock
from backend.core.signing import Keys
from tests.conftest import demo_id
from tests.inspections.helpers import CERTS, inspection_body, iso, position

REPO = Path(__file__).resolve().parents[2]
SITE = position()
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`fieldcheck serve` in a subprocess; `env` carries the FIELDCHECK_* settings."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **env}
        self.port = free_port()
        self.log = log
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "serve", "--port", str(self.port),
                 "--workers", str(self.workers)],
                cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        assert self.proc is not None
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(timeout=10)


class OwnPostgres:
    """A throw-away PostgreSQL cluster run as the `postgres` user on a spare port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fieldcheck-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "pg.log"
        shutil.chown(self.dir, "postgres", "postgres")
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                           "--no-sync", "-E", "UTF8"], timeout=120)

    def _as_postgres(self, argv: list[str], timeout: float = 60) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, timeout=timeout, cwd=self.dir)

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                           "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                           "start"], timeout=90)

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"],
                          timeout=90)

    def create_database(self, name: str) -> str:
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(self.url(driver="postgresql"))
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def prepare_database(url: str, data_dir: Path) -> None:
    """Migrations, the agency tree and the demo accounts (as the test template does)."""
    from tests.conftest import _prepare

    asyncio.run(_prepare(url, data_dir))


def auth_headers(data_dir: Path, who: str, ttl_s: int = 3600) -> dict[str, str]:
    keys = Keys(data_dir).load()
    token = issue_access_token(keys.access, person_id=demo_id(who), role="", issuer="fieldcheck.ln.gov.cn",
                               now=datetime.now(UTC), ttl_s=ttl_s)
    return {"Authorization": f"Bearer {token}"}


def started_inspection(http: httpx.Client, data_dir: Path) -> str:
    """An inspection two officers have started on site: it takes check-ins, findings and photos."""
    auth = {who: auth_headers(data_dir, who) for who in ("sy.officer1", "sy.officer2")}
    r = http.post("/api/v1/inspections", json=inspection_body(Clock(), team=("sy.officer1", "sy.officer2")),
                  headers=auth["sy.officer1"])
    assert r.status_code == 201, r.text
    iid = str(r.json()["id"])
    for who in ("sy.officer1", "sy.officer2"):
        now = iso(datetime.now(UTC))
        r = http.post(f"/api/v1/inspections/{iid}/check-ins", json={"position": SITE, "at": now}, headers=auth[who])
        assert r.status_code == 201, r.text
        r = http.post(f"/api/v1/inspections/{iid}/credential-displays",
                      json={"enforcement_certificate_number": CERTS[who], "position": SITE, "at": now,
                            "shown_to": {"name": "李厂长", "role": "企业负责人"}}, headers=auth[who])
        assert r.status_code == 201, r.text
    r = http.post(f"/api/v1/inspections/{iid}/start", headers=auth["sy.officer1"])
    assert r.status_code == 200, r.text
    return iid


def upload_fields(data: bytes) -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "captured_at": iso(datetime.now(UTC)),
            "lon": str(SITE["lon"]), "lat": str(SITE["lat"]), "accuracy_m": "5"}


def multipart(data: bytes, boundary: str = "faulttestboundary", filename: str = "p.jpg") -> tuple[bytes, bytes, str]:
    """(head, tail, content type): head + data + tail is an upload body."""
    head = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                    for k, v in upload_fields(data).items())
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
             f"Content-Type: application/octet-stream\r\n\r\n").encode()
    return head, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def assert_error_body(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["message"] and body["message_zh"]
    assert "article" in body and isinstance(body["detail"], dict)
    return body
