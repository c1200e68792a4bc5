"""Shared signing keys: imported from a data directory on first start, private parts unreadable
without the secret, rotation visible to every ring that reloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from backend.core import keystore
from backend.core.db import make_engine
from backend.core.shared_models import SigningKeyRow
from backend.core.signing import Keys

pytestmark = pytest.mark.db
SECRET = "a-secret-of-at-least-16-chars"


async def test_import_encrypt_rotate_and_reload(db_url, tmp_path: Path):
    local = Keys(tmp_path).load()  # a one-node deployment's keys, about to be shared
    engine = make_engine(db_url)
    try:
        await keystore.ensure_keys(engine, SECRET, tmp_path)
        await keystore.ensure_keys(engine, SECRET, tmp_path)  # idempotent
        node_a, node_b = Keys(tmp_path / "a", shared=True), Keys(tmp_path / "b", shared=True)
        for node in (node_a, node_b):
            await keystore.reload(node, engine, SECRET)
            for purpose in ("access", "credential", "seal"):
                # Published keys survive the move: the same kid signs, with the same key.
                assert node.ring(purpose).current.kid == local.ring(purpose).current.kid
        async with engine.connect() as conn:
            rows = (await conn.execute(select(SigningKeyRow))).all()
        raw = local.access.current.private.private_bytes_raw()
        assert rows and all(raw not in row.private_key_enc for row in rows)  # never stored in clear

        with pytest.raises(keystore.SecretKeyMismatch):
            await keystore.read_keys(engine, "another-secret-16-chars")
        with pytest.raises(RuntimeError):
            node_a.access.rotate()  # shared rings rotate in the database only

        new = await keystore.rotate(engine, SECRET, "credential")
        await keystore.reload(node_b, engine, SECRET)
        assert node_b.credential.current.kid == new.kid
        assert node_b.credential.get(local.credential.current.kid) is not None  # old key still verifies
        assert not (tmp_path / "b" / "keys").exists()  # nothing written to the node's data directory
    finally:
        await engine.dispose()
