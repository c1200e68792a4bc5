"""HTTP endpoints of sync."""

from __future__ import annotations

from typing import Any

ROUTES: list[Any] = []
