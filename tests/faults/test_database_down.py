"""The database goes away under load and comes back: requests get 503 SERVICE_UNAVAILABLE with
the error body and Retry-After (never a 500, never a hang past the database timeout), /healthz
says the database is down and /readyz refuses, and the service recovers by itself.

PostgreSQL: a cluster of the test's own (initdb, pg_ctl on a spare port) is stopped and started;
the shared server on 5432 is never touched. SQLite: another process holds the file's lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.core.clock import Clock
from tests.faults.helpers import (
    OwnPostgres,
    Server,
    assert_error_body,
    auth_headers,
    prepare_database,
)
from tests.inspections.helpers import inspection_body

pytestmark = pytest.mark.db

DB_TIMEOUT_S = 2.0
# A refusal may take the database timeout plus connection set-up and scheduling on a busy machine.
MAX_REFUSAL_S = DB_TIMEOUT_S + 6.0


class Load:
    """Two client threads: one creates inspections (writes), one reads the agency list."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.results: list[tuple[float, str, int, float, dict[str, Any] | None, str | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(kind,), daemon=True) for kind in ("write", "read")]

    def _run(self, kind: str) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    if kind == "write":
                        r = http.post("/api/v1/inspections", json=inspection_body(Clock(), team=(
                            "sy.officer1", "sy.officer2")), headers=self.headers)
                    else:
                        r = http.get("/api/v1/agencies", headers=self.headers)
                except httpx.HTTPError as exc:
                    self.results.append((started, kind, -1, time.monotonic() - started, None, type(exc).__name__))
                    continue
                body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
                self.results.append((started, kind, r.status_code, time.monotonic() - started,
                                     body if r.status_code >= 400 else None, r.headers.get("retry-after")))
                time.sleep(0.02)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s")


def health(url: str) -> dict[str, Any]:
    r = httpx.get(f"{url}/healthz", timeout=10)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ready(url: str) -> int:
    return httpx.get(f"{url}/readyz", timeout=10).status_code


def check_outage(server: Server, load: Load, down: Callable[[], None], up: Callable[[], None], *,
                 reads_fail: bool = True) -> None:
    time.sleep(1.5)
    assert any(r[2] == 201 for r in load.results), load.results[-5:]
    outage_from = time.monotonic()
    down()
    wait_for(lambda: not health(server.url)["database_up"], 20, "/healthz reporting the database down")
    body = health(server.url)
    assert body["status"] == "degraded" and body["database_error"]
    r = httpx.get(f"{server.url}/readyz", timeout=10)
    assert_error_body(r, 503, "SERVICE_UNAVAILABLE")
    assert int(r.headers["retry-after"]) > 0
    time.sleep(DB_TIMEOUT_S + 2)  # requests keep failing over the whole outage, each bounded
    outage_to = time.monotonic()
    up()
    recovered = wait_for(lambda: ready(server.url) == 200, 60, "/readyz back to 200")
    wait_for(lambda: any(r[0] > outage_to + recovered and r[2] == 201 for r in load.results), 30,
             "a write accepted after the restart")
    assert health(server.url)["database_up"] is True

    statuses = {r[2] for r in load.results}
    assert statuses <= {200, 201, 503}, sorted(statuses)  # no 500, no dropped connection
    refused = [r for r in load.results if r[2] == 503]
    # Requests that began and ended inside the outage (one queued on the lock at its end may succeed).
    during = [r for r in load.results
              if outage_from + 1 < r[0] and r[0] + r[3] < outage_to and (reads_fail or r[1] == "write")]
    assert during and all(r[2] == 503 for r in during), [(r[1], r[2]) for r in during]
    for _, _, _, elapsed, err, retry_after in refused:
        assert err is not None and err["code"] == "SERVICE_UNAVAILABLE" and err["message_zh"], err
        assert retry_after is not None and int(retry_after) > 0
        assert elapsed < MAX_REFUSAL_S, elapsed
    # On SQLite most reads also wait for the write lock (their sessions begin IMMEDIATE): they may be
    # refused too, but only writes must be.
    assert {r[1] for r in refused} >= ({"write", "read"} if reads_fail else {"write"})


@pytest.fixture(scope="module")
def own_postgres() -> Any:
    pg = OwnPostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


def test_postgres_restart_under_load(own_postgres: OwnPostgres, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = own_postgres.create_database("fieldcheck_restart")
    prepare_database(url, data_dir)
    server = Server({"FIELDCHECK_DATABASE_URL": url, "FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1",
                     "FIELDCHECK_DB_TIMEOUT_S": str(DB_TIMEOUT_S)}, tmp_path / "server.log")
    server.start()
    try:
        with Load(server.url, auth_headers(data_dir, "sy.officer1")) as load:
            check_outage(server, load, down=lambda: own_postgres.stop("fast"), up=own_postgres.start)
    finally:
        server.stop()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


# The write lock, as a manual `sqlite3` session or a stuck backup job would hold it. In WAL mode
# readers are never blocked, so reads go on answering: only writes are refused meanwhile.
LOCK_HOLDER = r"""
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
c.execute("ROLLBACK")
c.close()
"""


def test_sqlite_locked_by_another_process(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    db = data_dir / "fieldcheck.db"
    prepare_database(f"sqlite+aiosqlite:///{db}", data_dir)
    server = Server({"FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1",
                     "FIELDCHECK_DB_TIMEOUT_S": str(DB_TIMEOUT_S)}, tmp_path / "server.log")
    server.start()
    holder: subprocess.Popen[str] | None = None

    def lock() -> None:
        nonlocal holder
        holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"

    def unlock() -> None:
        assert holder is not None and holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)

    try:
        with Load(server.url, auth_headers(data_dir, "sy.officer1")) as load:
            check_outage(server, load, down=lock, up=unlock, reads_fail=False)
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
        server.stop()
    assert "Traceback" not in (tmp_path / "server.log").read_text()
