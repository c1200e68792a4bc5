"""Two server processes on one database behave as one deployment: each its own port and data
directory, sharing FIELDCHECK_DATABASE_URL, FIELDCHECK_SECRET_KEY and FIELDCHECK_REDIS_URL (and,
with FIELDCHECK_BLOB_STORE=database, the photos).

On PostgreSQL the change check runs only every 30 s here, so a revocation seen on the other server
within 1 s proves the LISTEN/NOTIFY path; on SQLite (two workers on one machine) the check every
0.25 s is what carries it."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import demo_id

pytestmark = pytest.mark.db
ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("FIELDCHECK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "fieldcheck-demo"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def servers(db_url: str, backend_name: str, tmp_path: Path, **extra: str) -> Iterator[list[httpx.Client]]:
    """Two uvicorn processes; yields a client for each."""
    prefix = f"fieldcheck-test-{uuid.uuid4().hex[:8]}:"
    procs, clients = [], []
    try:
        for name in ("a", "b"):
            port = _port()
            env = {
                **os.environ,
                "FIELDCHECK_DATABASE_URL": db_url,
                "FIELDCHECK_DATA_DIR": str(tmp_path / name),
                "FIELDCHECK_DEMO": "1",
                "FIELDCHECK_SECRET_KEY": "test-secret-shared-by-both-nodes",
                "FIELDCHECK_REDIS_URL": REDIS_URL,
                "FIELDCHECK_REDIS_PREFIX": prefix,
                "FIELDCHECK_CHANGE_POLL_S": "30" if backend_name == "postgresql" else "0.25",
                **extra,
            }
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "backend.asgi:make_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=env))
            clients.append(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30))
        for proc, client in zip(procs, clients, strict=True):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, "server exited"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield clients
    finally:
        for client in clients:
            client.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)


def login(client: httpx.Client, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_two_nodes_share_keys_and_see_revocations(db_url, backend_name, tmp_path):
    with servers(db_url, backend_name, tmp_path) as (a, b):
        # A token signed by one node is accepted by the other, both ways.
        hr_a = login(a, "sy.hr")
        assert b.get("/api/v1/me", headers=hr_a).status_code == 200
        assert a.get("/api/v1/me", headers=login(b, "sy.hr")).status_code == 200
        assert a.get("/api/v1/credentials/jwks").json() == b.get("/api/v1/credentials/jwks").json()

        listed = a.get(f"/api/v1/credentials/?person_id={demo_id('sy.inspector.ft')}", headers=hr_a).json()
        credential = next(c for c in listed["items"] if c["status"] == "valid")
        # A card printed by one node verifies on the other.
        assert b.post("/api/v1/verify", json={"qr_text": credential["qr_text"]}).json()["result"] == "valid"

        r = a.post(f"/api/v1/credentials/{credential['id']}/revoke", json={"reason": "card lost"}, headers=hr_a)
        assert r.status_code == 200, r.text
        revoked_at = time.monotonic()
        seen = None
        while time.monotonic() - revoked_at < 1.0:
            seen = b.post("/api/v1/verify", json={"qr_text": credential["qr_text"]}).json()["result"]
            if seen == "revoked":
                break
            time.sleep(0.02)
        assert seen == "revoked", f"node b still answers {seen!r} 1 s after the revocation on node a"
        by_number = b.get("/api/v1/verify/", params={"number": credential["number"]}).json()
        assert by_number["result"] == "revoked"


def test_public_limit_holds_across_two_nodes(db_url, backend_name, tmp_path):
    limit = 10
    with servers(db_url, backend_name, tmp_path, FIELDCHECK_PUBLIC_RATE_LIMIT=str(limit),
                 FIELDCHECK_PUBLIC_RATE_WINDOW_S="300") as (a, b):
        statuses = [(a if i % 2 else b).get("/api/v1/credentials/jwks").status_code for i in range(2 * limit)]
    # In memory, each node would let `limit` through: 2 × limit in all. Shared: `limit` for the pair.
    assert statuses.count(200) == limit, statuses
    assert statuses.count(429) == limit, statuses


def test_failed_logins_are_limited_across_two_nodes(db_url, backend_name, tmp_path):
    with servers(db_url, backend_name, tmp_path, FIELDCHECK_LOGIN_FAIL_LIMIT="3") as (a, b):
        wrong = {"username": "sy.hr", "password": "not-the-password"}
        statuses = [(a if i % 2 else b).post("/api/v1/auth/token", json=wrong).status_code for i in range(5)]
        # Even the right password is refused while the account is locked (no argon2 work either).
        right = b.post("/api/v1/auth/token", json={"username": "sy.hr", "password": PASSWORD})
    assert statuses == [401, 401, 401, 429, 429], statuses
    assert right.status_code == 429 and right.json()["code"] == "RATE_LIMITED"


class _Async:
    """The async face `Flow` and `Uploader` expect, over one server's blocking client."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    async def post(self, url: str, **kw: Any) -> httpx.Response:
        return self._client.post(url, **kw)

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return self._client.get(url, **kw)


class _RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_a_photo_uploaded_to_one_node_is_served_by_the_other(db_url, backend_name, tmp_path):
    from tests.evidence.test_evidence_api import Uploader, good_photo
    from tests.inspections.helpers import Flow

    with servers(db_url, backend_name, tmp_path, FIELDCHECK_BLOB_STORE="database") as (a, b):
        tokens: dict[str, dict[str, str]] = {}

        def token_for(who: str, role: str = "") -> dict[str, str]:
            if who not in tokens:
                tokens[who] = login(a, who)
            return tokens[who]

        clock = _RealClock()
        iid = (await Flow(_Async(a), token_for, clock).started())["id"]
        data = good_photo(clock)
        sha = hashlib.sha256(data).hexdigest()
        r = await Uploader(_Async(a), token_for, clock).upload(iid, data)
        assert r.status_code == 201, r.text
        ev = r.json()

        # Node b never saw the upload: its data directory holds no photo, yet it serves it, and
        # the bytes hash to the SHA-256 recorded (and signed in the receipt).
        r = b.get(ev["original_url"], headers=token_for("sy.officer2"))
        assert r.status_code == 200, r.text
        assert hashlib.sha256(r.content).hexdigest() == sha == ev["sha256"] and r.content == data
        r = b.get(ev["thumbnail_url"], headers=token_for("sy.admin"))
        assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"
        assert not any((tmp_path / "b").rglob(sha)) and not any((tmp_path / "a").rglob(sha))
        # The reads on b are in the photo's custody log, as seen from a.
        r = a.get(f"/api/v1/evidence/{ev['id']}/custody", headers=token_for("sy.officer1"))
        assert [i["action"] for i in r.json()["items"]] == ["upload", "read_original", "read_thumbnail"]
