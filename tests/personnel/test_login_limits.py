"""Failed logins are limited per account and per client address (embedded default: in memory;
tests/test_scaleout.py covers the shared Redis store across two servers)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.db
PASSWORD = "fieldcheck-demo"


async def test_failed_logins_lock_the_account_then_clear_on_success(app, client):
    app.state["login_account_limiter"].limit = 3
    wrong = {"username": "sy.hr", "password": "nope"}
    statuses = [(await client.post("/api/v1/auth/token", json=wrong)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = await client.post("/api/v1/auth/token", json={"username": "SY.HR ", "password": PASSWORD})
    assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
    assert refused.headers["retry-after"]
    # Other accounts from the same address still log in (the address limit is higher).
    assert (await client.post("/api/v1/auth/token", json={"username": "ln.hr", "password": PASSWORD})).status_code == 200
    # Once the window is over (here: the counter cleared), the right password works and a success
    # clears the account's count.
    await app.state["login_account_limiter"].reset("sy.hr")
    await client.post("/api/v1/auth/token", json=wrong)
    assert (await client.post("/api/v1/auth/token", json={"username": "sy.hr", "password": PASSWORD})).status_code == 200
    for _ in range(2):
        assert (await client.post("/api/v1/auth/token", json=wrong)).status_code == 401


async def test_failed_logins_lock_the_address_across_accounts(app, client):
    app.state["login_address_limiter"].limit = 3
    for name in ("a.nobody", "b.nobody", "c.nobody"):
        assert (await client.post("/api/v1/auth/token", json={"username": name, "password": "x"})).status_code == 401
    r = await client.post("/api/v1/auth/token", json={"username": "ln.hr", "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "RATE_LIMITED"
