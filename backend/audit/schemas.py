"""Audit responses: entries, the chain check, signed checkpoints and Merkle proofs.

Hashes in checkpoints and proofs are standard base64 (as in the C2SP note), so a verifier can take
them straight into any RFC 6962 / RFC 9162 implementation; entry listings keep the hex of the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from backend.core.pagination import Page
from backend.core.times import ApiStruct


class AuditEntryRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    data_sha256: str
    leaf_hash: str
    prev_hash: str
    hash: str


class AuditPage(Page[AuditEntryRead], kw_only=True, forbid_unknown_fields=True):
    items: list[AuditEntryRead]


class AuditVerify(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    ok: bool
    length: int
    head: str | None
    problems: list[dict[str, Any]]
    #: RFC 6962 root (base64) recomputed over every entry's canonical form.
    tree_size: int = 0
    root_hash: str | None = None
    #: Issued checkpoints rechecked against the recomputed tree (each must still match).
    checkpoints_checked: int = 0
    latest_checkpoint: int | None = None
    #: Checkpoints kept outside the database (the witness file) the log was checked against.
    witnesses_checked: int = 0
    #: Stored tiles compared with the tiles recomputed from the entries.
    tiles_checked: int = 0


class CheckpointRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    origin: str
    tree_size: int
    root_hash: str
    key_name: str
    key_id: str
    issued_at: datetime
    #: The C2SP signed note (https://c2sp.org/tlog-checkpoint), verbatim.
    note: str


class InclusionProofRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]
    root_hash: str
    #: Signed note of this tree size, when one was issued (always, for the default tree size).
    checkpoint: str | None


class ConsistencyProofRead(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    from_size: int = msgspec.field(name="from")
    to_size: int = msgspec.field(name="to")
    from_root: str
    to_root: str
    proof: list[str]
    from_checkpoint: str | None
    to_checkpoint: str | None


class AuditKeys(ApiStruct, kw_only=True, forbid_unknown_fields=True):
    """Public keys of the seal ring: JWKs, plus the signed-note verifier key of each."""

    origin: str
    key_name: str
    keys: list[dict[str, Any]]
