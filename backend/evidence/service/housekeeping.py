"""Housekeeping of the photo store: sweeping orphans and temp files left behind."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from backend.evidence import blobs
from backend.evidence.storage import DEFAULT_SWEEP_MIN_AGE_S, EvidenceStore, SweepReport
from backend.settings import Settings

log = logging.getLogger("fieldcheck.evidence")


async def sweep(session: AsyncSession, data_dir: str | Path, *,
                min_age_s: float = DEFAULT_SWEEP_MIN_AGE_S, settings: Settings | None = None,
                now: datetime | None = None) -> SweepReport:
    """Remove leftover temp files and stored photos no evidence row refers to (older than
    `min_age_s`), and report rows whose bytes are missing (never expected; not repaired). With
    `settings`, the store they choose (the caller commits); else the data directory's files."""
    store = blobs.blob_store(settings) if settings is not None else blobs.FileBlobStore(EvidenceStore(data_dir))
    return await store.sweep(session, min_age_s=min_age_s, now=now or datetime.now(UTC))


_temp_swept = False


async def sweep_temp_once(data_dir: str | Path) -> None:
    """Once per process (on its first upload): remove temp files a crashed process left behind,
    at once when their writer is certainly dead (a worker uvicorn restarted after a kill), else
    once older than an hour (younger ones may be uploads in flight elsewhere)."""
    global _temp_swept
    if _temp_swept:
        return
    _temp_swept = True
    store = EvidenceStore(data_dir)
    try:
        await anyio.to_thread.run_sync(lambda: store.sweep_temp(min_age_s=DEFAULT_SWEEP_MIN_AGE_S))
    except OSError:
        log.warning("evidence temp sweep failed", exc_info=True)
