"""ORM models of sync."""

from __future__ import annotations
