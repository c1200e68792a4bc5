"""core/canonical.jcs gives exactly rfc8785's bytes, and raises where it raises: hashes and
signatures made before the fast path (stored fingerprints, sealed signatures, the audit chain)
still match."""

from __future__ import annotations

import math
import random
import struct

import pytest
import rfc8785

from backend.core.canonical import jcs

ALPHABET = [chr(c) for c in range(0x80)] + ["é", "审", "\u2028", "\u2029", "\x7f", "😀", "\ufeff", "\ud800"]


def _value(rng: random.Random, depth: int = 0) -> object:
    def text() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))

    kind = rng.randrange(8 if depth < 3 else 5)
    if kind in (0, 3):
        return text()
    if kind == 1:
        return rng.choice([0, -1, 1, 2**53 - 1, -(2**53 - 1), 2**53, -(2**53), 2**64, rng.randint(-10**12, 10**12)])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 4:
        return _float(rng)
    if kind in (5, 6):
        keys = "abcdefXYZ_09-" if rng.random() < 0.8 else "abé审😀\ue000"
        return {"".join(rng.choice(keys) for _ in range(rng.randint(0, 6))): _value(rng, depth + 1)
                for _ in range(rng.randint(0, 5))}
    return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _float(rng: random.Random) -> float:
    """Floats on both sides of every boundary of the fast path, GPS fixes, and any bit pattern."""
    pick = rng.randrange(5)
    if pick == 0:
        return rng.choice([0.0, -0.0, 0.5, 1.0, -2.25, 5.0, 1e21, 1e-7, 1e-4, 9.999999999999999e-05, 1e16,
                           9999999999999998.0, 2.0**52 + 0.5, 2.0**53, -(2.0**53), 2.0**53 - 1, 1e15 + 0.3,
                           3.141592653589793, math.nan, math.inf, -math.inf, 5e-324, 1.7976931348623157e308])
    if pick == 1:  # a GPS fix: degrees with many decimals, an accuracy in metres
        return round(rng.uniform(-180, 180), rng.randint(0, 12))
    if pick == 2:
        return rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 22)
    if pick == 3:
        return float(rng.randint(-(2**54), 2**54))
    return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]


def test_floats_take_the_fast_path_with_rfc8785s_bytes() -> None:
    rng = random.Random(1e-4)
    for _ in range(20000):
        f = _float(rng)
        try:
            expected = rfc8785.dumps([f, {"x": f}])
        except Exception as exc:  # noqa: BLE001
            with pytest.raises(type(exc)):
                jcs([f, {"x": f}])
            continue
        assert jcs([f, {"x": f}]) == expected, repr(f)


def test_same_bytes_as_rfc8785_and_the_same_refusals() -> None:
    rng = random.Random(8785)
    fast = 0
    for _ in range(5000):
        v = _value(rng)
        try:
            expected = rfc8785.dumps(v)
        except Exception as exc:  # noqa: BLE001 — whatever it raises, jcs raises the same type
            with pytest.raises(type(exc)):
                jcs(v)
            continue
        assert jcs(v) == expected, v
        fast += 1
    assert fast > 2000  # most values took the comparison, not the refusal
