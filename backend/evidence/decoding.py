"""How many photo decodes one worker process runs at once, and how much memory they may take
together.

A decode is the one step of the intake whose memory follows what the file *declares* rather than
its size on the wire: a 700 KB PNG that declares 15000 x 16000 pixels decodes to gigabytes. Each
decode first estimates its need from the header (`imaging.decode_estimate`), then waits here for
a slot: at most `max_concurrent_decodes` at once and `decode_memory_bytes` in total. A photo that
alone needs more than the whole budget is refused at once (413 TOO_LARGE); one that cannot get a
slot within `decode_wait_s` gets 503 SERVICE_UNAVAILABLE with Retry-After (the phone retries
later), so a burst of hostile or huge photos never takes the worker's memory or its other requests
down with it.

The accounting is per process (each uvicorn worker has its own). Only plain counters are kept,
touched from the event loop thread alone, and waiting polls: no primitive tied to one event loop.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from backend.core.availability import ServiceUnavailable
from backend.core.errors import TooLarge

_POLL_S = 0.02


class DecodeGate:
    def __init__(self, max_bytes: int, max_concurrent: int, wait_s: float) -> None:
        self.max_bytes = max_bytes
        self.max_concurrent = max(1, max_concurrent)
        self.wait_s = wait_s
        self.running = 0
        self.reserved = 0
        self.peak_reserved = 0

    def _fits(self, cost: int) -> bool:
        return self.running < self.max_concurrent and self.reserved + cost <= self.max_bytes

    @asynccontextmanager
    async def slot(self, cost: int) -> AsyncIterator[None]:
        if cost > self.max_bytes:
            raise TooLarge(
                f"Decoding this image would need about {cost // 2**20} MiB; at most "
                f"{self.max_bytes // 2**20} MiB are available for decoding photos.",
                f"解码该图片约需 {cost // 2**20} MiB 内存，超过上限 {self.max_bytes // 2**20} MiB。",
                code="TOO_LARGE", detail={"decode_bytes": cost, "max_decode_bytes": self.max_bytes},
            )
        deadline = anyio.current_time() + self.wait_s
        while not self._fits(cost):
            if anyio.current_time() >= deadline:
                raise ServiceUnavailable(
                    "Too many photos are being processed; retry later", "正在处理的照片过多，请稍后重试",
                    detail={"reason": "decode capacity", "retry_after_s": max(1, math.ceil(self.wait_s / 2))},
                )
            await anyio.sleep(_POLL_S)
        self.running += 1
        self.reserved += cost
        self.peak_reserved = max(self.peak_reserved, self.reserved)
        try:
            yield
        finally:
            self.running -= 1
            self.reserved -= cost


_gates: dict[tuple[int, int, float], DecodeGate] = {}


def gate(max_bytes: int, max_concurrent: int, wait_s: float) -> DecodeGate:
    """The process's gate for these limits (one per distinct configuration)."""
    key = (max_bytes, max_concurrent, wait_s)
    found = _gates.get(key)
    if found is None:
        found = _gates[key] = DecodeGate(max_bytes, max_concurrent, wait_s)
    return found
