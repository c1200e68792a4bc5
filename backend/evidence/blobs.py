"""Where a photo's bytes (original and thumbnail) are kept once received: the blob store.

`FIELDCHECK_BLOB_STORE=files` (the default) keeps them in the data directory (storage.py: content
addressed, crash-safe renames, free-space reserve). `database` keeps them in the `blobs` and
`blob_chunks` tables, so every server sharing one database serves every photo. Either way an
upload is first spooled (and hashed) to a temp file in the data directory; the store takes it
from there, and no evidence row is committed before its bytes are stored:

- files: the bytes are renamed into place before the row's transaction (storage.py);
- database: the bytes are written, chunk by chunk from the temp file, in the row's own
  transaction, so both commit or neither does. The same bytes are stored once (first writer wins).

Serving recomputes the SHA-256 as the chunks go out (database): a stored blob that no longer
hashes to its name ends the response with an error instead of handing over wrong bytes quietly.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

import anyio
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.db import make_sessionmaker
from backend.core.errors import InsufficientStorage
from backend.evidence import repository
from backend.evidence.storage import DEFAULT_SWEEP_MIN_AGE_S, EvidenceStore, SweepReport
from backend.settings import Settings

log = logging.getLogger(__name__)

#: Rows of this many bytes: large enough that a 25 MB photo is ~100 statements, small enough that
#: a download never holds more than one in memory.
CHUNK_BYTES = 256 * 1024
ORIGINAL = "original"
THUMBNAIL = "thumbnail"


class BlobMissing(Exception):
    """The store has no such blob."""


class CorruptBlob(Exception):
    """A stored blob's bytes do not hash to its name."""


class BlobStore(Protocol):
    async def put(self, session: AsyncSession, sha256: str, spool: Path, media_type: str, thumbnail: bytes,
                  now: datetime) -> None:
        """Store the upload at `spool` (already hashed to `sha256`) and its thumbnail. The spool
        file stays the caller's to remove."""

    async def open_stream(self, session: AsyncSession, sha256: str, kind: str) -> AsyncIterator[bytes]:
        """The blob's bytes, in chunks; BlobMissing (raised here, before any byte) if absent."""

    async def exists(self, session: AsyncSession, sha256: str) -> bool:
        """Both the original and the thumbnail are stored."""

    async def delete_orphan(self, session: AsyncSession, sha256: str) -> None:
        """Remove a blob no evidence row refers to (the caller has checked)."""

    async def sweep(self, session: AsyncSession, *, min_age_s: float, now: datetime) -> SweepReport:
        """Remove interrupted uploads and blobs without an evidence row older than `min_age_s`;
        report rows whose blobs are missing."""


def blob_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "database":
        return DatabaseBlobStore(EvidenceStore(settings.data_dir, min_free_bytes=settings.min_free_bytes))
    return FileBlobStore(EvidenceStore(settings.data_dir, min_free_bytes=settings.min_free_bytes))


# --- files --------------------------------------------------------------------------------------

class FileBlobStore:
    """The data directory (storage.py). Serving a local file, the controller uses `local_path`
    (sendfile, ranges) instead of `open_stream`."""

    def __init__(self, files: EvidenceStore) -> None:
        self.files = files

    def local_path(self, sha256: str, kind: str) -> Path:
        return self.files.original_path(sha256) if kind == ORIGINAL else self.files.thumbnail_path(sha256)

    async def put(self, session: AsyncSession, sha256: str, spool: Path, media_type: str, thumbnail: bytes,
                  now: datetime) -> None:
        await anyio.to_thread.run_sync(_place, self.files, spool, sha256, thumbnail)

    async def open_stream(self, session: AsyncSession, sha256: str, kind: str) -> AsyncIterator[bytes]:
        path = self.local_path(sha256, kind)
        try:
            fh = await anyio.to_thread.run_sync(path.open, "rb")
        except FileNotFoundError:
            raise BlobMissing(sha256) from None
        return _file_chunks(fh)

    async def exists(self, session: AsyncSession, sha256: str) -> bool:
        return await anyio.to_thread.run_sync(self.files.has, sha256)

    async def delete_orphan(self, session: AsyncSession, sha256: str) -> None:
        for kind in (ORIGINAL, THUMBNAIL):
            self.files.discard(self.local_path(sha256, kind))

    async def sweep(self, session: AsyncSession, *, min_age_s: float, now: datetime) -> SweepReport:
        files = self.files
        on_disk = await anyio.to_thread.run_sync(lambda: {sha for sha, _ in files.content_files()})
        referenced: set[str] = set()
        shas = sorted(on_disk)
        for i in range(0, len(shas), 500):
            referenced |= await repository.referenced_shas(session, set(shas[i:i + 500]))
        report = await anyio.to_thread.run_sync(lambda: files.sweep(referenced, min_age_s=min_age_s))
        for sha in await repository.all_shas(session):
            if not await self.exists(session, sha):
                report.missing.append(sha)
        return report


def _place(store: EvidenceStore, spool: Path, sha256: str, thumbnail: bytes) -> None:
    existed = store.original_path(sha256).is_file()
    store.commit_original(spool, sha256)
    try:
        store.write_thumbnail(sha256, thumbnail)
    except BaseException:
        # (Disk full.) An original placed just now has no row and never will: take it back. One
        # that was there before belongs to an earlier upload of the same bytes and stays.
        if not existed:
            store.discard(store.original_path(sha256))
        raise


async def _file_chunks(fh: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(fh.read, CHUNK_BYTES):
            yield chunk
    finally:
        fh.close()


# --- database -----------------------------------------------------------------------------------

def _disk_full(exc: DBAPIError) -> bool:
    # PostgreSQL: SQLSTATE 53100 disk_full (asyncpg names it `sqlstate`); SQLite: SQLITE_FULL.
    orig = exc.orig
    return getattr(orig, "sqlstate", None) == "53100" or "disk is full" in str(orig)


class DatabaseBlobStore:
    """The `blobs` / `blob_chunks` tables. Temp files of uploads still live in the data directory
    (`spool`), swept as with the file store."""

    def __init__(self, spool: EvidenceStore) -> None:
        self.spool = spool

    async def put(self, session: AsyncSession, sha256: str, spool: Path, media_type: str, thumbnail: bytes,
                  now: datetime) -> None:
        try:
            await self._put_file(session, sha256, spool, media_type, now)
            await self._put_bytes(session, sha256, THUMBNAIL, thumbnail, "image/jpeg", now)
        except DBAPIError as exc:
            if _disk_full(exc):
                raise InsufficientStorage(
                    "No room to store the photo; retry later", "存储空间不足，暂时无法保存照片，请稍后重试",
                    detail={"store": "database"}) from exc
            raise

    async def _put_file(self, session: AsyncSession, sha256: str, spool: Path, media_type: str,
                        now: datetime) -> None:
        size = (await anyio.to_thread.run_sync(spool.stat)).st_size
        row = {"sha256": sha256, "kind": ORIGINAL, "size": size, "media_type": media_type,
               "chunks": -(-size // CHUNK_BYTES), "created_at": now}
        if not await repository.claim_blob(session, row):
            return
        digest = hashlib.sha256()
        fh = await anyio.to_thread.run_sync(spool.open, "rb")
        try:
            seq = 0
            while chunk := await anyio.to_thread.run_sync(fh.read, CHUNK_BYTES):
                digest.update(chunk)
                await repository.add_blob_chunk(session, sha256, ORIGINAL, seq, chunk)
                seq += 1
        finally:
            fh.close()
        if digest.hexdigest() != sha256:
            # The spool file changed under us: never store bytes under another hash's name.
            raise CorruptBlob(sha256)

    async def _put_bytes(self, session: AsyncSession, sha256: str, kind: str, data: bytes, media_type: str,
                         now: datetime) -> None:
        row = {"sha256": sha256, "kind": kind, "size": len(data), "media_type": media_type,
               "chunks": -(-len(data) // CHUNK_BYTES), "created_at": now}
        if await repository.claim_blob(session, row):
            for seq, start in enumerate(range(0, len(data), CHUNK_BYTES)):
                await repository.add_blob_chunk(session, sha256, kind, seq, data[start:start + CHUNK_BYTES])

    async def open_stream(self, session: AsyncSession, sha256: str, kind: str) -> AsyncIterator[bytes]:
        meta = await repository.blob_meta(session, sha256, kind)
        if meta is None:
            raise BlobMissing(sha256)
        # Chunks are read after the handler's session is gone (the response streams later): each
        # in a short read of its own, so a slow client pins no connection between chunks.
        maker = make_sessionmaker(session.bind, read_only=True)  # type: ignore[arg-type]
        return self._chunks(maker, sha256, kind, meta.chunks, meta.size)

    @staticmethod
    async def _chunks(maker: object, sha256: str, kind: str, count: int, size: int) -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        sent = 0
        for seq in range(count):
            async with maker() as s:  # type: ignore[operator]
                chunk = await repository.blob_chunk(s, sha256, kind, seq)
            if chunk is None:
                log.error("blob %s/%s: chunk %d missing", sha256, kind, seq)
                raise CorruptBlob(sha256)
            digest.update(chunk)
            sent += len(chunk)
            yield chunk
        if sent != size or (kind == ORIGINAL and digest.hexdigest() != sha256):
            log.error("blob %s/%s: stored bytes do not match their hash", sha256, kind)
            raise CorruptBlob(sha256)

    async def exists(self, session: AsyncSession, sha256: str) -> bool:
        return await repository.blob_kinds(session, sha256) >= {ORIGINAL, THUMBNAIL}

    async def delete_orphan(self, session: AsyncSession, sha256: str) -> None:
        await repository.delete_blob(session, sha256)

    async def sweep(self, session: AsyncSession, *, min_age_s: float, now: datetime) -> SweepReport:
        spool = self.spool
        report = await anyio.to_thread.run_sync(lambda: spool.sweep_temp(min_age_s=min_age_s))
        # Blobs are written in their row's transaction, so an orphan is a row since deleted; the age
        # rule still spares a blob whose row is being written by a transaction not yet committed.
        for sha in await repository.orphan_blobs(session, now - timedelta(seconds=min_age_s)):
            await self.delete_orphan(session, sha)
            report.orphans_removed.append(f"blob:{sha}")
        report.missing.extend(await repository.shas_without_blobs(session))
        return report


async def read_all(stream: AsyncIterator[bytes]) -> bytes:
    """A small blob (a thumbnail) whole."""
    return b"".join([chunk async for chunk in stream])


__all__ = ["CHUNK_BYTES", "DEFAULT_SWEEP_MIN_AGE_S", "ORIGINAL", "THUMBNAIL", "BlobMissing", "BlobStore",
           "CorruptBlob", "DatabaseBlobStore", "FileBlobStore", "blob_store", "read_all"]
