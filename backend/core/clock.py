"""Time: one place that says what "now" is, so deadlines can be tested with a controllable clock."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: Liaoning's civil time; "today" for validity dates and training years is a local-calendar notion.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """System clock. Tests substitute `FixedClock`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(LOCAL_TZ).date()


class FixedClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


def to_utc(value: datetime) -> datetime:
    """Aware datetime in UTC; a naive value is taken as UTC (SQLite returns naive timestamps)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as API.md wants on output."""
    return to_utc(value).isoformat().replace("+00:00", "Z")
