"""ORM models of credentials."""

from __future__ import annotations
