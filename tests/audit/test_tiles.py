"""Proofs from stored tiles against proofs from the full list of leaves.

A log of ~70 000 entries is written the way a database from before tiles holds it (entries only);
the first sequencer round backfills every tile (two full levels and a partial third), and then
inclusion and consistency proofs read from the tiles must equal those computed from all the leaves
in memory (backend.audit.merkle, itself checked against RFC 9162 test vectors), around every tile
boundary. `verify` must recheck every stored tile."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from backend.audit import merkle, repository, tiles
from backend.audit.models import AuditEntry
from backend.audit.service import GENESIS, canonical, chain_hash, entry_leaf, leaf_hash
from backend.audit.verify import verify_chain
from backend.core.db import make_engine, make_sessionmaker
from backend.core.signing import Keys

pytestmark = pytest.mark.db

EXTRA = 256 * 256 + 3 * 256 + 17  # past one full level-1 tile


async def test_tile_proofs_equal_proofs_over_all_leaves(db_url, settings, integrate, keys_dir):
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    try:
        async with maker() as s:
            head = await repository.head(s)
            seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
            at = datetime(2026, 1, 1, tzinfo=UTC)
            rows = []
            for _ in range(EXTRA):
                seq += 1
                data = {"n": seq}
                data_sha = hashlib.sha256(canonical(data)).hexdigest()
                leaf = leaf_hash(entry_leaf(seq, at, "t", "test.bulk", "test:bulk", data_sha))
                link = chain_hash(prev, leaf)
                rows.append({"seq": seq, "at": at + timedelta(0), "actor": "t", "action": "test.bulk",
                             "subject": "test:bulk", "data": data, "data_sha256": data_sha, "leaf_hash": leaf,
                             "prev_hash": prev, "hash": link})
                prev = link
                if len(rows) == 5000:
                    await s.execute(insert(AuditEntry), rows)
                    rows = []
            if rows:
                await s.execute(insert(AuditEntry), rows)
            await s.commit()
        n = seq
        # The first round finds the log without tiles past its checkpoint and writes them all.
        await integrate()
        async with maker() as s:
            leaves = [bytes.fromhex(h) for h in
                      (await s.execute(select(AuditEntry.leaf_hash).order_by(AuditEntry.seq))).scalars()]
            assert len(leaves) == n
            assert await repository.full_tile_count(s, 0) == n // 256
            assert await repository.full_tile_count(s, 1) == n // 65536 == 1
            rng = random.Random(11)
            # Tile boundaries of levels 0 and 1, and the stored tree's own (partial) right edge.
            sizes = sorted({1, 255, 256, 257, 513, 65535, 65536, 65537, n - 1, n, rng.randint(1, n)})
            roots = {size: merkle.root(leaves[:size]) for size in {0, *sizes}}
            for size in sizes:
                for index in sorted({0, size - 1, min(size - 1, 256), rng.randrange(size)}):
                    path, leaf, root = await tiles.inclusion_path(s, index, size, n)
                    assert path == merkle.inclusion_proof(leaves[:size], index), (index, size)
                    assert leaf == leaves[index] and root == roots[size]
                    assert merkle.verify_inclusion(leaf, index, size, path, root)
                for old in sorted({0, 1, 257, size}):
                    if old > size:
                        continue
                    proof, old_root, new_root = await tiles.consistency_path(s, old, size, n)
                    assert proof == merkle.consistency_proof(leaves, old, size), (old, size)
                    assert old_root == roots.get(old, merkle.root(leaves[:old])) and new_root == roots[size]
        async with maker() as s:
            result, _ = await verify_chain(s, seal=Keys(keys_dir).load().seal, key_name=settings.origin)
        assert result.ok, result.problems
        assert result.tiles_checked == n // 256 + n // 65536
    finally:
        await engine.dispose()
