"""The document-verify and evidence-receipt endpoints carry the audit entry's inclusion proof,
checked here with RFC 9162's algorithm written out independently of backend.audit.merkle. Before the
sequencer has integrated the entry they answer at once with a signed promise instead."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
import rfc8785

from backend.core.signing import Keys
from tests.evidence.test_evidence_api import Uploader, good_photo
from tests.inspections.helpers import Flow

pytestmark = pytest.mark.db


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def check(audit: dict[str, Any], subject: str) -> None:
    assert audit["entry"]["subject"] == subject
    proof = audit["proof"]
    leaf = base64.b64decode(proof["leaf_hash"])
    assert leaf.hex() == audit["entry"]["leaf_hash"]
    root = root_from_inclusion(proof["leaf_index"], proof["tree_size"], leaf,
                               [base64.b64decode(p) for p in proof["audit_path"]])
    assert root is not None
    assert root == base64.b64decode(proof["root_hash"])
    # The signed checkpoint names the same tree size and root.
    lines = audit["checkpoint"].split("\n")
    assert int(lines[1]) == proof["tree_size"]
    assert base64.b64decode(lines[2]) == root


def check_promise(audit: dict[str, Any], subject: str, keys_dir: Any, now: datetime) -> str:
    """A pending entry's answer: no proof yet, and a promise signed with a seal key over the entry's
    content hash and a time at most 1 s away. Returns the promised content hash."""
    assert audit["integrated"] is False
    assert audit["proof"] is None and audit["checkpoint"] is None
    entry = audit["entry"]
    assert entry["subject"] == subject
    content = {k: entry[k] for k in ("at", "actor", "action", "subject", "data_sha256")}
    entry_sha = hashlib.sha256(rfc8785.dumps(content)).hexdigest()
    assert entry["entry_sha256"] == entry_sha
    token = audit["promise"]["token"]
    header = jwt.get_unverified_header(token)
    key = Keys(keys_dir).load().seal.get(header["kid"])
    assert key is not None
    claims = jwt.decode(token, key.public, algorithms=["EdDSA"])
    assert claims["entry_sha256"] == entry_sha == audit["promise"]["entry_sha256"]
    assert claims["sub"] == subject
    integrate_by = datetime.fromisoformat(claims["integrate_by"].replace("Z", "+00:00"))
    assert now < integrate_by <= now + timedelta(seconds=1)
    return entry_sha


def content_of(entry: dict[str, Any]) -> str:
    content = {k: entry[k] for k in ("at", "actor", "action", "subject", "data_sha256")}
    return hashlib.sha256(rfc8785.dumps(content)).hexdigest()


async def test_document_verify_carries_inclusion_proof(client, token_for, clock, integrate, keys_dir):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    r = await flow.document(ins["id"])
    assert r.status_code == 201, r.text
    doc = r.json()
    v = await client.get(f"/api/v1/documents/{doc['id']}/verify", headers=token_for("sy.officer1"))
    assert v.status_code == 200, v.text
    promised = check_promise(v.json()["audit"], f"document:{doc['id']}", keys_dir, clock.now())
    assert await integrate() > 0
    v = await client.get(f"/api/v1/documents/{doc['id']}/verify", headers=token_for("sy.officer1"))
    assert v.status_code == 200, v.text
    body = v.json()
    assert body["ok"] is True
    assert body["audit"]["integrated"] is True
    check(body["audit"], f"document:{doc['id']}")
    assert content_of(body["audit"]["entry"]) == promised
    # A tampered proof element no longer reaches the root.
    proof = body["audit"]["proof"]
    if proof["audit_path"]:
        bad = [base64.b64decode(p) for p in proof["audit_path"]]
        bad[0] = bytes(32)
        assert root_from_inclusion(proof["leaf_index"], proof["tree_size"], base64.b64decode(proof["leaf_hash"]),
                                   bad) != base64.b64decode(proof["root_hash"])


async def test_evidence_receipt_carries_inclusion_proof(client, token_for, clock, integrate, keys_dir):
    flow = Flow(client, token_for, clock)
    ins = await flow.started()
    up = Uploader(client, token_for, clock)
    r = await up.upload(ins["id"], good_photo(clock))
    assert r.status_code == 201, r.text
    ev = r.json()
    got = await client.get(f"/api/v1/evidence/{ev['id']}/receipt", headers=token_for("sy.officer1"))
    assert got.status_code == 200, got.text
    promised = check_promise(got.json()["audit"], f"evidence:{ev['id']}", keys_dir, clock.now())
    assert await integrate() > 0
    got = await client.get(f"/api/v1/evidence/{ev['id']}/receipt", headers=token_for("sy.officer1"))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["audit"]["integrated"] is True
    assert content_of(body["audit"]["entry"]) == promised
    assert body["receipt"] == ev["receipt"]
    assert body["sha256"] == ev["sha256"]
    check(body["audit"], f"evidence:{ev['id']}")
    other = await client.get(f"/api/v1/evidence/{ev['id']}/receipt", headers=token_for("dl.officer1"))
    assert other.status_code == 404
