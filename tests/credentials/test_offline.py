"""Offline verification as a phone does it: with nothing but the JSON of
GET /api/v1/credentials/jwks and GET /api/v1/credentials/status (downloaded while online), PyJWT
checks a scanned QR code and says valid / revoked / suspended / expired / forged — and refuses to
say "valid" once its status list is older than the list's own `valid_until`."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import demo_id

pytestmark = pytest.mark.db

STATUS_TYP = "fieldcheck-status+jwt"
CLAIMS = ["jti", "num", "kind", "name", "agency", "iat", "exp"]


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class OfflineVerifier:
    """What the field app keeps on the phone, and how it checks a scan without a network."""

    def __init__(self, jwks: dict, status: dict) -> None:
        self.keys = {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]
                     if k.get("kty") == "OKP" and k.get("crv") == "Ed25519"}
        header = jwt.get_unverified_header(status["token"])
        if header.get("typ") != STATUS_TYP or header.get("kid") not in self.keys:
            raise ValueError("status list not signed by a credential key")
        # Trust the signed payload only, never the clear copy next to it.
        signed = jwt.decode(status["token"], self.keys[header["kid"]], algorithms=["EdDSA"],
                            options={"verify_exp": False, "verify_iat": False})
        self.valid_until = parse_time(signed["valid_until"])
        self.withdrawn = {e["jti"]: e for e in signed["entries"]}

    def check(self, scanned: str, now: datetime) -> tuple[str, dict | None]:
        token = scanned.strip().rsplit("/v/", 1)[-1].split("?", 1)[0]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            return "malformed", None
        key = self.keys.get(header.get("kid"))
        if header.get("alg") != "EdDSA" or "typ" in header or key is None:
            return "forged", None
        try:
            claims = jwt.decode(token, key, algorithms=["EdDSA"],
                                options={"verify_exp": False, "verify_iat": False, "require": CLAIMS})
        except jwt.PyJWTError:
            return "forged", None
        entry = self.withdrawn.get(claims["jti"])
        if entry is not None and entry["status"] == "revoked":
            return "revoked", claims  # revocation is final: an old list is still right about it
        if now.timestamp() >= claims["exp"]:
            return "expired", claims
        if now > self.valid_until:
            return "stale", claims  # cannot vouch any more: go online or refresh the list
        if entry is not None:
            return entry["status"], claims
        return "valid", claims


async def download(client) -> tuple[dict, dict, str]:
    jwks = await client.get("/api/v1/credentials/jwks")
    status = await client.get("/api/v1/credentials/status")
    assert jwks.status_code == status.status_code == 200
    return jwks.json(), status.json(), status.headers["etag"]


async def credential(client, token_for, username: str) -> dict:
    r = await client.get(f"/api/v1/credentials?person_id={demo_id(username)}", headers=token_for("ln.hr"))
    return r.json()["items"][0]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_phone_verifies_offline(client, token_for, clock, app):
    ft = await credential(client, token_for, "sy.inspector.ft")
    pt = await credential(client, token_for, "sy.inspector.pt")
    sup = await credential(client, token_for, "sy.supervisor")
    await client.post(f"/api/v1/credentials/{pt['id']}/revoke", json={"reason": "dismissed"},
                      headers=token_for("ln.hr"))
    await client.post(f"/api/v1/credentials/{sup['id']}/suspend", json={}, headers=token_for("ln.hr"))
    jwks, status, _ = await download(client)
    phone = OfflineVerifier(jwks, status)
    now = clock.now()

    assert phone.check(ft["qr_text"], now)[0] == "valid"
    assert phone.check(ft["qr_text"], now)[1]["name"] == "吴晓明"
    assert phone.check(pt["qr_text"], now)[0] == "revoked"
    assert phone.check(sup["qr_text"], now)[0] == "suspended"

    # Forgeries: a foreign key under our kid, a tampered name, garbage.
    token = ft["qr_text"].rsplit("/v/", 1)[1]
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    kid = jwt.get_unverified_header(token)["kid"]
    foreign = jwt.PyJWS().encode(json.dumps(claims).encode(), Ed25519PrivateKey.generate(), algorithm="EdDSA",
                                 headers={"kid": kid, "typ": None})
    assert phone.check(foreign, now)[0] == "forged"
    tampered = f"{head}.{b64(json.dumps({**claims, 'name': '李鬼'}).encode())}.{sig}"
    assert phone.check(tampered, now)[0] == "forged"
    assert phone.check(status["token"], now)[0] == "forged"  # the status list is not a credential
    assert phone.check("not a token", now)[0] == "malformed"

    # The phone agrees with the server on every scan.
    for scanned, expected in ((ft["qr_text"], "valid"), (pt["qr_text"], "revoked"), (sup["qr_text"], "suspended"),
                              (foreign, "forged"), (tampered, "forged")):
        online = await client.post("/api/v1/verify", json={"qr_text": scanned})
        assert online.json()["result"] == expected == phone.check(scanned, now)[0]

    # Past the token's own exp: expired, list or no list.
    exp = datetime.fromtimestamp(claims["exp"], now.tzinfo)
    assert phone.check(ft["qr_text"], exp)[0] == "expired"


async def test_stale_list_cannot_vouch(client, token_for, clock, settings):
    ft = await credential(client, token_for, "sy.inspector.ft")
    pt = await credential(client, token_for, "sy.inspector.pt")
    await client.post(f"/api/v1/credentials/{pt['id']}/revoke", json={"reason": "x"}, headers=token_for("ln.hr"))
    jwks, status, etag = await download(client)
    phone = OfflineVerifier(jwks, status)
    valid_until = parse_time(status["valid_until"])
    assert valid_until - parse_time(status["issued_at"]) == timedelta(seconds=settings.status_list_ttl_s)
    assert phone.check(ft["qr_text"], valid_until - timedelta(seconds=1))[0] == "valid"
    assert phone.check(ft["qr_text"], valid_until + timedelta(seconds=1))[0] == "stale"
    assert phone.check(pt["qr_text"], valid_until + timedelta(seconds=1))[0] == "revoked"

    # Back online: nothing changed -> 304; a change -> a new list that the phone then knows.
    r = await client.get("/api/v1/credentials/status", headers={"If-None-Match": etag})
    assert r.status_code == 304
    await client.post(f"/api/v1/credentials/{ft['id']}/suspend", json={}, headers=token_for("ln.hr"))
    r = await client.get("/api/v1/credentials/status", headers={"If-None-Match": etag})
    assert r.status_code == 200
    phone = OfflineVerifier(jwks, r.json())
    assert phone.check(ft["qr_text"], clock.now())[0] == "suspended"


async def test_rotation_offline(client, token_for, clock, app):
    ft = await credential(client, token_for, "sy.inspector.ft")
    app.state["keys"].credential.rotate()
    fresh = await credential(client, token_for, "sy.inspector.ft")
    assert fresh["qr_text"] != ft["qr_text"]
    jwks, status, _ = await download(client)
    phone = OfflineVerifier(jwks, status)
    assert phone.check(ft["qr_text"], clock.now())[0] == "valid"  # printed before the rotation
    assert phone.check(fresh["qr_text"], clock.now())[0] == "valid"
    # The status list is signed with the new key, so a phone refreshes both files together.
    assert jwt.get_unverified_header(status["token"])["kid"] == jwt.get_unverified_header(
        fresh["qr_text"].rsplit("/v/", 1)[1])["kid"]
