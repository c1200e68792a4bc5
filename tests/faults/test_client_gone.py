"""A client that disconnects before its body is read is not a server error (no 500 logged)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

pytestmark = pytest.mark.db


async def test_disconnect_before_body_is_not_a_500(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/api/v1/inspections", "raw_path": b"/api/v1/inspections", "query_string": b"",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"20")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "root_path": "", "state": {}}
    with caplog.at_level(logging.INFO, logger="fieldcheck.http"):
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    assert start["status"] == 400 and body["code"] == "REQUEST_INTERRUPTED"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
