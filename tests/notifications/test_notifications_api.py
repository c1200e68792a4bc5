"""Notifications: the caller's list (newest first, `read`, cursor), marking read, and the
"became overdue" notices — lazily on list requests and from `fieldcheck overdue` — each created once."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from tests.incidents.helpers import audit_actions, iso, make_person, notifications_of, report

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]


def of(items, subject, kind=None):
    return [n for n in items if n["subject"] == subject and (kind is None or n["kind"] == kind)]


async def test_list_newest_first_with_cursor_and_read(client, token_for, clock):
    ids = []
    for _ in range(3):
        ids.append((await report(client, token_for, clock))["id"])
        clock.advance(minutes=5)
    headers = token_for("sy.hr")
    page = (await client.get("/api/v1/notifications?limit=2", headers=headers)).json()
    assert [n["subject"] for n in page["items"]] == [f"incident:{ids[2]}", f"incident:{ids[1]}"]
    assert all(n["read"] is False and n["read_at"] is None for n in page["items"])
    rest = (await client.get(f"/api/v1/notifications?limit=2&cursor={page['next_cursor']}", headers=headers)).json()
    assert [n["subject"] for n in rest["items"]] == [f"incident:{ids[0]}"] and rest["next_cursor"] is None

    nid = page["items"][0]["id"]
    r = await client.post(f"/api/v1/notifications/{nid}/read", headers=headers)
    assert r.status_code == 200 and r.json()["read"] is True and r.json()["read_at"] == iso(clock.now())
    clock.advance(minutes=1)
    again = await client.post(f"/api/v1/notifications/{nid}/read", headers=headers)
    assert again.status_code == 200 and again.json()["read_at"] == r.json()["read_at"]
    unread = (await client.get("/api/v1/notifications?unread=true", headers=headers)).json()["items"]
    assert nid not in {n["id"] for n in unread} and len(unread) == 2
    read = (await client.get("/api/v1/notifications?unread=false", headers=headers)).json()["items"]
    assert [n["id"] for n in read] == [nid]

    # Someone else's notification does not exist for the caller.
    for who in ("sy.admin", "sy.inspector.ft", "dl.officer1"):
        r = await client.post(f"/api/v1/notifications/{nid}/read", headers=token_for(who))
        assert r.status_code == 404, who
    r = await client.post(f"/api/v1/notifications/{uuid.uuid4()}/read", headers=headers)
    assert r.status_code == 404
    assert (await client.get("/api/v1/notifications")).status_code == 401
    for query in ("limit=0", "cursor=xyz", "unread=sometimes"):
        r = await client.get(f"/api/v1/notifications?{query}", headers=headers)
        assert 400 <= r.status_code < 500, query


async def test_overdue_notices_are_created_lazily_once(client, token_for, clock, db_url):
    dl_hr = await make_person(client, token_for, "210200", "hr_admin")
    cid = (await report(client, token_for, clock))["id"]
    subject = f"incident:{cid}"
    assert of(await notifications_of(client, token_for("sy.admin")), subject, "incident_overdue") == []
    clock.advance(hours=25)
    for _ in range(3):  # every list runs the check; the notice is made once
        items = await notifications_of(client, token_for("sy.admin"))
        assert len(of(items, subject, "incident_overdue")) == 1
    notice = of(items, subject, "incident_overdue")[0]
    assert notice["data"]["missing"] == "police_notification" and notice["created_at"] == iso(clock.now())
    # The other staff above got it too (from the same sweep), nobody else did.
    for staff in ("sy.hr", "ln.hr"):
        assert len(of(await notifications_of(client, token_for(staff)), subject, "incident_overdue")) == 1
    for other in ("sy.inspector.ft", "sy.officer1", dl_hr):
        assert of(await notifications_of(client, token_for(other)), subject) == []
    # Listing incidents runs it too, and still nothing doubles.
    await client.get("/api/v1/incidents?overdue=true", headers=token_for("ln.hr"))
    assert len(of(await notifications_of(client, token_for("sy.hr")), subject, "incident_overdue")) == 1
    assert (await audit_actions(db_url, subject)).count("incident.became_overdue") == 1


async def test_concurrent_sweeps_notify_once(client, token_for, clock):
    cid = (await report(client, token_for, clock))["id"]
    clock.advance(hours=25)
    results = await asyncio.gather(*[
        client.get("/api/v1/notifications", headers=token_for(who)) for who in ("sy.admin", "sy.hr", "ln.hr") * 2
    ])
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    for staff in ("sy.admin", "sy.hr", "ln.hr"):
        assert len(of(await notifications_of(client, token_for(staff)), f"incident:{cid}", "incident_overdue")) == 1


async def test_supervision_overdue_notice(client, token_for, clock):
    r = await client.post("/api/v1/supervision/submissions",
                          json={"kind": "opinion", "agency_code": "210100", "subject": "s", "body": "b"},
                          headers=token_for("sy.supervisor"))
    sid = r.json()["id"]
    clock.advance(days=16)
    items = await notifications_of(client, token_for("sy.hr"))
    notice = of(items, f"supervision_submission:{sid}", "supervision_overdue")
    assert len(notice) == 1 and notice[0]["data"]["agency_code"] == "210100"
    # The notice does not reveal who the supervisor is.
    assert "supervisor" not in str(notice[0]["data"])


async def test_art29_overdue_notice(client, token_for, clock):
    cid = (await report(client, token_for, clock, kind="defamation"))["id"]
    headers = token_for("sy.hr")
    await client.post(f"/api/v1/incidents/{cid}/investigation", json={}, headers=headers)
    await client.post(f"/api/v1/incidents/{cid}/findings", json={"liable": False, "note": "x"}, headers=headers)
    clock.advance(days=10, seconds=1)
    notice = of(await notifications_of(client, headers), f"incident:{cid}", "incident_overdue")
    assert len(notice) == 1 and notice[0]["data"]["missing"] == "clarification"


async def run_cli(db_url, data_dir, *args):
    env = {**os.environ, "FIELDCHECK_DATABASE_URL": db_url, "FIELDCHECK_DATA_DIR": str(data_dir)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "backend.cli", "overdue", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_cli_overdue(client, token_for, clock, db_url, keys_dir):
    late = (await report(client, token_for, clock))["id"]
    done = (await report(client, token_for, clock))["id"]
    await client.post(f"/api/v1/incidents/{done}/police-notifications",
                      json={"police_unit": "派出所", "notified_at": iso(clock.now())}, headers=token_for("sy.hr"))
    sub = (await client.post("/api/v1/supervision/submissions",
                             json={"kind": "opinion", "agency_code": "210100", "subject": "s", "body": "b"},
                             headers=token_for("sy.supervisor"))).json()["id"]

    code, out, err = await run_cli(db_url, keys_dir, "--now", iso(clock.now() + timedelta(hours=1)))
    assert code == 0, err
    assert "incidents 0, submissions 0" in out
    when = clock.now() + timedelta(days=16)
    code, out, err = await run_cli(db_url, keys_dir, "--now", iso(when))
    assert code == 0, err
    assert f"incident {late}" in out and f"incident {done}" not in out and f"submission {sub}" in out
    assert "newly overdue (staff notified): 2" in out and out.count(" NEW") == 2
    # Idempotent: a second run lists the same, announces nothing new.
    code, out, err = await run_cli(db_url, keys_dir, "--now", iso(when))
    assert code == 0 and f"incident {late}" in out and "newly overdue (staff notified): 0" in out
    assert " NEW" not in out
    clock.advance(days=16)
    items = await notifications_of(client, token_for("sy.admin"))
    assert len(of(items, f"incident:{late}", "incident_overdue")) == 1
    assert len(of(items, f"supervision_submission:{sub}", "supervision_overdue")) == 1
    assert of(items, f"incident:{done}", "incident_overdue") == []
    code, _, err = await run_cli(db_url, keys_dir, "--now", "2026-12-01T08:00:00")
    assert code != 0 and "offset" in err
