"""Rechecking the whole record: `fieldcheck audit verify` and GET /api/v1/audit/verify.

One pass over the log in seq order, in constant memory (pages of entries, the O(log n) tree frontier,
at most 255 pending hashes per tile level). Checked:

- every entry: data hash, leaf hash, hash-chain link, seq without gaps;
- every stored tile against the tile recomputed from the entries (and no tile beyond the log);
- every checkpoint ever signed: its root against the recomputed tree of its size, its signature;
- witnesses kept outside the database (the checkpoint file in the data directory, a note a client
  kept): the log must reach their tree size with the same root. This is what catches truncation by
  someone who can write to the database and dropped the append-only triggers.

`since`: resume from the state saved after the last successful run (the tree frontier, chain head and
partial tiles at its last checkpoint), after checking that checkpoint is still stored unchanged; only
entries and checkpoints after it are read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import merkle, repository
from backend.audit.checkpoint import parse_and_verify_checkpoint
from backend.audit.models import AuditCheckpoint
from backend.audit.service import GENESIS, b64, canonical, chain_hash, checkpoint_origin, entry_leaf, leaf_hash
from backend.audit.tiles import TILE_HEIGHT, TILE_WIDTH, split_hashes
from backend.core.signing import KeyRing

STATE_FILE = "audit-verified.json"
_MAX_PROBLEMS = 100


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    length: int
    head: str | None
    problems: list[dict[str, Any]]
    tree_size: int = 0
    #: base64 RFC 6962 root over the leaf hashes recomputed from every entry's fields.
    root_hash: str | None = None
    checkpoints_checked: int = 0
    latest_checkpoint: int | None = None
    witnesses_checked: int = 0
    tiles_checked: int = 0
    #: Where this run started (0 unless resumed with `since`).
    resumed_from: int = 0


@dataclass
class VerifiedState:
    """Everything needed to resume a verification after tree size `tree_size`."""

    tree_size: int = 0
    root: str = ""
    head: str = GENESIS
    frontier: list[str] = field(default_factory=list)
    #: Per tile level, the node hashes (hex) of its partial right-edge tile.
    buffers: list[list[str]] = field(default_factory=list)

    # Kept beside the witness checkpoint: both describe what was seen of this one log.
    def save(self, witness_file: Path) -> None:
        target = witness_file.with_name(STATE_FILE)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__), "utf-8")
        tmp.replace(target)

    @classmethod
    def load(cls, witness_file: Path) -> VerifiedState | None:
        try:
            raw = json.loads(witness_file.with_name(STATE_FILE).read_text("utf-8"))
            return cls(**raw)
        except (OSError, ValueError, TypeError):
            return None


def parse_witness(note: str, seal: KeyRing | None, key_name: str) -> tuple[int, str] | None:
    """(tree size, root hex) of a checkpoint signed by any key of the seal ring, else None."""
    for key in seal.all() if seal is not None else []:
        try:
            parsed = parse_and_verify_checkpoint(note, key.public, key_name)
        except ValueError:
            continue
        if parsed.origin == checkpoint_origin(key_name):
            return parsed.tree_size, parsed.root.hex()
    return None


def _check_note(checkpoint: AuditCheckpoint, seal: KeyRing | None, key_name: str | None) -> str | None:
    """Problem name if the stored note is not a valid signature over this row's tree head."""
    if seal is None or key_name is None:
        return None
    key = seal.get(checkpoint.key_id)
    if key is None:
        return "checkpoint_key_unknown"
    try:
        parsed = parse_and_verify_checkpoint(checkpoint.note, key.public, key_name)
    except ValueError:
        return "checkpoint_signature"
    if (parsed.origin != checkpoint_origin(key_name) or parsed.tree_size != checkpoint.tree_size
            or parsed.root.hex() != checkpoint.root_hash):
        return "checkpoint_note_mismatch"
    return None


class _Verifier:
    def __init__(self, session: AsyncSession, seal: KeyRing | None, key_name: str | None,
                 start: VerifiedState) -> None:
        self.session, self.seal, self.key_name = session, seal, key_name
        self.problems: list[dict[str, Any]] = []
        self.tree = merkle.CompactRange(start.tree_size, [bytes.fromhex(h) for h in start.frontier])
        self.buffers: list[list[bytes]] = [[bytes.fromhex(h) for h in level] for level in start.buffers]
        self.head = start.head
        self.tiles_checked = 0
        self.checkpoints_checked = 0
        self.state = start

    def problem(self, **detail: Any) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(detail)

    async def push_node(self, level: int, node: bytes) -> None:
        """A node of height 8·level is complete: add it to its tile; check the tile when it is full."""
        while len(self.buffers) <= level:
            self.buffers.append([])
        buffer = self.buffers[level]
        buffer.append(node)
        if len(buffer) < TILE_WIDTH:
            return
        idx = (self.tree.size >> (TILE_HEIGHT * (level + 1))) - 1
        stored = (await repository.full_tiles(self.session, [(level, idx)])).get((level, idx))
        self.tiles_checked += 1
        if stored is None:
            self.problem(seq=None, tile=[level, idx], problem="tile_missing")
        elif split_hashes(stored) != buffer:
            self.problem(seq=None, tile=[level, idx], problem="tile_hashes")
        root = merkle.perfect_root(buffer)
        self.buffers[level] = []
        await self.push_node(level + 1, root)

    def snapshot(self) -> None:
        self.state = VerifiedState(tree_size=self.tree.size, root=self.tree.root().hex(), head=self.head,
                                   frontier=[h.hex() for h in self.tree.nodes],
                                   buffers=[[h.hex() for h in level] for level in self.buffers])

    def check_checkpoint(self, cp: AuditCheckpoint) -> None:
        self.checkpoints_checked += 1
        if self.tree.root().hex() != cp.root_hash:
            self.problem(seq=None, tree_size=cp.tree_size, problem="checkpoint_root")
        note_problem = _check_note(cp, self.seal, self.key_name)
        if note_problem:
            self.problem(seq=None, tree_size=cp.tree_size, problem=note_problem)


async def verify_chain(session: AsyncSession, *, seal: KeyRing | None = None, key_name: str | None = None,
                       witnesses: list[str] | None = None, since: VerifiedState | None = None,
                       ) -> tuple[VerifyResult, VerifiedState]:
    """Recheck the log (from `since`, else from the start). Returns the result and the state at the
    last checkpoint reached, for a later `since`."""
    start = since or VerifiedState()
    v = _Verifier(session, seal, key_name, start)
    if since is not None and since.tree_size:
        stored = await repository.checkpoint_at(session, since.tree_size)
        if stored is None or stored.root_hash != since.root:
            v.problem(seq=None, tree_size=since.tree_size, problem="verified_checkpoint_changed")

    # Witnesses: (size, root) pairs the recomputed tree must match when it reaches their size.
    expected: dict[int, list[str]] = {}
    witnesses_checked = 0
    for note in witnesses or []:
        witnesses_checked += 1
        parsed = parse_witness(note, seal, key_name or "")
        if parsed is None:
            v.problem(seq=None, tree_size=None, problem="witness_signature")
        elif parsed[0] < start.tree_size:
            continue  # inside the part verified before; its checkpoint row was checked then
        else:
            expected.setdefault(parsed[0], []).append(parsed[1])

    def check_witnesses() -> None:
        for root in expected.pop(v.tree.size, []):
            if v.tree.root().hex() != root:
                v.problem(seq=None, tree_size=v.tree.size, problem="witness_root")

    cp_page: list[AuditCheckpoint] = []
    cp_after = start.tree_size
    latest_cp: int | None = None

    async def next_checkpoint() -> AuditCheckpoint | None:
        nonlocal cp_page, cp_after
        if not cp_page:
            cp_page = list(await repository.checkpoints_after(session, cp_after, 500))
            if not cp_page:
                return None
            cp_after = cp_page[-1].tree_size
        return cp_page[0]

    async def settle_checkpoints() -> None:
        nonlocal latest_cp
        while (cp := await next_checkpoint()) is not None and cp.tree_size <= v.tree.size:
            cp_page.pop(0)
            latest_cp = cp.tree_size
            if cp.tree_size < v.tree.size:
                v.problem(seq=None, tree_size=cp.tree_size, problem="checkpoint_skipped")
                continue
            v.check_checkpoint(cp)
            v.snapshot()

    if start.tree_size == 0:
        zero = await repository.checkpoint_at(session, 0)
        if zero is not None:
            v.check_checkpoint(zero)
            latest_cp = 0
    check_witnesses()
    expected_seq = start.tree_size + 1
    length = 0
    async for entry in repository.iterate(session, after=start.tree_size):
        length += 1
        if entry.seq != expected_seq:
            v.problem(seq=entry.seq, problem="gap", expected=expected_seq)
        expected_seq = entry.seq + 1
        if hashlib.sha256(canonical(entry.data)).hexdigest() != entry.data_sha256:
            v.problem(seq=entry.seq, problem="data_sha256")
        leaf = leaf_hash(entry_leaf(entry.seq, entry.at, entry.actor, entry.action, entry.subject,
                                    entry.data_sha256))
        if leaf != entry.leaf_hash:
            v.problem(seq=entry.seq, problem="leaf_hash")
        if entry.prev_hash != v.head:
            v.problem(seq=entry.seq, problem="prev_hash")
        if chain_hash(entry.prev_hash, entry.leaf_hash) != entry.hash:
            v.problem(seq=entry.seq, problem="hash")
        v.head = entry.hash
        v.tree.append(bytes.fromhex(leaf))
        await v.push_node(0, bytes.fromhex(leaf))
        check_witnesses()
        await settle_checkpoints()
    while (cp := await next_checkpoint()) is not None:
        # Signed tree heads the log no longer reaches: entries were removed from its end.
        cp_page.pop(0)
        latest_cp = cp.tree_size
        v.checkpoints_checked += 1
        v.problem(seq=None, tree_size=cp.tree_size, problem="checkpoint_beyond_log")
    for size in sorted(expected):
        v.problem(seq=None, tree_size=size, problem="witness_beyond_log")
    for level, count in (await repository.tile_levels(session)).items():
        if count > v.tree.size >> (TILE_HEIGHT * (level + 1)):
            v.problem(seq=None, tile=[level, count - 1], problem="tile_beyond_log")
    result = VerifyResult(
        ok=not v.problems, length=length, head=None if v.head == GENESIS else v.head, problems=v.problems,
        tree_size=v.tree.size, root_hash=b64(v.tree.root()), checkpoints_checked=v.checkpoints_checked,
        latest_checkpoint=latest_cp if latest_cp is not None else (start.tree_size or None),
        witnesses_checked=witnesses_checked, tiles_checked=v.tiles_checked, resumed_from=start.tree_size,
    )
    return result, v.state
