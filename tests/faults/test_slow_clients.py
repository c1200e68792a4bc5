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


HEADER_S = 2.0


def test_stalled_headers_are_cut(tmp_path: Path) -> None:
    """Uvicorn times nothing before a request's headers are complete: the protocol of
    `fieldcheck serve` (core/http_protocol.py) cuts a header phase that takes longer than
    header_timeout_s (408 with the error body when a request had begun, then close), whether the
    client stalls or dribbles, on a fresh connection or a kept-alive one; a request whose headers
    are complete is not affected, however slowly its body then arrives."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    prepare_database(f"sqlite+aiosqlite:///{data_dir / 'fieldcheck.db'}", data_dir)
    server = Server({"FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1",
                     "FIELDCHECK_HEADER_TIMEOUT_S": str(HEADER_S), "FIELDCHECK_BODY_IDLE_TIMEOUT_S": "30"},
                    tmp_path / "server.log")
    server.start()
    opened: list[socket.socket] = []

    def connect() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", server.port))
        opened.append(s)
        return s

    try:
        headers = auth_headers(data_dir, "sy.officer1")
        auth = headers["Authorization"].encode()
        started = time.monotonic()
        # 100 requests stalled half-way through their headers, 20 connections that send nothing.
        half = [connect() for _ in range(100)]
        for s in half:
            s.sendall(b"POST /api/v1/inspections HTTP/1.1\r\nHost: t\r\nAuthorization: " + auth[:30])
        silent = [connect() for _ in range(20)]
        # A kept-alive connection: one full request answered, then half of the next one.
        kept = connect()
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first:
            first += kept.recv(65536)
        # The whole answer, body included: on a busy machine the body can come in a later segment,
        # and would then be read below as the start of the next answer.
        head, _, body_so_far = first.partition(b"\r\n\r\n")
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        while len(body_so_far) < length:
            body_so_far += kept.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        # A slowloris: one header byte every 0.4 s, never idle long, never done.
        dribble = connect()
        dribble.sendall(b"GET /healthz HTTP/1.1\r\n")

        # A request with complete headers and a body sent slowly (longer than the header bound,
        # each pause shorter than the body idle timeout) is answered normally.
        slow_body = connect()
        body = b'{"kind": "on_site_inspection"}'
        slow_body.sendall(b"POST /api/v1/inspections HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                          b"Authorization: " + auth + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")

        # Meanwhile others are served at once.
        with httpx.Client(base_url=server.url, timeout=10) as http:
            t0 = time.monotonic()
            assert http.get("/readyz").status_code == 200
            assert time.monotonic() - t0 < 2

        step = 0
        while time.monotonic() - started < HEADER_S * 2.5:
            if step < len(body):
                slow_body.sendall(body[step:step + 4])
                step += 4
            try:
                dribble.sendall(b"X")
            except OSError:
                break  # the server closed it
            time.sleep(0.4)
        slow_body.sendall(body[step:])

        answers = [read_all(s, started + HEADER_S + 15) for s in half]
        took = time.monotonic() - started
        assert all(a.startswith(b"HTTP/1.1 408") and a.endswith(b"<EOF>") for a in answers), {a[:60] for a in answers}
        assert b'"code":"REQUEST_TIMEOUT"' in answers[0] and b'"message_zh"' in answers[0]
        assert b"connection: close" in answers[0].lower()
        assert took < HEADER_S + 15
        # A connection that never sent a byte is closed without an answer.
        assert all(read_all(s, time.monotonic() + 5) == b"<EOF>" for s in silent)
        rest = read_all(kept, time.monotonic() + 5)
        assert rest.startswith(b"HTTP/1.1 408") and rest.endswith(b"<EOF>"), rest[:80]
        dribbled = read_all(dribble, time.monotonic() + 5)
        assert dribbled.startswith(b"HTTP/1.1 408") and dribbled.endswith(b"<EOF>"), dribbled[:80]

        # The slow body was not cut by the header bound: its request was judged on its content.
        answer = read_all(slow_body, time.monotonic() + 10)
        assert answer.startswith(b"HTTP/1.1 4") and not answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"code":"REQUEST_TIMEOUT"' not in answer

        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/readyz").status_code == 200
        log = (tmp_path / "server.log").read_text()
        assert "Traceback" not in log
        assert "request headers not complete" in log
    finally:
        for s in opened:
            s.close()
        server.stop()
