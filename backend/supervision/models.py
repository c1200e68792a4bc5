"""ORM models of supervision."""

from __future__ import annotations
