"""The one place where times and dates that come from outside (JSON bodies, form fields, cursors,
EXIF) are checked and normalised, and where every schema Struct gets that check.

Why a range: Python datetimes stop at years 1 and 9999, so `0001-01-01T00:00:00+14:00` or
`9999-12-31T23:59:59-14:00` cannot even be converted to UTC, and a deadline computed from a time
near either end (`occurred_at + 24 h`, a term of 3 years) overflows too. Nothing this system
records happened before 1900 or is planned after 2199, so values outside [1900, 2200) are refused
as invalid input (422) before any code does arithmetic on them.

Why a Struct base: every request and response schema inherits `ApiStruct`, so a decoded body can
never hand a service an out-of-range or offset-less time, and every time that goes out is UTC
(encoded with `Z`), whatever offset the client sent or the clock carried.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

import msgspec

from backend.core.errors import Unprocessable

MIN_INSTANT = datetime(1900, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
RANGE_TEXT = "between 1900-01-01 and 2199-12-31"


class TimeInvalid(ValueError):
    """An input time that cannot be used; the message says why (it reaches the client)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def utc_instant(value: datetime, *, check_range: bool = True) -> datetime:
    """`value` in UTC. Refuses (TimeInvalid) a naive value, one that cannot be converted, and,
    unless `check_range` is off, one outside [1900, 2200)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimeInvalid("must be RFC 3339 with a UTC offset", "timezone_required")
    try:
        out = value.astimezone(UTC)
    except OverflowError:
        raise TimeInvalid(f"must be {RANGE_TEXT}", "range") from None
    if check_range and not MIN_INSTANT <= out < MAX_INSTANT:
        raise TimeInvalid(f"must be {RANGE_TEXT}", "range")
    return out


def lenient_utc(value: datetime, assume: Any = UTC) -> datetime | None:
    """For times from sources the client does not control exactly (EXIF): a naive value is taken
    in `assume`; anything that cannot be used becomes None instead of an error."""
    try:
        return utc_instant(value if value.tzinfo is not None else value.replace(tzinfo=assume))
    except (TimeInvalid, OverflowError, ValueError):
        return None


def check_date(value: date) -> date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise TimeInvalid(f"must be {RANGE_TEXT}", "range")
    return value


def _validation(field: str, code: str, message: str) -> Unprocessable:
    return Unprocessable("The request does not match the schema", "请求内容不符合要求",
                         code="VALIDATION_ERROR",
                         detail={"errors": [{"field": field, "code": code, "message": message}]})


def parse_instant(text: str, field: str) -> datetime:
    """An RFC 3339 time from a form field or query parameter, in UTC; 422 VALIDATION_ERROR with
    the field's name otherwise."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _validation(field, "invalid", "must be an RFC 3339 time") from None
    try:
        return utc_instant(value)
    except TimeInvalid as exc:
        raise _validation(field, exc.code, str(exc)) from None


def cursor_instant(text: Any) -> datetime:
    """The time inside a keyset cursor. The server writes these in UTC; anything else (naive,
    out of range, not a time) was forged or garbled: ValueError, which core/pagination turns into
    400 INVALID_CURSOR like any bad cursor."""
    if not isinstance(text, str):
        raise TimeInvalid("a cursor time must be a string")
    return utc_instant(datetime.fromisoformat(text))


class ApiStruct(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of every request/response schema. On decode (and on construction) each `datetime`
    field is checked and converted to UTC, each `date` field range-checked; a ValueError here
    becomes 422 VALIDATION_ERROR naming the field (msgspec adds the path)."""

    #: Off for schemas that carry times read from the files clients upload (EXIF), which are
    #: reported as found, not validated.
    _check_time_range: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check = self._check_time_range
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime):
                try:
                    setattr(self, name, utc_instant(value, check_range=check))
                except TimeInvalid as exc:
                    raise ValueError(f"`{name}` {exc}") from None
            elif isinstance(value, date) and check and not MIN_DATE <= value <= MAX_DATE:
                raise ValueError(f"`{name}` must be {RANGE_TEXT}")
