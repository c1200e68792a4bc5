"""The photo store's disk fills: uploads are refused with 507 INSUFFICIENT_STORAGE and the error
body, nothing half-written is left, and the other endpoints keep working.

Two ways: the reserve (`FIELDCHECK_MIN_FREE_BYTES`) larger than the free space, and a real ENOSPC
from a small tmpfs mounted over the evidence directory (needs root; the database and keys stay
on the ordinary disk)."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from backend.evidence.storage import EvidenceStore
from tests.faults.helpers import (
    Server,
    assert_error_body,
    auth_headers,
    multipart,
    prepare_database,
    started_inspection,
    upload_fields,
)

pytestmark = pytest.mark.db


def noisy_jpeg(size: tuple[int, int], seed: int) -> bytes:
    # Noise does not compress: the file is as large as a real photo of that size.
    im = Image.merge("RGB", [Image.effect_noise(size, 40 + seed + i) for i in range(3)])
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95)
    return out.getvalue()


def upload(http: httpx.Client, iid: str, data: bytes, headers: dict[str, str]) -> httpx.Response:
    return http.post(f"/api/v1/inspections/{iid}/evidence", headers=headers,
                     files={"file": ("p.jpg", data, "image/jpeg")}, data=upload_fields(data))


def upload_chunked(http: httpx.Client, iid: str, data: bytes, headers: dict[str, str]) -> httpx.Response:
    """Without Content-Length, so nothing can be refused up front: the write itself meets ENOSPC."""
    head, tail, ctype = multipart(data)
    body = head + data + tail

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(body), 64 * 1024):
            yield body[i:i + 64 * 1024]

    return http.post(f"/api/v1/inspections/{iid}/evidence", headers={**headers, "Content-Type": ctype},
                     content=chunks())


def leftovers(store: EvidenceStore, rows: set[str]) -> list[Path]:
    """Temp files, and content files of photos the server never accepted."""
    stray = list(store.temp_files())
    stray += [p for sha, p in store.content_files() if sha not in rows]
    return stray


def serve(tmp_path: Path, **env: str) -> tuple[Server, Path]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    prepare_database(f"sqlite+aiosqlite:///{data_dir / 'fieldcheck.db'}", data_dir)
    server = Server({"FIELDCHECK_DATA_DIR": str(data_dir), "FIELDCHECK_DEMO": "1", **env}, tmp_path / "server.log")
    return server, data_dir


def test_reserve_refuses_uploads_with_507(tmp_path: Path) -> None:
    server, data_dir = serve(tmp_path, FIELDCHECK_MIN_FREE_BYTES=str(10**18))
    server.start()
    try:
        headers = auth_headers(data_dir, "sy.officer1")
        with httpx.Client(base_url=server.url, timeout=60) as http:
            iid = started_inspection(http, data_dir)
            r = upload(http, iid, noisy_jpeg((800, 600), 1), headers)
            body = assert_error_body(r, 507, "INSUFFICIENT_STORAGE")
            assert body["detail"]["min_free_bytes"] == 10**18
            # Everything else still answers.
            assert http.get(f"/api/v1/inspections/{iid}", headers=headers).status_code == 200
            assert http.get(f"/api/v1/inspections/{iid}/evidence", headers=headers).json()["items"] == []
            r = http.post(f"/api/v1/inspections/{iid}/findings", headers=headers,
                          json={"description": "消防通道堵塞", "hazard_level": "general"})
            assert r.status_code == 201, r.text
        assert leftovers(EvidenceStore(data_dir), set()) == []
    finally:
        server.stop()


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Path:
    mount_point = tmp_path / "data" / "evidence"
    mount_point.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the reserve test above covers the 507 path")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_real_enospc_is_507_and_leaves_nothing(tmp_path: Path, small_tmpfs: Path) -> None:
    server, data_dir = serve(tmp_path, FIELDCHECK_MIN_FREE_BYTES="0")
    server.start()
    try:
        headers = auth_headers(data_dir, "sy.officer1")
        store = EvidenceStore(data_dir)
        accepted: set[str] = set()
        with httpx.Client(base_url=server.url, timeout=60) as http:
            iid = started_inspection(http, data_dir)
            refused = 0
            for seed in range(8):  # ~0.9 MB each into 3 MB: the disk fills on the way
                data = noisy_jpeg((900, 700), seed)
                r = upload_chunked(http, iid, data, headers)
                if r.status_code == 201:
                    accepted.add(hashlib.sha256(data).hexdigest())
                    continue
                assert_error_body(r, 507, "INSUFFICIENT_STORAGE")
                refused += 1
                assert leftovers(store, accepted) == [], "a refused upload left files behind"
            assert accepted and refused, (len(accepted), refused)
            listed = http.get(f"/api/v1/inspections/{iid}/evidence", headers=headers).json()["items"]
            assert {e["sha256"] for e in listed} == accepted
            for sha in accepted:  # every accepted photo is whole
                assert hashlib.sha256(store.original_path(sha).read_bytes()).hexdigest() == sha
                assert store.thumbnail_path(sha).is_file()
            assert http.get("/healthz").json()["database_up"] is True
            assert http.get(f"/api/v1/inspections/{iid}", headers=headers).status_code == 200
        log = (tmp_path / "server.log").read_text()
        assert "Traceback" not in log, log[-3000:]
    finally:
        server.stop()
