"""Tokens of the public document page `/d/{token}`: the document id signed with the seal ring.

Document ids may be chosen by clients (offline creation), so an id alone must not open the page:
the token is `base64url(id (16 bytes) || Ed25519(domain || id))`, 107 characters, checked against
every seal key the ring ever had (a handful), so printed QR codes keep working after a rotation.
Only the server can make one; it reveals nothing beyond the id.
"""

from __future__ import annotations

import binascii
import uuid

from cryptography.exceptions import InvalidSignature

from backend.core.signing import KeyRing, b64url, b64url_decode

_DOMAIN = b"fieldcheck/document-page/v1\x00"
TOKEN_LENGTH = 107


def page_token(ring: KeyRing, document_id: uuid.UUID) -> str:
    return b64url(document_id.bytes + ring.current.private.sign(_DOMAIN + document_id.bytes))


def read_page_token(ring: KeyRing, token: str) -> uuid.UUID | None:
    """The document id, or None for anything this deployment did not issue."""
    if len(token) != TOKEN_LENGTH:
        return None
    try:
        raw = b64url_decode(token)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 80:
        return None
    doc_id, sig = raw[:16], raw[16:]
    for key in reversed(ring.all()):
        try:
            key.public.verify(sig, _DOMAIN + doc_id)
        except InvalidSignature:
            continue
        return uuid.UUID(bytes=doc_id)
    return None
