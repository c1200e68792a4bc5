"""ORM models of inspections."""

from __future__ import annotations
