"""Clients that stall: a body that stops arriving is cut (408 REQUEST_TIMEOUT with the error body,
then the connection is closed), an upload cut that way leaves no temp file, and neither hundreds of
stalled bodies nor 200 idle keep-alive connections keep others from being served."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from backend.evidence.storage import EvidenceStore
from tests.faults.helpers import Server, auth_headers, multipart, prepare_database, started_inspection

pytestmark = pytest.mark.db

IDLE_S = 2.0


def read_all(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not chunk:
            return data + b"<EOF>"
        data += chunk
    return data


def test_stalled_bodies_are_cut_and_others_served(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    prepare_database(f"sqlite+aiosqlite:///{data_dir / 'fieldcheck.db'}", data_dir)
    server = Server({"FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1",
                     "FIELDCHECK_BODY_IDLE_TIMEOUT_S": str(IDLE_S)}, tmp_path / "server.log")
    server.start()
    stalled: list[socket.socket] = []
    idle: list[socket.socket] = []
    try:
        headers = auth_headers(data_dir, "sy.officer1")
        with httpx.Client(base_url=server.url, timeout=30) as http:
            iid = started_inspection(http, data_dir)
        auth = headers["Authorization"]

        # 200 keep-alive connections that made one request and then sit idle.
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            idle.append(s)
        for s in idle:
            assert read_all(s, time.monotonic() + 10).startswith(b"HTTP/1.1 200")

        # 300 JSON bodies that declare 100000 bytes and send one; 20 uploads that stop half-way.
        started = time.monotonic()
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"POST /api/v1/inspections HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      b"Authorization: " + auth.encode() + b"\r\nContent-Length: 100000\r\n\r\n{")
            stalled.append(s)
        photo = b"\xff\xd8\xff\xe0" + bytes(2_500_000)
        head, tail, ctype = multipart(photo)
        uploads: list[socket.socket] = []
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(f"POST /api/v1/inspections/{iid}/evidence HTTP/1.1\r\nHost: t\r\nContent-Type: {ctype}\r\n"
                      f"Authorization: {auth}\r\nContent-Length: {len(head) + len(photo) + len(tail)}\r\n\r\n"
                      .encode() + head + photo[:1_500_000])
            uploads.append(s)
        stalled += uploads

        # Meanwhile others are served at once.
        with httpx.Client(base_url=server.url, timeout=10) as http:
            t0 = time.monotonic()
            assert http.get(f"/api/v1/inspections/{iid}", headers=headers).status_code == 200
            assert time.monotonic() - t0 < 2
        store = EvidenceStore(data_dir)
        deadline = time.monotonic() + 10
        while len(list(store.temp_files())) < len(uploads) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(list(store.temp_files())) == len(uploads), "the stalled uploads were not being spooled"

        # Every stalled request is answered 408 and its connection closed, soon after the timeout.
        answers = [read_all(s, started + IDLE_S + 20) for s in stalled]
        took = time.monotonic() - started
        assert all(a.startswith(b"HTTP/1.1 408") for a in answers), {a[:40] for a in answers}
        assert all(a.endswith(b"<EOF>") for a in answers), "a cut connection was kept open"
        assert b'"code":"REQUEST_TIMEOUT"' in answers[0] and b'"message_zh"' in answers[0]
        assert took < IDLE_S + 20
        deadline = time.monotonic() + 10
        while list(store.temp_files()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(store.temp_files()) == [], "a cut upload left its temp file"

        # Uvicorn closes the idle keep-alive connections by itself; the server is still fine.
        assert all(read_all(s, time.monotonic() + 10).endswith(b"<EOF>") for s in idle[:10])
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/readyz").status_code == 200
        assert "Traceback" not in (tmp_path / "server.log").read_text()
    finally:
        for s in stalled + idle:
            s.close()
        server.stop()
