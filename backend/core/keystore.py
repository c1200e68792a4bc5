"""Signing keys shared by every node of a deployment, in the `signing_keys` table.

With FIELDCHECK_SECRET_KEY set, a token or a credential signed by one server verifies on every
other one sharing the database, and a rotation (`fieldcheck keys rotate`) reaches all of them: the
table's trigger bumps the `signing_keys` change counter (and NOTIFYs on PostgreSQL), and each
process reloads its rings (backend/core/changes.py). Private keys are stored AES-256-GCM encrypted
under a key derived from the secret (HKDF-SHA256), with `purpose:kid` as associated data, so a row
copied under another kid or purpose does not decrypt. A wrong secret fails loudly at start rather
than signing with keys the other nodes do not have.

The first start on an empty table imports the keys of the data directory, if any, so a deployment
that grows from one node to many keeps every key it has published (cards already printed keep
verifying)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.core.shared_models import SigningKeyRow
from backend.core.signing import PURPOSES, KeyRing, Keys, SigningKey, jwk_thumbprint, raw_public

_INFO = b"fieldcheck signing keys v1"


class SecretKeyMismatch(RuntimeError):
    pass


def _aead(secret: str) -> AESGCM:
    if len(secret) < 16:
        raise ValueError("FIELDCHECK_SECRET_KEY must be at least 16 characters")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
    return AESGCM(key)


def _seal(secret: str, purpose: str, key: SigningKey) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead(secret).encrypt(nonce, key.private.private_bytes_raw(), f"{purpose}:{key.kid}".encode())


def _open(secret: str, row: SigningKeyRow) -> SigningKey:
    blob = row.private_key_enc
    try:
        raw = _aead(secret).decrypt(blob[:12], blob[12:], f"{row.purpose}:{row.kid}".encode())
    except InvalidTag as exc:
        raise SecretKeyMismatch(f"cannot decrypt {row.purpose} key {row.kid}: FIELDCHECK_SECRET_KEY differs "
                                "from the one the keys were stored with") from exc
    private = Ed25519PrivateKey.from_private_bytes(raw)
    public = private.public_key()
    if raw_public(public) != row.public_key or jwk_thumbprint(raw_public(public)) != row.kid:
        raise SecretKeyMismatch(f"{row.purpose} key {row.kid} does not match its public key")
    return SigningKey(row.kid, private, public, row.created_at)


def new_key() -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    return SigningKey(jwk_thumbprint(raw_public(public)), private, public, datetime.now(UTC))


async def _insert(engine: AsyncEngine, secret: str, purpose: str, keys: list[SigningKey]) -> None:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    rows = [{"purpose": purpose, "kid": k.kid, "public_key": raw_public(k.public),
             "private_key_enc": _seal(secret, purpose, k), "created_at": k.created_at} for k in keys]
    async with engine.begin() as conn:
        await conn.execute(insert(SigningKeyRow).values(rows).on_conflict_do_nothing())


async def read_keys(engine: AsyncEngine, secret: str) -> dict[str, list[SigningKey]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(SigningKeyRow))).all()
    found: dict[str, list[SigningKey]] = {p: [] for p in PURPOSES}
    for row in rows:
        if row.purpose in found:
            found[row.purpose].append(_open(secret, row))  # type: ignore[arg-type]
    return found


async def ensure_keys(engine: AsyncEngine, secret: str, data_dir: Path | None) -> None:
    """Every purpose has at least one key: imported from the data directory, else a new one. Two
    nodes starting at once may both add one; the newest then signs everywhere, both verify."""
    existing = await read_keys(engine, secret)
    for purpose in PURPOSES:
        if existing[purpose]:
            continue
        imported: list[SigningKey] = []
        if data_dir is not None and (data_dir / "keys" / purpose).is_dir():
            imported = KeyRing(data_dir / "keys", purpose).load(create=False).all()
        await _insert(engine, secret, purpose, imported or [new_key()])


async def reload(keys: Keys, engine: AsyncEngine, secret: str) -> None:
    found = await read_keys(engine, secret)
    for purpose in PURPOSES:
        keys.ring(purpose).replace(found[purpose])


async def rotate(engine: AsyncEngine, secret: str, purpose: str) -> SigningKey:
    """A new current key for `purpose`, seen by every node on their next change check."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    key = new_key()
    await _insert(engine, secret, purpose, [key])
    return key
