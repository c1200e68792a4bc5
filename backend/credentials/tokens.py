"""QR tokens and the signed status list: compact JWS (EdDSA, Ed25519, with `kid`) made with the
CREDENTIAL key ring, never the access ring, so a leaked or rotated key of one purpose never touches
the other.

A QR token carries exactly: `jti` (credential id), `num` (number), `kind`, `name` (holder name, at
most NAME_CLAIM_MAX characters), `agency` (agency code), `iat`, `exp` — no ID number, no phone. The
payload is UTF-8 JSON (not \\u-escaped) and the header has no `typ`, which keeps a Chinese name's
token small enough for a QR code a phone camera reads at arm's length. The token is a pure function
of the credential row and the signing key (Ed25519 signatures are deterministic), so nothing about
it is stored: after a key rotation the card shows a new token and the old one keeps verifying.

Verification is by hand on `cryptography` rather than through a generic JWT library: only EdDSA is
accepted, the key is chosen by `kid` from the credential ring alone, and the signature check of a
token (immutable) is cached; the credential's status never is."""

from __future__ import annotations

import binascii
import json
import re
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import jwt
from cryptography.exceptions import InvalidSignature

from backend.core.errors import BadRequest
from backend.core.signing import KeyRing, b64url_decode
from backend.credentials.numbering import MALFORMED_CREDENTIAL

#: Longer names are cut in the token (the record keeps the whole name); QR size stays bounded.
NAME_CLAIM_MAX = 32
#: qr_text must fit a ≥ 20 mm QR code on the card and a phone camera's patience.
MAX_QR_TEXT = 600
#: Anything longer is not one of our tokens.
MAX_TOKEN_CHARS = 2048
STATUS_TYP = "fieldcheck-status+jwt"
CLAIMS = ("jti", "num", "kind", "name", "agency", "iat", "exp")

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CACHE_SIZE = 20_000
# (ring directory, token) -> verified claims. A token never changes, and neither does the public
# key its kid names, so a positive signature check stays true; only successes are cached, so junk
# cannot push real entries out faster than real traffic does.
_verified: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()


@dataclass(frozen=True)
class Rejected(Exception):
    """A well-formed token that is not a genuine credential token (-> result `forged`)."""

    reason: str


def malformed(reason: str) -> BadRequest:
    return BadRequest(
        "Not a credential QR code or number",
        "无法识别的证件二维码或编号",
        code=MALFORMED_CREDENTIAL,
        detail={"reason": reason},
    )


class CredentialFields(Protocol):
    """What a token is made of: a `Credential` row or a snapshot view."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def number(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def holder_name(self) -> str: ...
    @property
    def agency_code(self) -> str: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...


def claims_for(credential: CredentialFields) -> dict[str, Any]:
    return {
        "jti": str(credential.id),
        "num": credential.number,
        "kind": credential.kind,
        "name": credential.holder_name[:NAME_CLAIM_MAX],
        "agency": credential.agency_code,
        "iat": int(credential.issued_at.timestamp()),
        "exp": int(credential.expires_at.timestamp()),
    }


def _encode(ring: KeyRing, payload: dict[str, Any], typ: str | None) -> str:
    key = ring.current
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return jwt.PyJWS().encode(body, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": typ})


def sign_credential(ring: KeyRing, credential: CredentialFields) -> str:
    return _encode(ring, claims_for(credential), None)


def sign_status_list(ring: KeyRing, payload: dict[str, Any]) -> str:
    return _encode(ring, payload, STATUS_TYP)


def qr_text_for(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v/{token}"


def extract_token(qr_text: str) -> str:
    """The token from what a camera read: the verification URL (any host: the signature, not the
    address, is what proves a card genuine) or the bare token."""
    text = qr_text.strip()
    if len(text) > MAX_TOKEN_CHARS + 512:
        raise malformed("too_long")
    if "://" in text:
        try:
            parts = urlsplit(text)
        except ValueError as exc:
            raise malformed("url") from exc
        if parts.scheme.lower() not in {"http", "https"}:
            raise malformed("url")
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) < 2 or segments[-2] != "v":
            raise malformed("url")
        text = unquote(segments[-1])
    return text


def _split(token: str) -> tuple[str, str, str]:
    if len(token) > MAX_TOKEN_CHARS:
        raise malformed("too_long")
    parts = token.split(".")
    if len(parts) != 3 or not all(_B64URL.fullmatch(p) for p in parts):
        raise malformed("token_shape")
    return parts[0], parts[1], parts[2]


def _json_object(segment: str) -> dict[str, Any] | None:
    try:
        value = json.loads(b64url_decode(segment))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def verify_signature(ring: KeyRing, token: str, *, typ: str | None = None) -> dict[str, Any]:
    """The payload of a compact JWS signed by a key of `ring`.

    BadRequest(MALFORMED_CREDENTIAL) when the text is not a JWS at all; `Rejected(reason)` when it
    is one but not ours: another algorithm, an unknown kid, a bad signature (including a foreign
    key that reuses one of our kids), the wrong token type."""
    cache_key = (str(ring.directory), token)
    hit = _verified.get(cache_key) if typ is None else None
    if hit is not None:
        _verified.move_to_end(cache_key)
        return hit
    header_b64, payload_b64, signature_b64 = _split(token)
    header = _json_object(header_b64)
    if header is None:
        raise malformed("token_header")
    try:
        payload_raw = b64url_decode(payload_b64)
        signature = b64url_decode(signature_b64)
    except (ValueError, binascii.Error) as exc:
        raise malformed("token_encoding") from exc
    if header.get("alg") != "EdDSA":
        raise Rejected("algorithm_not_accepted")
    if "crit" in header or header.get("b64") is not None:
        raise Rejected("unsupported_header")
    if header.get("typ") != typ:
        raise Rejected("wrong_token_type")
    kid = header.get("kid")
    # A kid names a file of the ring's directory when the ring looks for keys added by another
    # process: only the thumbprint alphabet, so no kid can point anywhere else.
    key = ring.get(kid) if isinstance(kid, str) and _KID.fullmatch(kid) else None
    if key is None:
        raise Rejected("unknown_signing_key")
    try:
        key.public.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature as exc:
        raise Rejected("bad_signature") from exc
    try:
        payload = json.loads(payload_raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected("claims_invalid") from exc
    if not isinstance(payload, dict):
        raise Rejected("claims_invalid")
    if typ is None:
        _verified[cache_key] = payload
        while len(_verified) > _CACHE_SIZE:
            _verified.popitem(last=False)
    return payload


def verify_credential_token(ring: KeyRing, token: str) -> dict[str, Any]:
    claims = verify_signature(ring, token)
    for name in CLAIMS:
        value = claims.get(name)
        expected: type = int if name in {"iat", "exp"} else str
        if not isinstance(value, expected) or isinstance(value, bool):
            raise Rejected("claims_invalid")
    return claims


def clear_cache() -> None:
    _verified.clear()
