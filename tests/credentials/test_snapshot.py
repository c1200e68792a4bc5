"""The in-memory verification snapshot stays right: changes committed by this process show at
once; changes made behind its back (raw SQL from another connection, as the CLI, a console or
another machine would) within the change check interval (PostgreSQL: at once, by NOTIFY)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import text

from backend.core.db import make_engine
from tests.conftest import demo_id

pytestmark = pytest.mark.db


async def _credential(client, token_for) -> dict:
    r = await client.get(f"/api/v1/credentials/?person_id={demo_id('sy.inspector.ft')}", headers=token_for("ln.hr"))
    return next(c for c in r.json()["items"] if c["status"] == "valid")


async def _result(client, qr_text: str) -> str:
    r = await client.post("/api/v1/verify", json={"qr_text": qr_text})
    assert r.status_code == 200, r.text
    return str(r.json()["result"])


async def _eventually(client, qr_text: str, expected: str, within_s: float) -> float:
    start = time.monotonic()
    while True:
        seen = await _result(client, qr_text)
        if seen == expected:
            return time.monotonic() - start
        assert time.monotonic() - start < within_s, f"still {seen!r} after {within_s} s"
        await asyncio.sleep(0.05)


async def test_change_behind_the_snapshots_back_is_seen(client, token_for, db_url, settings):
    credential = await _credential(client, token_for)
    assert await _result(client, credential["qr_text"]) == "valid"
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:  # Core SQL: no ORM event tells the app
            await conn.execute(text("UPDATE credentials SET status = 'suspended' WHERE number = :n"),
                               {"n": credential["number"]})
        await _eventually(client, credential["qr_text"], "suspended", settings.change_poll_s + 1.0)
        # A renamed agency shows in answers too (the agencies trigger moves the same counter).
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE agencies SET name = :name WHERE code = :code"),
                               {"name": "改名后的机关", "code": credential["agency_code"]})
        start = time.monotonic()
        while True:
            r = await client.get("/api/v1/verify/", params={"number": credential["number"]})
            if r.json()["credential"]["agency_name"] == "改名后的机关":
                break
            assert time.monotonic() - start < settings.change_poll_s + 1.0
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()


async def test_own_commits_show_at_once_and_new_credentials_verify(app, client, token_for):
    credential = await _credential(client, token_for)
    r = await client.post(f"/api/v1/credentials/{credential['id']}/suspend", json={"reason": "check"},
                          headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text
    assert await _result(client, credential["qr_text"]) == "suspended"  # no waiting: same process
    r = await client.post(f"/api/v1/credentials/{credential['id']}/revoke", json={"reason": "lost"},
                          headers=token_for("sy.hr"))
    assert await _result(client, credential["qr_text"]) == "revoked"
    r = await client.post("/api/v1/credentials/", headers=token_for("ln.hr"),
                          json={"person_id": str(demo_id("sy.inspector.ft")), "kind": "technical_inspector"})
    assert r.status_code == 201, r.text
    fresh = r.json()
    assert await _result(client, fresh["qr_text"]) == "valid"
    # One the snapshot does not hold (issued on another node a moment ago, before any
    # notification): the miss reads that row, so it verifies, by token and by number.
    snapshot = app.state["credential_snapshot"]
    snapshot._put(uuid.UUID(fresh["id"]), None)
    assert await _result(client, fresh["qr_text"]) == "valid"
    snapshot._put(uuid.UUID(fresh["id"]), None)
    by_number = await client.get("/api/v1/verify/", params={"number": fresh["number"]})
    assert by_number.json()["result"] == "valid"
