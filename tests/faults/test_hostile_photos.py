"""Photos that declare more pixels than their size suggests cannot take the server's memory.

A small PNG declaring 15000 x 16000 pixels (240 MP) is refused from its header (413) before a
pixel is decoded. Decodes run under a per-worker memory budget: a burst of large-but-allowed
photos is served one after another within it, and those that cannot get room in time are turned
away with 503 + Retry-After, while the other endpoints keep answering. A real phone photo is
accepted throughout."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.faults.helpers import (
    Server,
    assert_error_body,
    auth_headers,
    prepare_database,
    started_inspection,
    upload_fields,
)

pytestmark = pytest.mark.db


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, seed: int, *, rows: int | None = None) -> bytes:
    """An RGB PNG of a flat colour; `rows` cuts the pixel data short (the header still declares
    the full size), which is all a bomb needs to be refused by its header."""
    row = b"\x00" + bytes([seed % 256, 60, 90]) * width
    compressor = zlib.compressobj(6)
    parts = [compressor.compress(row) for _ in range(height if rows is None else rows)]
    parts.append(compressor.flush())
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b""))


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_pixel_bomb_and_decode_budget(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    prepare_database(f"sqlite+aiosqlite:///{data_dir / 'fieldcheck.db'}", data_dir)
    budget_mb = 200
    server = Server({"FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1",
                     "FIELDCHECK_DECODE_MEMORY_BYTES": str(budget_mb * 2**20),
                     "FIELDCHECK_MAX_CONCURRENT_DECODES": "1", "FIELDCHECK_DECODE_WAIT_S": "0.3"},
                    tmp_path / "server.log")
    server.start()
    try:
        headers = auth_headers(data_dir, "sy.officer1")
        with httpx.Client(base_url=server.url, timeout=120) as http:
            iid = started_inspection(http, data_dir)
            url = f"/api/v1/inspections/{iid}/evidence"

            def send(data: bytes, name: str = "p.png") -> httpx.Response:
                with httpx.Client(base_url=server.url, timeout=120) as c:
                    return c.post(url, headers=headers, files={"file": (name, data, "image/png")},
                                  data=upload_fields(data))

            assert server.proc is not None
            base_rss = peak_rss_mb(server.proc.pid)

            # 1. The bomb of the report: 240 MP declared, refused from the header, fast.
            bomb = png(15000, 16000, 1, rows=200)
            started = time.monotonic()
            r = send(bomb)
            body = assert_error_body(r, 413, "TOO_LARGE")
            assert body["detail"]["pixels"] == 15000 * 16000
            assert time.monotonic() - started < 5

            # 2. Large, allowed PNGs (20 MP, ~120 MB to decode and thumbnail) at once.
            photos = [png(5000, 4000, 10 + i) for i in range(4)]
            results: list[httpx.Response] = []
            threads = [threading.Thread(target=lambda d=d: results.append(send(d))) for d in photos]
            health_ms: list[float] = []
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                t0 = time.monotonic()
                assert http.get("/healthz").status_code == 200
                health_ms.append((time.monotonic() - t0) * 1000)
                time.sleep(0.05)
            for t in threads:
                t.join()
            statuses = sorted(r.status_code for r in results)
            assert set(statuses) <= {201, 503}, [r.text for r in results]
            assert 201 in statuses and 503 in statuses, statuses
            for r in results:
                if r.status_code == 503:
                    assert_error_body(r, 503, "SERVICE_UNAVAILABLE")
                    assert int(r.headers["retry-after"]) >= 1
            assert max(health_ms) < 3000, max(health_ms)

            # 3. A PNG that alone needs more than the whole budget: 413, not a wait.
            r = send(png(8000, 6000, 3, rows=10))
            body = assert_error_body(r, 413, "TOO_LARGE")
            assert body["detail"]["max_decode_bytes"] == budget_mb * 2**20

            # 4. A real phone photo still goes through.
            phone = (SAMPLES / "jpg" / "mobile" / "HMD_Nokia_8.3_5G.jpg").read_bytes()
            r = send(phone, "phone.jpg")
            assert r.status_code == 201, r.text

            # The worker never took much more than its decode budget on top of where it started.
            growth = peak_rss_mb(server.proc.pid) - base_rss
            assert growth < budget_mb + 150, f"peak RSS grew by {growth:.0f} MB"
    finally:
        server.stop()
