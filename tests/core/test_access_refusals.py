"""Access that must be refused: a social supervisor reading other people's records, an agency
reading the audit entries of another city (incident reports name their reporter), and access
tokens signed with a real key but valid far longer than this server ever issues."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from backend.core.auth import issue_access_token
from backend.core.signing import Keys
from tests.conftest import demo_id
from tests.incidents.helpers import make_person, report

pytestmark = pytest.mark.db


async def test_social_supervisor_reads_only_their_own_record(client: Any, token_for: Any) -> None:
    auth = token_for("sy.supervisor")
    own = await client.get(f"/api/v1/people/{demo_id('sy.supervisor')}", headers=auth)
    assert own.status_code == 200, own.text
    for other in ("sy.officer1", "sy.inspector.ft", "sy.hr"):
        r = await client.get(f"/api/v1/people/{demo_id(other)}", headers=auth)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "NOT_FOUND"
    r = await client.get("/api/v1/people", headers=auth)
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "FORBIDDEN"
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 200
    # Agency staff keep reading within their jurisdiction.
    r = await client.get(f"/api/v1/people/{demo_id('sy.supervisor')}", headers=token_for("sy.hr"))
    assert r.status_code == 200, r.text


async def test_audit_log_is_read_within_the_readers_jurisdiction(client: Any, token_for: Any, clock: Any,
                                                                  integrate: Any) -> None:
    incident = await report(client, token_for, clock)  # by a Shenyang inspector
    dalian_admin = await make_person(client, token_for, "210200", "agency_admin")
    province_admin = await make_person(client, token_for, "210000", "agency_admin")
    await integrate()  # the list shows sequenced entries

    async def entries(who: Any) -> list[dict[str, Any]]:
        r = await client.get("/api/v1/audit", params={"limit": 500}, headers=token_for(who))
        assert r.status_code == 200, r.text
        out: list[dict[str, Any]] = list(r.json()["items"])
        while r.json()["next_cursor"]:
            r = await client.get("/api/v1/audit", params={"limit": 500, "after": r.json()["next_cursor"]},
                                 headers=token_for(who))
            out += r.json()["items"]
        return out

    subject = f"incident:{incident['id']}"
    dalian = await entries(dalian_admin)
    assert all(e["subject"] != subject for e in dalian)
    assert all(e["actor"] != str(demo_id("sy.inspector.ft")) for e in dalian)
    shenyang = await entries("sy.admin")
    assert any(e["subject"] == subject and e["action"] == "incident.reported" for e in shenyang)
    province = await entries(province_admin)
    assert any(e["subject"] == subject for e in province)
    assert len(province) > len(shenyang) > 0


def _token(keys_dir: Any, settings: Any, *, lifetime: timedelta, exp: Any = None) -> str:
    ring = Keys(keys_dir).load().access
    now = datetime.now(UTC)
    claims = {"sub": str(demo_id("sy.officer1")), "role": "officer", "iss": settings.origin, "aud": "fieldcheck-api",
              "iat": int(now.timestamp()), "exp": exp if exp is not None else int((now + lifetime).timestamp()),
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, ring.current.private, algorithm="EdDSA", headers={"kid": ring.current.kid})


async def test_access_token_lifetime_is_capped(client: Any, keys_dir: Any, settings: Any) -> None:
    for token in (_token(keys_dir, settings, lifetime=timedelta(days=365 * 100)),
                  _token(keys_dir, settings, lifetime=timedelta(seconds=settings.access_token_ttl_s + 3600)),
                  _token(keys_dir, settings, lifetime=timedelta(0), exp=10**20)):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "UNAUTHENTICATED"
    ring = Keys(keys_dir).load().access
    issued = issue_access_token(ring, person_id=demo_id("sy.officer1"), role="officer", issuer=settings.origin,
                                now=datetime.now(UTC), ttl_s=settings.access_token_ttl_s)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {issued}"})
    assert r.status_code == 200, r.text
