"""What an operator sees: the run banner lists every demo account, the run settings are documented,
and a client hanging up is not reported as a server error."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from backend.seed import demo_account_lines

ROOT = Path(__file__).resolve().parents[2]


def test_run_banner_lists_every_demo_account() -> None:
    accounts = json.loads((ROOT / "fixtures" / "demo_accounts.json").read_text(encoding="utf-8"))["accounts"]
    lines = demo_account_lines()
    assert len(lines) == len(accounts)
    for account, line in zip(accounts, lines, strict=True):
        assert line.split()[:3] == [account["username"], account["role"], account["agency_code"]]
    assert "demo_account_lines" in (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["FIELDCHECK_HOST", "FIELDCHECK_PORT"])
def test_run_settings_are_documented(name: str) -> None:
    assert name in (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert name in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.db
async def test_client_hang_up_is_not_an_error(app: Any, token_for: Any, caplog: pytest.LogCaptureFixture) -> None:
    sent: list[dict[str, Any]] = []
    auth = token_for("sy.inspector.ft")["Authorization"].encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "server": ("testserver.local", 80), "client": ("127.0.0.1", 5000), "root_path": "",
        "path": "/api/v1/incidents", "raw_path": b"/api/v1/incidents", "query_string": b"",
        "headers": [(b"host", b"testserver.local"), (b"content-type", b"application/json"),
                    (b"content-length", b"5000"), (b"authorization", auth)],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.INFO)
    async with app.lifespan():  # type: ignore[attr-defined]
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] < 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert any("client disconnected" in r.getMessage() for r in caplog.records)
