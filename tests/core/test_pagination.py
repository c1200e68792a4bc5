"""core/pagination without a database: cursors, their refusal, the page builder, the keyset clause."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Uuid, select

from backend.core.errors import DomainError
from backend.core.pagination import (
    Page,
    clamp_limit,
    decode_cursor,
    encode_cursor,
    encode_time_cursor,
    keyset_after,
    of_type,
    parse_cursor,
    parse_time_cursor,
)
from backend.core.times import ApiStruct

ROW = uuid.UUID("6f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f")


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_time_cursor_round_trip_is_utc() -> None:
    at = datetime(2025, 3, 1, 17, 30, tzinfo=timezone(timedelta(hours=8)))
    cursor = encode_time_cursor(at, ROW)
    assert "=" not in cursor
    assert decode_cursor(cursor) == {"at": "2025-03-01T09:30:00Z", "id": str(ROW)}
    assert parse_time_cursor(cursor) == (at.astimezone(UTC), ROW)
    assert parse_time_cursor(None) is None
    assert parse_time_cursor("") is None


@pytest.mark.parametrize("cursor", [
    "%%%not-base64",
    _raw([1, 2]),                                                   # JSON, but not an object
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),                  # not UTF-8 JSON
    _raw({"id": str(ROW)}),                                         # no time
    _raw({"at": "2025-03-01T09:30:00Z"}),                           # no id
    _raw({"at": "2025-03-01T09:30:00Z", "id": "not-a-uuid"}),
    _raw({"at": "2025-03-01T09:30:00", "id": str(ROW)}),            # naive: forged
    _raw({"at": "0001-01-01T00:00:00+14:00", "id": str(ROW)}),      # cannot even become UTC
    _raw({"at": "2300-01-01T00:00:00Z", "id": str(ROW)}),           # out of range
    _raw({"at": 1740821400, "id": str(ROW)}),                       # not a time
    _raw({"at": None, "id": str(ROW)}),
])
def test_bad_cursor_is_invalid_cursor(cursor: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_time_cursor(cursor)
    assert (refused.value.code, refused.value.http_status) == ("INVALID_CURSOR", 400)


def test_other_cursor_shapes_decode_as_dicts() -> None:
    assert decode_cursor(encode_cursor({"seq": 12})) == {"seq": 12}


def _seq(value: dict[str, object]) -> int:
    return of_type(value["seq"], int)


def test_parse_cursor_reads_other_shapes() -> None:
    assert parse_cursor(encode_cursor({"seq": 12}), _seq) == 12
    assert parse_cursor(None, _seq) is None
    assert parse_cursor("", _seq) is None


@pytest.mark.parametrize("cursor", [
    "%%%not-base64",
    _raw([12]),
    _raw({}),                       # no key: KeyError
    _raw({"seq": "12"}),            # wrong type: TypeError
    _raw({"seq": True}),            # a bool is not an int
    _raw({"seq": None}),
])
def test_parse_cursor_refuses_what_its_reader_refuses(cursor: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_cursor(cursor, _seq)
    assert (refused.value.code, refused.value.http_status) == ("INVALID_CURSOR", 400)


@pytest.mark.parametrize(("limit", "size"), [(None, 50), (1, 1), (500, 500)])
def test_limit(limit: int | None, size: int) -> None:
    assert clamp_limit(limit) == size


@pytest.mark.parametrize("limit", [0, -1, 501])
def test_limit_out_of_range_is_422(limit: int) -> None:
    with pytest.raises(DomainError) as refused:
        clamp_limit(limit)
    assert refused.value.http_status == 422
    assert refused.value.detail["errors"][0]["field"] == "limit"


class Item(ApiStruct, kw_only=True):
    n: int


class ItemPage(Page[Item], kw_only=True, forbid_unknown_fields=True):
    items: list[Item]


def test_page_of_reads_one_row_more() -> None:
    rows = [1, 2, 3]
    full = ItemPage.of(rows, 2, item=lambda n: Item(n=n), key=str)
    assert full == ItemPage(items=[Item(n=1), Item(n=2)], next_cursor="2")
    last = ItemPage.of(rows, 3, item=lambda n: Item(n=n), key=str)
    assert last.next_cursor is None
    assert [i.n for i in last.items] == [1, 2, 3]
    assert ItemPage.of([], 5, item=lambda n: Item(n=n), key=str) == ItemPage(items=[], next_cursor=None)
    # The wire shape API.md fixes: items, then next_cursor (null on the last page).
    assert msgspec.json.encode(full) == b'{"items":[{"n":1},{"n":2}],"next_cursor":"2"}'
    assert msgspec.json.encode(last).endswith(b',"next_cursor":null}')


def test_keyset_clause_in_both_directions() -> None:
    table = Table("t", MetaData(), Column("at", DateTime(timezone=True)), Column("id", Uuid), Column("x", Integer))
    position = (datetime(2025, 1, 1, tzinfo=UTC), ROW)
    newest_first = str(select(table.c.x).where(keyset_after(table.c.at, table.c.id, position)))
    assert "t.at < :at_1 OR t.at = :at_2 AND t.id < :id_1" in newest_first
    oldest_first = str(select(table.c.x).where(keyset_after(table.c.at, table.c.id, position, descending=False)))
    assert "t.at > :at_1 OR t.at = :at_2 AND t.id > :id_1" in oldest_first
