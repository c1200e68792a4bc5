"""Receipts of evidence uploads: a compact JWS (EdDSA, the seal ring) over what was received, so
anyone holding the public keys (GET /api/v1/evidence/keys) can check it later."""

from __future__ import annotations

from typing import Any

import jwt

from backend.core.signing import KeyRing


def make_receipt(ring: KeyRing, claims: dict[str, Any]) -> str:
    key = ring.current
    return jwt.encode(claims, key.private, algorithm="EdDSA",
                      headers={"kid": key.kid, "typ": "JWT", "cty": "fieldcheck-evidence-receipt"})


def verify_receipt(ring: KeyRing, token: str) -> dict[str, Any]:
    """The claims of a receipt this deployment signed (any key of the seal ring, old ones too)."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "EdDSA":
        raise jwt.InvalidAlgorithmError("receipts are EdDSA")
    key = ring.get(str(header.get("kid")))
    if key is None:
        raise jwt.InvalidKeyError("unknown kid")
    claims: dict[str, Any] = jwt.decode(token, key.public, algorithms=["EdDSA"],
                                        options={"verify_aud": False})
    return claims
