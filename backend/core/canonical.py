"""RFC 8785 (JSON Canonicalization Scheme) bytes, fast for the JSON this service hashes.

Everything that is hashed or signed as canonical JSON goes through `jcs`: audit entry data, request
and op fingerprints (idempotency, the sync ledger), document contents and signature seals. For JSON
without floats, with integers inside ±2^53 and with ASCII keys (sorted alike by code point and by
UTF-16 unit), RFC 8785 is exactly the standard library's sorted compact encoding: the same string
escapes (the short forms, other controls as lowercase \\u00xx, nothing else) and the same integers.
That covers nearly every payload here and is about 30 times faster than the general encoder
(`rfc8785`), which is used for everything else and raises where RFC 8785 cannot represent a value.
tests/audit/test_merkle.py compares the two on random values.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_SAFE = 2**53


def jcs(value: Any) -> bytes:
    """RFC 8785 bytes of `value`; raises as `rfc8785.dumps` does (integers beyond ±2^53,
    non-finite floats, types JSON has not)."""
    if plain(value):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: the general encoder decides
    return rfc8785.dumps(value)


def plain(value: Any) -> bool:
    """JSON the fast path encodes exactly as RFC 8785 does."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_SAFE < value < _SAFE
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(plain(v) for v in value)
    return False
