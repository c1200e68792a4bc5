"""ORM models of evidence."""

from __future__ import annotations
