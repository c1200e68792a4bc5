"""A per-client fixed-window rate limiter for the public endpoints (verification). In memory, per
worker process: it protects the server from one noisy client, it is not an accounting system."""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from backend.core.errors import RateLimited


class RateLimiter:
    def __init__(self, limit: int, window_s: int, max_clients: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._hits: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def hit(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        start, count = self._hits.get(client, (now, 0))
        if now - start >= self.window_s:
            start, count = now, 0
        count += 1
        self._hits[client] = (start, count)
        self._hits.move_to_end(client)
        while len(self._hits) > self.max_clients:
            self._hits.popitem(last=False)
        if count > self.limit:
            retry = max(1, math.ceil(self.window_s - (now - start)))
            raise RateLimited("Too many requests; try again later", "请求过于频繁，请稍后再试",
                              detail={"retry_after_s": retry, "limit": self.limit, "window_s": self.window_s})
