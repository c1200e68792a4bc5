"""The blob store behind evidence photos, both kinds (files in the data directory, chunks in the
database) on both databases: what goes in comes out byte for byte, in chunks no larger than one
row, once per content hash; the sweep removes blobs no evidence row refers to; corrupted bytes
are never served quietly. And the whole API flow with `blob_store="database"`."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from backend.app import create_app
from backend.core.errors import InsufficientStorage
from backend.evidence import blobs, repository
from backend.evidence.models import Blob, BlobChunk
from backend.evidence.storage import EvidenceStore
from backend.settings import Settings
from tests.evidence.test_evidence_api import Uploader, good_photo
from tests.inspections.helpers import Flow

pytestmark = pytest.mark.db


def _store(kind: str, data_dir: Path) -> blobs.BlobStore:
    return blobs.blob_store(Settings(data_dir=str(data_dir), blob_store=kind, min_free_bytes=0))


def _spool(tmp_path: Path, data: bytes) -> tuple[Path, str]:
    path = tmp_path / f"upload-{os.urandom(4).hex()}.part"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


async def _read(store: blobs.BlobStore, session: object, sha: str, kind: str) -> list[bytes]:
    return [chunk async for chunk in await store.open_stream(session, sha, kind)]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["files", "database"])
async def test_put_stream_exists_sweep(kind, session_factory, tmp_path):
    store = _store(kind, tmp_path / "data")
    # Several chunks and a short last one.
    data = os.urandom(2 * blobs.CHUNK_BYTES + 12345)
    thumb = os.urandom(5000)
    spool, sha = _spool(tmp_path, data)
    now = datetime.now(UTC)
    async with session_factory() as session:
        assert not await store.exists(session, sha)
        with pytest.raises(blobs.BlobMissing):
            await store.open_stream(session, sha, blobs.ORIGINAL)
        await store.put(session, sha, spool, "image/jpeg", thumb, now)
        await session.commit()
        # The same bytes again (a second upload of the photo): stored once, no error.
        again, _ = _spool(tmp_path, data)
        await store.put(session, sha, again, "image/jpeg", thumb, now)
        await session.commit()

    async with session_factory() as session:
        assert await store.exists(session, sha)
        chunks = await _read(store, session, sha, blobs.ORIGINAL)
        assert b"".join(chunks) == data and hashlib.sha256(b"".join(chunks)).hexdigest() == sha
        assert len(chunks) == 3 and all(len(c) <= blobs.CHUNK_BYTES for c in chunks)
        assert b"".join(await _read(store, session, sha, blobs.THUMBNAIL)) == thumb
        if kind == "database":
            n = (await session.execute(select(func.count()).select_from(BlobChunk)
                                       .where(BlobChunk.sha256 == sha))).scalar_one()
            assert n == 3 + 1  # original chunks + one thumbnail chunk, not twice
            assert not (tmp_path / "data" / "evidence" / sha[:2]).exists()

    # No evidence row refers to it: a young blob is kept (its row may be on the way) ...
    async with session_factory() as session:
        report = await store.sweep(session, min_age_s=3600, now=datetime.now(UTC))
        await session.commit()
        assert report.orphans_removed == []
        assert await store.exists(session, sha)
    # ... an old one goes.
    async with session_factory() as session:
        report = await store.sweep(session, min_age_s=0, now=datetime.now(UTC) + timedelta(seconds=5))
        await session.commit()
    assert len(report.orphans_removed) == (1 if kind == "database" else 2)  # files: original and thumbnail
    async with session_factory() as session:
        assert not await store.exists(session, sha)
        with pytest.raises(blobs.BlobMissing):
            await store.open_stream(session, sha, blobs.ORIGINAL)


async def test_delete_orphan_both_stores(session_factory, tmp_path):
    for kind in ("files", "database"):
        store = _store(kind, tmp_path / kind)
        spool, sha = _spool(tmp_path, os.urandom(1000))
        async with session_factory() as session:
            await store.put(session, sha, spool, "image/png", b"thumb", datetime.now(UTC))
            await session.commit()
            assert await store.exists(session, sha)
            await store.delete_orphan(session, sha)
            await session.commit()
            assert not await store.exists(session, sha)


async def test_database_store_refuses_to_serve_corrupted_bytes(session_factory, tmp_path):
    store = _store("database", tmp_path / "data")
    data = os.urandom(blobs.CHUNK_BYTES + 10)
    spool, sha = _spool(tmp_path, data)
    async with session_factory() as session:
        await store.put(session, sha, spool, "image/jpeg", b"thumb", datetime.now(UTC))
        await session.execute(update(BlobChunk).where(BlobChunk.sha256 == sha, BlobChunk.seq == 1)
                              .values(data=b"x" * 10))
        await session.commit()
    async with session_factory() as session:
        with pytest.raises(blobs.CorruptBlob):
            await _read(store, session, sha, blobs.ORIGINAL)


async def test_database_store_rolls_back_with_the_row(session_factory, tmp_path):
    """Bytes and row share one transaction: a rolled-back upload leaves no blob behind."""
    store = _store("database", tmp_path / "data")
    spool, sha = _spool(tmp_path, os.urandom(3000))
    async with session_factory() as session:
        await store.put(session, sha, spool, "image/jpeg", b"thumb", datetime.now(UTC))
        await session.rollback()
    async with session_factory() as session:
        assert (await session.execute(select(func.count()).select_from(Blob).where(Blob.sha256 == sha))).scalar_one() == 0


async def test_api_with_the_database_store(settings, clock, token_for, session_factory):
    settings = msgspec.structs.replace(settings, blob_store="database")
    async with AsyncTestClient(app=create_app(settings, clock=clock), base_url="http://testserver.local") as client:
        flow, up = Flow(client, token_for, clock), Uploader(client, token_for, clock)
        iid = (await flow.started())["id"]
        data = good_photo(clock)
        sha = hashlib.sha256(data).hexdigest()
        r = await up.upload(iid, data)
        assert r.status_code == 201, r.text
        ev = r.json()
        assert (await up.upload(iid, data)).status_code == 200  # the same photo again: same record

        r = await client.get(ev["original_url"], headers=token_for("sy.officer2"))
        assert r.status_code == 200, r.text
        assert r.content == data and hashlib.sha256(r.content).hexdigest() == sha
        assert r.headers["etag"] == f'"{sha}"' and r.headers["content-type"].startswith("image/jpeg")
        assert r.headers["content-length"] == str(len(data))
        r = await client.get(ev["thumbnail_url"], headers=token_for("sy.admin"))
        assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff"

        r = await client.get(f"/api/v1/evidence/{ev['id']}/custody", headers=token_for("sy.officer1"))
        assert [i["action"] for i in r.json()["items"]] == ["upload", "duplicate_upload", "read_original",
                                                             "read_thumbnail"]
    # Nothing in the data directory but temp space: the bytes are in the database.
    assert not EvidenceStore(settings.data_dir).original_path(sha).exists()
    async with session_factory() as session:
        report = await blobs.blob_store(settings).sweep(session, min_age_s=0,
                                                        now=datetime.now(UTC) + timedelta(seconds=5))
        await session.commit()
    assert report.missing == [] and report.orphans_removed == []


@pytest.mark.parametrize("message", ["could not extend file", "database or disk is full"])
async def test_a_full_database_is_507(message, session_factory, tmp_path, monkeypatch):
    class Full(Exception):
        sqlstate = "53100" if "extend" in message else None

    async def full(*args: object) -> None:
        raise DBAPIError("INSERT INTO blob_chunks", {}, Full(message))

    monkeypatch.setattr(repository, "add_blob_chunk", full)
    store = _store("database", tmp_path / "data")
    spool, sha = _spool(tmp_path, os.urandom(1000))
    async with session_factory() as session:
        with pytest.raises(InsufficientStorage) as caught:
            await store.put(session, sha, spool, "image/jpeg", b"thumb", datetime.now(UTC))
        await session.rollback()
    assert caught.value.status == 507 and caught.value.code == "INSUFFICIENT_STORAGE"
