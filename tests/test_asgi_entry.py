"""The servers' entry point (`uvicorn --factory backend.asgi:make_app`) freezes what start-up built,
so full garbage collections stop walking ~200 000 permanent objects on every request's time."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from backend import asgi


def test_make_app_freezes_start_up_objects(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FIELDCHECK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/fieldcheck.db")
    gc.unfreeze()
    try:
        app = asgi.make_app()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules and the app; this test process holds far more
        assert not any(obj is app for obj in gc.get_objects())  # the app is frozen with them
    finally:
        gc.unfreeze()
