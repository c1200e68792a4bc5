"""Autogenerate hooks shared by env.py and the migration test (importable without an Alembic
context)."""

from __future__ import annotations

from typing import Any, Literal

from geoalchemy2 import alembic_helpers

from backend.core.db import UTCDateTime


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and reflected and compare_to is None:
        # Tables the spatial extensions keep (spatial_ref_sys, SpatialIndex, idx_* R-trees, ...).
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # UTCDateTime is a Python-side wrapper; the column itself is a plain timestamptz.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    rendered: str | Literal[False] = alembic_helpers.render_item(type_, obj, autogen_context)
    return rendered
