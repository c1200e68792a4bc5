"""Ed25519 signing keys, one key ring per purpose, kept in the data directory.

Purposes: `access` (API access tokens), `credential` (QR tokens and the signed status list),
`seal` (document signature seals, evidence receipts, audit checkpoints). Each purpose has its own
ring so that, say, a credential key can be rotated without logging everyone out. A ring keeps every
key it ever had: old public keys stay published so that what they signed keeps verifying. Private
keys are written 0600 and never logged."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PURPOSES = ("access", "credential", "seal", "ca")
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk_thumbprint(public_raw: bytes) -> str:
    """RFC 7638 thumbprint of the OKP JWK, shortened to 16 characters: unique enough to name a
    key among a ring's handful, short enough to keep QR tokens small."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": b64url(public_raw)}, separators=(",", ":"))
    return b64url(hashlib.sha256(canonical.encode()).digest())[:16]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    created_at: datetime

    def jwk(self) -> dict[str, Any]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(raw_public(self.public)),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }

    def __repr__(self) -> str:  # never show key material in logs or tracebacks
        return f"SigningKey(kid={self.kid!r})"


class KeyRing:
    """The keys of one purpose. `current` signs; all verify.

    `shared` rings hold keys that live in the database (backend/core/keystore.py), shared by every
    node: they are filled and refreshed from there (`replace`), never from the data directory."""

    def __init__(self, directory: Path, purpose: str, *, shared: bool = False) -> None:
        self.directory = directory / purpose
        self.purpose = purpose
        self.shared = shared
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._current: str | None = None

    def replace(self, keys: list[SigningKey]) -> None:
        """The whole ring, as the shared store has it; the newest key signs."""
        with self._lock:
            self._keys = {k.kid: k for k in keys}
            newest = max(keys, key=lambda k: (k.created_at, k.kid), default=None)
            self._current = newest.kid if newest else None

    def load(self, *, create: bool = True) -> KeyRing:
        if self.shared:
            return self
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)
            keys: dict[str, SigningKey] = {}
            for pem in sorted(self.directory.glob("*.pem")):
                private = serialization.load_pem_private_key(pem.read_bytes(), password=None)
                if not isinstance(private, Ed25519PrivateKey):
                    continue
                public = private.public_key()
                kid = jwk_thumbprint(raw_public(public))
                created = datetime.fromtimestamp(pem.stat().st_mtime, UTC)
                keys[kid] = SigningKey(kid, private, public, created)
            current_file = self.directory / "current"
            current = current_file.read_text().strip() if current_file.exists() else None
            self._keys = keys
            self._current = current if current in keys else None
        if self._current is None and create:
            self.rotate()
        return self

    def rotate(self) -> SigningKey:
        """Make a new key the current one; the old ones stay for verification."""
        if self.shared:
            raise RuntimeError("shared keys rotate in the database: `fieldcheck keys rotate`")
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            private = Ed25519PrivateKey.generate()
            public = private.public_key()
            kid = jwk_thumbprint(raw_public(public))
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path = self.directory / f"{kid}.pem"
            fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(path.with_suffix(".tmp"), path)
            tmp = self.directory / "current.tmp"
            tmp.write_text(kid)
            os.replace(tmp, self.directory / "current")
            key = SigningKey(kid, private, public, datetime.now(UTC))
            self._keys[kid] = key
            self._current = kid
            return key

    @property
    def current(self) -> SigningKey:
        if self._current is None:
            raise RuntimeError(f"no current {self.purpose} key; run `fieldcheck keys rotate`")
        return self._keys[self._current]

    def get(self, kid: str) -> SigningKey | None:
        # A kid comes from untrusted tokens: only our thumbprint alphabet may reach the filesystem.
        if not _KID_RE.fullmatch(kid):
            return None
        key = self._keys.get(kid)
        if key is None and not self.shared and (self.directory / f"{kid}.pem").exists():
            # Another process (`fieldcheck keys rotate`, another worker) added a key.
            self.load(create=False)
            key = self._keys.get(kid)
        return key

    def all(self) -> list[SigningKey]:
        return sorted(self._keys.values(), key=lambda k: k.created_at)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self.all()]}


class Keys:
    """The three rings of a deployment, and `ca`: the roots of the printed documents' seal
    authority (backend.documents_pdf.ca). In the data directory (one node), or `shared` ones kept
    in the database (every node; see backend/core/keystore.py)."""

    def __init__(self, data_dir: Path, *, shared: bool = False) -> None:
        base = data_dir / "keys"
        self.shared = shared
        self.access = KeyRing(base, "access", shared=shared)
        self.credential = KeyRing(base, "credential", shared=shared)
        self.seal = KeyRing(base, "seal", shared=shared)
        self.ca = KeyRing(base, "ca", shared=shared)

    def load(self) -> Keys:
        for ring in (self.access, self.credential, self.seal, self.ca):
            ring.load()
        return self

    def ring(self, purpose: str) -> KeyRing:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown key purpose {purpose!r}")
        ring: KeyRing = getattr(self, purpose)
        return ring
