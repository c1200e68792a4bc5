"""Public verification: POST/GET /api/v1/verify, the /v/{token} page, the credential JWKS and the
signed status list. Forgeries of every kind, key rotation, the rate limit."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.core.signing import Keys
from backend.credentials import tokens
from backend.credentials.models import Credential
from backend.credentials.numbering import format_number
from tests.conftest import demo_id

pytestmark = pytest.mark.db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_of(qr_text: str) -> str:
    return qr_text.rsplit("/v/", 1)[1]


def claims_of(token: str) -> dict:
    return json.loads(unb64(token.split(".")[1]))


def sign(claims: dict, private: Ed25519PrivateKey, kid: str, **header) -> str:
    body = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    return jwt.PyJWS().encode(body, private, algorithm="EdDSA", headers={"kid": kid, "typ": None, **header})


async def credential_of(client, token_for, username="sy.inspector.ft") -> dict:
    r = await client.get(f"/api/v1/credentials?person_id={demo_id(username)}", headers=token_for("ln.hr"))
    return r.json()["items"][0]


async def verify(client, qr_text):
    return await client.post("/api/v1/verify", json={"qr_text": qr_text})


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_valid_by_url_token_and_number(client, token_for):
    cred = await credential_of(client, token_for)
    for text in (cred["qr_text"], token_of(cred["qr_text"]), f"  {cred['qr_text']}\n",
                 "https://elsewhere.example/v/" + token_of(cred["qr_text"]) + "?utm=1"):
        r = await verify(client, text)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["result"] == "valid", text
        assert "reason" not in body
        assert body["checked_at"].endswith("Z")
        assert body["credential"] == {
            "number": cred["number"], "kind": "technical_inspector", "holder_name": "吴晓明",
            "agency_code": "210100", "agency_name": cred["agency_name"], "issued_at": cred["issued_at"],
            "expires_at": cred["expires_at"], "status": "valid"}
    compact = cred["number"].replace("-", "").lower()
    for number in (cred["number"], compact, f" {compact} ", cred["number"].lower()):
        r = await client.get("/api/v1/verify", params={"number": number})
        assert r.status_code == 200 and r.json()["result"] == "valid", number
        assert r.json()["credential"]["holder_name"] == "吴晓明"
    # A typed number is no scan: the QR field wants the URL or the token.
    r = await verify(client, cred["number"])
    assert r.status_code == 400 and r.json()["code"] == "MALFORMED_CREDENTIAL"


async def test_token_claims_are_minimal(client, token_for):
    cred = await credential_of(client, token_for)
    token = token_of(cred["qr_text"])
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"]
    claims = claims_of(token)
    assert set(claims) == {"jti", "num", "kind", "name", "agency", "iat", "exp"}
    assert claims["jti"] == cred["id"] and claims["num"] == cred["number"] and claims["name"] == "吴晓明"
    assert claims["exp"] == int(ts(cred["expires_at"]).timestamp())
    # Signed with the credential ring, not the access ring.
    r = await client.get("/api/v1/credentials/jwks")
    assert header["kid"] in {k["kid"] for k in r.json()["keys"]}
    access = await client.get("/api/v1/auth/jwks")
    assert header["kid"] not in {k["kid"] for k in access.json()["keys"]}


async def test_unknown(client, token_for, app):
    free = format_number("technical_inspector", 2026, 999_999)
    r = await client.get("/api/v1/verify", params={"number": free})
    assert r.status_code == 200
    assert r.json()["result"] == "unknown" and r.json()["credential"] is None
    # A genuine signature over a credential that does not exist.
    cred = await credential_of(client, token_for)
    key = app.state["keys"].credential.current
    claims = {**claims_of(token_of(cred["qr_text"])), "jti": str(uuid.uuid4())}
    r = await verify(client, sign(claims, key.private, key.kid))
    assert r.json()["result"] == "unknown" and r.json()["credential"] is None


async def test_malformed_is_400(client):
    for text in ("", "garbage", "a.b.c", "e30.e30.!!!", "LNJ-2026-000017-1", "LNQ-2026-000017-X",
                 "http://testserver.local/x/abc", "ftp://testserver.local/v/a.b.c", "x" * 4000,
                 b64(b"not json") + ".e30.AAAA"):
        r = await verify(client, text)
        assert r.status_code == 400, (text[:40], r.text)
        assert r.json()["code"] == "MALFORMED_CREDENTIAL"
    for number in ("LNJ-2026-000017-1", "nonsense", ""):
        r = await client.get("/api/v1/verify", params={"number": number})
        assert r.status_code == 400 and r.json()["code"] == "MALFORMED_CREDENTIAL"
    r = await client.get("/api/v1/verify")
    assert 400 <= r.status_code < 500
    for body in ({}, {"qr_text": 5}, {"qr_text": "x", "more": 1}, {"qr_text": "x" * 5000}):
        r = await client.post("/api/v1/verify", json=body)
        assert r.status_code == 422, body
    r = await client.post("/api/v1/verify", content=b"{oops", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


async def test_forgeries(client, token_for, app):
    cred = await credential_of(client, token_for)
    token = token_of(cred["qr_text"])
    header_b64, payload_b64, sig_b64 = token.split(".")
    genuine = claims_of(token)
    ring = app.state["keys"].credential
    kid = jwt.get_unverified_header(token)["kid"]
    foreign = Ed25519PrivateKey.generate()

    cases = {
        # Someone else's name on a genuine signature.
        "tampered": (f"{header_b64}.{b64(json.dumps({**genuine, 'name': '李鬼'}).encode())}.{sig_b64}",
                     "bad_signature"),
        # A key of their own, presented under our kid.
        "foreign key, known kid": (sign(genuine, foreign, kid), "bad_signature"),
        "foreign key, own kid": (sign(genuine, foreign, "attacker-kid"), "unknown_signing_key"),
        "kid naming another ring's key file": (
            sign(genuine, foreign, "../access/" + app.state["keys"].access.current.kid), "unknown_signing_key"),
        "alg none": (f"{b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{payload_b64}.", None),
        "HS256 with the public key": (
            jwt.encode(genuine, b64(ring.current.jwk()["x"].encode()), algorithm="HS256", headers={"kid": kid}),
            "algorithm_not_accepted"),
        # Our own key, but claims that disagree with the record.
        "other holder": (sign({**genuine, "name": "李鬼"}, ring.current.private, ring.current.kid),
                         "claims_mismatch"),
        "other number": (sign({**genuine, "num": format_number("technical_inspector", 2026, 4242)},
                              ring.current.private, ring.current.kid), "claims_mismatch"),
        "longer validity": (sign({**genuine, "exp": genuine["exp"] + 86400 * 365}, ring.current.private,
                                 ring.current.kid), "claims_mismatch"),
        "missing claim": (sign({k: v for k, v in genuine.items() if k != "agency"}, ring.current.private,
                               ring.current.kid), "claims_invalid"),
        "status list as a QR code": (sign(genuine, ring.current.private, ring.current.kid,
                                          typ=tokens.STATUS_TYP), "wrong_token_type"),
    }
    for name, (forged, reason) in cases.items():
        if name == "alg none":
            # The empty signature segment makes this no JWS at all: malformed, never accepted.
            r = await verify(client, forged)
            assert r.status_code == 400, name
            continue
        r = await verify(client, forged)
        assert r.status_code == 200, (name, r.text)
        assert r.json()["result"] == "forged", name
        assert r.json()["reason"] == reason, name
        assert r.json()["credential"] is None
        page = await client.get(f"/v/{forged}")
        assert page.status_code == 200 and 'data-result="forged"' in page.text, name
    alg_none = f"{b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{payload_b64}.{sig_b64}"
    assert (await verify(client, alg_none)).json()["result"] == "forged"


async def test_revoked_suspended_expired(client, token_for, clock):
    cred = await credential_of(client, token_for)
    url = f"/api/v1/credentials/{cred['id']}"
    assert (await verify(client, cred["qr_text"])).json()["result"] == "valid"
    await client.post(f"{url}/suspend", json={"reason": "check"}, headers=token_for("ln.hr"))
    # The signature check of this token is cached by now; the status never is.
    r = await verify(client, cred["qr_text"])
    assert r.json()["result"] == "suspended" and r.json()["reason"] == "suspended"
    assert r.json()["credential"]["status"] == "suspended"
    r = await client.get("/api/v1/verify", params={"number": cred["number"]})
    assert r.json()["result"] == "suspended"
    await client.post(f"{url}/reinstate", headers=token_for("ln.hr"))
    assert (await verify(client, cred["qr_text"])).json()["result"] == "valid"

    clock.advance(days=3 * 366)
    r = await verify(client, cred["qr_text"])
    assert r.json()["result"] == "expired" and r.json()["credential"]["status"] == "expired"
    await client.post(f"{url}/revoke", json={"reason": "misconduct"}, headers=token_for("ln.hr"))
    r = await verify(client, cred["qr_text"])
    assert r.json()["result"] == "revoked" and r.json()["credential"]["number"] == cred["number"]


async def test_supervisor_expires_with_the_appointment(client, token_for, clock):
    cred = await credential_of(client, token_for, "sy.supervisor")
    assert cred["expires_at"] == "2028-12-31T16:00:00Z"  # end of 31 Dec 2028, Beijing time
    clock.set(ts(cred["expires_at"]) - timedelta(minutes=1))
    assert (await verify(client, cred["qr_text"])).json()["result"] == "valid"
    clock.advance(minutes=1)
    assert (await verify(client, cred["qr_text"])).json()["result"] == "expired"


async def test_rotated_keys_keep_old_tokens_valid(client, token_for, app, keys_dir):
    cred = await credential_of(client, token_for)
    old_token = token_of(cred["qr_text"])
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    app.state["keys"].credential.rotate()
    fresh = await credential_of(client, token_for)
    new_kid = jwt.get_unverified_header(token_of(fresh["qr_text"]))["kid"]
    assert new_kid != old_kid and fresh["qr_text"] != cred["qr_text"]
    for text in (old_token, fresh["qr_text"]):
        assert (await verify(client, text)).json()["result"] == "valid"
    kids = {k["kid"] for k in (await client.get("/api/v1/credentials/jwks")).json()["keys"]}
    assert {old_kid, new_kid} <= kids

    # `fieldcheck keys rotate` in another process: this server learns the key from disk.
    other = Keys(keys_dir).load()
    key = other.credential.rotate()
    row = Credential(id=uuid.UUID(cred["id"]), number=cred["number"], kind=cred["kind"],
                     holder_name=cred["holder_name"], agency_code=cred["agency_code"],
                     issued_at=ts(cred["issued_at"]), expires_at=ts(cred["expires_at"]))
    token = tokens.sign_credential(other.credential, row)
    assert jwt.get_unverified_header(token)["kid"] == key.kid
    assert (await verify(client, token)).json()["result"] == "valid"
    kids = {k["kid"] for k in (await client.get("/api/v1/credentials/jwks")).json()["keys"]}
    assert {old_kid, new_kid, key.kid} <= kids
    for jwk in (await client.get("/api/v1/credentials/jwks")).json()["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}  # public parts only


async def test_status_list(client, token_for):
    r = await client.get("/api/v1/credentials/status")
    assert r.status_code == 200
    first = r.json()
    etag = r.headers["etag"]
    assert first["entries"] == []
    assert ts(first["valid_until"]) - ts(first["issued_at"]) == timedelta(seconds=first["max_staleness_s"])
    jwks = (await client.get("/api/v1/credentials/jwks")).json()
    header = jwt.get_unverified_header(first["token"])
    assert header["typ"] == tokens.STATUS_TYP
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    signed = jwt.decode(first["token"], jwt.PyJWK(jwk), algorithms=["EdDSA"])
    assert {k: signed[k] for k in ("issued_at", "valid_until", "max_staleness_s", "entries")} == \
        {k: first[k] for k in ("issued_at", "valid_until", "max_staleness_s", "entries")}

    r = await client.get("/api/v1/credentials/status", headers={"If-None-Match": etag})
    assert r.status_code == 304 and r.headers["etag"] == etag and r.content == b""

    ft = await credential_of(client, token_for)
    pt = await credential_of(client, token_for, "sy.inspector.pt")
    await client.post(f"/api/v1/credentials/{ft['id']}/revoke", json={"reason": "x"}, headers=token_for("ln.hr"))
    await client.post(f"/api/v1/credentials/{pt['id']}/suspend", json={}, headers=token_for("ln.hr"))
    r = await client.get("/api/v1/credentials/status", headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["etag"] != etag
    entries = {e["number"]: e for e in r.json()["entries"]}
    assert entries[ft["number"]]["status"] == "revoked" and entries[ft["number"]]["jti"] == ft["id"]
    assert entries[pt["number"]]["status"] == "suspended"
    assert len(entries) == 2
    assert jwt.decode(r.json()["token"], jwt.PyJWK(jwk), algorithms=["EdDSA"])["entries"] == r.json()["entries"]


async def test_verification_page(client, token_for):
    cred = await credential_of(client, token_for)
    r = await client.get(f"/v/{token_of(cred['qr_text'])}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert 'data-result="valid"' in r.text and "有效" in r.text and "吴晓明" in r.text and cred["number"] in r.text
    await client.post(f"/api/v1/credentials/{cred['id']}/revoke", json={"reason": "x"}, headers=token_for("ln.hr"))
    r = await client.get(f"/v/{token_of(cred['qr_text'])}")
    assert r.status_code == 200 and 'data-result="revoked"' in r.text and "已吊销" in r.text
    for garbage in ("garbage", "a.b.c", "x" * 3000):
        r = await client.get(f"/v/{garbage}")
        assert r.status_code == 400, garbage
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert 'data-result="malformed"' in r.text
    key = Ed25519PrivateKey.generate()
    r = await client.get(f"/v/{sign(claims_of(token_of(cred['qr_text'])), key, 'nobody')}")
    assert r.status_code == 200 and 'data-result="forged"' in r.text


async def test_public_endpoints_are_rate_limited(settings, clock, token_for):
    limited = msgspec.structs.replace(settings, public_rate_limit=3, public_rate_window_s=60)
    app = create_app(limited, clock=clock)
    free = format_number("technical_inspector", 2026, 999_998)
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        for _ in range(3):
            assert (await c.get("/api/v1/verify", params={"number": free})).status_code == 200
        r = await c.post("/api/v1/verify", json={"qr_text": "garbage"})
        assert r.status_code == 429
        assert r.json()["code"] == "RATE_LIMITED" and int(r.headers["retry-after"]) >= 1
        r = await c.get("/v/abc.def.ghi")
        assert r.status_code == 429 and "retry-after" in r.headers
        assert r.headers["content-type"].startswith("text/html")
        for path in ("/api/v1/credentials/jwks", "/api/v1/credentials/status"):
            assert (await c.get(path)).status_code == 429, path
        # Authenticated endpoints are not counted against the public limit.
        r = await c.get("/api/v1/credentials", headers=token_for("ln.hr"))
        assert r.status_code == 200
