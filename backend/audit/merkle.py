"""Owns RFC 6962 / RFC 9162 Merkle tree hashing for the audit log.

Everything here is pure and database-free: callers pass leaf hashes (``leaf_hash(entry_bytes)``, 32 bytes
each, in log order) and get back tree heads and proofs that any RFC 6962 verifier (Certificate
Transparency, transparency-dev/merkle, sigsum, ...) accepts.

- ``leaf_hash(d) = SHA-256(0x00 || d)``; ``node_hash(l, r) = SHA-256(0x01 || l || r)``;
  the empty tree hashes to ``EMPTY_ROOT = SHA-256("")``.
- ``root`` is MTH (RFC 6962 §2.1): a tree of n > 1 leaves is split at the largest power of two k < n,
  MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n])).
- ``inclusion_proof`` is PATH (§2.1.1) and ``consistency_proof`` is PROOF/SUBPROOF (§2.1.2); both list
  hashes bottom-up, exactly as RFC 9162 §2.1.3 / §2.1.4 verifiers expect them.
- ``verify_inclusion`` / ``verify_consistency`` are the RFC 9162 §2.1.3.2 / §2.1.4.2 algorithms. They
  return ``False`` for anything that does not check out, malformed input included; they never raise.

Cost: the root is computed in one pass over the leaves with O(log n) memory (``CompactRange``); a proof
costs O(n) hashing (the sibling subtrees it needs are disjoint) and O(log n) memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "consistency_proof",
    "consistency_ranges",
    "fold_right",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_root",
    "perfect_subtrees",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string (RFC 6962 §2.1)."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """The right frontier of a growing tree: the roots of its perfect subtrees, left to right.

    A tree of ``size`` leaves is the concatenation of perfect subtrees whose sizes are the binary digits
    of ``size`` (largest first), so the frontier holds popcount(size) <= log2(size) + 1 hashes. Appending a
    leaf merges equal-sized subtrees like a binary counter; the root folds the frontier right to left,
    which is exactly RFC 6962's split at the largest power of two.

    The state (``size``, ``nodes``) can be persisted and restored with ``CompactRange(size, nodes)`` so a
    writer can keep the current root without rereading the log.
    """

    __slots__ = ("_nodes", "_size")

    def __init__(self, size: int = 0, nodes: Iterable[bytes] = ()) -> None:
        node_list = [bytes(h) for h in nodes]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError("size must be a non-negative integer")
        if len(node_list) != size.bit_count():
            raise ValueError(f"a range of {size} leaves has {size.bit_count()} frontier nodes")
        if any(len(h) != HASH_SIZE for h in node_list):
            raise ValueError("frontier nodes must be 32-byte hashes")
        self._size = size
        self._nodes = node_list

    @property
    def size(self) -> int:
        return self._size

    @property
    def nodes(self) -> tuple[bytes, ...]:
        """Roots of the perfect subtrees, largest (leftmost) first."""
        return tuple(self._nodes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (already ``leaf_hash``-ed) at the right edge."""
        if len(leaf) != HASH_SIZE:
            raise ValueError("leaf hashes are 32 bytes")
        nodes = self._nodes
        h = bytes(leaf)
        merges = self._size
        # Every trailing 1 bit of the old size is a subtree of the same height as the one carried in.
        while merges & 1:
            h = _sha256(_NODE_PREFIX + nodes.pop() + h).digest()
            merges >>= 1
        nodes.append(h)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the leaves appended so far (``EMPTY_ROOT`` when there are none)."""
        nodes = self._nodes
        if not nodes:
            return EMPTY_ROOT
        h = nodes[-1]
        for left in reversed(nodes[:-1]):
            h = _sha256(_NODE_PREFIX + left + h).digest()
        return h


def _range_root(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(leaves[lo:hi]) in one pass with O(log n) memory; 0 <= lo < hi."""
    if hi - lo == 1:
        return leaves[lo]
    nodes: list[bytes] = []
    for count in range(hi - lo):
        h = leaves[lo + count]
        merges = count
        while merges & 1:
            h = _sha256(_NODE_PREFIX + nodes.pop() + h).digest()
            merges >>= 1
        nodes.append(h)
    h = nodes.pop()
    while nodes:
        h = _sha256(_NODE_PREFIX + nodes.pop() + h).digest()
    return h


def root(leaf_hashes: Iterable[bytes]) -> bytes:
    """MTH(D[n]) (RFC 6962 §2.1) of the given leaf hashes, in order; ``EMPTY_ROOT`` for none.

    Accepts any iterable (a list read from the audit table, or a streaming cursor) and keeps only the
    O(log n) frontier in memory.
    """
    cr = CompactRange()
    cr.extend(leaf_hashes)
    return cr.root()


def inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose MTHs make up PATH(index, D[tree_size]), bottom-up.

    The proof's shape depends only on (index, tree_size); where the hashes come from (a list of leaves,
    stored tiles) is the caller's business. Every range starts at a multiple of a power of two at least
    its length, so it is a sequence of perfect subtrees (``perfect_subtrees``)."""
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < tree_size:
        raise IndexError(f"leaf index {index!r} is outside a tree of size {tree_size}")
    ranges: list[tuple[int, int]] = []  # top-down while descending
    lo, hi = 0, tree_size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo = mid
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs make up PROOF(old_size, D[new_size]) (RFC 6962 §2.1.2), bottom-up."""
    for v in (old_size, new_size):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError("tree sizes are integers")
    if not 0 <= old_size <= new_size:
        raise ValueError(f"need 0 <= old_size <= new_size, got old_size={old_size}, new_size={new_size}")
    if old_size in (0, new_size):
        return []
    # SUBPROOF(m, D[lo:hi], b), unrolled: each step keeps the half holding the old tree's right edge
    # and records the other half's root.
    ranges: list[tuple[int, int]] = []
    lo, hi, m = 0, new_size, old_size
    whole_old_tree = True  # the "b" flag: is D[lo:lo+m] still the entire old tree?
    while m != hi - lo:
        mid = lo + _split(hi - lo)
        if m <= mid - lo:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            m -= mid - lo
            lo = mid
            whole_old_tree = False
    ranges.reverse()
    if whole_old_tree:
        # The verifier already knows this subtree's hash: it is the old root.
        return ranges
    return [(lo, hi), *ranges]


def perfect_subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """(height, index) of the perfect subtrees that make up the range [lo, hi), largest first.

    ``lo`` must be a multiple of a power of two at least ``hi - lo`` (true of every range a proof
    needs); the range's MTH is then these subtrees' hashes folded right to left."""
    out: list[tuple[int, int]] = []
    start, size = lo, hi - lo
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            out.append((height, start >> height))
            start += 1 << height
    return out


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees given largest first (as CompactRange.root)."""
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = _sha256(_NODE_PREFIX + left + h).digest()
    return h


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """MTH of a power-of-two number of hashes (a perfect subtree), level by level."""
    level = list(hashes)
    while len(level) > 1:
        level = [_sha256(_NODE_PREFIX + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(index, D[n]) (RFC 6962 §2.1.1), bottom-up, for the tree of all ``leaf_hashes``.

    To prove against an older tree head of size s, pass ``leaf_hashes[:s]``.
    Raises ``IndexError`` unless 0 <= index < len(leaf_hashes).
    """
    return [_range_root(leaf_hashes, lo, hi) for lo, hi in inclusion_ranges(index, len(leaf_hashes))]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) (RFC 6962 §2.1.2), bottom-up.

    ``leaf_hashes`` must hold at least ``new_size`` leaves (extra ones are ignored). The proof is empty when
    old_size is 0 or equal to new_size. Raises ``ValueError`` unless 0 <= old_size <= new_size <= len.
    """
    for v in (old_size, new_size):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError("tree sizes are integers")
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise ValueError(
            f"need 0 <= old_size <= new_size <= {len(leaf_hashes)}, got old_size={old_size}, "
            f"new_size={new_size}"
        )
    return [_range_root(leaf_hashes, lo, hi) for lo, hi in consistency_ranges(old_size, new_size)]


def _is_hash(h: object) -> bool:
    return isinstance(h, bytes | bytearray | memoryview) and len(h) == HASH_SIZE


def _is_size(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show leaf ``index`` of a ``tree_size`` tree hashes to ``root``?"""
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and all(_is_hash(p) for p in proof)):
        return False
    fn, sn = index, tree_size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return False  # proof is longer than the path
        if fn & 1 or fn == sn:
            r = _sha256(_NODE_PREFIX + p + r).digest()
            if not fn & 1:
                # Right edge of an unbalanced tree: skip the levels where this node has no sibling.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(_NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the ``new_size`` tree with ``new_root`` an append-only extension of the
    ``old_size`` tree with ``old_root``?

    Trivial cases are decided without hashing, and strictly: old_size == new_size needs an empty proof and
    equal roots; old_size == 0 needs an empty proof and ``old_root == EMPTY_ROOT`` (any new tree extends
    the empty tree, so nothing about ``new_root`` can be checked).
    """
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and all(_is_hash(p) for p in proof)):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root and (old_size > 0 or old_root == EMPTY_ROOT)
    if old_size == 0:
        # Every tree extends the empty one; there is nothing to check about new_root.
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a perfect subtree of the new one; its hash is the starting point.
        path.insert(0, bytes(old_root))
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False  # proof is longer than needed
        if fn & 1 or fn == sn:
            fr = _sha256(_NODE_PREFIX + c + fr).digest()
            sr = _sha256(_NODE_PREFIX + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(_NODE_PREFIX + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
