"""The append-only, hash-linked audit log (the whole-process record).

Three stages of an entry's life, three tables:

- `audit_pending`: what a request transaction writes (content and data hash, a database-generated
  id, nothing else). Inserting it locks nothing province-wide.
- `audit_entries`: the sequenced log. The sequencer (backend.audit.sequencer) moves pending rows
  here in id order, giving each its `seq`, RFC 6962 leaf hash and hash-chain link.
- `audit_tiles` and `audit_checkpoints`: the Merkle tree stored as full tlog-tiles (256 hashes of
  one level), and the signed tree head of every sequencer batch.

Sequenced entries, tiles and checkpoints are insert-only: database triggers refuse UPDATE and DELETE
(migration 0008)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, UTCDateTime


class AuditPending(Base):
    """An entry recorded but not yet sequenced. The sequencer deletes it in the transaction that
    inserts its sequenced form, so each entry is in exactly one of the two tables."""

    __tablename__ = "audit_pending"

    # BigInteger on PostgreSQL (an identity sequence: no lock between writers); INTEGER on SQLite so
    # that it is the rowid and autoincrements.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    data_sha256: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    data_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: RFC 6962 leaf hash of the entry's canonical form: the Merkle tree is built over these.
    leaf_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class AuditTile(Base):
    """A full tlog-tile: the 256 node hashes at height 8·level, indices 256·idx .. 256·idx+255.

    Only full tiles are stored, so a row never changes once written. The partial right edge of a
    level is rebuilt on demand from at most 255 stored hashes: leaf hashes of `audit_entries` for
    level 0, and the `root`s of the full tiles one level down for the levels above."""

    __tablename__ = "audit_tiles"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: Hash of the perfect subtree the tile spans (the tile's entry one level up). Declared before
    #: `hashes` so reading it alone does not touch the 8 KiB blob.
    root: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    #: 256 × 32 raw bytes.
    hashes: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class AuditCheckpoint(Base):
    """A signed tree head: one per sequencer batch. Kept so that any later tree can be proven an
    append-only extension of it, and so `audit verify` can recheck the log against what was published."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: Hex of the RFC 6962 root over the first `tree_size` leaf hashes.
    root_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The CompactRange frontier at `tree_size` (hex, largest subtree first): the next batch only
    #: hashes the entries added since.
    frontier: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: The C2SP signed note exactly as served.
    note: Mapped[str] = mapped_column(Text, nullable=False)
    #: kid (seal ring) of the key that signed the note.
    key_id: Mapped[str] = mapped_column(String(32), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
