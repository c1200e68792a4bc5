"""backend.audit.merkle against an independent reference and against published RFC 6962 vectors.

The reference below is deliberately written differently from the backend: it is the recursive text of
RFC 6962 §2.1 (MTH, PATH, PROOF/SUBPROOF) on list slices, and its verifiers rebuild the tree top-down by
mirroring that recursion instead of running the RFC 9162 bit-walking loops the backend uses. The two
implementations must agree on every root and proof byte for byte, and each must accept the other's proofs.
"""

from __future__ import annotations

import hashlib
import random
import time

import pytest

from backend.audit import merkle

# ---------------------------------------------------------------------------------------------------------
# Independent reference (RFC 6962 §2.1, straight from the text)
# ---------------------------------------------------------------------------------------------------------


def ref_leaf(entry: bytes) -> bytes:
    h = hashlib.sha256()
    h.update(bytes([0]))
    h.update(entry)
    return h.digest()


def ref_node(left: bytes, right: bytes) -> bytes:
    h = hashlib.sha256()
    h.update(bytes([1]))
    h.update(left)
    h.update(right)
    return h.digest()


def ref_k(n: int) -> int:
    """'k be the largest power of two smaller than n (i.e., k < n <= 2k)'."""
    k = 1
    while 2 * k < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = ref_k(n)
    return ref_node(ref_mth(hashes[:k]), ref_mth(hashes[k:]))


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = ref_k(n)
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], b: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if b else [ref_mth(hashes)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], b), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def ref_proof(m: int, hashes: list[bytes]) -> list[bytes]:
    return ref_subproof(m, hashes, True)


def _ref_root_from_path(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    # The last proof element is the sibling at the top split; the rest proves the chosen half.
    if size == 1:
        return None if proof else leaf
    if not proof:
        return None
    k = ref_k(size)
    *rest, top = proof
    if index < k:
        sub = _ref_root_from_path(index, k, leaf, rest)
        return None if sub is None else ref_node(sub, top)
    sub = _ref_root_from_path(index - k, size - k, leaf, rest)
    return None if sub is None else ref_node(top, sub)


def ref_verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    return _ref_root_from_path(index, size, leaf, proof) == root


def _ref_roots_from_consistency(
    m: int, n: int, proof: list[bytes], old_root: bytes, whole: bool
) -> tuple[bytes, bytes] | None:
    """Mirror SUBPROOF(m, D[n], whole): return (hash of the old part, hash of the new subtree)."""
    if m == n:
        if whole:
            return None if proof else (old_root, old_root)
        return (proof[0], proof[0]) if len(proof) == 1 else None
    if not proof:
        return None
    k = ref_k(n)
    *rest, top = proof
    if m <= k:
        sub = _ref_roots_from_consistency(m, k, rest, old_root, whole)
        return None if sub is None else (sub[0], ref_node(sub[1], top))
    sub = _ref_roots_from_consistency(m - k, n - k, rest, old_root, False)
    return None if sub is None else (ref_node(top, sub[0]), ref_node(top, sub[1]))


def ref_verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    if not 0 <= m <= n or any(len(p) != 32 for p in proof):
        return False
    empty = hashlib.sha256(b"").digest()
    if m == n:
        return not proof and old_root == new_root and (m > 0 or old_root == empty)
    if m == 0:
        return not proof and old_root == empty
    return _ref_roots_from_consistency(m, n, proof, old_root, True) == (old_root, new_root)


def ref_root_levelwise(hashes: list[bytes]) -> bytes:
    """A third formulation: pair up level by level, carrying a lone last node up unchanged."""
    level = list(hashes)
    while len(level) > 1:
        nxt = [ref_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0] if level else hashlib.sha256(b"").digest()


def flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def make_leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [ref_leaf(salt + i.to_bytes(4, "big")) for i in range(n)]


# ---------------------------------------------------------------------------------------------------------
# Published RFC 6962 vectors (certificate-transparency; transparency-dev/merkle testonly/constants.go and
# proof/verify_test.go)
# ---------------------------------------------------------------------------------------------------------

CT_ENTRIES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [  # indexed by tree size 0..8
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_LEAF_HASHES = [  # level 0 of the 8-leaf tree
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
]
# (0-based leaf index, tree size, proof)
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof)
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def ct_leaf_hashes() -> list[bytes]:
    return [merkle.leaf_hash(e) for e in CT_ENTRIES]


def test_hash_primitives_match_rfc6962() -> None:
    assert merkle.EMPTY_ROOT.hex() == CT_ROOTS[0]
    assert [h.hex() for h in ct_leaf_hashes()] == CT_LEAF_HASHES
    assert merkle.leaf_hash(b"").hex() == CT_ROOTS[1]
    a, b = ct_leaf_hashes()[:2]
    assert merkle.node_hash(a, b).hex() == CT_ROOTS[2]
    # Domain separation: a leaf and a node over the same bytes hash differently.
    assert merkle.leaf_hash(a + b) != merkle.node_hash(a, b)


@pytest.mark.parametrize("size", range(9))
def test_known_answer_roots(size: int) -> None:
    hashes = ct_leaf_hashes()[:size]
    assert merkle.root(hashes).hex() == CT_ROOTS[size]
    assert ref_mth(hashes).hex() == CT_ROOTS[size]  # the reference is checked against the RFC too


@pytest.mark.parametrize(("index", "size", "proof"), CT_INCLUSION)
def test_known_answer_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    hashes = ct_leaf_hashes()[:size]
    got = merkle.inclusion_proof(hashes, index)
    assert [h.hex() for h in got] == proof
    root = bytes.fromhex(CT_ROOTS[size])
    assert merkle.verify_inclusion(hashes[index], index, size, got, root)
    assert ref_verify_inclusion(hashes[index], index, size, got, root)


@pytest.mark.parametrize(("old", "new", "proof"), CT_CONSISTENCY)
def test_known_answer_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    hashes = ct_leaf_hashes()[:new]
    got = merkle.consistency_proof(hashes, old, new)
    assert [h.hex() for h in got] == proof
    old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, got)
    assert ref_verify_consistency(old, new, old_root, new_root, got)


# ---------------------------------------------------------------------------------------------------------
# Exhaustive cross-checks against the reference
# ---------------------------------------------------------------------------------------------------------

LEAVES_65 = make_leaves(65)


def test_roots_agree_for_every_size_up_to_65() -> None:
    cr = merkle.CompactRange()
    assert cr.root() == merkle.EMPTY_ROOT == ref_mth([])
    for n in range(1, 66):
        cr.append(LEAVES_65[n - 1])
        want = ref_mth(LEAVES_65[:n])
        assert merkle.root(LEAVES_65[:n]) == want, n
        assert cr.root() == want, n
        assert cr.size == n
        assert len(cr.nodes) == bin(n).count("1")
        assert ref_root_levelwise(LEAVES_65[:n]) == want, n


def _assert_inclusion_rejected(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> None:
    assert not merkle.verify_inclusion(leaf, index, size, proof, root)
    assert not ref_verify_inclusion(leaf, index, size, proof, root)


@pytest.mark.parametrize("size", range(1, 66))
def test_every_inclusion_proof_up_to_65(size: int) -> None:
    hashes = LEAVES_65[:size]
    root = ref_mth(hashes)
    for index in range(size):
        proof = merkle.inclusion_proof(hashes, index)
        assert proof == ref_path(index, hashes), (size, index)
        leaf = hashes[index]
        assert merkle.verify_inclusion(leaf, index, size, proof, root)
        assert ref_verify_inclusion(leaf, index, size, proof, root)

        # A changed leaf, or any flipped bit in any proof element, breaks it.
        _assert_inclusion_rejected(flip(leaf), index, size, proof, root)
        for i in range(len(proof)):
            for bit in (0, 7):
                bad = list(proof)
                bad[i] = flip(bad[i], bit)
                _assert_inclusion_rejected(leaf, index, size, bad, root)
        # Wrong position, wrong size, wrong root, wrong proof length.
        for other in {index - 1, index + 1, index ^ 2} - {index}:
            _assert_inclusion_rejected(leaf, other, size, proof, root)
        # (A path only fixes the tree's shape along it: size 3 and size 4 share leaf 0's path, so only
        # sizes that change the path's length are sure to fail.)
        for other_size in {size * 2, size // 2} - {size}:
            _assert_inclusion_rejected(leaf, index, other_size, proof, root)
        _assert_inclusion_rejected(leaf, index, size, proof, flip(root))
        _assert_inclusion_rejected(leaf, index, size, [*proof, root], root)
        _assert_inclusion_rejected(leaf, index, size, [root, *proof], root)
        if proof:
            _assert_inclusion_rejected(leaf, index, size, proof[:-1], root)
            _assert_inclusion_rejected(leaf, index, size, proof[1:], root)
        # Another leaf's proof does not prove this leaf.
        if size > 1:
            other = (index + 1) % size
            _assert_inclusion_rejected(leaf, index, size, merkle.inclusion_proof(hashes, other), root)


def _assert_consistency_rejected(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    assert not merkle.verify_consistency(old, new, old_root, new_root, proof)
    assert not ref_verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize("new", range(34))
def test_every_consistency_proof_up_to_33(new: int) -> None:
    hashes = LEAVES_65[:new]
    new_root = ref_mth(hashes)
    for old in range(new + 1):
        old_root = ref_mth(hashes[:old])
        proof = merkle.consistency_proof(hashes, old, new)
        want = ref_proof(old, hashes) if 0 < old < new else []
        assert proof == want, (old, new)
        assert merkle.verify_consistency(old, new, old_root, new_root, proof), (old, new)
        assert ref_verify_consistency(old, new, old_root, new_root, proof), (old, new)

        # Wrong roots: a wrong old root, a wrong new root, swapped roots, another size's old root.
        _assert_consistency_rejected(old, new, flip(old_root), new_root, proof)
        if old > 0 or new == 0:  # any tree extends the empty tree: no new root is wrong for old == 0
            _assert_consistency_rejected(old, new, old_root, flip(new_root), proof)
        if old_root != new_root:
            _assert_consistency_rejected(old, new, new_root, old_root, proof)
        if old > 0:
            _assert_consistency_rejected(old, new, ref_mth(hashes[: old - 1]), new_root, proof)
        # Tampered proofs: flipped bits, truncated, extended, reordered.
        for i in range(len(proof)):
            bad = list(proof)
            bad[i] = flip(bad[i], 4)
            _assert_consistency_rejected(old, new, old_root, new_root, bad)
        _assert_consistency_rejected(old, new, old_root, new_root, [*proof, new_root])
        _assert_consistency_rejected(old, new, old_root, new_root, [old_root, *proof])
        if proof:
            _assert_consistency_rejected(old, new, old_root, new_root, proof[:-1])
            _assert_consistency_rejected(old, new, old_root, new_root, proof[1:])
            _assert_consistency_rejected(old, new, old_root, new_root, [])
        if len(proof) > 1 and proof[0] != proof[-1]:
            _assert_consistency_rejected(old, new, old_root, new_root, proof[::-1])
        # The same proof does not vouch for other sizes.
        for other_old in {old - 1, old + 1, old ^ 2} - {old}:
            if 0 < other_old < new:
                _assert_consistency_rejected(other_old, new, old_root, new_root, proof)
        if 0 < old < new:
            # (As with inclusion, new sizes with the same shape along the proof, like 3 and 4 for
            # old == 1, are indistinguishable; sizes that change the proof's length must fail.)
            for other_new in {new * 2, new // 2} - {new}:
                _assert_consistency_rejected(old, other_new, old_root, new_root, proof)


def test_random_larger_trees() -> None:
    rng = random.Random(6962)
    sizes = [127, 128, 129, 255, 256, 257, 1000, 1023, 1024, 1025]
    sizes += [rng.randrange(66, 3000) for _ in range(6)]
    for n in sizes:
        hashes = make_leaves(n, salt=b"big")
        root = ref_mth(hashes)
        assert merkle.root(hashes) == root, n
        for index in {0, n - 1, n // 2, *(rng.randrange(n) for _ in range(8))}:
            proof = merkle.inclusion_proof(hashes, index)
            assert proof == ref_path(index, hashes), (n, index)
            assert merkle.verify_inclusion(hashes[index], index, n, proof, root)
            assert ref_verify_inclusion(hashes[index], index, n, proof, root)
            assert not merkle.verify_inclusion(hashes[index], index, n, proof[:-1], root)
        for old in {1, n - 1, n // 2, *(rng.randrange(1, n) for _ in range(8))}:
            proof = merkle.consistency_proof(hashes, old, n)
            assert proof == ref_proof(old, hashes), (old, n)
            old_root = ref_mth(hashes[:old])
            assert merkle.verify_consistency(old, n, old_root, root, proof)
            assert ref_verify_consistency(old, n, old_root, root, proof)
            assert not merkle.verify_consistency(old, n, flip(old_root), root, proof)


def test_hundred_thousand_leaves() -> None:
    n = 100_000
    hashes = make_leaves(n, salt=b"100k")
    started = time.perf_counter()
    got = merkle.root(hashes)
    elapsed = time.perf_counter() - started
    assert got == ref_root_levelwise(hashes)
    # The target is well under a second; the bound is loose so a busy CI box does not flake.
    assert elapsed < 5, f"root of {n} leaves took {elapsed:.2f}s"
    for index in (0, 65_535, 65_536, n - 1):
        proof = merkle.inclusion_proof(hashes, index)
        assert ref_verify_inclusion(hashes[index], index, n, proof, got)
    for old in (1, 65_536, 77_777, n - 1):
        proof = merkle.consistency_proof(hashes, old, n)
        assert ref_verify_consistency(old, n, ref_root_levelwise(hashes[:old]), got, proof)


# ---------------------------------------------------------------------------------------------------------
# Edges and input validation
# ---------------------------------------------------------------------------------------------------------


def test_root_accepts_any_iterable() -> None:
    hashes = make_leaves(37)
    assert merkle.root(iter(hashes)) == merkle.root(tuple(hashes)) == ref_mth(hashes)
    assert merkle.root([]) == merkle.EMPTY_ROOT


def test_compact_range_resumes_from_persisted_state() -> None:
    hashes = make_leaves(50)
    for cut in range(51):
        first = merkle.CompactRange()
        first.extend(hashes[:cut])
        resumed = merkle.CompactRange(first.size, first.nodes)
        resumed.extend(hashes[cut:])
        assert resumed.root() == ref_mth(hashes)


def test_compact_range_rejects_bad_state() -> None:
    with pytest.raises(ValueError):
        merkle.CompactRange(3, [merkle.EMPTY_ROOT])  # popcount(3) == 2
    with pytest.raises(ValueError):
        merkle.CompactRange(-1, [])
    with pytest.raises(ValueError):
        merkle.CompactRange(1, [b"short"])
    with pytest.raises(ValueError):
        merkle.CompactRange().append(b"not a hash")


def test_proof_arguments_are_checked() -> None:
    hashes = make_leaves(5)
    for bad_index in (-1, 5, 6):
        with pytest.raises(IndexError):
            merkle.inclusion_proof(hashes, bad_index)
    with pytest.raises(IndexError):
        merkle.inclusion_proof([], 0)
    for old, new in ((3, 2), (-1, 2), (2, 6)):
        with pytest.raises(ValueError):
            merkle.consistency_proof(hashes, old, new)
    assert merkle.consistency_proof(hashes, 0, 5) == []
    assert merkle.consistency_proof(hashes, 5, 5) == []
    # Extra leaves past new_size are ignored.
    assert merkle.consistency_proof(hashes, 2, 4) == merkle.consistency_proof(hashes[:4], 2, 4)


def test_verifiers_reject_malformed_input_without_raising() -> None:
    hashes = make_leaves(4)
    root = ref_mth(hashes)
    proof = merkle.inclusion_proof(hashes, 1)
    assert merkle.verify_inclusion(hashes[1], 1, 4, proof, root)
    assert not merkle.verify_inclusion(hashes[1], 4, 4, proof, root)
    assert not merkle.verify_inclusion(hashes[1], -1, 4, proof, root)
    assert not merkle.verify_inclusion(hashes[1], 0, 0, [], merkle.EMPTY_ROOT)
    assert not merkle.verify_inclusion(hashes[1][:31], 1, 4, proof, root)
    assert not merkle.verify_inclusion(hashes[1], 1, 4, [*proof[:-1], proof[-1] + b"\x00"], root)
    assert not merkle.verify_inclusion(hashes[1], 1, 4, proof, b"")
    # Single-leaf tree: the root is the leaf hash and the proof is empty.
    assert merkle.verify_inclusion(hashes[0], 0, 1, [], hashes[0])
    assert not merkle.verify_inclusion(hashes[0], 0, 1, [hashes[1]], hashes[0])

    old_root = ref_mth(hashes[:2])
    cproof = merkle.consistency_proof(hashes, 2, 4)
    assert merkle.verify_consistency(2, 4, old_root, root, cproof)
    assert not merkle.verify_consistency(4, 2, old_root, root, cproof)
    assert not merkle.verify_consistency(-2, 4, old_root, root, cproof)
    assert not merkle.verify_consistency(2, 4, old_root[:16], root, cproof)


def test_trivial_consistency_cases_are_strict() -> None:
    hashes = make_leaves(3)
    root = ref_mth(hashes)
    assert merkle.verify_consistency(0, 3, merkle.EMPTY_ROOT, root, [])
    assert merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(0, 3, root, root, [])  # the empty tree has one root
    assert not merkle.verify_consistency(0, 3, merkle.EMPTY_ROOT, root, [merkle.EMPTY_ROOT])
    assert merkle.verify_consistency(3, 3, root, root, [])
    assert not merkle.verify_consistency(3, 3, root, flip(root), [])
    assert not merkle.verify_consistency(3, 3, root, root, [root])
    assert not merkle.verify_consistency(1, 3, hashes[0], root, [])


def test_fast_canonical_form_is_rfc8785() -> None:
    """The audit log's fast path for float-free data gives the same bytes as the RFC 8785 encoder
    (with its sorted-JSON fallback beyond 2^53, as entries were always hashed)."""
    import random

    import rfc8785

    from backend.audit.service import canonical
    from backend.core.idempotency import canonical_json

    rng = random.Random(5)
    alphabet = [chr(c) for c in range(0x80)] + ["é", "审", "\u2028", "\u2029", "\x7f", "😀", "\ufeff"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))

    def value(depth: int = 0) -> object:
        kind = rng.randrange(7 if depth < 3 else 4)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.choice([0, -1, 1, 2**53, -(2**53), rng.randint(-10**12, 10**12)])
        if kind == 2:
            return rng.choice([True, False, None])
        if kind == 3:
            return text()
        if kind in (4, 5):
            return {"".join(rng.choice("abcdefXYZ_09-") for _ in range(rng.randint(0, 6))): value(depth + 1)
                    for _ in range(rng.randint(0, 5))}
        return [value(depth + 1) for _ in range(rng.randint(0, 4))]

    for _ in range(3000):
        v = value()
        assert canonical(v) == canonical_json(v), v
        if not any(isinstance(x, int) and abs(x) >= 2**53 for x in _leaves(v)):
            assert canonical(v) == rfc8785.dumps(v), v


def _leaves(v: object) -> list[object]:
    if isinstance(v, dict):
        return [x for item in v.values() for x in _leaves(item)]
    if isinstance(v, list):
        return [x for item in v for x in _leaves(item)]
    return [v]
