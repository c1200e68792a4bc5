"""The server app with a count of SQL statements per request, for benches (`--profile` modes).

`uvicorn --factory bench.sqlcount:make_app` serves the normal app; every statement executed on
behalf of an HTTP request (not by background tasks such as the audit sequencer) is counted, by
its first keyword (SELECT, INSERT, SAVEPOINT, ...). `GET /__sqlcount` answers the totals so far
as JSON; a client reads them before and after what it measures."""

from __future__ import annotations

import contextvars
import json
from collections import Counter
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from backend.asgi import make_app as _make_app

_IN_REQUEST: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)
COUNTS: Counter[str] = Counter()


def _keyword(statement: str) -> str:
    return statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"


@event.listens_for(Engine, "before_cursor_execute")
def _count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if _IN_REQUEST.get():
        COUNTS[_keyword(statement)] += 1


@event.listens_for(Engine, "commit")
def _count_commit(conn: Any) -> None:
    if _IN_REQUEST.get():
        COUNTS["COMMIT"] += 1


def make_app() -> Any:
    app = _make_app()

    async def counted(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/__sqlcount":
            body = json.dumps(dict(COUNTS)).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        token = _IN_REQUEST.set(True)
        try:
            await app(scope, receive, send)
        finally:
            _IN_REQUEST.reset(token)

    return counted
