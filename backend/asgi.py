"""ASGI entry point for servers (`uvicorn --factory backend.asgi:make_app`)."""

from __future__ import annotations

from litestar import Litestar

from backend.app import create_app
from backend.settings import Settings


def make_app() -> Litestar:
    return create_app(Settings.from_env())
