"""Access tokens: forged and confused tokens are 401, never a 500 and never accepted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from backend.core.auth import issue_access_token
from backend.core.signing import Keys
from tests.conftest import demo_id

pytestmark = pytest.mark.db


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(settings, **over):
    now = datetime.now(UTC)
    body = {"sub": str(demo_id("ln.hr")), "role": "hr_admin", "iss": settings.origin, "aud": "fieldcheck-api",
            "iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp())}
    body.update(over)
    return body


async def me(client, token):
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


async def test_valid_token_works(client, token_for):
    r = await client.get("/api/v1/me", headers=token_for("ln.hr"))
    assert r.status_code == 200 and r.json()["username"] == "ln.hr"


async def test_alg_none_refused(client, settings, keys_dir):
    kid = Keys(keys_dir).load().access.current.kid
    header = b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())
    token = f"{header}.{b64(json.dumps(claims(settings)).encode())}."
    r = await me(client, token)
    assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED"


async def test_hs256_keyed_with_public_key_refused(client, settings, keys_dir):
    key = Keys(keys_dir).load().access.current
    public_pem = key.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    for secret in (public_pem, raw, b64(raw).encode()):
        # Built by hand: PyJWT itself refuses to HMAC with an asymmetric key.
        signing_input = (b64(json.dumps({"alg": "HS256", "kid": key.kid, "typ": "JWT"}).encode()) + "."
                         + b64(json.dumps(claims(settings)).encode()))
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        r = await me(client, f"{signing_input}.{b64(mac)}")
        assert r.status_code == 401


async def test_tampered_signature_and_payload_refused(client, token_for, settings):
    good = token_for("sy.officer1")["Authorization"].split()[1]
    header, payload, sig = good.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
    assert (await me(client, f"{header}.{payload}.{flipped}")).status_code == 401
    forged_payload = b64(json.dumps(claims(settings)).encode())  # claims to be ln.hr
    assert (await me(client, f"{header}.{forged_payload}.{sig}")).status_code == 401


async def test_unknown_kid_and_foreign_key_refused(client, settings, keys_dir):
    foreign = Ed25519PrivateKey.generate()
    token = jwt.encode(claims(settings), foreign, algorithm="EdDSA", headers={"kid": "not-a-known-kid"})
    assert (await me(client, token)).status_code == 401
    # A foreign key that claims a kid we know.
    kid = Keys(keys_dir).load().access.current.kid
    token = jwt.encode(claims(settings), foreign, algorithm="EdDSA", headers={"kid": kid})
    assert (await me(client, token)).status_code == 401


async def test_expired_and_wrong_audience_refused(client, settings, keys_dir):
    ring = Keys(keys_dir).load().access
    old = issue_access_token(ring, person_id=demo_id("ln.hr"), role="hr_admin", issuer=settings.origin,
                             now=datetime.now(UTC) - timedelta(hours=3), ttl_s=60)
    r = await me(client, old)
    assert r.status_code == 401 and "expired" in r.json()["message"].lower()
    token = jwt.encode(claims(settings, aud="someone-else"), ring.current.private, algorithm="EdDSA",
                       headers={"kid": ring.current.kid})
    assert (await me(client, token)).status_code == 401
    token = jwt.encode(claims(settings, iss="evil"), ring.current.private, algorithm="EdDSA",
                       headers={"kid": ring.current.kid})
    assert (await me(client, token)).status_code == 401


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "Bearer a.b", "Bearer ....",
                                    "Bearer " + "x" * 5000])
async def test_garbage_authorization_is_401(client, header):
    r = await client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.json()["code"] == "UNAUTHENTICATED"


async def test_token_of_unknown_person_refused(client, token_for):
    import uuid

    r = await client.get("/api/v1/me", headers=token_for(uuid.uuid4()))
    assert r.status_code == 401


async def test_jwks_publishes_only_public_keys(client, keys_dir):
    r = await client.get("/api/v1/auth/jwks")
    assert r.status_code == 200
    keys = r.json()["keys"]
    kid = Keys(keys_dir).load().access.current.kid
    assert any(k["kid"] == kid and k["kty"] == "OKP" and k["crv"] == "Ed25519" for k in keys)
    assert all("d" not in k for k in keys)


async def test_rotated_key_still_verifies_old_tokens(client, token_for, keys_dir, settings):
    old_headers = token_for("sy.admin")
    Keys(keys_dir).load().access.rotate()
    # The app's ring learns of the new key lazily; tokens signed by the old key keep working.
    assert (await client.get("/api/v1/me", headers=old_headers)).status_code == 200
    assert (await client.get("/api/v1/me", headers=token_for("sy.admin"))).status_code == 200
