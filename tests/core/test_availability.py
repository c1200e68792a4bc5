"""Which failures mean "the database is unavailable" (503, retry) and which stay bugs (500)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from backend.core.availability import is_database_unavailable


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(orig: BaseException, cls: type = OperationalError, invalidated: bool = False) -> BaseException:
    return cls("SELECT 1", {}, orig, connection_invalidated=invalidated)  # type: ignore[no-any-return]


def test_outages_are_unavailable() -> None:
    assert is_database_unavailable(ConnectionRefusedError(111, "Connect call failed"))
    assert is_database_unavailable(_wrapped(sqlite3.OperationalError("database is locked")))
    assert is_database_unavailable(_wrapped(_PgError("57P01")))  # admin shutdown
    assert is_database_unavailable(_wrapped(_PgError("08006")))  # connection failure
    assert is_database_unavailable(_wrapped(_PgError("40P01")))  # deadlock: a retry succeeds
    assert is_database_unavailable(_wrapped(RuntimeError("connection is closed"), invalidated=True))
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except ConnectionResetError as exc:
            raise RuntimeError("while committing") from exc
    except RuntimeError as outer:
        assert is_database_unavailable(outer)


def test_bugs_stay_bugs() -> None:
    assert not is_database_unavailable(_wrapped(sqlite3.OperationalError("no such table: evidence")))
    assert not is_database_unavailable(_wrapped(_PgError("42P01"), ProgrammingError))  # undefined table
    assert not is_database_unavailable(_wrapped(_PgError("23505"), IntegrityError))
    assert not is_database_unavailable(ValueError("bad value"))
    assert not is_database_unavailable(FileNotFoundError(2, "No such file"))
