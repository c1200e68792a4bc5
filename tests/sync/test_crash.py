"""A real server process killed with SIGKILL in the middle of a batch, restarted, and the batch
sent again at once: every op applied exactly once, in order (no claims to wait out), and ops
from two connections at once against a live server: once each."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.core.db import make_engine, make_sessionmaker
from backend.inspections.models import Document
from backend.sync.models import SyncOp
from tests.inspections.helpers import RECORD, Flow, at
from tests.sync.fieldday import FieldDay, effects

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
SYNC = "/api/v1/sync"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`uvicorn backend.asgi:make_app` in its own process, on the test's database."""

    def __init__(self, db_url: str, data_dir: Path, base_url: str) -> None:
        self.port = _free_port()
        self.env = {**os.environ, "FIELDCHECK_DATABASE_URL": db_url, "FIELDCHECK_DATA_DIR": str(data_dir),
                    "FIELDCHECK_DEMO": "1", "FIELDCHECK_PUBLIC_BASE_URL": base_url}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "backend.asgi:make_app", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"], cwd=ROOT, env=self.env)

    async def start(self) -> None:
        self.spawn()
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as c:
            while time.monotonic() < deadline:
                try:
                    if (await c.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
async def server(db_url: str, keys_dir: Path, settings: Any) -> AsyncIterator[Server]:
    srv = Server(db_url, keys_dir, settings.public_base_url)
    await srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def maker(db_url: str) -> AsyncIterator[Any]:
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _scalar(maker: Any, stmt: Any) -> Any:
    # A read-only session: on SQLite a writer's session would queue for the write lock behind the
    # server's chunks (busy-wait back-off), and the poller would see the batch only once it is over.
    async with make_sessionmaker(maker.kw["bind"], read_only=True)() as s:
        return (await s.execute(stmt)).scalar_one()


async def test_kill_9_mid_batch_then_replay_applies_each_op_once(
        client: Any, token_for: Callable[..., dict[str, str]], clock: Any, server: Server, maker: Any) -> None:
    flow = Flow(client, token_for, clock)
    officer = token_for("sy.officer1")
    # The kill races the batch: on a loaded machine the poller below may be starved until the batch
    # has finished. Then the crash was not exercised, and the run is repeated with a new document.
    for _attempt in range(3):
        ins = await flow.started(team=("sy.officer1", "sy.officer2"))
        doc = (await flow.document(ins["id"], content={"n": -1})).json()
        ops = [{"op_id": str(uuid.uuid4()), "method": "PUT", "path": f"/api/v1/documents/{doc['id']}",
                "body": {"content": {"n": i, "text": "现场检查记录" * 20}}, "recorded_at": at(clock)}
               for i in range(500)]
        batch = {"device_id": "phone", "ops": ops}
        before = await _scalar(maker, select(func.count()).select_from(SyncOp))
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as c:
            sent = asyncio.create_task(c.post(SYNC, json=batch, headers=officer))
            # Kill the server once part of the batch has committed.
            deadline = time.monotonic() + 60
            while await _scalar(maker, select(func.count()).select_from(SyncOp)) < before + 60:
                assert time.monotonic() < deadline and not sent.done(), "the batch did not progress"
                await asyncio.sleep(0.005)
            server.kill()
            try:
                await sent
            except httpx.TransportError:
                break  # killed mid-batch, as intended
        await server.start()
    else:
        pytest.fail("the batch finished before the kill three times")
    done_before = await _scalar(maker, select(func.count()).select_from(SyncOp)) - before
    assert 60 <= done_before < 500

    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as c:
        began = time.monotonic()
        r = await c.post(SYNC, json=batch, headers=officer)
        took = time.monotonic() - began
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200] * 500
    # Ops committed before the kill are replays; the rest applied now, in order: op i made version i + 2.
    assert sum(x["replayed"] for x in results) == done_before
    assert [x["body"]["version"] for x in results] == list(range(2, 502))
    assert took < 60  # nothing waited for a dead claim to go stale
    async with maker() as s:
        row = (await s.execute(select(Document).where(Document.id == uuid.UUID(doc["id"])))).scalar_one()
    assert row.version == 501 and row.content["n"] == 499
    assert await _scalar(maker, select(func.count()).select_from(SyncOp)) == 500


async def test_field_day_from_two_connections_to_a_live_server(
        client: Any, token_for: Callable[..., dict[str, str]], clock: Any, server: Server, maker: Any) -> None:
    flow = Flow(client, token_for, clock)
    ins = await flow.create(team=("sy.officer1", "sy.officer2", "sy.inspector.ft"))
    day = FieldDay(iid=ins["id"], when=at(clock, -1), ft_qr=await flow.qr_text_of("sy.inspector.ft"))
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as a, \
            httpx.AsyncClient(base_url=server.url, timeout=120) as b:
        for who, ops in day.phones():
            batch = {"device_id": who, "ops": ops}
            r1, r2 = await asyncio.gather(a.post(SYNC, json=batch, headers=token_for(who)),
                                          b.post(SYNC, json=batch, headers=token_for(who)))
            assert r1.status_code == r2.status_code == 200
            x, y = r1.json()["results"], r2.json()["results"]
            assert [(o["status"], o["body"]) for o in x] == [(o["status"], o["body"]) for o in y]
            assert all(o["replayed"] != p["replayed"] for o, p in zip(x, y, strict=True))
    assert await effects(maker, day.iid) == {"check_ins": 3, "displays": 3, "findings": 2, "documents": 1,
                                             "signatures": 4, "ops": 15}
    doc = (await client.get(f"/api/v1/documents/{day.doc_id}", headers=token_for("sy.officer1"))).json()
    assert doc["locked"] is True and doc["type"] == RECORD
