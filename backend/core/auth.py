"""Access tokens (EdDSA JWTs with a `kid`), password hashing and the request principal.

Only EdDSA tokens whose `kid` names a key of the access ring are accepted: `alg: none`, HMAC
algorithms (including the classic "HS256 keyed with the public key" confusion), unknown kids,
bad signatures and expired tokens are all 401."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend.core.errors import Unauthenticated
from backend.core.signing import KeyRing

# OWASP's argon2id minimum (19 MiB, t=2, p=1): memory-hard yet ~20 ms per login on these machines.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Compared against when the username is unknown, so a miss costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("fieldcheck-dummy-password")

ROLES = ("officer", "technical_inspector", "social_supervisor", "hr_admin", "agency_admin")
STAFF_ROLES = ("hr_admin", "agency_admin")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    """Who is calling, as loaded from the database for this request."""

    person_id: uuid.UUID
    role: str
    agency_code: str
    #: Materialised path of the caller's agency ("210000/210100/"): jurisdiction is a prefix test.
    agency_path: str
    name: str
    employment: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def actor(self) -> str:
        return str(self.person_id)


@dataclass(frozen=True)
class TokenClaims:
    person_id: uuid.UUID
    role: str
    expires_at: datetime


def issue_access_token(ring: KeyRing, *, person_id: uuid.UUID, role: str, issuer: str, now: datetime,
                       ttl_s: int) -> str:
    key = ring.current
    claims = {
        "sub": str(person_id),
        "role": role,
        "iss": issuer,
        "aud": "fieldcheck-api",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 5,
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid, "typ": "JWT"})


#: Clock skew allowed between `iat`/`exp` and the lifetime this server issues.
LIFETIME_LEEWAY_S = 60


def decode_access_token(ring: KeyRing, token: str, *, issuer: str, max_lifetime_s: int | None = None) -> TokenClaims:
    """Verify an access token or raise 401. Every failure gets the same public message.

    `max_lifetime_s` caps `exp - iat`: a token signed with a real key but valid for years (a key
    that leaked once, a tool that minted a long-lived token) is refused, so a token never outlives
    the lifetime this server hands out."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("Malformed access token", "访问令牌格式错误") from exc
    if header.get("alg") != "EdDSA":
        raise Unauthenticated("Token algorithm not accepted", "不接受该令牌签名算法")
    kid = header.get("kid")
    key = ring.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthenticated("Unknown signing key", "未知的令牌签名密钥")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.public,
            algorithms=["EdDSA"],
            audience="fieldcheck-api",
            issuer=issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        person_id = uuid.UUID(str(claims["sub"]))
        # PyJWT has checked that iat and exp are numbers.
        lifetime = claims["exp"] - claims["iat"]
        expires_at = datetime.fromtimestamp(claims["exp"], UTC)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("Access token expired", "访问令牌已过期") from exc
    except (jwt.PyJWTError, ValueError, OverflowError, OSError) as exc:
        raise Unauthenticated("Invalid access token", "访问令牌无效") from exc
    if max_lifetime_s is not None and lifetime > max_lifetime_s + LIFETIME_LEEWAY_S:
        raise Unauthenticated("Access token lifetime too long", "访问令牌有效期过长")
    return TokenClaims(person_id, str(claims.get("role", "")), expires_at)
