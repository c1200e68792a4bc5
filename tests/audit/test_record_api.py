"""The tamper-evident record over HTTP: signed checkpoints, inclusion and consistency proofs, the
full check (API and `fieldcheck audit verify`) and what tampering with the database looks like.

Proofs and notes are checked here with an independent implementation written from RFC 9162 §2.1
and C2SP signed-note, using only hashlib and cryptography and the public key the server publishes;
backend.audit.merkle and backend.audit.checkpoint are deliberately not used for checking."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from datetime import UTC, datetime

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from backend import cli
from backend.audit.models import AuditEntry
from backend.audit.service import chain_hash, entry_leaf, inclusion_for_subject, leaf_hash, record
from backend.core.checksums import make_id_number
from backend.core.db import make_engine, make_sessionmaker

pytestmark = pytest.mark.db


@pytest.fixture
async def maker(db_url):
    """Our own engine on the test database: the app's pool lives on the test client's event loop."""
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()

AUDIT = "/api/v1/audit"


# --- An independent RFC 9162 / C2SP verifier ---------------------------------------------------

def h_leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def h_node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, recursively, over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return h_node(mth(leaves[:k]), mth(leaves[k:]))


def rfc9162_verify_inclusion(leaf_index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h_node(p, r)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = h_node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc9162_verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                               path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step (first > 0, first < second)."""
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h_node(c, fr)
            sr = h_node(c, sr)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = h_node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def verify_note(note: str, key_name: str, public_raw: bytes) -> tuple[str, int, bytes]:
    """C2SP signed note + tlog-checkpoint: (origin, tree size, root) if signed by that key."""
    text, _, sigs = note.rpartition("\n\n")
    text += "\n"
    key_id = hashlib.sha256(key_name.encode() + b"\n" + b"\x01" + public_raw).digest()[:4]
    public = Ed25519PublicKey.from_public_bytes(public_raw)
    ok = False
    for line in sigs.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 "), line
        name, blob_b64 = line[2:].split(" ")
        blob = base64.b64decode(blob_b64)
        if name == key_name and blob[:4] == key_id:
            public.verify(blob[4:], text.encode())  # raises InvalidSignature
            ok = True
    assert ok, "no signature by the published key"
    origin, size, root_b64 = text.rstrip("\n").split("\n")[:3]
    return origin, int(size), base64.b64decode(root_b64)


def b64d(text: str) -> bytes:
    return base64.b64decode(text)


def jwk_raw(jwk: dict) -> bytes:
    x = jwk["x"]
    return base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))


# --- helpers ---------------------------------------------------------------------------------------

def person_body():
    return {"name": "审计", "id_number": make_id_number("21010219850101" + f"{uuid.uuid4().int % 1000:03d}"),
            "phone": "13912345678", "agency_code": "210102", "role": "social_supervisor"}


async def add_people(client, token_for, n):
    ids = []
    while len(ids) < n:
        r = await client.post("/api/v1/people", json=person_body(), headers=token_for("sy.hr"))
        if r.status_code == 201:
            ids.append(r.json()["id"])
    return ids


async def published_key(client) -> tuple[str, dict[str, bytes]]:
    r = await client.get(f"{AUDIT}/keys")
    assert r.status_code == 200
    body = r.json()
    return body["key_name"], {k["kid"]: jwk_raw(k) for k in body["keys"]}


async def all_entries(client, token_for):
    items, after = [], 0
    while True:
        r = await client.get(f"{AUDIT}?after={after}&limit=500", headers=token_for("ln.admin"))
        assert r.status_code == 200
        page = r.json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        after = int(page["next_cursor"])


def checked_note(note, key_name, keys) -> tuple[int, bytes]:
    for raw in keys.values():
        try:
            origin, size, root = verify_note(note, key_name, raw)
        except (AssertionError, InvalidSignature):
            continue
        assert origin == f"{key_name}/audit"
        return size, root
    raise AssertionError("checkpoint not signed by any published key")


APPEND_ONLY = ("audit_entries", "audit_tiles", "audit_checkpoints")


async def drop_guards(s) -> None:
    """What someone who owns the database can do first: drop the append-only triggers."""
    if s.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            await s.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                await s.execute(text(f"DROP TRIGGER {table}_no_{verb}"))


# --- tests -----------------------------------------------------------------------------------------

async def test_checkpoint_is_public_signed_and_matches_the_entries(client, token_for, integrate):
    await add_people(client, token_for, 3)
    assert await integrate() >= 3
    r = await client.get(f"{AUDIT}/checkpoint")  # no login
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    note = r.text
    key_name, keys = await published_key(client)
    size, root = checked_note(note, key_name, keys)
    entries = all_entries_list = await all_entries(client, token_for)
    assert size == len(entries) == entries[-1]["seq"]
    # The root is the RFC 6962 tree over the entries' leaf hashes, and each leaf hash is the hash of
    # the entry's canonical form (recomputed here from the listed fields).
    leaves = []
    for e in all_entries_list:
        canonical = rfc8785.dumps({"seq": e["seq"], "at": e["at"], "actor": e["actor"], "action": e["action"],
                                   "subject": e["subject"], "data_sha256": e["data_sha256"]})
        assert h_leaf(canonical).hex() == e["leaf_hash"], e
        leaves.append(bytes.fromhex(e["leaf_hash"]))
    assert mth(leaves) == root
    # JSON variant of the same checkpoint.
    j = await client.get(f"{AUDIT}/checkpoint?format=json")
    assert j.status_code == 200
    body = j.json()
    assert body["tree_size"] == size and b64d(body["root_hash"]) == root and body["note"] == note
    assert body["key_name"] == key_name and body["origin"] == f"{key_name}/audit"
    # Nothing changed: the same stored checkpoint again. A change: a larger one.
    assert (await client.get(f"{AUDIT}/checkpoint")).text == note
    await add_people(client, token_for, 1)
    # Recorded but not integrated yet: the signed tree head has not moved.
    assert (await client.get(f"{AUDIT}/checkpoint")).text == note
    await integrate()
    size2, _ = checked_note((await client.get(f"{AUDIT}/checkpoint")).text, key_name, keys)
    assert size2 > size
    # A tampered note does not verify with the published key.
    forged = note.replace(f"\n{size}\n", f"\n{size + 1}\n")
    with pytest.raises(AssertionError, match="not signed"):
        checked_note(forged, key_name, keys)
    assert (await client.get(f"{AUDIT}/checkpoint?format=xml")).status_code in (400, 422)


async def test_inclusion_proofs_verify_independently(client, token_for, integrate):
    await add_people(client, token_for, 5)
    await integrate()
    key_name, keys = await published_key(client)
    entries = await all_entries(client, token_for)
    n = len(entries)
    for seq in sorted({1, 2, n // 2, n - 1, n}):
        r = await client.get(f"{AUDIT}/proof?seq={seq}")  # no login
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["seq"] == seq and p["leaf_index"] == seq - 1 and p["tree_size"] >= n
        assert b64d(p["leaf_hash"]).hex() == entries[seq - 1]["leaf_hash"]
        size, root = checked_note(p["checkpoint"], key_name, keys)
        assert size == p["tree_size"] and b64d(p["root_hash"]) == root
        path = [b64d(x) for x in p["audit_path"]]
        assert rfc9162_verify_inclusion(seq - 1, size, b64d(p["leaf_hash"]), path, root)
        # Any other leaf, index or root fails.
        assert not rfc9162_verify_inclusion(seq - 1, size, h_leaf(b"other"), path, root)
        if size > 1:
            assert not rfc9162_verify_inclusion(seq % size, size, b64d(p["leaf_hash"]), path, root)
    # Against an older tree size.
    r = await client.get(f"{AUDIT}/proof?seq=2&tree_size=3")
    p = r.json()
    leaves = [bytes.fromhex(e["leaf_hash"]) for e in entries]
    assert b64d(p["root_hash"]) == mth(leaves[:3]) and p["tree_size"] == 3
    assert rfc9162_verify_inclusion(1, 3, leaves[1], [b64d(x) for x in p["audit_path"]], mth(leaves[:3]))


async def test_consistency_proofs_verify_independently(client, token_for, integrate):
    key_name, keys = await published_key(client)
    old_note = (await client.get(f"{AUDIT}/checkpoint")).text
    old_size, old_root = checked_note(old_note, key_name, keys)
    await add_people(client, token_for, 4)
    await integrate()
    r = await client.get(f"{AUDIT}/proof?from={old_size}")
    assert r.status_code == 200, r.text
    p = r.json()
    new_size, new_root = checked_note(p["to_checkpoint"], key_name, keys)
    assert p["from"] == old_size and p["to"] == new_size > old_size
    assert p["from_checkpoint"] == old_note
    assert b64d(p["from_root"]) == old_root and b64d(p["to_root"]) == new_root
    proof = [b64d(x) for x in p["proof"]]
    assert rfc9162_verify_consistency(old_size, new_size, old_root, new_root, proof)
    assert not rfc9162_verify_consistency(old_size, new_size, h_leaf(b"x"), new_root, proof)
    # Every pair of sizes in the log, against the independently computed roots.
    leaves = [bytes.fromhex(e["leaf_hash"]) for e in await all_entries(client, token_for)]
    for a in (1, 2, 3, 4, 7, old_size):
        for b in (a, a + 1, old_size + 2, new_size):
            if not a <= b <= new_size:
                continue
            r = await client.get(f"{AUDIT}/proof?from={a}&to={b}")
            assert r.status_code == 200, r.text
            p = r.json()
            assert b64d(p["from_root"]) == mth(leaves[:a]) and b64d(p["to_root"]) == mth(leaves[:b])
            if a < b:
                assert rfc9162_verify_consistency(a, b, mth(leaves[:a]), mth(leaves[:b]), [b64d(x) for x in p["proof"]])
            else:
                assert p["proof"] == []


async def test_proof_parameters(client, token_for):
    size = (await client.get(f"{AUDIT}/checkpoint?format=json")).json()["tree_size"]
    for query, status in (
        ("", 422), (f"seq={size + 1}", 404), ("seq=0", 400), ("seq=abc", 400),
        (f"seq=1&tree_size={size + 5}", 422), ("seq=3&tree_size=2", 422), ("seq=1&from=1", 422),
        (f"from={size + 1}", 422), ("from=3&to=2", 422), (f"from=1&to={size + 1}", 422),
        ("from=1&tree_size=2", 422), ("from=-1", 400),
    ):
        r = await client.get(f"{AUDIT}/proof?{query}")
        assert r.status_code in ((400, 422) if status == 400 else (status,)), (query, r.status_code, r.text)
        assert set(r.json()) == {"status", "code", "message", "message_zh", "article", "detail"}


async def test_keys_are_published(client, app):
    r = await client.get(f"{AUDIT}/keys")
    body = r.json()
    assert body["key_name"] and body["origin"] == body["key_name"] + "/audit"
    seal = app.state["keys"].seal
    assert {k["kid"] for k in body["keys"]} == {k.kid for k in seal.all()}
    for k in body["keys"]:
        assert k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k
        name, kid_hex, material = k["vkey"].split("+", 2)
        assert name == body["key_name"] and b64d(material) == b"\x01" + jwk_raw(k)
        assert hashlib.sha256(name.encode() + b"\n\x01" + jwk_raw(k)).digest()[:4].hex() == kid_hex


async def test_audit_list_and_verify_roles(client, token_for, integrate):
    assert (await client.get(AUDIT)).status_code == 401
    assert (await client.get(f"{AUDIT}/verify")).status_code == 401
    for who in ("sy.officer1", "sy.hr", "sy.inspector.ft", "sy.supervisor", "dl.officer1"):
        assert (await client.get(AUDIT, headers=token_for(who))).status_code == 403, who
        assert (await client.get(f"{AUDIT}/verify", headers=token_for(who))).status_code == 403, who
    await integrate()
    r = await client.get(f"{AUDIT}/verify", headers=token_for("sy.admin"))
    assert r.status_code == 200
    v = r.json()
    assert v["ok"] is True and v["problems"] == [] and v["tree_size"] == v["length"]
    # The witness file the sequencer wrote was checked too.
    assert v["witnesses_checked"] == 1
    entries = await all_entries(client, token_for)
    assert b64d(v["root_hash"]) == mth([bytes.fromhex(e["leaf_hash"]) for e in entries])
    assert v["head"] == entries[-1]["hash"]
    # Checkpoints issued are rechecked.
    await client.get(f"{AUDIT}/checkpoint")
    v = (await client.get(f"{AUDIT}/verify", headers=token_for("sy.admin"))).json()
    assert v["ok"] and v["checkpoints_checked"] >= 1 and v["latest_checkpoint"] == v["tree_size"]
    for bad in ("limit=0", "limit=501", "after=-1", "after=x"):
        r = await client.get(f"{AUDIT}?{bad}", headers=token_for("sy.admin"))
        assert r.status_code in (400, 422), bad


async def run_cli(monkeypatch, settings, *args: str) -> int:
    monkeypatch.setenv("FIELDCHECK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("FIELDCHECK_AUDIT_WITNESS_FILE", settings.audit_witness_file)
    return await asyncio.to_thread(cli.main, ["audit", "verify", *args])


async def verify_api(client, token_for):
    r = await client.get(f"{AUDIT}/verify", headers=token_for("sy.admin"))
    assert r.status_code == 200
    return r.json()


async def test_tampering_with_a_row_is_caught_by_api_and_cli(client, token_for, app, settings, monkeypatch,
                                                            capsys, maker, integrate):
    await add_people(client, token_for, 2)
    await integrate()
    assert (await verify_api(client, token_for))["ok"] is True
    assert await run_cli(monkeypatch, settings) == 0
    async with maker() as s:
        await drop_guards(s)
        await s.commit()
    async with maker() as s:
        target = (await s.execute(select(AuditEntry).where(AuditEntry.action == "person.created")
                                  .order_by(AuditEntry.seq.desc()))).scalars().first()
        seq, original = target.seq, dict(target.data)
        await s.execute(update(AuditEntry).where(AuditEntry.seq == seq).values(data={**original, "name": "某某"}))
        await s.commit()
    v = await verify_api(client, token_for)
    assert v["ok"] is False
    assert {"seq": seq, "problem": "data_sha256"} in v["problems"]
    capsys.readouterr()
    assert await run_cli(monkeypatch, settings) == 1
    assert f"seq {seq}: data_sha256" in capsys.readouterr().out
    # The action too (the leaf no longer matches the entry).
    async with maker() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.seq == seq)
                        .values(data=original, action="person.viewed"))
        await s.commit()
    v = await verify_api(client, token_for)
    assert [p["problem"] for p in v["problems"] if p["seq"] == seq] == ["leaf_hash"]
    assert {"seq": None, "tree_size": v["latest_checkpoint"], "problem": "checkpoint_root"} in v["problems"]
    assert await run_cli(monkeypatch, settings) == 1


async def test_consistent_rewrite_is_caught_by_the_checkpoint(client, token_for, app, settings, monkeypatch, maker,
                                                             integrate):
    """Someone with database access rewrites an entry and recomputes every hash after it: the chain
    checks out again, but it no longer matches the checkpoint the server signed and handed out."""
    await add_people(client, token_for, 3)
    await integrate()
    key_name, keys = await published_key(client)
    held = (await client.get(f"{AUDIT}/checkpoint")).text  # e.g. kept by an inspected enterprise
    held_size, held_root = checked_note(held, key_name, keys)
    async with maker() as s:
        await drop_guards(s)
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
        victim = next(r for r in reversed(rows) if r.action == "person.created").seq
        prev = None
        for row in rows:
            if row.seq < victim:
                prev = row.hash
                continue
            action = "person.imported" if row.seq == victim else row.action
            leaf = leaf_hash(entry_leaf(row.seq, row.at, row.actor, action, row.subject, row.data_sha256))
            new_hash = chain_hash(prev, leaf)
            await s.execute(update(AuditEntry).where(AuditEntry.seq == row.seq)
                            .values(action=action, leaf_hash=leaf, prev_hash=prev, hash=new_hash))
            prev = new_hash
        await s.commit()
    v = await verify_api(client, token_for)
    assert v["ok"] is False
    assert [p for p in v["problems"] if p["seq"] is not None] == []  # the chain itself is consistent
    assert {"seq": None, "tree_size": held_size, "problem": "checkpoint_root"} in v["problems"]
    assert await run_cli(monkeypatch, settings) == 1
    # And the holder of the old checkpoint sees it: the entry as the log now reads it, hashed by the
    # holder, cannot be proven in the tree the holder keeps. (Proofs are built from the signed
    # checkpoint's frontier where it covers a node, so the roots they carry are the signed ones; a
    # client never takes the leaf hash from the server, it hashes the entry it was shown.)
    async with maker() as s:
        rewritten = (await s.execute(select(AuditEntry).where(AuditEntry.seq == victim))).scalar_one()
    shown_leaf = leaf_hash(entry_leaf(rewritten.seq, rewritten.at, rewritten.actor, rewritten.action,
                                      rewritten.subject, rewritten.data_sha256))
    assert rewritten.action == "person.imported"
    p = (await client.get(f"{AUDIT}/proof?seq={victim}&tree_size={held_size}")).json()
    assert b64d(p["root_hash"]) == held_root
    assert not rfc9162_verify_inclusion(victim - 1, held_size, bytes.fromhex(shown_leaf),
                                        [b64d(x) for x in p["audit_path"]], held_root)


async def test_the_database_refuses_update_and_delete_of_the_record(client, token_for, maker, integrate):
    """Sequenced entries, tiles and checkpoints are insert-only, enforced by triggers in the database."""
    # Enough entries for full tiles to exist (recorded as any domain does, then integrated).
    async with maker() as s:
        for i in range(300):
            await record(s, actor="test", action="test.filled", subject=f"test:{i}", data={"i": i},
                         at=datetime.now(UTC))
        await s.commit()
    await integrate()
    async with maker() as s:
        assert (await s.execute(text("SELECT count(*) FROM audit_tiles"))).scalar_one() >= 1
    statements = [
        "UPDATE audit_entries SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_entries WHERE seq = (SELECT max(seq) FROM audit_entries)",
        "UPDATE audit_checkpoints SET note = 'x'",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_tiles SET root = hashes",
        "DELETE FROM audit_tiles",
    ]
    for statement in statements:
        async with maker() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.execute(text(statement))
            await s.rollback()
    async with maker() as s:
        tiles = (await s.execute(text("SELECT count(*) FROM audit_tiles"))).scalar_one()
        size = (await s.execute(text("SELECT max(seq) FROM audit_entries"))).scalar_one()
        assert tiles == size // 256 + size // 65536  # every full tile of every level, nothing deleted
    v = await verify_api(client, token_for)
    assert v["ok"] is True and v["tiles_checked"] == tiles


async def test_truncation_is_caught(client, token_for, app, settings, monkeypatch, maker, integrate, tmp_path):
    await add_people(client, token_for, 1)
    await integrate()
    key_name, keys = await published_key(client)
    held = (await client.get(f"{AUDIT}/checkpoint")).text  # a client keeps the signed tree head
    size, _ = checked_note(held, key_name, keys)
    async with maker() as s:
        await drop_guards(s)
        await s.execute(delete(AuditEntry).where(AuditEntry.seq == size))
        await s.commit()
    v = await verify_api(client, token_for)
    assert v["ok"] is False and {"seq": None, "tree_size": size, "problem": "checkpoint_beyond_log"} in v["problems"]
    assert await run_cli(monkeypatch, settings) == 1
    r = await client.get(f"{AUDIT}/checkpoint")
    assert r.status_code == 409 and r.json()["code"] == "AUDIT_LOG_INCONSISTENT"


async def test_truncation_with_its_checkpoints_is_caught_by_the_witnesses(client, token_for, app, settings,
                                                                         monkeypatch, maker, integrate, tmp_path,
                                                                         capsys):
    """The attacker deletes the newest entries together with every checkpoint row that names them (and
    any tile past the new end): the database is consistent with itself again. The witness file the
    sequencer keeps outside the database, and a checkpoint a client kept, still name the longer log."""
    await add_people(client, token_for, 2)
    await integrate()
    key_name, keys = await published_key(client)
    held = (await client.get(f"{AUDIT}/checkpoint")).text
    size, _ = checked_note(held, key_name, keys)
    kept = tmp_path / "kept-checkpoint.txt"
    kept.write_text(held, "utf-8")
    async with maker() as s:
        await drop_guards(s)
        cut = size - 1
        await s.execute(delete(AuditEntry).where(AuditEntry.seq > cut))
        await s.execute(text("DELETE FROM audit_checkpoints WHERE tree_size > :n"), {"n": cut})
        await s.execute(text("DELETE FROM audit_tiles WHERE (idx + 1) * 256 > :n AND level = 0"), {"n": cut})
        await s.commit()
    # Without any witness the log would look fine: every row left is consistent.
    witness = settings.witness_path
    saved = witness.read_text("utf-8")
    witness.unlink()
    v = await verify_api(client, token_for)
    assert v["ok"] is True, v["problems"]
    # The witness file names the longer tree.
    witness.write_text(saved, "utf-8")
    v = await verify_api(client, token_for)
    assert v["ok"] is False
    assert {"seq": None, "tree_size": size, "problem": "witness_beyond_log"} in v["problems"]
    capsys.readouterr()
    assert await run_cli(monkeypatch, settings) == 1
    assert f"checkpoint {size}: witness_beyond_log" in capsys.readouterr().out
    # A checkpoint a client kept does the same, even without the witness file.
    witness.unlink()
    assert await run_cli(monkeypatch, settings) == 0
    assert await run_cli(monkeypatch, settings, "--checkpoint", str(kept)) == 1
    # A forged note is not accepted as a witness.
    forged = tmp_path / "forged.txt"
    forged.write_text(held.replace(f"\n{size}\n", f"\n{size + 5}\n"), "utf-8")
    capsys.readouterr()
    assert await run_cli(monkeypatch, settings, "--checkpoint", str(forged)) == 1
    assert "witness_signature" in capsys.readouterr().out


async def test_verify_since_resumes_from_the_last_verified_checkpoint(client, token_for, settings, monkeypatch,
                                                                      maker, integrate, capsys):
    await add_people(client, token_for, 2)
    await integrate()
    capsys.readouterr()
    assert await run_cli(monkeypatch, settings) == 0
    first = capsys.readouterr().out
    assert "(everything)" in first
    await add_people(client, token_for, 2)
    await integrate()
    assert await run_cli(monkeypatch, settings, "--since") == 0
    out = capsys.readouterr().out
    assert "from tree size" in out and "2 entries read" in out, out
    # A change after the verified checkpoint is still found by --since.
    await add_people(client, token_for, 1)
    await integrate()
    async with maker() as s:
        await drop_guards(s)
        last = (await s.execute(select(AuditEntry).order_by(AuditEntry.seq.desc()))).scalars().first()
        await s.execute(update(AuditEntry).where(AuditEntry.seq == last.seq).values(actor="someone-else"))
        await s.commit()
    assert await run_cli(monkeypatch, settings, "--since") == 1
    assert f"seq {last.seq}: leaf_hash" in capsys.readouterr().out
    # Reordering two entries (their seqs swapped, hashes kept) is caught by a full run.
    async with maker() as s:
        a, b = 1, 2
        await s.execute(text("UPDATE audit_entries SET seq = -1 WHERE seq = :a"), {"a": a})
        await s.execute(text("UPDATE audit_entries SET seq = :a WHERE seq = :b"), {"a": a, "b": b})
        await s.execute(text("UPDATE audit_entries SET seq = :b WHERE seq = -1"), {"b": b})
        await s.commit()
    capsys.readouterr()
    assert await run_cli(monkeypatch, settings) == 1
    out = capsys.readouterr().out
    assert f"seq {a}: leaf_hash" in out and f"seq {b}: leaf_hash" in out


async def test_inclusion_for_subject(client, token_for, app, settings, clock, maker, integrate):
    (pid,) = await add_people(client, token_for, 1)
    key_name, keys = await published_key(client)
    seal = app.state["keys"].seal
    async with maker() as s:
        assert await inclusion_for_subject(s, "person:00000000-0000-0000-0000-000000000000") is None
        # Recorded, not integrated yet: a signed promise at once, the proof later.
        waiting = await inclusion_for_subject(s, f"person:{pid}", seal=seal, key_name=settings.origin, now=clock.now())
    assert waiting["integrated"] is False and waiting["proof"] is None and waiting["checkpoint"] is None
    assert waiting["entry"]["subject"] == f"person:{pid}" and waiting["promise"]["token"]
    await integrate()
    async with maker() as s:
        found = await inclusion_for_subject(s, f"person:{pid}", seal=seal, key_name=settings.origin, now=clock.now())
    assert found["integrated"] is True
    assert found["entry"]["subject"] == f"person:{pid}" and found["entry"]["action"] == "person.created"
    proof = found["proof"]
    size, root = checked_note(found["checkpoint"], key_name, keys)
    assert proof["checkpoint"] == found["checkpoint"] and proof["tree_size"] == size
    assert b64d(proof["leaf_hash"]).hex() == found["entry"]["leaf_hash"]
    assert rfc9162_verify_inclusion(proof["leaf_index"], size, b64d(proof["leaf_hash"]),
                                    [b64d(x) for x in proof["audit_path"]], root)
    # Without the keys: the same proof against the latest checkpoint.
    async with maker() as s:
        again = await inclusion_for_subject(s, f"person:{pid}")
    assert again["checkpoint"] == found["checkpoint"]
    # An entry newer than every checkpoint, without keys: pending, and no promise can be signed.
    (pid2,) = await add_people(client, token_for, 1)
    async with maker() as s:
        fresh = await inclusion_for_subject(s, f"person:{pid2}")
    assert fresh["integrated"] is False and fresh["promise"] is None and fresh["checkpoint"] is None
