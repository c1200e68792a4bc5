"""A server killed mid-upload leaves nothing behind once it restarts, without waiting an hour;
SIGTERM lets requests in flight finish (within a bound) and then exits.

Leftovers of a process that is certainly dead (its pid is gone, or is another process now) are
removed when `fieldcheck serve` starts: temp files of uploads in flight, and a photo put in place
whose row was never committed. Files of a live process are kept whatever their age."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.evidence.storage import PLACING_SUFFIX, EvidenceStore, owner_tag
from tests.evidence.test_crash import assert_no_row_without_files, db_state, files_state, jpeg
from tests.faults.helpers import Server, auth_headers, multipart, started_inspection, upload_fields

pytestmark = pytest.mark.db


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def slow_upload(server: Server, url: str, auth: str, data: bytes, *, send_fraction: float,
                pause_s: float = 0.0) -> tuple[socket.socket, threading.Thread, list[bytes]]:
    """Send the upload slowly; stop after `send_fraction` of it (then, with `pause_s`, the rest)."""
    head, tail, ctype = multipart(data)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(f"POST {url} HTTP/1.1\r\nHost: t\r\nContent-Type: {ctype}\r\nAuthorization: {auth}\r\n"
                 f"Content-Length: {len(head) + len(data) + len(tail)}\r\nConnection: close\r\n\r\n".encode() + head)
    cut = int(len(data) * send_fraction)
    answer: list[bytes] = []

    def run() -> None:
        # OSError: the server went away (killed, or cut the stalled body), as the test wants.
        with contextlib.suppress(OSError):
            send()

    def send() -> None:
        for i in range(0, cut, 256 * 1024):
            sock.sendall(data[i:min(i + 256 * 1024, cut)])
            time.sleep(0.02)
        if pause_s:
            time.sleep(pause_s)
            sock.sendall(data[cut:] + tail)
            sock.settimeout(60)
            buf = b""
            while chunk := sock.recv(65536):
                buf += chunk
            answer.append(buf)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return sock, thread, answer


def serve(db_url: str, tmp_path: Path, **env: str) -> tuple[Server, Path]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    server = Server({"FIELDCHECK_DATABASE_URL": db_url, "FIELDCHECK_DATA_DIR": str(data_dir),
                     "FIELDCHECK_DEMO": "1", **env}, tmp_path / "server.log")
    return server, data_dir


def test_kill_9_leftovers_go_at_restart(db_url: str, tmp_path: Path) -> None:
    server, data_dir = serve(db_url, tmp_path)
    store = EvidenceStore(data_dir)
    server.start()
    try:
        auth = auth_headers(data_dir, "sy.officer1")
        with httpx.Client(base_url=server.url, timeout=60) as http:
            iid = started_inspection(http, data_dir)
            kept = jpeg((640, 480), 1)
            r = http.post(f"/api/v1/inspections/{iid}/evidence", headers=auth,
                          files={"file": ("a.jpg", kept, "image/jpeg")},
                          data=upload_fields(kept))
            assert r.status_code == 201, r.text
        url = f"/api/v1/inspections/{iid}/evidence"
        # Uploads in flight (spooled half-way), then SIGKILL.
        socks = [slow_upload(server, url, auth["Authorization"], jpeg((2400, 1800), 10 + i), send_fraction=0.6)
                 for i in range(3)]
        deadline = time.monotonic() + 20
        while len(list(store.temp_files())) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(store.temp_files())) == 3
        server.kill()
        for sock, thread, _ in socks:
            thread.join(timeout=10)
            sock.close()

        # What a kill between "photo in place" and "row committed" leaves (as on PostGIS in the
        # report): the files and the placing marker of a process that is gone.
        orphan = jpeg((320, 240), 20)
        sha = hashlib.sha256(orphan).hexdigest()
        store.original_path(sha).parent.mkdir(parents=True, exist_ok=True)
        store.original_path(sha).write_bytes(orphan)
        store.thumbnail_path(sha).write_bytes(b"thumb")
        gone = dead_pid()
        (store.tmp / f"{owner_tag(gone).split('-')[0]}-12345-{owner_tag().split('-')[2]}.{sha}.ab{PLACING_SUFFIX}"
         ).write_bytes(b"")
        # A temp file of a live process (this test) stays, young or old.
        live = store.tmp / f"{owner_tag()}.{uuid.uuid4().hex}.part"
        live.write_bytes(b"in flight elsewhere")
        old = time.time() - 60
        os.utime(live, (old, old))

        started = time.monotonic()
        server.start()
        assert time.monotonic() - started < 60
        rows = assert_no_row_without_files(db_url, store)
        originals, thumbs, temps = files_state(store)
        assert temps == [live], temps
        assert originals == rows and thumbs == rows, (originals - rows, thumbs - rows)
        assert hashlib.sha256(kept).hexdigest() in rows and sha not in rows
        log = (tmp_path / "server.log").read_text()
        assert "removed" in log or "evidence sweep" in log
    finally:
        server.stop()


def test_sigterm_lets_uploads_finish_then_exits(db_url: str, tmp_path: Path) -> None:
    server, data_dir = serve(db_url, tmp_path, FIELDCHECK_SHUTDOWN_TIMEOUT_S="8")
    store = EvidenceStore(data_dir)
    server.start()
    auth = auth_headers(data_dir, "sy.officer1")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        iid = started_inspection(http, data_dir)
    url = f"/api/v1/inspections/{iid}/evidence"
    photo = jpeg((1600, 1200), 30)
    sock, thread, answer = slow_upload(server, url, auth["Authorization"], photo, send_fraction=0.5, pause_s=2.0)
    deadline = time.monotonic() + 20
    while not list(store.temp_files()) and time.monotonic() < deadline:
        time.sleep(0.05)
    server.signal(signal.SIGTERM)
    sent_at = time.monotonic()
    thread.join(timeout=60)
    sock.close()
    assert server.proc is not None
    server.proc.wait(timeout=30)
    assert time.monotonic() - sent_at < 8 + 10
    assert answer and answer[0].startswith(b"HTTP/1.1 201"), answer[:1]
    # Uvicorn re-raises the signal it caught once it has shut down cleanly.
    assert server.proc.returncode in (0, -signal.SIGTERM), server.proc.returncode
    assert hashlib.sha256(photo).hexdigest() in asyncio.run(db_state(db_url))
    assert list(store.temp_files()) == []


def test_sigterm_is_bounded_by_the_shutdown_timeout(db_url: str, tmp_path: Path) -> None:
    server, data_dir = serve(db_url, tmp_path, FIELDCHECK_SHUTDOWN_TIMEOUT_S="2",
                             FIELDCHECK_BODY_IDLE_TIMEOUT_S="300")
    store = EvidenceStore(data_dir)
    server.start()
    auth = auth_headers(data_dir, "sy.officer1")
    with httpx.Client(base_url=server.url, timeout=60) as http:
        iid = started_inspection(http, data_dir)
    # An upload that stalls for good: shutdown may not wait for it longer than the bound.
    stuck: Any = slow_upload(server, f"/api/v1/inspections/{iid}/evidence", auth["Authorization"],
                             jpeg((2400, 1800), 40), send_fraction=0.6)
    deadline = time.monotonic() + 20
    while not list(store.temp_files()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(store.temp_files())
    server.signal(signal.SIGTERM)
    sent_at = time.monotonic()
    assert server.proc is not None
    server.proc.wait(timeout=30)
    took = time.monotonic() - sent_at
    stuck[0].close()
    assert took < 2 + 6, took
    assert list(store.temp_files()) == [], "the cut upload left its temp file"
