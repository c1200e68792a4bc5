"""Signed tree heads of the audit log, as C2SP checkpoints in C2SP signed notes.

https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note. A checkpoint looks like::

    fieldcheck.example/audit
    1234
    <base64 of the 32-byte RFC 6962 root hash>

    — fieldcheck.example/audit <base64(key id || Ed25519 signature)>

- The body (origin line, tree size in ASCII decimal, base64 root, each ending in a newline) is what the
  Ed25519 key signs, final newline included, separating blank line excluded.
- The key id is the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || raw 32-byte public key), 0x01 being
  the signed-note signature type of Ed25519; the verifier key string is ``name+<hex key id>+base64(0x01 ||
  public key)``, the form Go's ``golang.org/x/mod/sumdb/note`` and transparency-dev tooling take.
- Signature lines from other keys (witness cosignatures, say) are ignored; a line claiming to be from the
  expected key that does not verify rejects the whole note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "SIG_TYPE_ED25519",
    "Checkpoint",
    "key_id",
    "parse_and_verify_checkpoint",
    "parse_vkey",
    "sign_checkpoint",
    "vkey",
]

SIG_TYPE_ED25519 = 0x01
HASH_SIZE = 32
MAX_SIGNATURES = 100  # the bound Go's sumdb/note applies
_SIG_PREFIX = "\N{EM DASH} "
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A verified tree head. ``extensions`` holds any lines after the root hash (none from this server)."""

    origin: str
    tree_size: int
    root: bytes
    extensions: tuple[str, ...] = ()


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _check_key_name(key_name: str) -> None:
    if not isinstance(key_name, str) or not key_name:
        raise ValueError("key name must be a non-empty string")
    if "+" in key_name or any(c.isspace() for c in key_name) or _CONTROL_RE.search(key_name):
        raise ValueError("key name must not contain '+', spaces or control characters")


def _check_origin(origin: str) -> None:
    if not isinstance(origin, str) or not origin:
        raise ValueError("checkpoint origin must be a non-empty string")
    if any(c.isspace() for c in origin) or _CONTROL_RE.search(origin):
        raise ValueError("checkpoint origin must not contain spaces, newlines or control characters")


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte signed-note key id: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    _check_key_name(key_name)
    material = key_name.encode() + b"\n" + bytes([SIG_TYPE_ED25519]) + _raw_public_key(public_key)
    return hashlib.sha256(material).digest()[:4]


def vkey(key_name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key string ``{name}+{hex key id}+{base64(0x01 || public key)}``."""
    kid = key_id(key_name, public_key).hex()
    material = base64.b64encode(bytes([SIG_TYPE_ED25519]) + _raw_public_key(public_key)).decode()
    return f"{key_name}+{kid}+{material}"


def parse_vkey(verifier_key: str) -> tuple[str, Ed25519PublicKey]:
    """Inverse of ``vkey``: (key name, public key). Raises ValueError if malformed or inconsistent."""
    name, sep1, rest = verifier_key.partition("+")
    kid_hex, sep2, material = rest.partition("+")  # the base64 part may itself contain '+'
    if not (sep1 and sep2) or not re.fullmatch(r"[0-9a-f]{8}", kid_hex):
        raise ValueError("malformed verifier key")
    raw = _b64decode_strict(material)
    if raw is None or len(raw) != 1 + 32 or raw[0] != SIG_TYPE_ED25519:
        raise ValueError("verifier key is not an Ed25519 key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, public_key).hex() != kid_hex:
        raise ValueError("verifier key id does not match its name and key")
    return name, public_key


def _b64decode_strict(text: str) -> bytes | None:
    """Standard base64 with padding, canonical only (what encoding the result gives back)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if base64.b64encode(raw).decode() != text:
        return None
    return raw


def _body(origin: str, tree_size: int, root: bytes) -> str:
    return f"{origin}\n{tree_size}\n{base64.b64encode(root).decode()}\n"


def sign_checkpoint(
    origin: str, tree_size: int, root: bytes, private_key: Ed25519PrivateKey, key_name: str
) -> str:
    """The signed note for tree head (``tree_size``, ``root``), signed by ``private_key`` as ``key_name``."""
    _check_origin(origin)
    _check_key_name(key_name)
    if isinstance(tree_size, bool) or not isinstance(tree_size, int) or not 0 <= tree_size < 1 << 64:
        raise ValueError("tree size must be an integer in [0, 2**64)")
    if not isinstance(root, bytes) or len(root) != HASH_SIZE:
        raise ValueError("root hash must be 32 bytes")
    body = _body(origin, tree_size, root)
    signature = private_key.sign(body.encode())
    kid = key_id(key_name, private_key.public_key())
    return f"{body}\n{_SIG_PREFIX}{key_name} {base64.b64encode(kid + signature).decode()}\n"


def parse_and_verify_checkpoint(note: str | bytes, public_key: Ed25519PublicKey, key_name: str) -> Checkpoint:
    """Verify ``note`` carries a valid signature by (``key_name``, ``public_key``) and parse its body.

    Raises ValueError on a malformed note or checkpoint, a missing signature by that key, or a signature by
    that key that does not verify.
    """
    _check_key_name(key_name)
    if isinstance(note, bytes | bytearray):
        try:
            note = bytes(note).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("signed note is not valid UTF-8") from exc
    if not isinstance(note, str):
        raise TypeError("signed note must be str or bytes")
    if _CONTROL_RE.search(note):
        raise ValueError("signed note contains control characters")
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise ValueError("signed note has no signature block")
    text, sig_block = note[: split + 1], note[split + 2 :]
    sig_lines = sig_block[:-1].split("\n") if sig_block else []
    if not sig_lines:
        raise ValueError("signed note has no signatures")
    if len(sig_lines) > MAX_SIGNATURES:
        raise ValueError("signed note has too many signatures")

    wanted_id = key_id(key_name, public_key)
    verified = False
    for line in sig_lines:
        if not line.startswith(_SIG_PREFIX):
            raise ValueError("malformed signature line")
        name, sep, blob_b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not name or "+" in name or any(c.isspace() for c in name):
            raise ValueError("malformed signature line")
        blob = _b64decode_strict(blob_b64)
        if blob is None or len(blob) < 5:
            raise ValueError("malformed signature line")
        if name != key_name or blob[:4] != wanted_id:
            continue  # someone else's signature (e.g. a witness): not ours to judge
        if len(blob) != 4 + 64:
            raise ValueError("checkpoint signature has the wrong length")
        try:
            public_key.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise ValueError("checkpoint signature does not verify") from exc
        verified = True
    if not verified:
        raise ValueError(f"checkpoint is not signed by {key_name}")
    return _parse_body(text)


def _parse_body(text: str) -> Checkpoint:
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise ValueError("checkpoint needs origin, tree size and root hash lines")
    origin, size_text, root_b64, *extensions = lines
    if not origin:
        raise ValueError("checkpoint origin is empty")
    if not _SIZE_RE.fullmatch(size_text):
        raise ValueError("checkpoint tree size is not a canonical decimal number")
    if int(size_text) >= 1 << 64:
        raise ValueError("checkpoint tree size does not fit in 64 bits")
    root = _b64decode_strict(root_b64)
    if root is None or len(root) != HASH_SIZE:
        raise ValueError("checkpoint root is not a base64 32-byte hash")
    if any(not line for line in extensions):
        raise ValueError("checkpoint has an empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))
