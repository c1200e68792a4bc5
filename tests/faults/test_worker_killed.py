"""A worker killed mid-load: clients that retry with the same ids get exactly one effect.

`fieldcheck serve --workers 2` takes a stream of writes from several client threads: findings and
incident reports carrying their client `id` (and an `Idempotency-Key`), photos carrying an
`Idempotency-Key`, the photos sent slowly so that some are always in flight. While they run, the
worker holding the most connections is killed with SIGKILL (uvicorn's supervisor starts another).
Every client retries a request whose answer it lost (transport error, or 503) with the same id and
key, as the phones do. Afterwards: every write was answered 2xx with one and the same id, the
database holds exactly one row per write and no other, and once the audit log is integrated
exactly one audit entry per write; `fieldcheck audit verify` passes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.evidence.test_crash import jpeg
from tests.faults.helpers import REPO, SITE, Server, auth_headers, multipart, started_inspection

pytestmark = pytest.mark.db

FINDINGS = 48
INCIDENTS = 24
PHOTOS = 10
DEADLINE_S = 45.0


def workers_of(server: Server) -> list[int]:
    assert server.proc is not None
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == server.proc.pid:
                cmdline = (entry / "cmdline").read_bytes()
                if b"spawn_main" in cmdline:
                    found.append(int(entry.name))
    return found


def connections_held(pid: int, port: int) -> int:
    """Established connections to `port` whose server-side socket belongs to process `pid`."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    held = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                held += 1
    except OSError:
        pass
    return held


class Client:
    """Sends one write until it is answered (not 503, not a lost answer), always with the same
    body, id and key."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.retried = Counter[str]()
        self.lock = threading.Lock()
        self.local = threading.local()

    def http(self) -> httpx.Client:
        if not hasattr(self.local, "http"):
            self.local.http = httpx.Client(base_url=self.base_url, timeout=20)
        client: httpx.Client = self.local.http
        return client

    def send(self, kind: str, request: Any) -> httpx.Response:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                r: httpx.Response = request(self.http())
                if r.status_code != 503:
                    return r
                reason = "503"
            except httpx.TransportError as exc:
                reason = type(exc).__name__
                self.local.http.close()
                del self.local.http
            with self.lock:
                self.retried[f"{kind} {reason}"] += 1
            assert time.monotonic() < deadline, f"{kind} still unanswered after {DEADLINE_S} s"
            time.sleep(0.2)


def test_worker_killed_mid_load_each_write_once(db_url: str, keys_dir: Path, tmp_path: Path) -> None:
    # The keys that signed the template database's audit checkpoints, so that `audit verify`
    # can check the whole log.
    # Only the keys: other tests of this worker may have left their own audit witness beside them.
    data_dir = tmp_path / "data"
    shutil.copytree(keys_dir / "keys", data_dir / "keys")
    env = {"FIELDCHECK_DATABASE_URL": db_url, "FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1"}
    server = Server(env, tmp_path / "server.log", workers=2)
    server.start()
    started = time.monotonic()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            iid = started_inspection(http, data_dir)
        officer = auth_headers(data_dir, "sy.officer1")
        inspector = auth_headers(data_dir, "sy.inspector.ft")
        client = Client(server.url)
        photos = [jpeg((1200, 900), 40 + i) for i in range(PHOTOS)]

        def finding(i: int) -> tuple[str, str, httpx.Response]:
            fid = str(uuid.uuid4())
            body = {"id": fid, "description": f"消防通道堵塞 {i}", "hazard_level": "general", "position": SITE}
            headers = {**officer, "Idempotency-Key": f"finding-{fid}"}
            return "finding", fid, client.send("finding", lambda h: h.post(
                f"/api/v1/inspections/{iid}/findings", json=body, headers=headers))

        def incident(i: int) -> tuple[str, str, httpx.Response]:
            nid = str(uuid.uuid4())
            body = {"id": nid, "kind": "threat", "victim": "self", "description": f"企业负责人威胁检查员 {i}",
                    "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}
            headers = {**inspector, "Idempotency-Key": f"incident-{nid}"}
            return "incident", nid, client.send("incident", lambda h: h.post(
                "/api/v1/incidents", json=body, headers=headers))

        def photo(i: int) -> tuple[str, str, httpx.Response]:
            key = f"photo-{uuid.uuid4()}"
            head, tail, ctype = multipart(photos[i])
            body = head + photos[i] + tail

            def slowly() -> Iterator[bytes]:
                # About a second per upload: some are in flight whenever the worker dies.
                for at in range(0, len(body), 64 * 1024):
                    yield body[at:at + 64 * 1024]
                    time.sleep(0.03)

            headers = {**officer, "Idempotency-Key": key, "Content-Type": ctype}
            return "photo", key, client.send("photo", lambda h: h.post(
                f"/api/v1/inspections/{iid}/evidence", content=slowly(), headers=headers))

        jobs: list[Any] = ([(finding, i) for i in range(FINDINGS)] + [(incident, i) for i in range(INCIDENTS)]
                           + [(photo, i) for i in range(PHOTOS)])
        # Interleaved, so every kind is in flight around the kill.
        jobs = [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: (i * 7919) % len(jobs))]

        victims: list[int] = []

        def kill_busiest_worker() -> None:
            # Once a third of the writes are under way, and while the worker holds connections.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                held = {pid: connections_held(pid, server.port) for pid in workers_of(server)}
                busiest = max(held, key=lambda p: held[p], default=None)
                if busiest is not None and held[busiest] >= 2 and submitted[0] >= len(jobs) // 3:
                    os.kill(busiest, signal.SIGKILL)
                    victims.append(busiest)
                    return
                time.sleep(0.01)

        submitted = [0]
        killer = threading.Thread(target=kill_busiest_worker, daemon=True)
        killer.start()
        with ThreadPoolExecutor(max_workers=12) as pool:
            futures = []
            for fn, i in jobs:
                futures.append(pool.submit(fn, i))
                submitted[0] += 1
                time.sleep(0.03)
            results = [f.result(timeout=DEADLINE_S + 30) for f in futures]
        killer.join(timeout=25)
        assert victims, "no worker was killed while holding connections"
        assert sum(client.retried.values()) > 0, "the kill cut no request: nothing was retried"

        # Every write answered, each with its id; a retry answered with the same one.
        answered: dict[str, list[str]] = {"finding": [], "incident": [], "photo": []}
        for kind, ref, r in results:
            assert r.status_code in (200, 201), (kind, r.status_code, r.text)
            body = r.json()
            if kind != "photo":
                assert body["id"] == ref, (kind, body)
            answered[kind].append(str(body["id"]))
        assert len(set(answered["photo"])) == PHOTOS

        # The supervisor replaced the killed worker; the server serves on.
        deadline = time.monotonic() + 30
        while len(workers_of(server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers_of(server)) == 2 and victims[0] not in workers_of(server)
        assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    finally:
        server.stop()

    # Exactly one effect per write: one row each and no other, one audit entry each.
    cli_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    done = subprocess.run([sys.executable, "-m", "backend.cli", "audit", "integrate"], cwd=REPO, env=cli_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows, audit = asyncio.run(effects(db_url, uuid.UUID(iid)))
    assert Counter(rows["finding"]) == Counter(answered["finding"])
    assert Counter(rows["incident"]) == Counter(answered["incident"])
    assert Counter(rows["photo"]) == Counter(answered["photo"])
    assert Counter(audit["finding"]) == Counter(answered["finding"]), "a finding audited twice or never"
    assert Counter(audit["incident"]) == Counter(answered["incident"]), "an incident audited twice or never"
    assert Counter(audit["photo"]) == Counter(answered["photo"]), "a photo audited twice or never"
    verify = subprocess.run([sys.executable, "-m", "backend.cli", "audit", "verify"], cwd=REPO, env=cli_env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Traceback" not in (tmp_path / "server.log").read_text().split("died")[-1]
    assert time.monotonic() - started < 120


async def effects(db_url: str, inspection_id: uuid.UUID) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    import backend.models  # noqa: F401  (every table on the metadata)
    from backend.core.db import Base, make_engine

    t = Base.metadata.tables
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            async def ids(query: Any) -> list[str]:
                return [str(r[0]) for r in (await conn.execute(query)).all()]

            rows = {
                "finding": await ids(sa.select(t["inspection_findings"].c.id)
                                     .where(t["inspection_findings"].c.inspection_id == inspection_id)),
                "incident": await ids(sa.select(t["incidents"].c.id)),
                "photo": await ids(sa.select(t["evidence"].c.id).where(t["evidence"].c.owner_id == inspection_id)),
            }
            entries = t["audit_entries"]
            found = (await conn.execute(sa.select(entries.c.action, entries.c.subject, entries.c.data).where(
                entries.c.action.in_(["inspection.finding_added", "incident.reported", "evidence.upload"])))).all()
            audit: dict[str, list[str]] = {"finding": [], "incident": [], "photo": []}
            for action, subject, data in found:
                if action == "inspection.finding_added":
                    audit["finding"].append(str(data["finding_id"]))
                elif action == "incident.reported":
                    audit["incident"].append(subject.split(":", 1)[1])
                else:
                    audit["photo"].append(subject.split(":", 1)[1])
            pending = (await conn.execute(sa.select(sa.func.count()).select_from(t["audit_pending"]))).scalar_one()
            assert pending == 0, f"{pending} audit records still pending after integrate"
    finally:
        await engine.dispose()
    return rows, audit
