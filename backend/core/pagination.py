"""Keyset pagination for every list of the API: the opaque cursor (its encoding and its checks),
the SQL clause that continues after a cursor, and the one `Page` schema.

No Litestar here: controllers pass the raw `cursor` query parameter to `decode_cursor`, services
and repositories take plain tuples. A cursor that was forged, garbled or cut is refused with 400
INVALID_CURSOR by `invalid_cursor()`, the only place that builds that error.

Why keyset rather than OFFSET: lists are read while rows are added (reports arrive during an
inspection); a keyset cursor neither repeats nor skips a row when that happens, and it costs one
index seek whatever the page number.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.orm import QueryableAttribute

from backend.core.clock import iso_utc
from backend.core.errors import BadRequest
from backend.core.times import ApiStruct, cursor_instant

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

#: The `{"at", "id"}` cursor most lists use: a row's timestamp and its id (the tie-breaker).
TimeKey = tuple[datetime, uuid.UUID]
Column = ColumnElement[T] | QueryableAttribute[T]


class Page(ApiStruct, Generic[T], kw_only=True, forbid_unknown_fields=True):
    """One page of a list (API.md §Conventions): the items, and the cursor of the next page, or
    null on the last one.

    Each list names its page in a subclass that restates `items` with the concrete item type:
    Litestar's OpenAPI generator does not resolve the type parameter of a generic base (the items
    would be documented as bare objects), and a parametrised `Page[X]` would be published under a
    module-qualified name instead of the schema names API.md uses."""

    items: list[T]
    next_cursor: str | None

    @classmethod
    def of(cls, rows: Sequence[R], limit: int, *, item: Callable[[R], T], key: Callable[[R], str]) -> Self:
        """The page of `rows`, read with `limit + 1` so that one row more than fits tells that
        another page follows: its cursor is `key` of the last row shown."""
        shown = rows[:limit]
        return cls(items=[item(r) for r in shown], next_cursor=key(shown[-1]) if len(rows) > limit else None)


def invalid_cursor() -> BadRequest:
    return BadRequest("Invalid cursor", "分页游标无效", code="INVALID_CURSOR")


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The values inside a `cursor` query parameter; None for the first page."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(value, dict):
        raise invalid_cursor()
    return value


def time_cursor(value: dict[str, Any] | None) -> TimeKey | None:
    """The `{"at", "id"}` position inside a decoded cursor. The time must carry its UTC offset and
    lie in the accepted range (core/times.cursor_instant); anything else is 400 INVALID_CURSOR,
    never a 500."""
    if value is None:
        return None
    try:
        return cursor_instant(value["at"]), uuid.UUID(str(value["id"]))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise invalid_cursor() from exc


def parse_cursor(cursor: str | None, read: Callable[[dict[str, Any]], T]) -> T | None:
    """The position a `cursor` query parameter names, as `read` takes it out of the decoded
    values (None for the first page). Whatever `read` refuses (a missing key, a value of the wrong
    type or form) is 400 INVALID_CURSOR: lists whose order is not (time, id) use this."""
    value = decode_cursor(cursor)
    if value is None:
        return None
    try:
        return read(value)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise invalid_cursor() from exc


def of_type(value: object, kind: type[T]) -> T:
    """`value` when it is a `kind` (a bool is not taken for an int), else TypeError: for the
    readers given to `parse_cursor`."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return value


def parse_time_cursor(cursor: str | None) -> TimeKey | None:
    """`decode_cursor` and `time_cursor` in one: the position a `cursor` query parameter names."""
    return time_cursor(decode_cursor(cursor))


def encode_time_cursor(at: datetime, row_id: uuid.UUID) -> str:
    return encode_cursor({"at": iso_utc(at), "id": str(row_id)})


def clamp_limit(limit: int | None) -> int:
    """The page size a `limit` query parameter asks for: 50 when absent, 1..500 otherwise (422)."""
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise BadRequest("limit must be between 1 and 500", "limit 须在 1 到 500 之间", code="VALIDATION_ERROR",
                         status=422, detail={"errors": [{"field": "limit", "code": "range",
                                                         "message": "must be between 1 and 500"}]})
    return limit


def keyset_after(at: Column[Any], row_id: Column[Any], position: tuple[Any, uuid.UUID], *,
                 descending: bool = True) -> ColumnElement[bool]:
    """Rows that come after `position` in the order (`at`, `row_id`), newest first unless
    `descending` is off. Order the query by the same two columns in the same direction. `at` is
    usually a timestamp; any ordered column works (a dispatch's start date)."""
    if descending:
        return or_(at < position[0], and_(at == position[0], row_id < position[1]))
    return or_(at > position[0], and_(at == position[0], row_id > position[1]))
