"""The Merkle tree of the audit log stored as tlog-tiles (https://c2sp.org/tlog-tiles).

A tile of level L holds 256 consecutive node hashes of height 8·L: level 0 holds leaf hashes, a
level-1 tile the roots of 256 level-0 tiles, and so on. Any node of the tree is one tile entry, or
(for heights between multiples of 8) the perfect subtree of at most 128 entries of one tile. So an
inclusion or consistency proof needs at most a few tiles per 8 levels of the tree: O(log n) rows
read, whatever the size of the log.

Only full tiles are stored (insert-only rows, which the append-only triggers can protect). The
partial right edge of a level has at most 255 entries and is rebuilt when needed: for level 0 from
the entries' leaf hashes, for the levels above from the `root` column of the full tiles below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from backend.audit import merkle, repository
from backend.audit.models import AuditTile

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
HASH = merkle.HASH_SIZE


def split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i:i + HASH] for i in range(0, len(blob), HASH)]


async def level_hashes(session: AsyncSession, level: int, first: int, last: int) -> list[bytes]:
    """Stored node hashes of height 8·level with first <= index <= last (fewer if the tree is smaller)."""
    if level == 0:
        return await repository.leaf_hashes_between(session, first, last + 1)
    return await repository.tile_roots(session, level - 1, first, last)


async def write_full_tiles(session: AsyncSession, tree_size: int) -> int:
    """Store every tile that is full in a tree of `tree_size` leaves and not stored yet (normally the
    few a batch completed; after an upgrade from a log without tiles, all of them). Returns how many."""
    written = 0
    level = 0
    width = tree_size  # number of nodes of height 8·level
    while width >= TILE_WIDTH:
        stored = await repository.full_tile_count(session, level)
        full = width // TILE_WIDTH
        for first_tile in range(stored, full, 64):
            # 64 tiles (16 384 hashes) at a time keep a backfill's memory bounded.
            last_tile = min(full, first_tile + 64)
            hashes = await level_hashes(session, level, first_tile * TILE_WIDTH, last_tile * TILE_WIDTH - 1)
            if len(hashes) != (last_tile - first_tile) * TILE_WIDTH:
                raise RuntimeError(f"audit tiles: level {level} has {len(hashes)} hashes where "
                                   f"{(last_tile - first_tile) * TILE_WIDTH} were expected")
            rows = []
            for t in range(first_tile, last_tile):
                chunk = hashes[(t - first_tile) * TILE_WIDTH:(t - first_tile + 1) * TILE_WIDTH]
                rows.append(AuditTile(level=level, idx=t, root=merkle.perfect_root(chunk), hashes=b"".join(chunk)))
            await repository.add_tiles(session, rows)
            written += len(rows)
        level += 1
        width >>= TILE_HEIGHT
    return written


def _tile_of(height: int, index: int) -> tuple[int, int, int, int]:
    """(tile level, tile index, first entry, entry count) holding the perfect subtree (height, index)."""
    level, rest = divmod(height, TILE_HEIGHT)
    first = index << rest
    return level, first >> TILE_HEIGHT, first & (TILE_WIDTH - 1), 1 << rest


class TileReader:
    """Node hashes of the tree, read tile by tile and kept for the life of one proof."""

    def __init__(self, session: AsyncSession, frontier: merkle.CompactRange | None = None) -> None:
        self._session = session
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        # The roots of the perfect subtrees of a signed tree (its checkpoint's frontier). A perfect
        # subtree's hash never changes as the log grows, so these nodes serve any tree size. They
        # cover the right edge of every level: a proof against the checkpoint then reads no partial
        # tile unless the leaf itself lies in the newest, partial one.
        self._known: dict[tuple[int, int], bytes] = (
            dict(zip(merkle.perfect_subtrees(0, frontier.size), frontier.nodes, strict=True))
            if frontier is not None else {})

    async def load(self, ranges: Iterable[tuple[int, int]], stored_size: int) -> None:
        """Fetch every tile the MTHs of these leaf ranges need, knowing the stored tree has
        `stored_size` leaves (so which tiles are full): one query for the full tiles and the right
        edges of the upper levels, and one more only if a node lies in the right edge of level 0."""
        wanted = {(level, idx) for lo, hi in ranges for h, i in merkle.perfect_subtrees(lo, hi)
                  if (h, i) not in self._known
                  for level, idx, _, _ in [_tile_of(h, i)]} - self._tiles.keys()
        full = {(level, idx) for level, idx in wanted
                if (idx + 1) * TILE_WIDTH <= stored_size >> (TILE_HEIGHT * level)}
        # The right edge of level L > 0 is the roots of the full tiles of level L-1 past its last full tile.
        edges = sorted((level, idx) for level, idx in wanted - full if level > 0)
        blobs, roots = await repository.tile_rows(
            self._session, full, [(level - 1, idx * TILE_WIDTH, idx * TILE_WIDTH + TILE_WIDTH - 1)
                                  for level, idx in edges])
        for key in full:
            if key in blobs:
                self._tiles[key] = split_hashes(blobs[key])
        for level, idx in edges:
            first = idx * TILE_WIDTH
            entries = []
            for j in range(first, first + TILE_WIDTH):
                root = roots.get((level - 1, j))
                if root is None:
                    break
                entries.append(root)
            self._tiles[(level, idx)] = entries
        for level, idx in sorted(wanted - self._tiles.keys()):
            # Level 0's right edge (leaf hashes of the newest entries), or a tile the store lacks
            # (then read as it stands, and a proof needing more of it fails with LookupError).
            self._tiles[(level, idx)] = await level_hashes(
                self._session, level, idx * TILE_WIDTH, idx * TILE_WIDTH + TILE_WIDTH - 1)

    def node(self, height: int, index: int) -> bytes:
        known = self._known.get((height, index))
        if known is not None:
            return known
        level, idx, offset, count = _tile_of(height, index)
        entries = self._tiles[(level, idx)][offset:offset + count]
        if len(entries) != count:
            raise LookupError(f"node ({height}, {index}) is beyond the stored tree")
        return merkle.perfect_root(entries)

    def range_root(self, lo: int, hi: int) -> bytes:
        return merkle.fold_right([self.node(h, i) for h, i in merkle.perfect_subtrees(lo, hi)])

    def hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return [self.range_root(lo, hi) for lo, hi in ranges]


async def inclusion_path(session: AsyncSession, index: int, tree_size: int,
                         stored_size: int | None = None,
                         frontier: merkle.CompactRange | None = None) -> tuple[list[bytes], bytes, bytes]:
    """(audit path, leaf hash, root) of leaf `index` in the tree of `tree_size` leaves; `stored_size`
    (default `tree_size`) is how many leaves the stored tree has; `frontier`, a signed checkpoint's
    (any size), spares the reads of the nodes it holds."""
    ranges = merkle.inclusion_ranges(index, tree_size)
    reader = TileReader(session, frontier)
    await reader.load([*ranges, (index, index + 1), (0, tree_size)], stored_size or tree_size)
    return reader.hashes(ranges), reader.range_root(index, index + 1), reader.range_root(0, tree_size)


async def consistency_path(session: AsyncSession, old_size: int, new_size: int,
                           stored_size: int | None = None,
                           frontier: merkle.CompactRange | None = None) -> tuple[list[bytes], bytes, bytes]:
    """(proof, old root, new root) between two tree sizes (`frontier` as for `inclusion_path`)."""
    ranges = merkle.consistency_ranges(old_size, new_size)
    reader = TileReader(session, frontier)
    roots = [(0, s) for s in (old_size, new_size) if s > 0]
    await reader.load([*ranges, *roots], stored_size or new_size)
    old_root = reader.range_root(0, old_size) if old_size else merkle.EMPTY_ROOT
    new_root = reader.range_root(0, new_size) if new_size else merkle.EMPTY_ROOT
    return reader.hashes(ranges), old_root, new_root
